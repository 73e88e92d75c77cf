// Package onnx reads, writes and evaluates the subset of ONNX the SDK's models use, in pure Go.
//
// # Format
//
// [Model] mirrors the parts of ONNX's ModelProto the SDK needs: one graph of nodes with
// attributes, constant initializers, typed inputs and outputs, operator-set imports and string
// metadata. [Encode] writes it with protowire using the field numbers of onnx.proto3, always
// producing the same bytes for the same Model (the SDK's models rebuild bit-for-bit). The SDK
// writes IR version 8 with the default operator set 13 and "ai.onnx.ml" 3 ([IRVersion],
// [OpsetVersion], [MLOpsetVersion]).
//
// [Decode] parses files from outside: malformed bytes return a [*DecodeError] wrapping
// [ErrMalformed] and never panic (FuzzDecode exercises this); fields outside the subset are
// skipped.
//
// # Evaluator
//
// [Compile] checks a Model against the operator subset ([Operators]: MatMul, Gemm, Add, Sub,
// Mul, Div, Relu, LeakyRelu, Sigmoid, Tanh, Exp, Log, Softmax, Clip, Concat, Flatten, Reshape,
// Identity and the ai.onnx.ml TreeEnsembleRegressor/TreeEnsembleClassifier) and returns a
// [Program]. A Program is immutable; each goroutine runs it through its own [Evaluator], which
// reuses its buffers so steady-state runs do not allocate. Results match ONNX Runtime 1.24.1
// within 1e-5 (the ml package's tests compare both on every operator and on the SDK's models).
//
// Values are bounded by [MaxElements], so a hostile graph cannot make the evaluator allocate
// without limit, and tree ensembles must be real trees (acyclic, rooted at node 0), so
// evaluation always terminates.
//
// # Explanations
//
// [NewExplainer] recognises tree ensembles and linear models (after per-feature affine
// transforms such as standardisation) and attributes their raw score exactly to the input
// features: tree-path attribution for trees, weight × transformed value for linear models. The
// ml engine turns these into the risk factors carried by its results.
//
// # Conventions
//
// The SDK has one option style. A constructor takes options of one type, Option, a
// func(*config) over an unexported configuration: it applies the defaults, then the options in
// order, then validates the whole configuration once and returns a typed *OptionError naming
// the offending option, its value and the reason (it matches the package's ErrInvalidOption
// with errors.Is). Option constructors never fail and never panic, and each option's
// documentation ends with its default. Time comes from WithClock(now func() time.Time),
// time.Now by default; timers and sleeps use package time, so tests fake time with
// testing/synctest. Logs go to WithLogger(*slog.Logger), silent by default. The zero value of an
// exported type either works as documented or returns an error naming its constructor (it
// matches the package's ErrNotConstructed with errors.Is); it never panics.
//
// Here a zero Program is the empty graph, a zero Explainer explains no features, and a zero
// Evaluator's Run returns [ErrNotConstructed].
package onnx

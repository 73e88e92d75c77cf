// Package train fits the SDK's model families in pure Go and exports them as ONNX with the SDK's
// own encoder: no Python, no downloads.
//
// # Gradient-boosted trees
//
// [FitGBT] boosts depth-limited regression trees on the logistic loss (second-order splits,
// L2-regularised leaves, shrinkage), finding splits over per-feature quantile bins whose edges are
// values from the data — so a split "x <= edge" partitions float32 inputs exactly as ONNX
// Runtime's BRANCH_LEQ does. It stops early on validation log-loss. [Ensemble.ONNX] writes a
// TreeEnsembleRegressor over log-odds (each node's training cover stored as its hit rate, which
// the explainer uses for tree-path attributions) followed by Sigmoid.
//
// # Logistic regression
//
// [FitLogistic] fits L2-regularised logistic regression by Newton's method on log1p-transformed,
// standardised features. [Logistic.ONNX] writes Add(1), Log, Sub(mean), Div(std), Gemm and
// Sigmoid, which the explainer attributes feature by feature.
//
// Both are deterministic: the same data and configuration give the same model, bit for bit.
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
// Here the configurations are plain structs ([GBTConfig], [LogisticConfig]) from
// [DefaultGBT] and [DefaultLogistic]; a zero [Ensemble] or [Logistic] is the constant model of
// log-odds 0.
package train

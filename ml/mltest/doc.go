// Package mltest is the test kit of package ml, like net/http/httptest is for net/http.
//
// # Tiny models
//
// [Linear], [StandardizedLinear], [MLP], [Trees] and [Classifier] build small models in-process
// with the SDK's own ONNX encoder. Each comes with a Reference scorer written directly from its
// parameters, in float64, without package onnx: tests compare backends with arithmetic they do
// not share. [Rows] and [Vectors] draw seeded inputs.
//
// # Engines without cgo
//
// [NewEngine] returns an [ml.Engine] on the pure-Go backend, closed at the end of the test, so
// downstream packages (the integration layer, workflows) can score in tests without ONNX
// Runtime.
//
// # Backend conformance
//
// [RunBackend] is the one conformance suite for [ml.Backend]: correctness against the reference
// scorers for single rows and batches, batch invariance, buffer ownership, concurrent sessions,
// refusal of unsupported graphs, argument checks and idempotent Close. Every backend runs it with
// a one-line test.
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
package mltest

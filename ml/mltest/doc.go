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
package mltest

// Package bustest helps test code that uses package bus.
//
// # Conformance
//
// Run is the conformance suite every Bus configuration must pass: typed delivery and envelope
// fields, topic patterns, ordering, per-key ordering under concurrency, each slow-consumer policy,
// publishers blocked under PolicyBlock when their context ends, the subscription is
// unsubscribed or the bus closes (each gets a *bus.PublishError and its message is counted),
// filters, panics, middleware, dead letters, close and drain, unsubscribe, counters, the
// accounting invariant — every message routed to a subscription ends as delivered, dropped or
// failed, in Stats and in the metrics hook, under every policy, with drain or close racing
// publishers — trace context (a handler's span is a child of the publisher's, from one bus to
// another through the transport's headers alone) and a concurrent stress run meant for the race
// detector. RunTransport runs the same suite over a bus
// built on a Transport, so a new transport proves itself with one line:
//
//	func TestConformance(t *testing.T) { bustest.RunTransport(t, newMyTransport) }
//
// # Recording
//
// Record subscribes a Recorder that keeps every message it receives, so a test can publish and
// then wait for and inspect what arrived.
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
// RunTransport takes Features, funcs in the same style. The zero Recorder has no subscription and
// records nothing.
package bustest

// Package workflowtest holds the conformance suite every workflow.Store must pass.
//
// # Conformance
//
// Run checks the Store contract stated on workflow.Store — atomic versioned commits, duplicate
// refusal, copies in and out, ordering, intents, cancellation, close — and, for backends that
// declare Durable, that everything committed survives closing and reopening. A backend proves
// itself with one line:
//
//	func TestConformance(t *testing.T) { workflowtest.Run(t, workflowtest.Backend{Open: openMyStore, Durable: true}) }
//
// # Recording operations
//
// Recorder wraps operations and records each call — its step, idempotency key, attempt and
// result — so tests can assert how often a side effect was attempted and under which keys.
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
// The zero Recorder is ready to use.
package workflowtest

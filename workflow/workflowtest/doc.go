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
package workflowtest

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
package workflowtest

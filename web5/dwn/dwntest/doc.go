// Package dwntest holds the conformance suite of dwn.Store. Every store implementation,
// the in-memory one included, runs it with one line:
//
//	func TestConformance(t *testing.T) {
//		dwntest.Run(t, func(t *testing.T) dwn.Store { return dwn.NewMemoryStore() })
//	}
//
// The suite checks the contract stated on dwn.Store: not-found and conflict errors,
// conditional puts that change nothing when they fail, copies the caller may modify,
// filters, the six sort orders and cursors, tombstones left out of queries, protocol
// definitions, tenant isolation on every method, concurrent conditional puts with exactly
// one winner, cancelled contexts and Close.
package dwntest

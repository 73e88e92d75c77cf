// Package keystoretest is the conformance suite of keystore.Store: every implementation — the
// SDK's own and a host's (a key management service behind the interface) — runs it with one
// line:
//
//	func TestConformance(t *testing.T) { keystoretest.Run(t, newStore) }
//
// # What it checks
//
// Run gives each subtest a new empty store and checks the contract keystore.Store states:
// round trips (Entries lists the edge cases), copies in and out, immutable entries, not-found
// errors, refused invalid entries, List's prefix and order, Delete, cancellation, and concurrent
// use, including concurrent Puts of one name of which exactly one wins.
package keystoretest

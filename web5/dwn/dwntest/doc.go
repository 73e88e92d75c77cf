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
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The suite has no options: Run takes the store constructor.
package dwntest

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
package keystoretest

// Package featurestoretest is the test kit of package featurestore.
//
// # Conformance
//
// [RunCache] is the conformance suite of featurestore.Cache, the online tier's interface: every
// implementation — the default MemoryCache and other caches, such as the SDK's cache package —
// runs it with a one-line test:
//
//	func TestCache(t *testing.T) {
//		featurestoretest.RunCache(t, func(t *testing.T) featurestore.Cache { return featurestore.NewMemoryCache(1000) })
//	}
//
// [RunOnline] is the conformance suite of featurestore.Online, the interface of online tiers
// that several processes share (featurestore.CacheOnline adapts an in-process Cache to it).
//
// # Records
//
// [Sample] makes deterministic records for tests.
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
package featurestoretest

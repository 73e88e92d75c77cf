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
package featurestoretest

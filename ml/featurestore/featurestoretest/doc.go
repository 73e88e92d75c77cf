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
// # Records
//
// [Sample] makes deterministic records for tests.
package featurestoretest

// Package cachetest checks that a [cache.Store] keeps the contract the cache package states
// for it. Every Store runs it, the in-memory one included, with a one-line test:
//
//	func TestStore(t *testing.T) {
//		cachetest.Run(t, func(t *testing.T) cache.Store { return newMyStore(t) }, cachetest.WithSynctest())
//	}
//
// [CollisionKeys] lists the keys a careless key escaping would confuse, for a backend's own
// tests.
//
// # Time
//
// The TTL checks need time to pass. A store that runs in a testing/synctest bubble (one that
// follows package time and whose goroutines end at Close) declares [WithSynctest], and the
// checks run in fake time. A networked store declares [WithRealTime] with its TTL granularity,
// and the checks wait in real time. A store that declares neither skips them.
package cachetest

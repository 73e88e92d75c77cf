// Package natscache is a cache.Store on a NATS JetStream KV bucket — the shared tier of
// cache.Tiered for hosts attached to one JetStream server or cluster — with the bucket's change
// stream as the broadcast that keeps every host's in-process tier fresh.
//
//	shared, _ := natscache.New(ctx, js)
//	dids, _ := cache.NewTiered("web5", local, cache.WithStore(shared, time.Hour))
//	w, _ := shared.Watch(ctx, natscache.Tiers(dids)) // drop what other hosts change
//	defer w.Close()
//
// # Keys and values
//
// A cache key becomes the KV key "k.<escaped>": bytes outside [-/_A-Za-z0-9] are escaped as
// "=XX", so any key of up to 1024 bytes is accepted and distinct keys never collide. Values up
// to WithInlineMax are stored in the entry; larger ones in the object store "<bucket>_blobs"
// under their SHA-256 (kept WithBlobTTL; a value whose blob has gone reads as absent).
//
// # TTLs
//
// Per-key TTLs are JetStream message TTLs (the bucket is created with LimitMarkerTTL, which
// enables them; nats-server 2.11 or later). Their granularity is one second: a TTL is rounded
// up to whole seconds, never down, so a value stays readable at least as long as asked and at
// most a second longer (plus the server's expiry sweep). A Set replaces the TTL; ttl 0 stores
// without expiry.
//
// # Invalidation
//
// Every Set, Delete and expiry is a message on the bucket's stream. Watch delivers the keys they
// touch to a function, on every host; Tiers maps them to the Tiered caches of their namespaces
// and drops them from the in-process tiers (cache.Tiered.InvalidateLocal), so the next lookup on
// any host reads the new value from the shared store. A host sees its own changes too (an extra
// miss, no harm). Delivery is asynchronous: a host may serve the previous value for the moment a
// change takes to arrive.
//
// The store does not own the connection; Close stops its watchers.
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
//
// New takes Options in that style; entries expire on the server's clock (per-key TTLs), so the
// store has no clock of its own. The zero Store is not usable: its methods return a
// *NotConstructedError naming New, and Close returns nil; the zero Watcher's Close returns nil.
//
// # Observability
//
// With WithTracerProvider every Get, Set and Delete is a span of kind client —
// "natscache.get", "natscache.set", "natscache.delete" — with db.system.name "nats",
// db.collection.name (the bucket) and db.operation.name; a Get that finds nothing carries
// anya.found false and is no failure. Keys and values are never recorded. Under a traced
// cache.Tiered load the spans sit inside its cache.load span. docs/observability.md lists the
// spans of every package.
package natscache

// Package cache holds typed caches for the lookups that cross to a node, a resolver, a model
// or a store: an in-process [Cache], the [Tiered] chain of per-protocol, cross-protocol and
// shared tiers, and the [Store] contract of the shared tier.
//
// # Cache
//
// [New] returns a size-bounded cache (W-TinyLFU eviction, by github.com/maypok86/otter/v2)
// of values stored as given, with no copying or serialization:
//
//	docs, err := cache.New[string, *did.Document](cache.WithMaxEntries(50_000), cache.WithTTL(10*time.Minute),
//		cache.WithNegativeTTL(time.Minute), cache.WithRefreshAfter(5*time.Minute))
//	doc, err := docs.GetOrLoad(ctx, id, resolve)
//
// A Set is visible to the next Get. [Cache.GetOrLoad] loads a missing key once however many
// callers ask for it at the same time (single-flight); a loader's error or panic is returned
// to its callers and never cached; a caller whose context ends gets ctx.Err() and leaves the
// others waiting. With [WithNegativeTTL], a loader's [ErrNotFound] is cached; with
// [WithRefreshAfter], an old entry is served while it is reloaded in the background
// (stale-while-revalidate). Entries expire after the default TTL ([WithTTL]) or their own
// ([Cache.SetWithTTL]), and are invalidated by key, by predicate ([Cache.InvalidateIf]) or
// prefix ([InvalidatePrefix]). [Cache.Stats] counts hits, misses, evictions and loads.
//
// A cache with expiry or refresh reads the clock on every operation; [WithClockResolution]
// trades precision for speed. [Cache.Close] stops its background work. The zero Cache works as
// New() with the defaults; a zero [MemoryStore] or [Tiered] returns a [*NotConstructedError]
// naming its constructor.
//
// # Tiers
//
// Each protocol has its own cache, under a namespace ("bitcoin", "web5", "ml"); the
// cross-protocol cache is shared by all of them, and a [Store] (a NATS KV bucket, say) by all
// processes. A [Tiered] cache ([NewTiered], with [WithCross], [WithStore], [WithCodec] and
// [WithLogger]) walks the chain for a lookup: the namespace's cache, then the
// cross-protocol cache, then the store, then the loader; what it finds lower down is copied up.
// In the shared tiers, keys are [Key](namespace, id): a namespace has no "/", so protocols
// never collide. The store holds values encoded with a [Codec] ([JSON] by default).
//
// # Invalidation by event
//
// [InvalidateOn] turns a function that lists the keys an event touches into an event handler
// that invalidates them, without the cache importing the event source. With the SDK's bus, the
// handler is the subscriber, and a new block invalidates the UTXO entries of the addresses it
// touched, in every tier of a [Tiered] cache:
//
//	sub, err := bus.Subscribe(b, "bitcoin.block.connected", cache.InvalidateOn(utxos.InvalidateKeys,
//		func(e bus.Envelope[BlockConnected]) []string { return e.Payload.Addresses }))
//
// # Stores
//
// A [Store] is the shared second tier. The contract, in MUST terms on [Store], is checked by
// cachetest.Run, which every store runs; [MemoryStore] is the in-process one.
//
// # Observability
//
// With [WithTracerProvider], every loader call — a [Cache.GetOrLoad] miss (one per single
// flight) or a background refresh — is a span, [SpanLoad] ("cache.load"), a child of the
// caller's span and the parent of what the loader traces (a shared tier's round trip, a
// resolver's request). It carries anya.cache.name ([WithName]), anya.cache.refresh and
// anya.cache.found; a failed load has status Error and error.type. Hits are not traced, and
// keys, values and error texts are never recorded.
//
// With [WithMeterProvider], the counters of [Cache.Stats] are instruments read when the meter
// collects, so the read path counts nothing more: anya.cache.lookups ({lookup}, by
// anya.cache.result: hit, miss), anya.cache.evictions ({entry}), anya.cache.loads ({load}, by
// anya.outcome: success, failure) and the gauge anya.cache.size ({entry}), each with
// anya.cache.name. [Cache.Close] stops reporting. Without either (the default, or
// OpenTelemetry's no-op providers) a load tests one pointer. docs/observability.md lists the
// instruments of every package.
//
// # Options
//
// [New], [NewMemoryStore] and [NewTiered] take options of one type, [Option]. [WithLogger]
// configures all of them; [WithCross], [WithStore] and [WithCodec] configure a Tiered cache,
// the others a Cache, and a constructor given an option of the other kind returns an
// [*OptionError] saying it "does not apply".
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
package cache

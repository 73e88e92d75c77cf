// Package featurestore keeps the feature vectors the SDK's models are scored on, per entity (a
// DID, an address, a transaction id) and schema, in two tiers:
//
//   - online: the latest vector per entity, behind the [Online] interface: in process by
//     default, a small [Cache] ([MemoryCache], a bounded LRU; the SDK's
//     *cache.Cache[string, Record] fits as it is, with its TTLs and W-TinyLFU admission), or
//     shared by several processes ([WithOnline], e.g. a NATS JetStream KV bucket from package
//     ml/featurestore/natsonline), filled from the offline tier on a miss;
//   - offline: every write, with its time, in SQLite (internal/sqlitex over modernc.org/sqlite,
//     pure Go; the file may be shared with other stores), so [Store.AsOf] answers what the latest
//     vector was at any past time.
//
// # Training reads what serving saw
//
// A decision scored at time t used [Store.Get]'s answer then; [Store.TrainingSet] joins labelled
// events with [Store.AsOf] at their times, so each training row is the vector its decision was
// scored on, not a later one. Writes are stamped by the store's clock ([WithClock]); backfills
// with [Store.PutAt] land in the past without moving the online tier backwards.
//
// Package featurestoretest holds the conformance suites of [Cache] and [Online].
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
// Open takes Options in that style. The zero [Store] returns a [*NotConstructedError] naming
// [Open] (its Close returns nil); the zero [MemoryCache] is empty and ready to use.
package featurestore

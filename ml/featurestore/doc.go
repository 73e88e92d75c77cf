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
package featurestore

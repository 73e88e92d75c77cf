// Package stream processes event streams inside the host process: keyed windows and
// aggregations, temporal joins of several streams on an entity key, interval joins, and pattern
// detection, by event time with watermarks, with bounded state that is checkpointed so that a
// restarted process loses and doubles nothing. It knows no protocol: the SDK's bitcoin, web5
// and ml events are ordinary Go types to it.
//
// # Pipelines
//
// An operator — NewAggregate, NewJoin, NewJoin3, NewIntervalJoin or NewMatcher — is built
// once; its Run takes sources and returns an iterator of results. The loop body is the sink:
//
//	btc := stream.FromBus[Tx](b, "bitcoin.tx.*", stream.Named("bitcoin"))
//	web5 := stream.FromBus[Link](b, "web5.link.*", stream.Named("web5"))
//	ml := stream.FromBus[Score](b, "ml.fraud.scored", stream.Named("ml"))
//	j, _ := stream.NewJoin3(func(t Tx) string { return t.Address }, func(l Link) string { return l.Address },
//		func(s Score) string { return s.Address }, stream.Tumbling(time.Minute), stream.WithOuter())
//	for r, err := range j.Run(ctx, btc, web5, ml) {
//		// r.Key, r.Window, r.A, r.B, r.C, r.Missing
//	}
//
// Sources are FromBus (a subscription to a topic pattern), FromChan, FromSeq (an iter.Seq),
// NewSource (anything else) and Map (a source of another type). Results go wherever the loop
// sends them; Pipe with ToBus, ToChan or any Sink function does the loop. Run processes on
// the goroutine that ranges over it; each source runs on its own goroutine and hands records
// over in batches.
//
// # Event time and watermarks
//
// Every record carries an event time (EventTime takes it from the value; FromBus defaults to
// the message's time, other sources to the time of emission). Windows, joins and patterns go
// by event time, so the results do not depend on how records were batched or interleaved.
// Each source has a watermark — the time before which it will produce nothing more: its newest
// event time minus its OutOfOrder bound, or what it declares (Emitter.Watermark,
// ManualWatermarks). The pipeline's watermark is the smallest of its sources'; it never goes
// back, and it moves the pipeline: records before it are processed in event-time order (ties:
// earlier sources first, then offset order), and windows whose end it has passed are emitted.
// A source that has produced nothing for its IdleAfter duration stops holding the watermark
// back, so one quiet stream does not stall a join; it counts again with its next record. A
// source that ends stops counting.
//
// # Late events
//
// A record is late when its time is behind its own source's watermark (it broke the source's
// OutOfOrder bound) or behind the pipeline's. WithLatePolicy says what happens to it: LateDrop
// (the default) counts it in Stats.Late and drops it; LateSideOutput hands it to the
// WithLateOutput function; LateUpdate processes it if the state it belongs to is still kept —
// state is kept WithAllowedLateness past its window's end (or, for patterns, past Within) —
// and emits what changed: a result with Kind Update replaces the result whose ID is in its
// Replaces field, one with Kind Retract withdraws it (a session merged into another, a match
// that a late event broke); a window that had emitted nothing emits an Insert. Downstream keeps
// the newest result per key and window. Records later than that are dropped, or handed to
// WithLateOutput if one is set. Whether a late record updates a window already emitted or joins
// it before its first emission depends on when it arrived; the final result of the window does
// not.
//
// # Windows, aggregations and joins
//
// Tumbling, Sliding and Session windows group each key's events. NewAggregate folds them with
// Count, Sum, Min, Max, Distinct, Reduce or any Agg. NewJoin and NewJoin3 join several streams
// on a key: at a window's end, each key's events from every source, for keys that had events
// from all of them (inner), or from any (WithOuter, with Missing naming the silent sources).
// NewIntervalJoin pairs each left event with the right events of the same key whose time is
// within [lower, upper] of it, as soon as both are there.
//
// # Patterns
//
// NewMatcher finds a Pattern in each key's events: a sequence of steps built with Begin, Then,
// NotThen (negation: "no link before the payment"), Optional, Times, OneOrMore, Where
// (conditions that look at the partial match) and Within. A Match holds its events with the
// step each matched. See Pattern for the exact semantics.
//
// # Bounded state
//
// State is kept per key and dropped when its windows (or partial matches) are done, plus the
// allowed lateness. WithMaxKeys bounds the keys with state; at the bound, WithEviction decides:
// EvictLRU drops the state of the least recently updated key (Stats.Evicted), RefuseNew drops
// the new key's event (Stats.Refused). A Matcher also bounds partial matches per key
// (WithMaxPartials). Stats reports the live keys and every counter.
//
// # Backpressure
//
// Each source hands records over through a buffer of WithInputBuffer records; records wait as
// pending until the watermark passes them, and a source whose pending records fill its buffer
// is not taken from until it is the one holding the watermark back. When the buffer is full,
// Emitter.Emit waits. A slow loop body therefore slows the operator, which slows every source.
// For FromBus, Emit runs in the subscription's handler: while it waits, the subscription's
// queue fills, and then its OnFull policy (SubscribeWith) applies — bus.PolicyBlock, the bus's
// default, makes publishers wait, so the slow consumer pushes back all the way to them; the
// drop policies discard messages at the bus, counted in its stats and never seen by the
// pipeline; bus.PolicyFail makes Publish fail.
//
// # Restart without loss or duplicates
//
// With WithStore, an operator checkpoints its state, its sources' offsets and watermarks, and
// the records received but not yet processed, in one atomic Store commit, every
// WithCheckpointInterval and when Run ends by its context; Run restores the checkpoint before it
// starts. Each source is then run with the offset of the last record the checkpoint covers and
// continues after it (FromSeq skips, FromBus and FromChan call OnResume so the host can replay
// — the notifier from a block height, say — and drop what is at or below it). Results emitted
// after the checkpoint are emitted again, with the same IDs: every result carries an ID derived
// from the pipeline's name, the result's key and window (or steps) and its contributing
// events, so downstream de-duplicates by ID. IDs are 128-bit hashes, not cryptographic ones: by
// chance two results share one with probability 2^-128, but a source whose event IDs an
// adversary chooses lets them make two results share one, so downstream that must withstand
// that de-duplicates by ID and key. A result is emitted before the checkpoint that covers it
// is written, so a crash never loses one. The package's kill -9 test checks this with
// a SQLite store: the results of a run killed again and again, de-duplicated by ID, are those
// of an uninterrupted run. Sources that turn idle break this determinism (idleness goes by the
// clock), as do records that are late.
//
// OpenSQLiteStore is the durable Store (write-ahead log, a commit survives kill -9); MemoryStore
// keeps checkpoints for the life of the process. streamtest.RunStore is the conformance suite
// every Store passes, a future NATS KV one included.
//
// # Performance
//
// The hot path does not allocate per event with WithReuse (window join results then borrow
// the operator's buffers until the loop body returns; Clone keeps one), hands records from
// sources in batches, and uses neither reflection nor interface values per event. Memory per
// live key and throughput are measured in the bench module's streambench package.
//
// # Testing
//
// Package streamtest has a Manual source whose records and watermarks the test sets one by
// one, with Sync to wait for their results; a Clock for WithClock; a Collector that runs a
// pipeline in the background; and RunStore.
package stream

// Package natsstore is a workflow.Store on a NATS JetStream key-value bucket: engines in
// several processes share one table of runs, each run executing on one engine at a time — the
// holder of its lease — and a run whose engine dies is taken over by another once the lease
// lapses.
//
//	store, _ := natsstore.New(ctx, js) // js: the host's jetstream.JetStream
//	engine, _ := workflow.New(store, ops, workflow.WithOwner(hostname))
//
// # Layout
//
// One KV bucket (WithBucket) holds, under keys escaped with dots as separators: "run.<id>" (the
// run's version, status and fencing token, and its record), "open.<id>" (the unfinished runs,
// with their creation time), "lease.<id>" (the current lease), "def.<hash>" (definitions) and
// "intent.<key>" (intents). Values larger than WithInlineMax (a run with large payloads, a
// large definition or intent) go to a JetStream object store under their SHA-256, and the KV
// entry refers to it.
//
// # Consistency
//
// Every change that must be atomic touches one key and is a JetStream compare-and-set on its
// revision: a commit checks the run's version, status and lease token in the entry it read and
// writes only if the entry has not changed since; creating a run, an intent (create-only) or a
// lease fails if the key exists. Writes that span keys are ordered so that a crash between them
// leaves nothing inconsistent: the definition and the unfinished entry are written before the
// run, and the unfinished entry of a finished run is removed after its last commit (Unfinished
// skips and removes stale ones).
//
// # Leases
//
// A lease is the "lease.<id>" entry, written with a per-key TTL (the bucket enables them): the
// server deletes it when it expires, so expiry follows the server's clock, never the hosts'.
// Acquiring creates the entry (of racing hosts one succeeds), raises the fencing token in the
// run's entry by compare-and-set (so each token is handed out once) and records it in the
// lease; renewing rewrites the entry on its revision with a fresh TTL. A commit carries its
// lease's token and is refused with workflow.ErrLeaseLost once the run's token has moved on. TTLs
// are rounded up to whole seconds, JetStream's granularity: a lease lasts at least as long as
// asked, and the engine (which counts the TTL it asked for on its own monotonic clock) stops
// before the server lets another host in. A lease that expired cannot be renewed, even if
// nobody took it: its holder stops and resumes the run under a new lease.
//
// The store does not own the connection; Close only makes further calls fail.
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
// New takes Options in that style; the store has no clock of its own (lease expiry follows the
// server's). The zero Store is not usable: its methods return a *NotConstructedError naming New,
// and Close returns nil.
//
// # Observability
//
// With WithTracerProvider every operation of the store is a span of kind client,
// "natsstore.<operation>" (create, commit, load, unfinished, definition, intent, put_intent,
// create_intent, acquire, renew, release), with db.system.name "nats", db.collection.name (the
// bucket) and db.operation.name; a read that finds nothing carries anya.found false and is no
// failure. Run IDs, keys and values are never recorded. Under a traced workflow engine the
// spans sit under the run and step spans that caused them. docs/observability.md lists the
// spans of every package.
package natsstore

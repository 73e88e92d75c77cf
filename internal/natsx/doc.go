// Package natsx is the plumbing the SDK's NATS JetStream backends share: starting an embedded
// server, escaping arbitrary keys into JetStream KV keys, writing KV entries with a per-message
// TTL (which the KV API offers only at creation), and recognising JetStream's
// compare-and-set failures.
//
// # Embedded server
//
// StartServer starts a nats-server with JetStream in this process, storing its streams in a
// directory, and waits until it accepts connections. Tests use it through internal/natstest.
//
// # Buckets
//
// OpenKV and OpenObjectStore create (or update) the backends' buckets and object stores
// without direct gets, so that every read is answered by the stream's leader: on a cluster,
// nats.go's default (any replica answers, a follower possibly before it applied the latest
// write) let a host read a run it had just created as missing. They write the whole
// configuration each time — nats.go's update turns direct gets back on and atomic batches off —
// so hosts opening one bucket leave it as it was.
//
// # Keys
//
// JetStream KV keys are tokens of [-/_=.a-zA-Z0-9] separated by dots. EscapeKey maps any string
// to a key made of one or more such characters with no dot, injectively: bytes outside
// [-/_a-zA-Z0-9] become "=XX" (two upper-case hex digits), so a backend can join escaped parts
// with dots without ambiguity.
//
// # Atomic writes and transactions
//
// Batch writes several keys of one bucket in one JetStream atomic batch (the bucket's stream
// allows them: OpenKV with Batch, or EnableBatch): all or none, each write's expectation on its key's revision checked
// at the commit. Txn builds optimistic transactions on it — reads remember revisions, the commit
// expects them — and Bucket.Update runs one until it commits, which is how backends keep
// several keys consistent without a lock.
//
// # TTLs
//
// Per-message TTLs need a bucket created with LimitMarkerTTL (the stream's AllowMsgTTL). The
// server's TTL granularity is one second: PutTTL rounds a TTL up to whole seconds, never down.
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
// The zero Blobs keeps small values inline and returns a *NotConstructedError for a value that
// needs its object store.
package natsx

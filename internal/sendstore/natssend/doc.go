// Package natssend is a sendstore.Store on a NATS JetStream KV bucket: hosts attached to one
// JetStream server or cluster share their send records and coin reservations, so that two hosts
// never spend one coin and a payment's transaction is recorded once, before it is broadcast,
// whichever host runs it.
//
//	sends, _ := natssend.New(ctx, js) // js: the host's jetstream.JetStream
//
// # Layout
//
// One KV bucket (WithBucket) holds "send.<key>" (a record: txid, raw transaction, creation
// time; the key escaped with natsx.EscapeKey) and "coin.<txid>_<index>" (a reservation: the key
// of the record whose transaction spends the coin).
//
// # Atomicity
//
// PutIfAbsent writes the record's key and the keys of every coin its transaction spends in one
// JetStream atomic batch (the bucket's stream allows them), each write expecting its key not to
// exist: the server applies all of them or none. Of two hosts recording transactions that spend
// one coin, one batch is applied and the other is refused whole — the loser reserves nothing
// and gets sendstore.ErrCoinReserved; of two recording one key, one record stands and the other
// gets it back, loaded. A crash at any point leaves either the whole batch or nothing.
//
// # Memory
//
// Records and reservations never change once stored, so each handle remembers the ones it has
// read or written; what it found absent it asks the bucket again next time, since another host
// may have written it since.
//
// The store does not own the connection; Close only makes further calls fail.
package natssend

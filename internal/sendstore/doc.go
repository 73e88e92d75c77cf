// Package sendstore is the send store of the anya package: the Sender's idempotency-key →
// transaction records (bitcoin.SendStore) with the coins each recorded transaction reserves.
// Store is the interface; SQLite keeps it in an SQLite file (through internal/sqlitex), next to
// the other state of a host, and package natssend on NATS JetStream KV, shared by hosts.
// Package sendstoretest is the conformance suite both pass.
//
// # Records
//
// A record is written once, atomically, before its transaction is broadcast, and never changes:
// PutIfAbsent is atomic per key, so of concurrent calls for one key exactly one stores its
// record. With the sqlitex defaults a stored record survives a kill -9 of the process.
//
// # Reserved coins
//
// The same atomic write stores, for each input of the recorded transaction, the outpoint it
// spends. A coin recorded for one key is reserved: Reserved reports it, so a wallet building the
// transaction of another key leaves it alone even while the recorded transaction is not yet in
// the mempool (recorded, then the process died before the broadcast), and PutIfAbsent refuses a
// record whose transaction spends a coin reserved by another key with ErrCoinReserved — so two
// payments, in one process or in two hosts sharing a store, never spend one coin. A record
// whose bytes are not a transaction reserves nothing.
//
// # One process per SQLite database
//
// An SQLite database is owned by one process at a time (the anya Manager's rule for its data
// directory). SQLite relies on it to remember, in memory, the records it has seen (they never
// change), the keys it found without one, and which coins it has found free or reserved — only
// its own PutIfAbsent adds records and reservations — so that the hot path of a payment reads
// the database at most once. Hosts that share their sends use natssend, which remembers only
// what never changes (records, reservations).
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
// NewSQLite takes no options; the zero SQLite returns a *NotConstructedError naming NewSQLite.
package sendstore

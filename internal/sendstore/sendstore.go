package sendstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/sqlitex"
)

var (
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("sendstore: closed")
	// ErrCoinReserved is returned by PutIfAbsent for a transaction spending a coin that the
	// transaction of another key already spends.
	ErrCoinReserved = errors.New("sendstore: coin reserved by another send")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero SQLite.
	ErrNotConstructed = errors.New("sendstore: not constructed")
	// ErrInvalidOption is wrapped by the *OptionError of a nil database given to NewSQLite.
	ErrInvalidOption = errors.New("sendstore: invalid option")
)

// NotConstructedError is returned by the methods of a zero SQLite: it names the constructor. It
// matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "SQLite"
	Constructor string // "NewSQLite"
}

func (e *NotConstructedError) Error() string {
	return "sendstore: a zero " + e.Type + " is not usable: create it with sendstore." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// OptionError names an argument New refuses; nothing is constructed. It matches
// ErrInvalidOption.
type OptionError struct {
	Option string // "db"
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return "sendstore: invalid option " + e.Option + ": " + e.Reason
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

var migrations = []string{`
CREATE TABLE bitcoin_sends (
	key     TEXT PRIMARY KEY,
	txid    BLOB NOT NULL,
	raw     BLOB NOT NULL,
	created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE bitcoin_send_spends (
	outpoint BLOB PRIMARY KEY,
	key      TEXT NOT NULL
) WITHOUT ROWID;
`}

// Store is a send store: the bitcoin.SendStore of the anya Manager, with its coin
// reservations. The contract, proved for every implementation by sendstoretest.Run:
//
//   - Get and PutIfAbsent follow bitcoin.SendStore's contract (bitcointest.RunSendStoreSuite):
//     PutIfAbsent is atomic per key, records never change, a durable store has made the record
//     durable when PutIfAbsent returns.
//   - PutIfAbsent MUST store, atomically with the record, a reservation of every coin (outpoint)
//     the record's transaction spends; a record whose bytes are not a transaction reserves
//     nothing. It MUST refuse, with an error wrapping ErrCoinReserved and storing nothing, a
//     record whose transaction spends a coin reserved by another key — whichever handle on the
//     same data (another host, for a shared store) reserved it. Of concurrent PutIfAbsents of
//     different keys spending one coin, at most one succeeds.
//   - Reservations are never removed. Reserved MUST return, for the outpoints among ops that
//     are reserved, the key reserving each: every reservation stored before the call, through
//     this handle or (for a shared store) any other.
//   - A canceled ctx MUST make a call return ctx.Err() (or an error wrapping it) without effect.
//   - After Close every method MUST return ErrClosed; Close MUST be idempotent.
type Store interface {
	bitcoin.SendStore
	// Reserved returns the outpoints among ops that a recorded transaction spends, with the key
	// it was recorded under.
	Reserved(ctx context.Context, ops []wire.OutPoint) (map[wire.OutPoint]string, error)
	// Close releases the store; it does not close a database or connection it was given.
	Close() error
}

// SQLite is a Store in SQLite. It is safe for concurrent use.
//
// Records never change once stored, so the store remembers the ones it has read or written;
// and since one process at a time owns a database (see the package documentation), it also
// remembers which coins it has found free or reserved, and answers Reserved from memory for
// those. Both memories are bounded by maxMemory entries.
//
// Create it with NewSQLite: the methods of a zero SQLite return a *NotConstructedError, and its Close
// returns nil.
type SQLite struct {
	db *sql.DB

	mu     sync.RWMutex // read-held by calls, write-held by Close
	closed bool

	get, put, spend, owner *sql.Stmt

	memMu   sync.Mutex
	records map[string]bitcoin.SendRecord // key → record, as stored
	absent  map[string]bool               // keys found without a record
	coins   map[wire.OutPoint]string      // outpoint → the key reserving it, "" for free
}

// maxMemory bounds each of the store's memories; a full memory is forgotten at once.
const maxMemory = 1 << 16

var _ Store = (*SQLite)(nil)

// NewSQLite returns a store in db (an SQLite database of the modernc.org/sqlite driver, which
// other components may share), creating its tables if needed. Close does not close db.
func NewSQLite(ctx context.Context, db *sql.DB) (*SQLite, error) {
	if db == nil {
		return nil, &OptionError{Option: "db", Reason: "must not be nil"}
	}
	if err := sqlitex.Migrate(ctx, db, "bitcoin_sends", migrations); err != nil {
		return nil, err
	}
	s := &SQLite{db: db, records: map[string]bitcoin.SendRecord{}, absent: map[string]bool{}, coins: map[wire.OutPoint]string{}}
	for _, st := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.get, `SELECT txid, raw, created FROM bitcoin_sends WHERE key = ?`},
		{&s.put, `INSERT INTO bitcoin_sends (key, txid, raw, created) VALUES (?, ?, ?, ?)`},
		{&s.spend, `INSERT INTO bitcoin_send_spends (outpoint, key) VALUES (?, ?)`},
		{&s.owner, `SELECT key FROM bitcoin_send_spends WHERE outpoint = ?`},
	} {
		p, err := db.PrepareContext(ctx, st.sql)
		if err != nil {
			s.closeStmts()
			return nil, fmt.Errorf("sendstore: prepare: %w", err)
		}
		*st.dst = p
	}
	return s, nil
}

func (s *SQLite) closeStmts() {
	for _, st := range []*sql.Stmt{s.get, s.put, s.spend, s.owner} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// Close releases the store's statements; later calls return ErrClosed. It is idempotent.
func (s *SQLite) Close() error {
	if s.db == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.closeStmts()
	}
	return nil
}

func (s *SQLite) enter(ctx context.Context) error {
	if s.db == nil {
		return &NotConstructedError{Type: "SQLite", Constructor: "NewSQLite"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// Get implements bitcoin.SendStore.
func (s *SQLite) Get(ctx context.Context, key string) (bitcoin.SendRecord, error) {
	if err := s.enter(ctx); err != nil {
		return bitcoin.SendRecord{}, err
	}
	defer s.mu.RUnlock()
	s.memMu.Lock()
	rec, ok := s.records[key]
	none := s.absent[key]
	s.memMu.Unlock()
	if ok {
		return cloneRecord(rec), nil
	}
	if none {
		return bitcoin.SendRecord{}, fmt.Errorf("sendstore: key %q: %w", key, bitcoin.ErrNotFound)
	}
	rec, err := scan(ctx, s.get.QueryRowContext(ctx, key), key)
	switch {
	case err == nil:
		s.remember(rec, nil)
	case errors.Is(err, bitcoin.ErrNotFound):
		s.memMu.Lock()
		if _, stored := s.records[key]; !stored { // a PutIfAbsent meanwhile wins
			if len(s.absent) >= maxMemory {
				clear(s.absent)
			}
			s.absent[key] = true
		}
		s.memMu.Unlock()
	}
	return rec, err
}

func cloneRecord(r bitcoin.SendRecord) bitcoin.SendRecord {
	r.RawTx = bytes.Clone(r.RawTx)
	return r
}

// remember keeps a stored record, and the coins its transaction reserves.
func (s *SQLite) remember(rec bitcoin.SendRecord, spends []wire.OutPoint) {
	s.memMu.Lock()
	defer s.memMu.Unlock()
	if len(s.records) >= maxMemory {
		clear(s.records)
	}
	s.records[rec.Key] = cloneRecord(rec)
	delete(s.absent, rec.Key)
	if len(s.coins)+len(spends) > maxMemory {
		clear(s.coins)
	}
	for _, op := range spends {
		s.coins[op] = rec.Key
	}
}

func scan(ctx context.Context, row *sql.Row, key string) (bitcoin.SendRecord, error) {
	var (
		txid, raw []byte
		created   int64
	)
	switch err := row.Scan(&txid, &raw, &created); {
	case errors.Is(err, sql.ErrNoRows):
		return bitcoin.SendRecord{}, fmt.Errorf("sendstore: key %q: %w", key, bitcoin.ErrNotFound)
	case err != nil:
		if ctx.Err() != nil {
			return bitcoin.SendRecord{}, ctx.Err()
		}
		return bitcoin.SendRecord{}, fmt.Errorf("sendstore: get %q: %w", key, err)
	}
	rec := bitcoin.SendRecord{Key: key, RawTx: raw, Created: time.Unix(0, created).UTC()}
	if len(txid) != chainhash.HashSize {
		return bitcoin.SendRecord{}, fmt.Errorf("sendstore: key %q holds a %d-byte txid", key, len(txid))
	}
	copy(rec.Txid[:], txid)
	return rec, nil
}

// PutIfAbsent implements bitcoin.SendStore. It stores rec and the outpoints its transaction
// spends in one transaction, unless the key has a record (which it returns, loaded). A
// transaction spending a coin that another key's transaction spends is refused with
// ErrCoinReserved and nothing is stored.
func (s *SQLite) PutIfAbsent(ctx context.Context, rec bitcoin.SendRecord) (bitcoin.SendRecord, bool, error) {
	if err := s.enter(ctx); err != nil {
		return bitcoin.SendRecord{}, false, err
	}
	defer s.mu.RUnlock()
	var spends []wire.OutPoint
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(rec.RawTx)); err == nil {
		for _, in := range tx.TxIn {
			spends = append(spends, in.PreviousOutPoint)
		}
	}
	var (
		stored bitcoin.SendRecord
		loaded bool
	)
	err := sqlitex.Tx(ctx, s.db, func(t *sql.Tx) error {
		old, err := scan(ctx, t.StmtContext(ctx, s.get).QueryRowContext(ctx, rec.Key), rec.Key)
		switch {
		case err == nil:
			stored, loaded = old, true
			return nil
		case !errors.Is(err, bitcoin.ErrNotFound):
			return err
		}
		if _, err := t.StmtContext(ctx, s.put).ExecContext(ctx, rec.Key, rec.Txid[:], bytes.Clone(rec.RawTx), rec.Created.UnixNano()); err != nil {
			return fmt.Errorf("sendstore: put %q: %w", rec.Key, err)
		}
		for _, op := range spends {
			_, err := t.StmtContext(ctx, s.spend).ExecContext(ctx, outpointKey(op), rec.Key)
			if sqlitex.IsPrimaryKeyViolation(err) {
				var other string
				_ = t.StmtContext(ctx, s.owner).QueryRowContext(ctx, outpointKey(op)).Scan(&other)
				return fmt.Errorf("%w: %s is spent by the transaction of %q", ErrCoinReserved, op, other)
			}
			if err != nil {
				return fmt.Errorf("sendstore: reserve %s: %w", op, err)
			}
		}
		stored = rec
		stored.RawTx = bytes.Clone(rec.RawTx)
		return nil
	})
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			return bitcoin.SendRecord{}, false, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return bitcoin.SendRecord{}, false, err
	}
	if loaded {
		s.remember(stored, nil)
	} else {
		s.remember(stored, spends)
	}
	return stored, loaded, nil
}

// maxVars bounds the parameters of one query (SQLite's default limit is 32766).
const maxVars = 500

// Reserved returns the outpoints among ops that a recorded transaction spends, with the key
// it was recorded under.
func (s *SQLite) Reserved(ctx context.Context, ops []wire.OutPoint) (map[wire.OutPoint]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := map[wire.OutPoint]string{}
	var unknown []wire.OutPoint
	s.memMu.Lock()
	for _, op := range ops {
		switch k, ok := s.coins[op]; {
		case !ok:
			unknown = append(unknown, op)
		case k != "":
			out[op] = k
		}
	}
	s.memMu.Unlock()
	found, err := s.reservedInDB(ctx, unknown)
	if err != nil {
		return nil, err
	}
	s.memMu.Lock()
	if len(s.coins)+len(unknown) > maxMemory {
		clear(s.coins)
	}
	for _, op := range unknown {
		k := found[op]
		if k != "" {
			out[op] = k
		}
		if _, ok := s.coins[op]; !ok { // a reservation made meanwhile wins
			s.coins[op] = k
		}
	}
	s.memMu.Unlock()
	return out, nil
}

func (s *SQLite) reservedInDB(ctx context.Context, ops []wire.OutPoint) (map[wire.OutPoint]string, error) {
	out := map[wire.OutPoint]string{}
	for len(ops) > 0 {
		n := min(len(ops), maxVars)
		chunk := ops[:n]
		ops = ops[n:]
		args := make([]any, n)
		byKey := make(map[string]wire.OutPoint, n)
		for i, op := range chunk {
			k := outpointKey(op)
			args[i] = k
			byKey[string(k)] = op
		}
		q := `SELECT outpoint, key FROM bitcoin_send_spends WHERE outpoint IN (?` + strings.Repeat(`, ?`, n-1) + `)`
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("sendstore: reserved: %w", err)
		}
		for rows.Next() {
			var (
				op  []byte
				key string
			)
			if err := rows.Scan(&op, &key); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sendstore: reserved: %w", err)
			}
			out[byKey[string(op)]] = key
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sendstore: reserved: %w", err)
		}
	}
	return out, nil
}

// outpointKey is the 36-byte form of op: txid, then the index big-endian, so keys sort by
// transaction.
func outpointKey(op wire.OutPoint) []byte {
	b := make([]byte, chainhash.HashSize+4)
	copy(b, op.Hash[:])
	b[32], b[33], b[34], b[35] = byte(op.Index>>24), byte(op.Index>>16), byte(op.Index>>8), byte(op.Index)
	return b
}

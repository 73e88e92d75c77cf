package security

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// AuditStore keeps the entries of an AuditLog. The log computes the chain — each entry's
// position, predecessor hash and hash — and verifies it; the store keeps the entries in
// position order and appends with optimistic concurrency, so that several logs (goroutines,
// processes, hosts) writing one store keep one chain. SQLiteAuditStore keeps it in SQLite;
// package security/natsaudit in a NATS JetStream stream. The contract, proved for every
// implementation by audittest.Run:
//
//   - Append MUST store e at position e.Seq if and only if the newest stored position is
//     e.Seq-1, in one atomic step, and fail otherwise with an error wrapping ErrAuditConflict,
//     storing nothing. Of concurrent Appends at one position at most one succeeds.
//   - Last MUST return the newest position and the hash of the entry there (zero for an empty
//     store), as of the call.
//   - Scan MUST call fn with every stored entry from position from to position to (0: to the
//     newest), in position order, from one consistent view, and return what the store itself
//     records as its newest position (RecordedHead) in that view — kept apart from the
//     entries, so that a verifier detects entries removed from the end. fn gets e with its
//     position and fields; wellFormed is false for an entry whose stored predecessor hash or
//     hash is malformed (e.Prev and e.Hash are then zero). The Entry is reused between calls.
//     An error from fn ends the scan and is returned.
//   - A canceled ctx MUST make a call return ctx.Err() (or an error wrapping it) without effect.
//
// A store is safe for concurrent use. The log does not close it.
type AuditStore interface {
	Last(ctx context.Context) (Head, error)
	Append(ctx context.Context, e *Entry) error
	Scan(ctx context.Context, from, to uint64, fn func(e *Entry, wellFormed bool) error) (RecordedHead, error)
}

// RecordedHead is what an AuditStore records as its newest entry, apart from the entries
// themselves.
type RecordedHead struct {
	// Found is false when the store records no newest entry although it should (SQLite's head
	// row was deleted).
	Found bool
	Seq   uint64
	// Hash is the newest entry's hash, when the store records it (HasHash).
	Hash    [32]byte
	HasHash bool
}

// BatchAuditStore is an AuditStore that also stores several entries in one atomic step, so that
// an AuditLog commits the appends that arrive together (group commit) at the cost of one.
//
// AppendBatch MUST store es, consecutive positions from es[0].Seq on, if and only if the newest
// stored position is es[0].Seq-1, all or none, and fail otherwise with an error wrapping
// ErrAuditConflict, storing nothing. SQLiteAuditStore is one.
type BatchAuditStore interface {
	AuditStore
	AppendBatch(ctx context.Context, es []*Entry) error
}

// SQLiteAuditStore is an AuditStore in SQLite: the entries in one table, the newest entry's
// position and hash in a head row written in the same transaction as each entry (or batch of
// entries). Several processes may share one database. Its statements are prepared once.
type SQLiteAuditStore struct {
	db                  *sql.DB
	newest, insert, hdr *sql.Stmt
}

var (
	_ AuditStore      = (*SQLiteAuditStore)(nil)
	_ BatchAuditStore = (*SQLiteAuditStore)(nil)
)

const (
	sqlNewest = `SELECT seq, hash FROM security_audit ORDER BY seq DESC LIMIT 1`
	sqlInsert = `INSERT INTO security_audit (seq, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, prev, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlHead = `INSERT INTO security_audit_head (id, seq, hash) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`
)

// NewSQLiteAuditStore returns a store in db, an SQLite database (modernc.org/sqlite driver)
// other components may share, creating its tables if needed.
func NewSQLiteAuditStore(ctx context.Context, db *sql.DB) (*SQLiteAuditStore, error) {
	if err := sqlitex.Migrate(ctx, db, "security_audit", auditMigrations); err != nil {
		return nil, err
	}
	s := &SQLiteAuditStore{db: db}
	for _, p := range []struct {
		stmt **sql.Stmt
		text string
	}{{&s.newest, sqlNewest}, {&s.insert, sqlInsert}, {&s.hdr, sqlHead}} {
		stmt, err := db.PrepareContext(ctx, p.text)
		if err != nil {
			return nil, fmt.Errorf("security: audit store: %w", err)
		}
		*p.stmt = stmt
	}
	return s, nil
}

// Last implements AuditStore.
func (s *SQLiteAuditStore) Last(ctx context.Context) (Head, error) {
	var h Head
	var hash []byte
	err := s.newest.QueryRowContext(ctx).Scan(&h.Seq, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Head{}, nil
	case err != nil:
		if ctx.Err() != nil {
			return Head{}, ctx.Err()
		}
		return Head{}, fmt.Errorf("security: audit head: %w", err)
	}
	copy(h.Hash[:], hash)
	return h, nil
}

// Append implements AuditStore: one immediate transaction checks the newest position, inserts
// the entry and updates the head row.
func (s *SQLiteAuditStore) Append(ctx context.Context, e *Entry) error {
	return s.AppendBatch(ctx, []*Entry{e})
}

// AppendBatch implements BatchAuditStore: one immediate transaction checks the newest position,
// inserts the entries and updates the head row to the last of them.
func (s *SQLiteAuditStore) AppendBatch(ctx context.Context, es []*Entry) error {
	if len(es) == 0 {
		return nil
	}
	for i := 1; i < len(es); i++ {
		if es[i].Seq != es[0].Seq+uint64(i) {
			return fmt.Errorf("security: audit append: entry %d of the batch is at %d, not %d", i, es[i].Seq, es[0].Seq+uint64(i))
		}
	}
	err := sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		var seq uint64
		var hash []byte
		err := tx.StmtContext(ctx, s.newest).QueryRowContext(ctx).Scan(&seq, &hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if seq+1 != es[0].Seq {
			return fmt.Errorf("%w: the newest entry is %d, not %d", ErrAuditConflict, seq, es[0].Seq-1)
		}
		insert := tx.StmtContext(ctx, s.insert)
		for _, e := range es {
			if _, err := insert.ExecContext(ctx, e.Seq, e.Time.UnixNano(), e.Kind, e.From, e.To, e.Action, e.Principal,
				e.Decision, e.Rule, e.Reason, e.DataHash, e.Prev[:], e.Hash[:]); err != nil {
				return err
			}
		}
		last := es[len(es)-1]
		_, err = tx.StmtContext(ctx, s.hdr).ExecContext(ctx, last.Seq, last.Hash[:])
		return err
	})
	switch {
	case err == nil, errors.Is(err, ErrAuditConflict):
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("security: audit append: %w", err)
}

// Scan implements AuditStore: one read transaction (one snapshot) reads the head row and the
// entries row by row.
func (s *SQLiteAuditStore) Scan(ctx context.Context, from, to uint64, fn func(e *Entry, wellFormed bool) error) (RecordedHead, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return RecordedHead{}, err
	}
	defer tx.Rollback()
	var rh RecordedHead
	var headHash []byte
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM security_audit_head WHERE id = 1`).Scan(&rh.Seq, &headHash)
	switch {
	case err == nil:
		rh.Found, rh.HasHash = true, true
		copy(rh.Hash[:], headHash)
	case !errors.Is(err, sql.ErrNoRows):
		return RecordedHead{}, err
	}
	if to == 0 {
		to = 1<<63 - 1
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+entryColumns+` FROM security_audit WHERE seq >= ? AND seq <= ? ORDER BY seq`, from, to)
	if err != nil {
		return RecordedHead{}, err
	}
	defer rows.Close()
	var (
		e          Entry
		prev, hash sql.RawBytes
	)
	for rows.Next() {
		ok, err := scanEntry(rows, &e, &prev, &hash)
		if err != nil {
			return RecordedHead{}, err
		}
		if err := fn(&e, ok); err != nil {
			return RecordedHead{}, err
		}
	}
	if err := rows.Err(); err != nil {
		return RecordedHead{}, err
	}
	return rh, nil
}

// scanEntry reads one row into e, using prev and hash as scratch space. ok is false when the row's
// prev or hash is not 32 bytes long; e.Prev and e.Hash are then zero.
func scanEntry(rows *sql.Rows, e *Entry, prev, hash *sql.RawBytes) (ok bool, err error) {
	var t int64
	if err := rows.Scan(&e.Seq, &t, &e.Kind, &e.From, &e.To, &e.Action, &e.Principal, &e.Decision, &e.Rule, &e.Reason, &e.DataHash, prev, hash); err != nil {
		return false, err
	}
	e.Time = time.Unix(0, t)
	e.Prev, e.Hash = [32]byte{}, [32]byte{}
	if len(*prev) != 32 || len(*hash) != 32 {
		return false, nil
	}
	copy(e.Prev[:], *prev)
	copy(e.Hash[:], *hash)
	return true, nil
}

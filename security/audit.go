package security

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// Entry kinds and decisions.
const (
	KindCrossing = "crossing" // data crossed (or tried to cross) a boundary
	KindDecision = "decision" // any other security-relevant decision a host records

	DecisionAllow = "allow"
	DecisionDeny  = "deny"
)

// Entry is one audit record. Append fills Seq, Prev and Hash (and Time when zero).
type Entry struct {
	Seq       uint64
	Time      time.Time
	Kind      string
	From, To  string
	Action    string
	Principal string
	Decision  string
	Rule      string
	Reason    string
	DataHash  string // a digest of the data, never the data: the log holds no personal data
	Prev      [32]byte
	Hash      [32]byte
}

// Head identifies the newest entry: keep it somewhere the log's writer cannot change (another
// system, a signed checkpoint) and pass it to Verify to detect truncation and rewriting of the
// whole tail.
type Head struct {
	Seq  uint64
	Hash [32]byte
}

// String formats the head as "<seq>:<hex hash>".
func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, hex.EncodeToString(h.Hash[:])) }

// hashEntry chains an entry: SHA-256 over its predecessor's hash and its own fields, each
// length-prefixed. The position (Seq) is not hashed: the chain itself orders entries, which is
// what lets the verifier tell reordering from modification.
func hashEntry(e *Entry) [32]byte {
	h := sha256.New()
	h.Write(e.Prev[:])
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(e.Time.UnixNano()))
	h.Write(buf[:])
	for _, s := range []string{e.Kind, e.From, e.To, e.Action, e.Principal, e.Decision, e.Rule, e.Reason, e.DataHash} {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

var auditMigrations = []string{`
CREATE TABLE security_audit (
	seq       INTEGER PRIMARY KEY,
	time      INTEGER NOT NULL,
	kind      TEXT NOT NULL,
	from_p    TEXT NOT NULL,
	to_p      TEXT NOT NULL,
	action    TEXT NOT NULL,
	principal TEXT NOT NULL,
	decision  TEXT NOT NULL,
	rule      TEXT NOT NULL,
	reason    TEXT NOT NULL,
	data_hash TEXT NOT NULL,
	prev      BLOB NOT NULL,
	hash      BLOB NOT NULL
);
CREATE TABLE security_audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB NOT NULL
);`}

// AuditLog is a tamper-evident, append-only log in SQLite: each entry is chained to its
// predecessor by a SHA-256 hash, and the newest entry is also recorded in a head row. Verify
// detects entries modified, deleted (in the middle, at the start, or the newest ones), reordered
// or appended behind the log's back. Appends are serialized by the database (each is one
// immediate transaction that reads the current head), so several writers — goroutines or
// processes — keep one chain. It is safe for concurrent use.
type AuditLog struct {
	db    *sql.DB
	owned bool
	now   func() time.Time

	mu     sync.RWMutex
	closed bool
}

// AuditOption configures an AuditLog.
type AuditOption func(*AuditLog)

// WithAuditClock sets the clock that stamps entries appended without a Time. Defaults to time.Now.
func WithAuditClock(now func() time.Time) AuditOption {
	return func(l *AuditLog) {
		if now != nil {
			l.now = now
		}
	}
}

// OpenAuditLog opens (creating if needed) an audit log in the SQLite file at path; Close closes it.
func OpenAuditLog(ctx context.Context, path string, opts ...AuditOption) (*AuditLog, error) {
	db, err := sqlitex.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	l, err := NewAuditLog(ctx, db, opts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	l.owned = true
	return l, nil
}

// NewAuditLog returns an audit log in db, an SQLite database (modernc.org/sqlite driver) other
// components may share, creating its tables if needed. Close does not close db.
func NewAuditLog(ctx context.Context, db *sql.DB, opts ...AuditOption) (*AuditLog, error) {
	if err := sqlitex.Migrate(ctx, db, "security_audit", auditMigrations); err != nil {
		return nil, err
	}
	l := &AuditLog{db: db, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

func (l *AuditLog) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// Append adds e at the end of the chain and returns it as stored.
func (l *AuditLog) Append(ctx context.Context, e Entry) (Entry, error) {
	if err := l.enter(ctx); err != nil {
		return Entry{}, err
	}
	defer l.mu.RUnlock()
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	err := sqlitex.Tx(ctx, l.db, func(tx *sql.Tx) error {
		var seq uint64
		var prev []byte
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM security_audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		e.Seq = seq + 1
		copy(e.Prev[:], prev)
		e.Hash = hashEntry(&e)
		if _, err := tx.ExecContext(ctx, `INSERT INTO security_audit (seq, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, prev, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq, e.Time.UnixNano(), e.Kind, e.From, e.To, e.Action, e.Principal,
			e.Decision, e.Rule, e.Reason, e.DataHash, e.Prev[:], e.Hash[:]); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO security_audit_head (id, seq, hash) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, e.Seq, e.Hash[:])
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("security: audit append: %w", err)
	}
	return e, nil
}

// Head returns the newest entry's position and hash (zero for an empty log).
func (l *AuditLog) Head(ctx context.Context) (Head, error) {
	if err := l.enter(ctx); err != nil {
		return Head{}, err
	}
	defer l.mu.RUnlock()
	var h Head
	var hash []byte
	err := l.db.QueryRowContext(ctx, `SELECT seq, hash FROM security_audit ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, nil
	}
	copy(h.Hash[:], hash)
	return h, err
}

// Entries returns up to limit entries from position from (1-based) on, in order.
func (l *AuditLog) Entries(ctx context.Context, from uint64, limit int) ([]Entry, error) {
	if err := l.enter(ctx); err != nil {
		return nil, err
	}
	defer l.mu.RUnlock()
	rows, err := l.db.QueryContext(ctx, `SELECT seq, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, prev, hash
		FROM security_audit WHERE seq >= ? ORDER BY seq LIMIT ?`, from, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanEntry(rows *sql.Rows) (Entry, error) {
	var e Entry
	var t int64
	var prev, hash []byte
	if err := rows.Scan(&e.Seq, &t, &e.Kind, &e.From, &e.To, &e.Action, &e.Principal, &e.Decision, &e.Rule, &e.Reason, &e.DataHash, &prev, &hash); err != nil {
		return Entry{}, err
	}
	e.Time = time.Unix(0, t)
	copy(e.Prev[:], prev)
	copy(e.Hash[:], hash)
	if len(prev) != 32 || len(hash) != 32 {
		e.Hash = [32]byte{} // cannot match: reported as modified
	}
	return e, nil
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Entries  int
	Head     Head // the newest entry as found
	Problems []*TamperError
}

// Verify walks the whole log and checks that every entry's hash matches its content, that each
// is chained to the one before it, that positions run 1, 2, 3, ... without gaps, and that the
// newest entry is the one recorded in the head row and, if checkpoint is not nil, that the entry
// at checkpoint.Seq still has checkpoint.Hash. It reports every finding, classified as modified,
// deleted, reordered, truncated, inserted or broken; the error is nil for an intact log, otherwise it
// joins the *TamperErrors (each wrapping ErrTampered).
func (l *AuditLog) Verify(ctx context.Context, checkpoint *Head) (*VerifyReport, error) {
	if err := l.enter(ctx); err != nil {
		return nil, err
	}
	defer l.mu.RUnlock()
	rows, err := l.db.QueryContext(ctx, `SELECT seq, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, prev, hash
		FROM security_audit ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		entries = append(entries, e)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	var headSeq uint64
	var headHash []byte
	err = l.db.QueryRowContext(ctx, `SELECT seq, hash FROM security_audit_head WHERE id = 1`).Scan(&headSeq, &headHash)
	hasHead := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}

	rep := &VerifyReport{Entries: len(entries)}
	add := func(seq uint64, k TamperKind, format string, args ...any) {
		rep.Problems = append(rep.Problems, &TamperError{Seq: seq, Kind: k, Detail: fmt.Sprintf(format, args...)})
	}
	at := map[[32]byte]uint64{} // stored hash -> position
	for _, e := range entries {
		at[e.Hash] = e.Seq
	}
	var prev Entry
	for i, e := range entries {
		if hashEntry(&e) != e.Hash {
			add(e.Seq, TamperModified, "content does not match its hash")
		}
		wantSeq := uint64(1)
		if i > 0 {
			wantSeq = prev.Seq + 1
		}
		gap := e.Seq != wantSeq
		if gap {
			add(wantSeq, TamperDeleted, "entries %d to %d are missing", wantSeq, e.Seq-1)
		}
		var want [32]byte
		if i > 0 {
			want = prev.Hash
		}
		if e.Prev != want {
			switch pos, ok := at[e.Prev]; {
			case ok && pos != e.Seq:
				add(e.Seq, TamperReordered, "chained after the entry now at %d", pos)
			case e.Prev == [32]byte{}:
				add(e.Seq, TamperReordered, "chained as the first entry")
			case gap:
				// already reported as deleted
			case i == 0:
				add(1, TamperDeleted, "the entries before this one are missing")
			default:
				add(e.Seq, TamperBroken, "not chained to entry %d: entries before it were deleted, or entry %d was rewritten", prev.Seq, prev.Seq)
			}
		}
		prev = e
	}
	if len(entries) > 0 {
		rep.Head = Head{Seq: prev.Seq, Hash: prev.Hash}
	}
	if hasHead {
		var hh [32]byte
		copy(hh[:], headHash)
		switch {
		case rep.Head.Seq < headSeq:
			add(rep.Head.Seq+1, TamperTruncated, "the head row records entry %d, the log ends at %d", headSeq, rep.Head.Seq)
		case rep.Head.Seq > headSeq:
			add(headSeq+1, TamperInserted, "entries after the recorded head %d", headSeq)
		case rep.Head.Hash != hh:
			add(headSeq, TamperModified, "the newest entry is not the one the head row records")
		}
	} else if len(entries) > 0 {
		add(1, TamperModified, "the head row is missing")
	}
	if checkpoint != nil && checkpoint.Seq > 0 {
		var found *Entry
		for i := range entries {
			if entries[i].Seq == checkpoint.Seq {
				found = &entries[i]
			}
		}
		switch {
		case rep.Head.Seq < checkpoint.Seq:
			add(rep.Head.Seq+1, TamperTruncated, "the checkpoint records entry %d, the log ends at %d", checkpoint.Seq, rep.Head.Seq)
		case found == nil:
			add(checkpoint.Seq, TamperDeleted, "the checkpointed entry is missing")
		case !bytes.Equal(found.Hash[:], checkpoint.Hash[:]):
			add(checkpoint.Seq, TamperModified, "the checkpointed entry was rewritten")
		}
	}
	if len(rep.Problems) == 0 {
		return rep, nil
	}
	errs := make([]error, len(rep.Problems))
	for i, p := range rep.Problems {
		errs[i] = p
	}
	return rep, errors.Join(errs...)
}

// Close closes the log (and its database, if OpenAuditLog opened it). It is idempotent.
func (l *AuditLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.owned {
		return l.db.Close()
	}
	return nil
}

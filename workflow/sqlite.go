package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// migrations of the SQLite store's tables; append only. A run is one row, its step records
// included (encodeSteps), so a transition rewrites one row; unfinished runs are listed in a table
// of their own, written when a run is created and when it finishes.
var sqliteMigrations = []string{`
CREATE TABLE workflow_runs (
	id       TEXT PRIMARY KEY,
	workflow TEXT NOT NULL,
	def_hash TEXT NOT NULL,
	status   TEXT NOT NULL,
	input    BLOB,
	output   BLOB,
	error    TEXT NOT NULL,
	context  BLOB,
	version  INTEGER NOT NULL,
	created  INTEGER NOT NULL,
	updated  INTEGER NOT NULL,
	steps    BLOB NOT NULL
);
CREATE TABLE workflow_unfinished (
	id      TEXT PRIMARY KEY,
	created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE workflow_definitions (
	hash TEXT PRIMARY KEY,
	body BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE workflow_intents (
	key  TEXT PRIMARY KEY,
	data BLOB NOT NULL
) WITHOUT ROWID;
`, `
ALTER TABLE workflow_runs ADD COLUMN lease_owner   TEXT    NOT NULL DEFAULT '';
ALTER TABLE workflow_runs ADD COLUMN lease_token   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workflow_runs ADD COLUMN lease_expires INTEGER NOT NULL DEFAULT 0;
`}

// SQLiteStore is the durable Store, on SQLite (modernc.org/sqlite, pure Go). Each Create and
// Commit is one transaction. With the default synchronous=NORMAL write-ahead log a committed
// transition survives a crash of the process (kill -9); open with WithFullSync to make it survive
// power loss as well.
//
// Create it with OpenSQLiteStore or NewSQLiteStore: the methods of a zero SQLiteStore return a
// *NotConstructedError, and its Close returns nil.
type SQLiteStore struct {
	db    *sql.DB
	owned bool

	mu     sync.RWMutex // held for reading by calls, for writing by Close
	closed bool

	insertRun, insertDef, insertUnfinished, deleteUnfinished, updateRun, selectRun,
	selectVersion, selectUnfinished, selectDef, upsertIntent, selectIntent,
	selectLease, updateLease, releaseLease, insertIntent, acquireLease *sql.Stmt

	defsMu sync.Mutex
	defs   map[string]bool // definition hashes known to be stored
}

var _ Store = (*SQLiteStore)(nil)

// OpenSQLiteStore opens (creating if needed) the SQLite database file at path, with write-ahead
// logging, and returns a store that owns it: Close closes the database. It takes the options
// that configure a store (WithFullSync); an invalid one, or one that configures an Engine,
// makes it return an *OptionError and open nothing.
func OpenSQLiteStore(ctx context.Context, path string, opts ...Option) (*SQLiteStore, error) {
	cfg, err := newConfig(kindSQLiteStore, opts)
	if err != nil {
		return nil, err
	}
	var sopts []sqlitex.Option
	if cfg.fullSync {
		sopts = append(sopts, sqlitex.WithSync(sqlitex.SyncFull))
	}
	db, err := sqlitex.Open(ctx, path, sopts...)
	if err != nil {
		return nil, err
	}
	s, err := NewSQLiteStore(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// NewSQLiteStore returns a store on db, an SQLite database (modernc.org/sqlite driver) that other
// components may share, creating its tables if needed. Close does not close db. The store is for
// one process at a time: opening it releases the run leases an earlier process left behind, so
// that a host restarted after a crash resumes its runs at once.
func NewSQLiteStore(ctx context.Context, db *sql.DB) (*SQLiteStore, error) {
	if db == nil {
		return nil, &OptionError{Option: "db", Reason: "must not be nil"}
	}
	if err := sqlitex.Migrate(ctx, db, "workflow", sqliteMigrations); err != nil {
		return nil, err
	}
	// One process at a time uses the store: a lease still recorded was left behind by a process
	// that is gone, and must not keep the runs waiting for its expiry. Tokens stay, so a
	// commit made under such a lease is refused once a new one is taken.
	if _, err := db.ExecContext(ctx, `UPDATE workflow_runs SET lease_owner = '' WHERE lease_owner <> ''`); err != nil {
		return nil, fmt.Errorf("workflow: release stale leases: %w", err)
	}
	s := &SQLiteStore{db: db, defs: map[string]bool{}}
	stmts := []struct {
		dst *(*sql.Stmt)
		sql string
	}{
		{&s.insertRun, `INSERT INTO workflow_runs (id, workflow, def_hash, status, input, output, error, context, version, created, updated, steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.insertDef, `INSERT INTO workflow_definitions (hash, body) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`},
		{&s.insertUnfinished, `INSERT INTO workflow_unfinished (id, created) VALUES (?, ?)`},
		{&s.deleteUnfinished, `DELETE FROM workflow_unfinished WHERE id = ?`},
		{&s.updateRun, `UPDATE workflow_runs SET status = ?1, output = ?2, error = ?3, updated = ?4, steps = ?5, version = version + 1
			WHERE id = ?6 AND version = ?7 AND status NOT IN ('completed', 'terminated', 'failed')
			AND ((?8 = 0 AND (lease_owner = '' OR lease_expires <= ?9)) OR (?8 <> 0 AND lease_token = ?8))`},
		{&s.selectRun, `SELECT workflow, def_hash, status, input, output, error, context, version, created, updated, steps FROM workflow_runs WHERE id = ?`},
		{&s.selectVersion, `SELECT version, status, lease_owner, lease_token, lease_expires FROM workflow_runs WHERE id = ?`},
		{&s.selectLease, `SELECT lease_owner, lease_token, lease_expires FROM workflow_runs WHERE id = ?`},
		{&s.updateLease, `UPDATE workflow_runs SET lease_owner = ?, lease_token = ?, lease_expires = ? WHERE id = ?`},
		{&s.releaseLease, `UPDATE workflow_runs SET lease_owner = '' WHERE id = ? AND lease_owner = ? AND lease_token = ?`},
		// Acquire in one statement: take the lease if it is free, expired or the owner's; the
		// token grows unless the owner holds it unexpired.
		{&s.acquireLease, `UPDATE workflow_runs SET
			lease_token = CASE WHEN lease_owner = ?1 AND lease_expires > ?2 THEN lease_token ELSE lease_token + 1 END,
			lease_owner = ?1, lease_expires = ?3
			WHERE id = ?4 AND (lease_owner = '' OR lease_owner = ?1 OR lease_expires <= ?2)
			RETURNING lease_token`},
		{&s.selectUnfinished, `SELECT id FROM workflow_unfinished ORDER BY created, id`},
		{&s.selectDef, `SELECT body FROM workflow_definitions WHERE hash = ?`},
		{&s.upsertIntent, `INSERT INTO workflow_intents (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data`},
		{&s.selectIntent, `SELECT data FROM workflow_intents WHERE key = ?`},
		{&s.insertIntent, `INSERT INTO workflow_intents (key, data) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`},
	}
	for _, st := range stmts {
		p, err := db.PrepareContext(ctx, st.sql)
		if err != nil {
			s.closeStmts()
			return nil, fmt.Errorf("workflow: prepare: %w", err)
		}
		*st.dst = p
	}
	return s, nil
}

func (s *SQLiteStore) closeStmts() {
	for _, st := range []*sql.Stmt{s.insertRun, s.insertDef, s.insertUnfinished, s.deleteUnfinished, s.updateRun, s.selectRun,
		s.selectVersion, s.selectUnfinished, s.selectDef, s.upsertIntent, s.selectIntent, s.selectLease, s.updateLease, s.releaseLease, s.insertIntent, s.acquireLease} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// enter takes the read lock; callers must s.mu.RUnlock() when it returns nil.
func (s *SQLiteStore) enter(ctx context.Context) error {
	if s.db == nil {
		return &NotConstructedError{Type: "SQLiteStore", Constructor: "OpenSQLiteStore"}
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

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (s *SQLiteStore) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	err := sqlitex.Tx(ctx, s.db, fn)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// Create implements Store.
func (s *SQLiteStore) Create(ctx context.Context, run *RunRecord, definition []byte) error {
	_, err := s.create(ctx, run, definition, "", 0)
	return err
}

// CreateLeased implements CreateLeaser: Create and Acquire in one transaction.
func (s *SQLiteStore) CreateLeased(ctx context.Context, run *RunRecord, definition []byte, owner string, ttl time.Duration) (Lease, error) {
	if owner == "" || ttl <= 0 {
		return Lease{}, fmt.Errorf("%w: lease of run %s for owner %q, ttl %v", ErrInvalidLease, run.ID, owner, ttl)
	}
	return s.create(ctx, run, definition, owner, ttl)
}

// create stores a new run and, for an owner, takes its lease in the same transaction.
func (s *SQLiteStore) create(ctx context.Context, run *RunRecord, definition []byte, owner string, ttl time.Duration) (Lease, error) {
	if err := s.enter(ctx); err != nil {
		return Lease{}, err
	}
	defer s.mu.RUnlock()
	var lease Lease
	if definition == nil {
		definition = []byte{}
	}
	steps := encodeSteps(sortSteps(run.Steps))
	s.defsMu.Lock()
	known := s.defs[run.DefinitionHash]
	s.defsMu.Unlock()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, s.insertRun).ExecContext(ctx, run.ID, run.Workflow, run.DefinitionHash, string(run.Status),
			run.Input, run.Output, run.Error, run.Context, run.Version, nanos(run.Created), nanos(run.Updated), steps)
		if sqlitex.IsPrimaryKeyViolation(err) {
			return fmt.Errorf("%w: %s", ErrRunExists, run.ID)
		}
		if err != nil {
			return err
		}
		if !known {
			if _, err := tx.StmtContext(ctx, s.insertDef).ExecContext(ctx, run.DefinitionHash, definition); err != nil {
				return err
			}
		}
		if !run.Status.Finished() {
			if _, err := tx.StmtContext(ctx, s.insertUnfinished).ExecContext(ctx, run.ID, nanos(run.Created)); err != nil {
				return err
			}
		}
		if owner == "" {
			return nil
		}
		now := time.Now()
		expires := now.Add(ttl)
		var token int64
		if err := tx.StmtContext(ctx, s.acquireLease).QueryRowContext(ctx, owner, now.UnixNano(), expires.UnixNano(), run.ID).Scan(&token); err != nil {
			return err
		}
		lease = Lease{RunID: run.ID, Owner: owner, Token: token, Expires: time.Unix(0, expires.UnixNano())}
		return nil
	})
	if err == nil && !known {
		s.defsMu.Lock()
		s.defs[run.DefinitionHash] = true
		s.defsMu.Unlock()
	}
	return lease, err
}

// Commit implements Store: one UPDATE guarded by the version (and, when the run ends, the removal
// from the unfinished list).
func (s *SQLiteStore) Commit(ctx context.Context, t *Transition) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	steps := encodeSteps(sortSteps(t.Steps))
	now := time.Now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.updateRun).ExecContext(ctx, string(t.Status), t.Output, t.Error, nanos(t.Time), steps, t.RunID, t.Version,
			t.Lease, now.UnixNano())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var v int64
			var status string
			var l leaseState
			var exp int64
			err := tx.StmtContext(ctx, s.selectVersion).QueryRowContext(ctx, t.RunID).Scan(&v, &status, &l.owner, &l.token, &exp)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: run %s", ErrNotFound, t.RunID)
			}
			if err != nil {
				return err
			}
			l.expires = time.Unix(0, exp)
			if err := checkFence(&l, t, now); err != nil {
				return err
			}
			return fmt.Errorf("%w: run %s is %s at version %d; the commit expected version %d", ErrConflict, t.RunID, status, v, t.Version)
		}
		if t.Status.Finished() {
			_, err = tx.StmtContext(ctx, s.deleteUnfinished).ExecContext(ctx, t.RunID)
		}
		return err
	})
}

// sortSteps returns steps ordered by Index (a copy when they were not).
func sortSteps(steps []StepRecord) []StepRecord {
	if sort.SliceIsSorted(steps, func(i, j int) bool { return steps[i].Index < steps[j].Index }) {
		return steps
	}
	out := slices.Clone(steps)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// Load implements Store.
func (s *SQLiteStore) Load(ctx context.Context, id string) (*RunRecord, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	r := &RunRecord{ID: id}
	var status string
	var created, updated int64
	var steps []byte
	err := s.selectRun.QueryRowContext(ctx, id).Scan(&r.Workflow, &r.DefinitionHash, &status,
		&r.Input, &r.Output, &r.Error, &r.Context, &r.Version, &created, &updated, &steps)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: run %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	r.Status, r.Created, r.Updated = RunStatus(status), fromNanos(created), fromNanos(updated)
	if r.Steps, err = decodeSteps(steps); err != nil {
		return nil, fmt.Errorf("%w: run %s: %v", ErrCorruptState, id, err)
	}
	return r, nil
}

// Unfinished implements Store.
func (s *SQLiteStore) Unfinished(ctx context.Context) ([]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.selectUnfinished.QueryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (s *SQLiteStore) blob(ctx context.Context, st *sql.Stmt, what, key string) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var b []byte
	err := st.QueryRowContext(ctx, key).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s %s", ErrNotFound, what, key)
	}
	if b == nil && err == nil {
		b = []byte{}
	}
	return b, err
}

// Definition implements Store.
func (s *SQLiteStore) Definition(ctx context.Context, hash string) ([]byte, error) {
	return s.blob(ctx, s.selectDef, "definition", hash)
}

// Intent implements Store.
func (s *SQLiteStore) Intent(ctx context.Context, key string) ([]byte, error) {
	return s.blob(ctx, s.selectIntent, "intent", key)
}

// PutIntent implements Store.
func (s *SQLiteStore) PutIntent(ctx context.Context, key string, data []byte) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if data == nil {
		data = []byte{}
	}
	_, err := s.upsertIntent.ExecContext(ctx, key, data)
	return err
}

// lease reads the lease of run id inside tx.
func (s *SQLiteStore) lease(ctx context.Context, tx *sql.Tx, id string) (*leaseState, error) {
	var l leaseState
	var exp int64
	err := tx.StmtContext(ctx, s.selectLease).QueryRowContext(ctx, id).Scan(&l.owner, &l.token, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: run %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	l.expires = time.Unix(0, exp)
	return &l, nil
}

func (s *SQLiteStore) storeLease(ctx context.Context, tx *sql.Tx, id string, l *leaseState) error {
	_, err := tx.StmtContext(ctx, s.updateLease).ExecContext(ctx, l.owner, l.token, l.expires.UnixNano(), id)
	return err
}

// Acquire implements Store: the lease is three columns of the run's row, taken with one
// conditional update.
func (s *SQLiteStore) Acquire(ctx context.Context, id, owner string, ttl time.Duration) (Lease, error) {
	if err := s.enter(ctx); err != nil {
		return Lease{}, err
	}
	defer s.mu.RUnlock()
	if owner == "" || ttl <= 0 {
		return Lease{}, fmt.Errorf("%w: lease of run %s for owner %q, ttl %v", ErrInvalidLease, id, owner, ttl)
	}
	now := time.Now()
	expires := now.Add(ttl)
	var token int64
	err := s.acquireLease.QueryRowContext(ctx, owner, now.UnixNano(), expires.UnixNano(), id).Scan(&token)
	if err == nil {
		return Lease{RunID: id, Owner: owner, Token: token, Expires: time.Unix(0, expires.UnixNano())}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			return Lease{}, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return Lease{}, err
	}
	// Nothing updated: an unknown run, or another owner's lease.
	var lease Lease
	err = s.tx(ctx, func(tx *sql.Tx) error {
		l, err := s.lease(ctx, tx, id)
		if err != nil {
			return err
		}
		if l, lease, err = acquireLease(l, id, owner, ttl, time.Now()); err != nil {
			return err
		}
		return s.storeLease(ctx, tx, id, l)
	})
	return lease, err
}

// Renew implements Store.
func (s *SQLiteStore) Renew(ctx context.Context, lease Lease, ttl time.Duration) (Lease, error) {
	if err := s.enter(ctx); err != nil {
		return Lease{}, err
	}
	defer s.mu.RUnlock()
	var out Lease
	err := s.tx(ctx, func(tx *sql.Tx) error {
		l, err := s.lease(ctx, tx, lease.RunID)
		if errors.Is(err, ErrNotFound) {
			return &LeaseError{RunID: lease.RunID, Token: lease.Token, Err: ErrLeaseLost}
		}
		if err != nil {
			return err
		}
		if out, err = renewLease(l, lease, ttl, time.Now()); err != nil {
			return err
		}
		return s.storeLease(ctx, tx, lease.RunID, l)
	})
	return out, err
}

// Release implements Store.
func (s *SQLiteStore) Release(ctx context.Context, l Lease) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	_, err := s.releaseLease.ExecContext(ctx, l.RunID, l.Owner, l.Token)
	return err
}

// CreateIntent implements Store.
func (s *SQLiteStore) CreateIntent(ctx context.Context, key string, data []byte) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if data == nil {
		data = []byte{}
	}
	res, err := s.insertIntent.ExecContext(ctx, key, data)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: %s", ErrIntentExists, key)
	}
	return nil
}

// Close implements Store. It waits for calls in progress, then closes the database if the
// store opened it.
func (s *SQLiteStore) Close() error {
	if s.db == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.closeStmts()
	if s.owned {
		return s.db.Close()
	}
	return nil
}

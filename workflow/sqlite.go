package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// migrations of the SQLite store's tables; append only.
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
	updated  INTEGER NOT NULL
);
CREATE INDEX workflow_runs_unfinished ON workflow_runs (created, id) WHERE status IN ('running', 'compensating');
CREATE TABLE workflow_steps (
	run_id       TEXT NOT NULL REFERENCES workflow_runs (id),
	step_id      TEXT NOT NULL,
	idx          INTEGER NOT NULL,
	status       TEXT NOT NULL,
	attempt      INTEGER NOT NULL,
	comp_attempt INTEGER NOT NULL,
	output       BLOB,
	error        TEXT NOT NULL,
	started      INTEGER NOT NULL,
	finished     INTEGER NOT NULL,
	PRIMARY KEY (run_id, step_id)
) WITHOUT ROWID;
CREATE TABLE workflow_definitions (
	hash TEXT PRIMARY KEY,
	body BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE workflow_intents (
	key     TEXT PRIMARY KEY,
	data    BLOB NOT NULL
) WITHOUT ROWID;
`}

// SQLiteStore is the durable Store, on SQLite (modernc.org/sqlite, pure Go). Each Create and
// Commit is one transaction. With the default synchronous=NORMAL write-ahead log a committed
// transition survives a crash of the process (kill -9); open with WithFullSync to make it survive
// power loss as well.
type SQLiteStore struct {
	db    *sql.DB
	owned bool

	mu     sync.RWMutex // held for reading by calls, for writing by Close
	closed bool

	insertRun, insertDef, updateRun, upsertStep, selectRun, selectSteps,
	selectVersion, selectUnfinished, selectDef, upsertIntent, selectIntent *sql.Stmt
}

var _ Store = (*SQLiteStore)(nil)

// SQLiteOption configures OpenSQLiteStore.
type SQLiteOption func(*sqliteConfig)

type sqliteConfig struct{ full bool }

// WithFullSync makes every commit wait for the disk (fsync), so that committed transitions and
// intents survive power loss and operating-system crashes, not only process crashes. It costs
// an fsync per commit. Defaults to off.
func WithFullSync() SQLiteOption { return func(c *sqliteConfig) { c.full = true } }

// OpenSQLiteStore opens (creating if needed) the SQLite database file at path, with write-ahead
// logging, and returns a store that owns it: Close closes the database.
func OpenSQLiteStore(ctx context.Context, path string, opts ...SQLiteOption) (*SQLiteStore, error) {
	var cfg sqliteConfig
	for _, o := range opts {
		o(&cfg)
	}
	var sopts []sqlitex.Option
	if cfg.full {
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
// components may share, creating its tables if needed. Close does not close db.
func NewSQLiteStore(ctx context.Context, db *sql.DB) (*SQLiteStore, error) {
	if err := sqlitex.Migrate(ctx, db, "workflow", sqliteMigrations); err != nil {
		return nil, err
	}
	s := &SQLiteStore{db: db}
	stmts := []struct {
		dst *(*sql.Stmt)
		sql string
	}{
		{&s.insertRun, `INSERT INTO workflow_runs (id, workflow, def_hash, status, input, output, error, context, version, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.insertDef, `INSERT INTO workflow_definitions (hash, body) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`},
		{&s.updateRun, `UPDATE workflow_runs SET status = ?, output = ?, error = ?, updated = ?, version = version + 1 WHERE id = ? AND version = ?`},
		{&s.upsertStep, `INSERT INTO workflow_steps (run_id, step_id, idx, status, attempt, comp_attempt, output, error, started, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id, step_id) DO UPDATE SET idx = excluded.idx, status = excluded.status, attempt = excluded.attempt, comp_attempt = excluded.comp_attempt,
			output = excluded.output, error = excluded.error, started = excluded.started, finished = excluded.finished`},
		{&s.selectRun, `SELECT workflow, def_hash, status, input, output, error, context, version, created, updated FROM workflow_runs WHERE id = ?`},
		{&s.selectSteps, `SELECT step_id, idx, status, attempt, comp_attempt, output, error, started, finished FROM workflow_steps WHERE run_id = ? ORDER BY idx`},
		{&s.selectVersion, `SELECT version FROM workflow_runs WHERE id = ?`},
		{&s.selectUnfinished, `SELECT id FROM workflow_runs WHERE status IN ('running', 'compensating') ORDER BY created, id`},
		{&s.selectDef, `SELECT body FROM workflow_definitions WHERE hash = ?`},
		{&s.upsertIntent, `INSERT INTO workflow_intents (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data`},
		{&s.selectIntent, `SELECT data FROM workflow_intents WHERE key = ?`},
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
	for _, st := range []*sql.Stmt{s.insertRun, s.insertDef, s.updateRun, s.upsertStep, s.selectRun, s.selectSteps,
		s.selectVersion, s.selectUnfinished, s.selectDef, s.upsertIntent, s.selectIntent} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// enter takes the read lock; callers must s.mu.RUnlock() when it returns nil.
func (s *SQLiteStore) enter(ctx context.Context) error {
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

func (s *SQLiteStore) putSteps(ctx context.Context, tx *sql.Tx, runID string, steps []StepRecord) error {
	if len(steps) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, s.upsertStep)
	for _, r := range steps {
		if _, err := st.ExecContext(ctx, runID, r.ID, r.Index, string(r.Status), r.Attempt, r.CompensationAttempt,
			r.Output, r.Error, nanos(r.Started), nanos(r.Finished)); err != nil {
			return err
		}
	}
	return nil
}

// Create implements Store.
func (s *SQLiteStore) Create(ctx context.Context, run *RunRecord, definition []byte) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return s.tx(ctx, func(tx *sql.Tx) error {
		var v int64
		err := tx.StmtContext(ctx, s.selectVersion).QueryRowContext(ctx, run.ID).Scan(&v)
		if err == nil {
			return fmt.Errorf("%w: %s", ErrRunExists, run.ID)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if definition == nil {
			definition = []byte{}
		}
		if _, err := tx.StmtContext(ctx, s.insertDef).ExecContext(ctx, run.DefinitionHash, definition); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, s.insertRun).ExecContext(ctx, run.ID, run.Workflow, run.DefinitionHash, string(run.Status),
			run.Input, run.Output, run.Error, run.Context, run.Version, nanos(run.Created), nanos(run.Updated)); err != nil {
			return err
		}
		return s.putSteps(ctx, tx, run.ID, run.Steps)
	})
}

// Commit implements Store.
func (s *SQLiteStore) Commit(ctx context.Context, t *Transition) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.updateRun).ExecContext(ctx, string(t.Status), t.Output, t.Error, nanos(t.Time), t.RunID, t.Version)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var v int64
			err := tx.StmtContext(ctx, s.selectVersion).QueryRowContext(ctx, t.RunID).Scan(&v)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: run %s", ErrNotFound, t.RunID)
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("%w: run %s is at version %d, not %d", ErrConflict, t.RunID, v, t.Version)
		}
		return s.putSteps(ctx, tx, t.RunID, t.Steps)
	})
}

// Load implements Store.
func (s *SQLiteStore) Load(ctx context.Context, id string) (*RunRecord, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	r := &RunRecord{ID: id}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var status string
		var created, updated int64
		err := tx.StmtContext(ctx, s.selectRun).QueryRowContext(ctx, id).Scan(&r.Workflow, &r.DefinitionHash, &status,
			&r.Input, &r.Output, &r.Error, &r.Context, &r.Version, &created, &updated)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: run %s", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		r.Status, r.Created, r.Updated = RunStatus(status), fromNanos(created), fromNanos(updated)
		rows, err := tx.StmtContext(ctx, s.selectSteps).QueryContext(ctx, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st StepRecord
			var status string
			var started, finished int64
			if err := rows.Scan(&st.ID, &st.Index, &status, &st.Attempt, &st.CompensationAttempt, &st.Output, &st.Error, &started, &finished); err != nil {
				return err
			}
			st.Status, st.Started, st.Finished = StepStatus(status), fromNanos(started), fromNanos(finished)
			r.Steps = append(r.Steps, st)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
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

// Close implements Store. It waits for calls in progress, then closes the database if the
// store opened it.
func (s *SQLiteStore) Close() error {
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

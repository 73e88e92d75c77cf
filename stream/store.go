package stream

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sort"
	"sync"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// Store keeps operators' checkpoints: for each pipeline name, a set of entries (string key,
// byte value). A checkpoint is one Commit of every change since the previous one.
//
// Implementations MUST:
//   - apply the changes of one Commit atomically: after a crash at any moment, Load sees all of
//     them or none;
//   - apply them in order, so that a later change of the same key wins;
//   - keep pipelines apart: a Commit or Load under one name never sees another's entries;
//   - make a committed change visible to every later Load, including one by another process
//     after a restart, for stores that persist;
//   - call Load's fn in ascending byte order of the keys, never with an entry deleted or
//     replaced by a Commit that had returned before Load was called; fn's value is valid only
//     during the call; an error from fn ends Load and is returned as is;
//   - return ctx.Err() (wrapped or as is) if ctx ends first, with nothing applied;
//   - be safe for concurrent use, and return ErrClosed (wrapped or as is) after Close, which is
//     idempotent.
//
// streamtest.RunStore checks this contract; MemoryStore and SQLiteStore pass it.
type Store interface {
	Load(ctx context.Context, pipeline string, fn func(key string, value []byte) error) error
	Commit(ctx context.Context, pipeline string, changes []Change) error
	Close() error
}

// Change is one entry of a checkpoint: a new value for Key, or its deletion.
type Change struct {
	Key    string
	Value  []byte
	Delete bool
}

// MemoryStore is a Store in process memory: checkpoints survive a Run, not the process. The
// zero value is ready to use.
type MemoryStore struct {
	mu     sync.Mutex
	data   map[string]map[string][]byte
	closed bool
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load implements Store.
func (s *MemoryStore) Load(ctx context.Context, pipeline string, fn func(string, []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	m := s.data[pipeline]
	keys := make([]string, 0, len(m))
	vals := make(map[string][]byte, len(m))
	for k, v := range m {
		keys = append(keys, k)
		vals[k] = v
	}
	s.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k, slices.Clone(vals[k])); err != nil {
			return err
		}
	}
	return nil
}

// Commit implements Store.
func (s *MemoryStore) Commit(ctx context.Context, pipeline string, changes []Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.data == nil {
		s.data = make(map[string]map[string][]byte)
	}
	m := s.data[pipeline]
	if m == nil {
		m = make(map[string][]byte)
		s.data[pipeline] = m
	}
	for _, c := range changes {
		if c.Delete {
			delete(m, c.Key)
		} else {
			m[c.Key] = slices.Clone(c.Value)
		}
	}
	if len(m) == 0 {
		delete(s.data, pipeline)
	}
	return nil
}

// Close implements Store. It is idempotent.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// SQLiteStore is a Store in a SQLite database (write-ahead log; a commit survives kill -9).
type SQLiteStore struct {
	db    *sql.DB
	owned bool
	mu    sync.RWMutex
	done  bool
}

var _ Store = (*SQLiteStore)(nil)

var sqliteMigrations = []string{`
	CREATE TABLE stream_state (
		pipeline TEXT NOT NULL,
		key      TEXT NOT NULL,
		value    BLOB NOT NULL,
		PRIMARY KEY (pipeline, key)
	) WITHOUT ROWID`,
}

// OpenSQLiteStore opens (creating if needed) the SQLite database at path and returns a store in
// it; Close closes the database. Several stores and other SDK components may share one file.
func OpenSQLiteStore(ctx context.Context, path string) (*SQLiteStore, error) {
	db, err := sqlitex.Open(ctx, path)
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

// NewSQLiteStore returns a store in db, which must have been opened by the SDK's SQLite
// settings (BEGIN IMMEDIATE transactions). Close leaves db open.
func NewSQLiteStore(ctx context.Context, db *sql.DB) (*SQLiteStore, error) {
	if db == nil {
		return nil, &OptionError{Option: "NewSQLiteStore", Value: nil, Reason: "nil database"}
	}
	if err := sqlitex.Migrate(ctx, db, "stream", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

func (s *SQLiteStore) enter() error {
	s.mu.RLock()
	if s.done {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// Load implements Store.
func (s *SQLiteStore) Load(ctx context.Context, pipeline string, fn func(string, []byte) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM stream_state WHERE pipeline = ? ORDER BY key`, pipeline)
	if err != nil {
		return ctxErr(ctx, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return ctxErr(ctx, err)
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return ctxErr(ctx, rows.Err())
}

// Commit implements Store.
func (s *SQLiteStore) Commit(ctx context.Context, pipeline string, changes []Change) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	err := sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		var put, del *sql.Stmt
		for _, c := range changes {
			var err error
			if c.Delete {
				if del == nil {
					if del, err = tx.PrepareContext(ctx, `DELETE FROM stream_state WHERE pipeline = ? AND key = ?`); err != nil {
						return err
					}
					defer del.Close()
				}
				_, err = del.ExecContext(ctx, pipeline, c.Key)
			} else {
				if put == nil {
					if put, err = tx.PrepareContext(ctx, `INSERT INTO stream_state (pipeline, key, value) VALUES (?, ?, ?)
						ON CONFLICT (pipeline, key) DO UPDATE SET value = excluded.value`); err != nil {
						return err
					}
					defer put.Close()
				}
				v := c.Value
				if v == nil {
					v = []byte{}
				}
				_, err = put.ExecContext(ctx, pipeline, c.Key, v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return ctxErr(ctx, err)
}

// Close implements Store: it closes the database if OpenSQLiteStore opened it. It is idempotent.
func (s *SQLiteStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	s.done = true
	if s.owned {
		return s.db.Close()
	}
	return nil
}

// ctxErr prefers ctx's error, so cancellation is reported as such.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	return err
}

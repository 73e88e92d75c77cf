package handler

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// Store runs side effects at most once per key: the first call claims the key, runs the
// effect and keeps its result; later calls get that result without running anything. An
// effect whose run was cut short (the process died after claiming its key) is never run again
// by the store: later calls get an *InterruptedError so the host reconciles by hand.
//
// The claim is written before the effect runs, so a crash can never make an effect run twice;
// it can make it run zero times with an uncertain outcome, which InterruptedError reports. A
// failed run releases its claim: the effect may be tried again.
type Store struct {
	db  *sql.DB
	own bool
	now func() time.Time

	mu       sync.Mutex
	inflight map[string]*call
	closed   bool
}

type call struct {
	done   chan struct{}
	result any
	err    error
}

// InterruptedError reports a side effect whose run began but never finished (the process
// stopped in between): whether it happened is unknown. It matches ErrInterrupted.
type InterruptedError struct {
	Key       string
	ClaimedAt time.Time
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("handler: side effect %q was started at %s and never finished", e.Key, e.ClaimedAt.Format(time.RFC3339))
}

// Is reports whether target is ErrInterrupted.
func (e *InterruptedError) Is(target error) bool { return target == ErrInterrupted }

var migrations = []string{
	`CREATE TABLE handler_effects (
		key        TEXT PRIMARY KEY,
		state      TEXT NOT NULL,
		result     BLOB,
		claimed_at INTEGER NOT NULL,
		done_at    INTEGER
	)`,
}

// OpenStore opens (creating it if needed) an effects store in the SQLite database at path
// (sqlitex.Memory for a private in-memory one). Close closes the database.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitex.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	s, err := NewStore(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// NewStore returns an effects store in db, which may be shared with other stores; Close does
// not close it.
func NewStore(ctx context.Context, db *sql.DB) (*Store, error) {
	if db == nil {
		return nil, &OptionError{Option: "db", Value: nil, Reason: "nil"}
	}
	if err := sqlitex.Migrate(ctx, db, "handler", migrations); err != nil {
		return nil, err
	}
	return &Store{db: db, now: time.Now, inflight: map[string]*call{}}, nil
}

// Close releases the store. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.own {
		return s.db.Close()
	}
	return nil
}

// Once runs f unless key was run before; see Store. ran reports whether this call ran f. The
// result must marshal to JSON; the result returned for an earlier run is its JSON decoding
// (numbers as float64).
func (s *Store) Once(ctx context.Context, key string, f func(ctx context.Context) (any, error)) (result any, ran bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, ErrClosed
	}
	if c, ok := s.inflight[key]; ok {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.result, false, c.err
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	c := &call{done: make(chan struct{})}
	s.inflight[key] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inflight, key)
		s.mu.Unlock()
		c.result, c.err = result, err
		if ran && err != nil {
			c.result = nil
		}
		close(c.done)
	}()

	claimed, prev, err := s.claim(ctx, key)
	if err != nil || !claimed {
		return prev, false, err
	}
	result, err = f(ctx)
	if err != nil {
		if _, derr := s.db.ExecContext(context.WithoutCancel(ctx), `DELETE FROM handler_effects WHERE key = ? AND state = 'running'`, key); derr != nil {
			return nil, true, errors.Join(err, derr)
		}
		return nil, true, err
	}
	raw, merr := json.Marshal(result)
	if merr != nil {
		return result, true, fmt.Errorf("handler: result of %q: %w", key, merr)
	}
	if _, err := s.db.ExecContext(context.WithoutCancel(ctx), `UPDATE handler_effects SET state = 'done', result = ?, done_at = ? WHERE key = ?`,
		raw, s.now().UnixMilli(), key); err != nil {
		return result, true, err
	}
	return result, true, nil
}

// claim takes key, or returns the stored result of an earlier run.
func (s *Store) claim(ctx context.Context, key string) (bool, any, error) {
	now := s.now().UnixMilli()
	_, err := s.db.ExecContext(ctx, `INSERT INTO handler_effects (key, state, claimed_at) VALUES (?, 'running', ?)`, key, now)
	if err == nil {
		return true, nil, nil
	}
	if !sqlitex.IsPrimaryKeyViolation(err) {
		return false, nil, err
	}
	// A retracted effect is claimed again, as if it had never run.
	res, err := s.db.ExecContext(ctx, `UPDATE handler_effects SET state = 'running', result = NULL, claimed_at = ?, done_at = NULL
		WHERE key = ? AND state = 'retracted'`, now, key)
	if err != nil {
		return false, nil, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil, nil
	}
	var (
		state   string
		raw     []byte
		claimed int64
	)
	if err := s.db.QueryRowContext(ctx, `SELECT state, result, claimed_at FROM handler_effects WHERE key = ?`, key).Scan(&state, &raw, &claimed); err != nil {
		return false, nil, err
	}
	if state != "done" {
		return false, nil, &InterruptedError{Key: key, ClaimedAt: time.UnixMilli(claimed)}
	}
	var v any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			return false, nil, err
		}
	}
	return false, v, nil
}

// Retract marks the effect of key retracted — the event it ran for was taken back (a block a
// reorg disconnected) — and returns the result it had: ran is false when no run of it
// finished (never run, already retracted, or failed). The row is kept, marked retracted, so
// the store still shows what ran; the next Once of key runs the effect again. An effect whose
// run was interrupted is an *InterruptedError and stays as it is, for the host to reconcile.
func (s *Store) Retract(ctx context.Context, key string) (result any, ran bool, err error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, false, ErrClosed
	}
	var (
		state   string
		raw     []byte
		claimed int64
	)
	err = sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		switch err := tx.QueryRowContext(ctx, `SELECT state, result, claimed_at FROM handler_effects WHERE key = ?`, key).Scan(&state, &raw, &claimed); {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		switch state {
		case "done":
			ran = true
			_, err := tx.ExecContext(ctx, `UPDATE handler_effects SET state = 'retracted' WHERE key = ?`, key)
			return err
		case "running":
			return &InterruptedError{Key: key, ClaimedAt: time.UnixMilli(claimed)}
		}
		return nil
	})
	if err != nil || !ran {
		return nil, false, err
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &result); err != nil {
			return nil, true, fmt.Errorf("handler: result of %q: %w", key, err)
		}
	}
	return result, true, nil
}

// Retracted is an effect RetractPrefix took back: its key and the result it had.
type Retracted struct {
	Key    string
	Result any
}

// RetractPrefix retracts (see Retract) every finished effect whose key starts with prefix,
// in key order, and returns them. Interrupted effects are left as they are.
func (s *Store) RetractPrefix(ctx context.Context, prefix string) ([]Retracted, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	var out []Retracted
	err := sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `SELECT key, result FROM handler_effects WHERE substr(key, 1, ?) = ? AND state = 'done' ORDER BY key`,
			len(prefix), prefix)
		if err != nil {
			return err
		}
		var raws [][]byte
		for rows.Next() {
			var (
				k   string
				raw []byte
			)
			if err := rows.Scan(&k, &raw); err != nil {
				rows.Close()
				return err
			}
			out = append(out, Retracted{Key: k})
			raws = append(raws, raw)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i, r := range out {
			if len(raws[i]) > 0 {
				if err := json.Unmarshal(raws[i], &out[i].Result); err != nil {
					return fmt.Errorf("handler: result of %q: %w", r.Key, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE handler_effects SET state = 'retracted' WHERE key = ?`, r.Key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Forget releases key so its effect may run again: for a host that reconciled an interrupted
// effect by hand.
func (s *Store) Forget(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM handler_effects WHERE key = ?`, key)
	return err
}

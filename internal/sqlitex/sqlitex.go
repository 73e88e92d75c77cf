package sqlitex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Sync is how hard a commit waits for the disk.
type Sync uint8

const (
	// SyncNormal keeps committed transactions across process crashes (the write-ahead log is in the
	// operating system's page cache before Commit returns); an OS crash or power loss can lose the
	// most recent commits but never corrupts the database.
	SyncNormal Sync = iota
	// SyncFull fsyncs the write-ahead log on every commit: committed transactions survive power loss.
	SyncFull
)

func (s Sync) String() string {
	switch s {
	case SyncNormal:
		return "NORMAL"
	case SyncFull:
		return "FULL"
	}
	return "Sync(" + strconv.Itoa(int(s)) + ")"
}

// Defaults of Open.
const (
	// DefaultBusyTimeout is how long a statement waits for another connection's write lock.
	DefaultBusyTimeout = 5 * time.Second
	// DefaultSync is the durability of commits.
	DefaultSync = SyncNormal
	// DefaultMaxOpenConns bounds the pool. One connection serializes every statement of the
	// process in Go, which is what SQLite's single writer does anyway, and avoids busy waits.
	DefaultMaxOpenConns = 1
)

var (
	// ErrInvalidOption is matched by the *OptionError returned for a bad option value.
	ErrInvalidOption = errors.New("sqlitex: invalid option")
	// ErrInvalidPath is returned for an empty path or one carrying URI parameters.
	ErrInvalidPath = errors.New("sqlitex: invalid path")
	// ErrNewerSchema is returned by Migrate when the database has more migrations of a component
	// than the code knows: it was written by a newer version.
	ErrNewerSchema = errors.New("sqlitex: database schema is newer than this code")
)

// OptionError reports an option whose value is out of range, found when Open validated its
// configuration; nothing is opened. It matches [ErrInvalidOption].
type OptionError struct {
	Option string // the option, e.g. "WithBusyTimeout"
	Value  any    // the rejected value
	Reason string // what a valid value looks like
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("sqlitex: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// Option configures [Open].
type Option func(*config)

type config struct {
	busy     time.Duration
	sync     Sync
	maxConns int
	invalid  *OptionError // the first option with a value out of range
}

func (c *config) reject(option string, value any, reason string) {
	if c.invalid == nil {
		c.invalid = &OptionError{Option: option, Value: value, Reason: reason}
	}
}

// WithSync sets the durability of commits, SyncNormal or SyncFull. Defaults to [DefaultSync]
// (SyncNormal).
func WithSync(s Sync) Option {
	return func(c *config) {
		if s > SyncFull {
			c.reject("WithSync", s, "unknown mode")
			return
		}
		c.sync = s
	}
}

// WithBusyTimeout sets how long a statement waits for a lock held by another connection or
// process (not negative). Defaults to [DefaultBusyTimeout].
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.reject("WithBusyTimeout", d, "negative")
			return
		}
		c.busy = d
	}
}

// WithMaxOpenConns sets the size of the connection pool, at least 1. An in-memory database
// always gets one connection, since each connection would see its own. Defaults to
// [DefaultMaxOpenConns].
func WithMaxOpenConns(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.reject("WithMaxOpenConns", n, "must be at least 1")
			return
		}
		c.maxConns = n
	}
}

// Memory is the path of a private in-memory database, for tests.
const Memory = ":memory:"

// Open opens (creating if needed) the SQLite database at path, a file name or Memory, and checks
// that it is usable. The caller closes the returned *sql.DB.
func Open(ctx context.Context, path string, opts ...Option) (*sql.DB, error) {
	cfg := config{busy: DefaultBusyTimeout, sync: DefaultSync, maxConns: DefaultMaxOpenConns}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.invalid != nil {
		return nil, cfg.invalid
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%w: %q", ErrInvalidPath, path)
	}
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(cfg.busy.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", cfg.sync.String())
	q.Set("_txlock", "immediate")
	name := path
	if path == Memory {
		cfg.maxConns = 1
	} else {
		q.Set("_journal_mode", "WAL")
		name = "file:" + (&url.URL{Path: path}).EscapedPath()
	}
	db, err := sql.Open("sqlite", name+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitex: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(cfg.maxConns)
	db.SetMaxIdleConns(cfg.maxConns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlitex: open %s: %w", path, err)
	}
	return db, nil
}

// Tx runs fn in a transaction and commits it when fn returns nil; otherwise, or if fn panics, it
// rolls back. It returns fn's error, or the commit's.
func Tx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Migrate applies the migrations of component that db has not applied yet, in order, each in its
// own transaction together with its bookkeeping row. Migration i (0-based) is version i+1; a
// migration may hold several statements separated by semicolons. The list is append-only: never
// edit or reorder a migration that has shipped.
func Migrate(ctx context.Context, db *sql.DB, component string, migrations []string) error {
	if component == "" {
		return errors.New("sqlitex: migrate: empty component name")
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sqlitex_migrations (
		component TEXT NOT NULL,
		version   INTEGER NOT NULL,
		applied   INTEGER NOT NULL,
		PRIMARY KEY (component, version)
	)`); err != nil {
		return fmt.Errorf("sqlitex: migrate %s: %w", component, err)
	}
	var have int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM sqlitex_migrations WHERE component = ?`, component).Scan(&have); err != nil {
		return fmt.Errorf("sqlitex: migrate %s: %w", component, err)
	}
	if have > len(migrations) {
		return fmt.Errorf("%w: %s is at version %d, this code knows %d", ErrNewerSchema, component, have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		err := Tx(ctx, db, func(tx *sql.Tx) error {
			// A concurrent Migrate of the same component may have got here first.
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlitex_migrations WHERE component = ? AND version = ?`, component, v).Scan(&done); err != nil {
				return err
			}
			if done > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO sqlitex_migrations (component, version, applied) VALUES (?, ?, ?)`, component, v, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlitex: migrate %s to version %d: %w", component, v, err)
		}
	}
	return nil
}

// IsPrimaryKeyViolation reports whether err is SQLite refusing a row whose primary key is taken.
func IsPrimaryKeyViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// Strings runs query and returns its rows' one text column, in the rows' order.
func Strings(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

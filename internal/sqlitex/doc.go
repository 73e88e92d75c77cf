// Package sqlitex opens SQLite databases the way every store of the SDK needs them and applies
// schema migrations. It wraps modernc.org/sqlite (pure Go, no cgo).
//
// # Opening
//
// Open returns a *sql.DB with write-ahead logging, a busy timeout, foreign keys on, and
// transactions that take the write lock when they begin (BEGIN IMMEDIATE), so two writers never
// deadlock upgrading a read lock. Durability is chosen with WithSync: SyncNormal (the default)
// keeps every committed transaction across a crash of the process, kill -9 included; SyncFull
// also keeps it across a crash of the operating system or a power loss, at the price of an fsync
// per commit.
//
// # Migrations
//
// Migrate brings one component's tables up to date: each component (the workflow store, the audit
// log, ...) lists its schema steps in order, and Migrate runs the ones a database has not seen, each
// in its own transaction, recording them in the sqlitex_migrations table. Several components can
// share one database file.
//
// # Options
//
// Open takes [Option] values ([WithSync], [WithBusyTimeout], [WithMaxOpenConns]); an invalid
// one is reported as an [*OptionError] and nothing is opened.
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
package sqlitex

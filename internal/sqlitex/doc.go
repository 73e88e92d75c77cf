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
package sqlitex

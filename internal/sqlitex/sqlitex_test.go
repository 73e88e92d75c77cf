package sqlitex_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, path string, opts ...sqlitex.Option) *sql.DB {
	t.Helper()
	db, err := sqlitex.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a b.db") // a space needs escaping in the URI
	db := open(t, path)
	if got := pragma(t, db, "journal_mode"); got != "wal" {
		t.Errorf("journal_mode = %q, want wal", got)
	}
	if got := pragma(t, db, "busy_timeout"); got != "5000" {
		t.Errorf("busy_timeout = %q, want 5000", got)
	}
	if got := pragma(t, db, "foreign_keys"); got != "1" {
		t.Errorf("foreign_keys = %q, want 1", got)
	}
	if got := pragma(t, db, "synchronous"); got != "1" { // NORMAL
		t.Errorf("synchronous = %q, want 1 (NORMAL)", got)
	}
	full := open(t, filepath.Join(t.TempDir(), "full.db"), sqlitex.WithSync(sqlitex.SyncFull))
	if got := pragma(t, full, "synchronous"); got != "2" {
		t.Errorf("synchronous = %q, want 2 (FULL)", got)
	}
}

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	for _, p := range []string{"", "x.db?mode=ro", "x#y"} {
		if _, err := sqlitex.Open(ctx, p); !errors.Is(err, sqlitex.ErrInvalidPath) {
			t.Errorf("Open(%q) = %v, want ErrInvalidPath", p, err)
		}
	}
	for _, c := range []struct {
		opt   sqlitex.Option
		name  string
		value any
	}{
		{sqlitex.WithSync(7), "WithSync", sqlitex.Sync(7)},
		{sqlitex.WithBusyTimeout(-1), "WithBusyTimeout", time.Duration(-1)},
		{sqlitex.WithMaxOpenConns(0), "WithMaxOpenConns", 0},
	} {
		// The bad option is reported whatever comes after it, and nothing is opened.
		_, err := sqlitex.Open(ctx, sqlitex.Memory, c.opt, sqlitex.WithSync(sqlitex.SyncFull))
		var oe *sqlitex.OptionError
		if !errors.As(err, &oe) || oe.Option != c.name || oe.Value != c.value || !errors.Is(err, sqlitex.ErrInvalidOption) {
			t.Errorf("%s: err = %v, want its *OptionError", c.name, err)
		}
	}
	if _, err := sqlitex.Open(ctx, filepath.Join(t.TempDir(), "missing-dir", "x.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db := open(t, path)
	v1 := []string{`CREATE TABLE a (x INTEGER); CREATE TABLE b (y TEXT)`}
	if err := sqlitex.Migrate(ctx, db, "comp", v1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO a VALUES (1); INSERT INTO b VALUES ('q')`); err != nil {
		t.Fatal(err)
	}
	// Re-running is a no-op; adding a step applies only the new one.
	v2 := append(v1, `ALTER TABLE a ADD COLUMN z INTEGER NOT NULL DEFAULT 7`)
	for range 2 {
		if err := sqlitex.Migrate(ctx, db, "comp", v2); err != nil {
			t.Fatal(err)
		}
	}
	var z int
	if err := db.QueryRow(`SELECT z FROM a`).Scan(&z); err != nil || z != 7 {
		t.Fatalf("z = %d, %v", z, err)
	}
	// Another component shares the file with its own versions.
	if err := sqlitex.Migrate(ctx, db, "other", []string{`CREATE TABLE c (w INTEGER)`}); err != nil {
		t.Fatal(err)
	}
	// Older code refuses a newer database.
	if err := sqlitex.Migrate(ctx, db, "comp", v1); !errors.Is(err, sqlitex.ErrNewerSchema) {
		t.Fatalf("older code: err = %v, want ErrNewerSchema", err)
	}
	// A failing migration leaves nothing behind and is retried next time.
	bad := append(v2, `CREATE TABLE d (q INTEGER); INSERT INTO nosuchtable VALUES (1)`)
	if err := sqlitex.Migrate(ctx, db, "comp", bad); err == nil {
		t.Fatal("failing migration succeeded")
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'd'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("table d left behind after a failed migration: n=%d err=%v", n, err)
	}
	fixed := append(v2, `CREATE TABLE d (q INTEGER)`)
	if err := sqlitex.Migrate(ctx, db, "comp", fixed); err != nil {
		t.Fatal(err)
	}
	if err := sqlitex.Migrate(ctx, db, "", fixed); err == nil {
		t.Fatal("empty component accepted")
	}
}

func TestMigrateConcurrentProcesses(t *testing.T) {
	// Two pools on one file stand in for two processes starting at once.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	dbs := []*sql.DB{open(t, path), open(t, path)}
	migs := []string{`CREATE TABLE a (x INTEGER)`, `CREATE TABLE b (x INTEGER)`}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Go(func() { errs[i] = sqlitex.Migrate(ctx, db, "comp", migs) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := dbs[0].QueryRow(`SELECT COUNT(*) FROM sqlitex_migrations WHERE component = 'comp'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("migrations recorded = %d, %v; want 2", n, err)
	}
}

func TestTx(t *testing.T) {
	ctx := context.Background()
	db := open(t, sqlitex.Memory)
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := sqlitex.Tx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO t VALUES (1)`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	func() {
		defer func() { _ = recover() }()
		_ = sqlitex.Tx(ctx, db, func(tx *sql.Tx) error {
			_, _ = tx.Exec(`INSERT INTO t VALUES (2)`)
			panic("inside")
		})
	}()
	if err := sqlitex.Tx(ctx, db, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO t VALUES (3)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := db.QueryRow(`SELECT COALESCE(SUM(x), 0) FROM t`).Scan(&sum); err != nil || sum != 3 {
		t.Fatalf("sum = %d, %v; want only the committed row 3", sum, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := sqlitex.Tx(cctx, db, func(*sql.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: err = %v", err)
	}
}

func TestIsPrimaryKeyViolation(t *testing.T) {
	db := open(t, sqlitex.Memory)
	if _, err := db.Exec(`CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO t VALUES ('a', 'x')`); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec(`INSERT INTO t VALUES ('a', 'y')`)
	if !sqlitex.IsPrimaryKeyViolation(err) {
		t.Fatalf("duplicate key: %v not recognised", err)
	}
	_, err = db.Exec(`INSERT INTO t VALUES ('b', 'x')`)
	if err == nil || sqlitex.IsPrimaryKeyViolation(err) {
		t.Fatalf("unique (not primary key) violation: %v", err)
	}
	if sqlitex.IsPrimaryKeyViolation(nil) || sqlitex.IsPrimaryKeyViolation(errors.New("x")) {
		t.Fatal("false positive")
	}
}

func TestStrings(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "s.db"))
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (k TEXT, v TEXT); INSERT INTO t VALUES ('a', 'x'), ('b', 'y'), ('a', 'z')`); err != nil {
		t.Fatal(err)
	}
	if got, err := sqlitex.Strings(ctx, db, `SELECT v FROM t WHERE k = ? ORDER BY v DESC`, "a"); err != nil || !slices.Equal(got, []string{"z", "x"}) {
		t.Fatalf("Strings: %v %v", got, err)
	}
	if got, err := sqlitex.Strings(ctx, db, `SELECT v FROM t WHERE k = ?`, "none"); err != nil || len(got) != 0 {
		t.Fatalf("no rows: %v %v", got, err)
	}
	if _, err := sqlitex.Strings(ctx, db, `SELECT v FROM missing`); err == nil {
		t.Fatal("a query of a missing table returned no error")
	}
}

package keystore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/keystore"
	"github.com/anya-org/anya-go/keystore/keystoretest"
)

// testKDF is the cheapest cost a store accepts, so that the passphrase tests stay quick.
var testKDF = keystore.MinKDF

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sqlitex.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openSQL(t *testing.T, db *sql.DB, src keystore.KeySource) *keystore.SQL {
	t.Helper()
	s, err := keystore.Open(t.Context(), db, src, keystore.WithKDF(testKDF))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func kek(b byte) []byte { return bytes.Repeat([]byte{b}, keystore.KEKSize) }

// fakeKMS is an external Wrapper: a key the store never sees, and an outage switch.
type fakeKMS struct {
	k      *keystore.KEK
	calls  atomic.Int64
	outage atomic.Bool
}

var errOutage = errors.New("kms: unreachable")

func (f *fakeKMS) Wrap(ctx context.Context, pt, aad []byte) ([]byte, error) {
	f.calls.Add(1)
	if f.outage.Load() {
		return nil, errOutage
	}
	return f.k.Wrap(ctx, pt, aad)
}

func (f *fakeKMS) Unwrap(ctx context.Context, w, aad []byte) ([]byte, error) {
	f.calls.Add(1)
	if f.outage.Load() {
		return nil, errOutage
	}
	return f.k.Unwrap(ctx, w, aad)
}

func newKMS(t *testing.T) *fakeKMS {
	k, err := keystore.NewKEK(kek(9))
	if err != nil {
		t.Fatal(err)
	}
	return &fakeKMS{k: k}
}

func TestConformanceMemory(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) keystore.Store {
		s, err := keystore.NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// The zero Memory is an empty store, ready to use.
func TestConformanceZeroMemory(t *testing.T) {
	keystoretest.Run(t, func(*testing.T) keystore.Store { return new(keystore.Memory) })
}

func TestConformanceSQLRawKEK(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) keystore.Store {
		return openSQL(t, openDB(t, filepath.Join(t.TempDir(), "keys.db")), keystore.RawKEK(kek(1)))
	})
}

func TestConformanceSQLPassphrase(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) keystore.Store {
		return openSQL(t, openDB(t, filepath.Join(t.TempDir(), "keys.db")), keystore.Passphrase([]byte("correct horse")))
	})
}

func TestConformanceSQLExternal(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) keystore.Store {
		return openSQL(t, openDB(t, filepath.Join(t.TempDir(), "keys.db")), keystore.External(newKMS(t)))
	})
}

// A store reopened with its passphrase reads what it stored; with another passphrase, another
// kind of key, or a header whose salt or cost was changed, Open fails with ErrWrongKey.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	db := openDB(t, path)
	s := openSQL(t, db, keystore.Passphrase([]byte("correct horse")))
	if err := s.Put(t.Context(), keystore.Entry{Name: "id/1", Secret: []byte("key one"), Meta: map[string]string{"kind": "test"}}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if _, err := s.Get(t.Context(), "id/1"); !errors.Is(err, keystore.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}

	s2 := openSQL(t, db, keystore.Passphrase([]byte("correct horse")))
	e, err := s2.Get(t.Context(), "id/1")
	if err != nil || string(e.Secret) != "key one" || e.Meta["kind"] != "test" {
		t.Fatalf("after reopening: %+v %v", e, err)
	}
	for _, tc := range []struct {
		name string
		src  keystore.KeySource
	}{
		{"wrong passphrase", keystore.Passphrase([]byte("battery staple"))},
		{"passphrase with a trailing space", keystore.Passphrase([]byte("correct horse "))},
		{"a raw KEK instead", keystore.RawKEK(kek(1))},
		{"an external wrapper instead", keystore.External(newKMS(t))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keystore.Open(t.Context(), db, tc.src, keystore.WithKDF(testKDF))
			if !errors.Is(err, keystore.ErrWrongKey) {
				t.Fatalf("Open: %v, want ErrWrongKey", err)
			}
		})
	}

	// A raw-KEK store refuses another KEK.
	db2 := openDB(t, filepath.Join(t.TempDir(), "keys.db"))
	openSQL(t, db2, keystore.RawKEK(kek(1)))
	if _, err := keystore.Open(t.Context(), db2, keystore.RawKEK(kek(2))); !errors.Is(err, keystore.ErrWrongKey) {
		t.Fatalf("Open with another KEK: %v, want ErrWrongKey", err)
	}
}

// Nothing of a secret reaches the database file in the clear.
func TestNoPlaintextOnDisk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.db")
	db := openDB(t, path)
	s := openSQL(t, db, keystore.Passphrase([]byte("correct horse")))
	secret := []byte("PLAINTEXT-SECRET-KEY-MATERIAL-0123456789")
	if err := s.Put(t.Context(), keystore.Entry{Name: "n", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_ = db.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range [][]byte{secret, secret[:16], []byte("correct horse")} {
			if bytes.Contains(raw, needle) {
				t.Errorf("%s holds %q in the clear", filepath.Base(f), needle)
			}
		}
	}
}

// The attacks on stored entries: each alters the database directly, as someone with the file
// would, and Get must refuse the entry with an *IntegrityError, never return altered data.
func TestTamperAttacks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sql   string
		wrong error // the error Get must match (ErrTampered unless said)
	}{
		{"flip a byte of the sealed secret", `UPDATE keystore_entries SET secret = substr(secret, 1, 20) || CASE WHEN substr(secret, 21, 1) = x'00' THEN x'01' ELSE x'00' END || substr(secret, 22) WHERE name = 'victim'`, nil},
		{"flip a byte of the wrapped data key", `UPDATE keystore_entries SET dek = substr(dek, 1, 20) || CASE WHEN substr(dek, 21, 1) = x'00' THEN x'01' ELSE x'00' END || substr(dek, 22) WHERE name = 'victim'`, nil},
		{"truncate the sealed secret", `UPDATE keystore_entries SET secret = substr(secret, 1, 10) WHERE name = 'victim'`, nil},
		{"empty the wrapped data key", `UPDATE keystore_entries SET dek = x'' WHERE name = 'victim'`, nil},
		{"unknown seal version", `UPDATE keystore_entries SET secret = x'02' || substr(secret, 2) WHERE name = 'victim'`, nil},
		{"change the metadata", `UPDATE keystore_entries SET meta = '{"kind":"admin"}' WHERE name = 'victim'`, nil},
		{"drop the metadata", `UPDATE keystore_entries SET meta = '{}' WHERE name = 'victim'`, nil},
		{"change the creation time", `UPDATE keystore_entries SET created = created + 1 WHERE name = 'victim'`, nil},
		{"swap in the other entry's secret", `UPDATE keystore_entries SET secret = (SELECT secret FROM keystore_entries WHERE name = 'other') WHERE name = 'victim'`, nil},
		{"swap in the other entry's data key", `UPDATE keystore_entries SET dek = (SELECT dek FROM keystore_entries WHERE name = 'other') WHERE name = 'victim'`, nil},
		{"swap in the other entry's data key and secret", `UPDATE keystore_entries SET (dek, secret, created, meta) = (SELECT dek, secret, created, meta FROM keystore_entries WHERE name = 'other') WHERE name = 'victim'`, nil},
		{"rename the other entry to the victim", `DELETE FROM keystore_entries WHERE name = 'victim'; UPDATE keystore_entries SET name = 'victim' WHERE name = 'other'`, nil},
		{"delete the entry", `DELETE FROM keystore_entries WHERE name = 'victim'`, keystore.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, filepath.Join(t.TempDir(), "keys.db"))
			s := openSQL(t, db, keystore.RawKEK(kek(1)))
			for _, e := range []keystore.Entry{
				{Name: "victim", Secret: []byte("victim's key"), Meta: map[string]string{"kind": "user"}},
				{Name: "other", Secret: []byte("attacker's key"), Meta: map[string]string{"kind": "user"}},
			} {
				if err := s.Put(t.Context(), e); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.ExecContext(t.Context(), tc.sql); err != nil {
				t.Fatal(err)
			}
			e, err := s.Get(t.Context(), "victim")
			want := tc.wrong
			if want == nil {
				want = keystore.ErrTampered
				var ie *keystore.IntegrityError
				if !errors.As(err, &ie) || ie.Name != "victim" {
					t.Fatalf("Get: %+v %v, want an *IntegrityError naming the entry", e, err)
				}
			}
			if !errors.Is(err, want) || e.Secret != nil {
				t.Fatalf("Get: %q %v, want %v", e.Secret, err, want)
			}
		})
	}
}

// Attacks on the header: changing the salt, the cost or the check value is a wrong key; an
// unreadable or absurd cost is a corrupt store, refused before Argon2id allocates anything.
func TestHeaderAttacks(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		want error
	}{
		{"change the salt", `UPDATE keystore_header SET salt = zeroblob(16)`, keystore.ErrWrongKey},
		{"raise the cost", `UPDATE keystore_header SET kdf = '{"t":3,"m":19456,"p":1}'`, keystore.ErrWrongKey},
		{"flip the check value", `UPDATE keystore_header SET check_ = substr(check_, 1, 20) || CASE WHEN substr(check_, 21, 1) = x'00' THEN x'01' ELSE x'00' END || substr(check_, 22)`, keystore.ErrWrongKey},
		{"change the kind", `UPDATE keystore_header SET kind = 'kek'`, keystore.ErrWrongKey},
		{"cost below the minimum", `UPDATE keystore_header SET kdf = '{"t":1,"m":1024,"p":1}'`, keystore.ErrCorrupt},
		{"cost of a terabyte", `UPDATE keystore_header SET kdf = '{"t":3,"m":1073741824,"p":1}'`, keystore.ErrCorrupt},
		{"cost not JSON", `UPDATE keystore_header SET kdf = 'argon2id'`, keystore.ErrCorrupt},
		{"unknown cost field", `UPDATE keystore_header SET kdf = '{"t":2,"m":19456,"p":1,"x":1}'`, keystore.ErrCorrupt},
		{"short salt", `UPDATE keystore_header SET salt = x'00'`, keystore.ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, filepath.Join(t.TempDir(), "keys.db"))
			s := openSQL(t, db, keystore.Passphrase([]byte("correct horse")))
			_ = s.Close()
			if _, err := db.ExecContext(t.Context(), tc.sql); err != nil {
				t.Fatal(err)
			}
			_, err := keystore.Open(t.Context(), db, keystore.Passphrase([]byte("correct horse")))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
		})
	}
}

// A key management service that cannot be reached is an outage, not tampering: Get passes the
// service's error on, and the entry reads again once the service is back.
func TestExternalOutage(t *testing.T) {
	kms := newKMS(t)
	db := openDB(t, filepath.Join(t.TempDir(), "keys.db"))
	s := openSQL(t, db, keystore.External(kms))
	if err := s.Put(t.Context(), keystore.Entry{Name: "n", Secret: []byte("s")}); err != nil {
		t.Fatal(err)
	}
	kms.outage.Store(true)
	if _, err := s.Get(t.Context(), "n"); !errors.Is(err, errOutage) || errors.Is(err, keystore.ErrTampered) {
		t.Fatalf("Get during an outage: %v", err)
	}
	if err := s.Put(t.Context(), keystore.Entry{Name: "m", Secret: []byte("s")}); !errors.Is(err, errOutage) {
		t.Fatalf("Put during an outage: %v", err)
	}
	if _, err := keystore.Open(t.Context(), db, keystore.External(kms)); !errors.Is(err, errOutage) || errors.Is(err, keystore.ErrWrongKey) {
		t.Fatalf("Open during an outage: %v", err)
	}
	kms.outage.Store(false)
	if e, err := s.Get(t.Context(), "n"); err != nil || string(e.Secret) != "s" {
		t.Fatalf("Get after the outage: %q %v", e.Secret, err)
	}
}

func TestOptions(t *testing.T) {
	db := openDB(t, sqlitex.Memory)
	for _, tc := range []struct {
		name string
		src  keystore.KeySource
		opts []keystore.Option
	}{
		{"no key source", keystore.KeySource{}, nil},
		{"empty passphrase", keystore.Passphrase(nil), nil},
		{"short KEK", keystore.RawKEK(make([]byte, 16)), nil},
		{"nil wrapper", keystore.External(nil), nil},
		{"KDF below the minimum", keystore.Passphrase([]byte("p")), []keystore.Option{keystore.WithKDF(keystore.KDF{Time: 1, MemoryKiB: 1024, Threads: 1})}},
		{"nil clock", keystore.RawKEK(kek(1)), []keystore.Option{keystore.WithClock(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keystore.Open(t.Context(), db, tc.src, tc.opts...)
			var oe *keystore.OptionError
			if !errors.As(err, &oe) || !errors.Is(err, keystore.ErrInvalidOption) {
				t.Fatalf("Open: %v, want an *OptionError", err)
			}
		})
	}
	if _, err := keystore.Open(t.Context(), nil, keystore.RawKEK(kek(1))); !errors.Is(err, keystore.ErrInvalidOption) {
		t.Errorf("Open of a nil database: %v", err)
	}
	// NewMemory takes the same options: WithClock applies, WithKDF does not.
	var oe *keystore.OptionError
	if _, err := keystore.NewMemory(keystore.WithKDF(keystore.DefaultKDF)); !errors.As(err, &oe) || oe.Option != "WithKDF" {
		t.Errorf("NewMemory(WithKDF): %v, want an *OptionError saying it does not apply", err)
	}
	if _, err := keystore.NewMemory(keystore.WithClock(nil)); !errors.As(err, &oe) || oe.Option != "WithClock" {
		t.Errorf("NewMemory(WithClock(nil)): %v", err)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := keystore.NewMemory(nil, keystore.WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Put(t.Context(), keystore.Entry{Name: "a", Secret: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if e, err := m.Get(t.Context(), "a"); err != nil || !e.Created.Equal(at) {
		t.Errorf("entry dated %v (%v), want the clock's %v", e.Created, err, at)
	}
	if _, err := keystore.NewKEK(make([]byte, 31)); !errors.Is(err, keystore.ErrInvalidOption) {
		t.Errorf("NewKEK of 31 bytes: %v", err)
	}
	if _, err := keystore.DeriveKEK([]byte("p"), make([]byte, 8), keystore.MinKDF); !errors.Is(err, keystore.ErrInvalidOption) {
		t.Errorf("DeriveKEK with an 8-byte salt: %v", err)
	}
}

// The wrapped forms a KEK produces authenticate their associated data.
func TestKEKBindsAAD(t *testing.T) {
	k, _ := keystore.NewKEK(kek(3))
	w, err := k.Wrap(t.Context(), []byte("data key"), []byte("name a"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k.Unwrap(t.Context(), w, []byte("name a")); err != nil || string(pt) != "data key" {
		t.Fatalf("Unwrap: %q %v", pt, err)
	}
	if _, err := k.Unwrap(t.Context(), w, []byte("name b")); !errors.Is(err, keystore.ErrUnwrap) {
		t.Fatalf("Unwrap with other associated data: %v", err)
	}
	other, _ := keystore.NewKEK(kek(4))
	if _, err := other.Unwrap(t.Context(), w, []byte("name a")); !errors.Is(err, keystore.ErrUnwrap) {
		t.Fatalf("Unwrap with another key: %v", err)
	}
}

// FuzzUnwrap feeds arbitrary bytes to Unwrap, as a store reads them from a database someone
// else may have written: it never panics, and anything but the genuine blob fails with ErrUnwrap.
func FuzzUnwrap(f *testing.F) {
	k, _ := keystore.NewKEK(kek(5))
	good, _ := k.Wrap(context.Background(), []byte("secret"), []byte("aad"))
	f.Add(good, []byte("aad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1}, []byte("aad"))
	f.Add(append([]byte{2}, good[1:]...), []byte("aad"))
	f.Fuzz(func(t *testing.T, blob, aad []byte) {
		pt, err := k.Unwrap(context.Background(), blob, aad)
		if err != nil {
			if !errors.Is(err, keystore.ErrUnwrap) {
				t.Fatalf("Unwrap error %v does not match ErrUnwrap", err)
			}
			return
		}
		if !bytes.Equal(blob, good) || string(pt) != "secret" {
			t.Fatalf("Unwrap accepted a forged blob: %x → %q", blob, pt)
		}
	})
}

package keystore

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// KeySource says where a persistent store's key-encryption key comes from: a passphrase, a raw
// key, or an external Wrapper (a key management service). Create one with Passphrase, RawKEK or
// External.
type KeySource struct {
	kind       string
	passphrase []byte
	kek        []byte
	wrapper    Wrapper
}

// Kinds of key source, as a store's header records them.
const (
	kindPassphrase = "passphrase"
	kindKEK        = "kek"
	kindExternal   = "external"
)

// Passphrase derives the key-encryption key from p with Argon2id, at the cost WithKDF sets
// when the store is created and with a random salt; both are kept in the store's header.
func Passphrase(p []byte) KeySource {
	return KeySource{kind: kindPassphrase, passphrase: bytes.Clone(p)}
}

// RawKEK uses k, KEKSize random bytes the host keeps elsewhere, as the key-encryption key.
func RawKEK(k []byte) KeySource { return KeySource{kind: kindKEK, kek: bytes.Clone(k)} }

// External wraps each entry's data key with w — a key management service holding the
// key-encryption key, so that it never enters the process.
func External(w Wrapper) KeySource { return KeySource{kind: kindExternal, wrapper: w} }

// SQL is the persistent Store: entries in an SQLite database, each secret encrypted at rest.
//
// Each entry gets a random 256-bit data key; the secret is sealed with it (AES-256-GCM, bound
// to the entry's name, creation time and metadata), and the data key is wrapped by the store's
// key-encryption key (bound to the name). The key-encryption key never touches the database:
// with a passphrase only Argon2id's salt and cost are stored, with an External wrapper only
// what the wrapper returns. A header row holds a check value wrapped at creation, so that a
// wrong passphrase or key fails Open with ErrWrongKey instead of failing every entry later.
//
// It is safe for concurrent use. Close releases its statements, not the database. Create it
// with Open: the methods of a zero SQL return a *NotConstructedError, and its Close returns nil.
type SQL struct {
	db   *sql.DB
	wrap Wrapper
	now  func() time.Time

	mu                  sync.RWMutex // read-held by calls, write-held by Close
	closed              bool
	get, put, del, list *sql.Stmt
}

var _ Store = (*SQL)(nil)

var migrations = []string{`
CREATE TABLE keystore_header (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	kind   TEXT NOT NULL,
	kdf    TEXT NOT NULL,
	salt   BLOB NOT NULL,
	check_ BLOB NOT NULL
);
CREATE TABLE keystore_entries (
	name    TEXT PRIMARY KEY,
	created INTEGER NOT NULL,
	meta    TEXT NOT NULL,
	dek     BLOB NOT NULL,
	secret  BLOB NOT NULL
) WITHOUT ROWID;
`}

// Open returns the store kept in db (an SQLite database of the modernc.org/sqlite driver,
// which other components may share), creating its tables and header under src the first time,
// and checking src against the header afterwards: a passphrase or key other than the one the
// store was created with fails with ErrWrongKey.
func Open(ctx context.Context, db *sql.DB, src KeySource, opts ...Option) (*SQL, error) {
	if db == nil {
		return nil, &OptionError{Option: "db", Reason: "must not be nil"}
	}
	cfg, err := newConfig(kindSQL, opts)
	if err != nil {
		return nil, err
	}
	switch src.kind {
	case kindPassphrase:
		if len(src.passphrase) == 0 {
			return nil, &OptionError{Option: "Passphrase", Reason: "the passphrase must not be empty"}
		}
	case kindKEK:
		if len(src.kek) != KEKSize {
			return nil, &OptionError{Option: "RawKEK", Value: len(src.kek), Reason: fmt.Sprintf("a key-encryption key is %d bytes", KEKSize)}
		}
	case kindExternal:
		if src.wrapper == nil {
			return nil, &OptionError{Option: "External", Reason: "the wrapper must not be nil"}
		}
	default:
		return nil, &OptionError{Option: "KeySource", Reason: "no key source: use Passphrase, RawKEK or External"}
	}
	if err := sqlitex.Migrate(ctx, db, "keystore", migrations); err != nil {
		return nil, err
	}
	w, err := unlock(ctx, db, src, cfg.kdf)
	if err != nil {
		return nil, err
	}
	s := &SQL{db: db, wrap: w, now: cfg.now}
	for _, st := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.get, `SELECT created, meta, dek, secret FROM keystore_entries WHERE name = ?`},
		{&s.put, `INSERT INTO keystore_entries (name, created, meta, dek, secret) VALUES (?, ?, ?, ?, ?)`},
		{&s.del, `DELETE FROM keystore_entries WHERE name = ?`},
		{&s.list, `SELECT name FROM keystore_entries WHERE substr(CAST(name AS BLOB), 1, ?) = CAST(? AS BLOB) ORDER BY name`},
	} {
		p, err := db.PrepareContext(ctx, st.sql)
		if err != nil {
			s.closeStmts()
			return nil, fmt.Errorf("keystore: prepare: %w", err)
		}
		*st.dst = p
	}
	return s, nil
}

// header is the store's header row.
type header struct {
	kind  string
	kdf   string
	salt  []byte
	check []byte
}

// checkAAD binds the check value to everything else in the header.
func (h header) checkAAD() []byte {
	return lengthPrefixed([]byte("anya-go/keystore/v1/check"), []byte(h.kind), []byte(h.kdf), h.salt)
}

func lengthPrefixed(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// unlock creates the header under src, or checks src against it, and returns the store's
// wrapper.
func unlock(ctx context.Context, db *sql.DB, src KeySource, kdf KDF) (Wrapper, error) {
	h, ok, err := readHeader(ctx, db)
	if err != nil {
		return nil, err
	}
	if !ok {
		return create(ctx, db, src, kdf)
	}
	if h.kind != src.kind {
		return nil, fmt.Errorf("%w: the store was created with a %s key source, not a %s", ErrWrongKey, h.kind, src.kind)
	}
	w, err := wrapperOf(src, h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Unwrap(ctx, h.check, h.checkAAD()); err != nil {
		if errors.Is(err, ErrUnwrap) {
			return nil, fmt.Errorf("%w (%v)", ErrWrongKey, err)
		}
		return nil, fmt.Errorf("keystore: unwrap the check value: %w", err)
	}
	return w, nil
}

func readHeader(ctx context.Context, db *sql.DB) (header, bool, error) {
	var h header
	err := db.QueryRowContext(ctx, `SELECT kind, kdf, salt, check_ FROM keystore_header WHERE id = 1`).Scan(&h.kind, &h.kdf, &h.salt, &h.check)
	if errors.Is(err, sql.ErrNoRows) {
		return header{}, false, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return header{}, false, ctx.Err()
		}
		return header{}, false, fmt.Errorf("keystore: read header: %w", err)
	}
	return h, true, nil
}

// wrapperOf returns the wrapper src gives under header h.
func wrapperOf(src KeySource, h header) (Wrapper, error) {
	switch src.kind {
	case kindPassphrase:
		var k KDF
		dec := json.NewDecoder(bytes.NewReader([]byte(h.kdf)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&k); err != nil {
			return nil, fmt.Errorf("%w: KDF parameters %q: %v", ErrCorrupt, h.kdf, err)
		}
		if err := k.check(maxKDF); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if len(h.salt) < SaltSize {
			return nil, fmt.Errorf("%w: a %d-byte salt", ErrCorrupt, len(h.salt))
		}
		return DeriveKEK(src.passphrase, h.salt, k)
	case kindKEK:
		return NewKEK(src.kek)
	default:
		return src.wrapper, nil
	}
}

func create(ctx context.Context, db *sql.DB, src KeySource, kdf KDF) (Wrapper, error) {
	h := header{kind: src.kind, salt: []byte{}}
	if src.kind == kindPassphrase {
		h.salt = make([]byte, SaltSize)
		_, _ = rand.Read(h.salt)
		b, err := json.Marshal(kdf)
		if err != nil {
			return nil, err
		}
		h.kdf = string(b)
	}
	w, err := wrapperOf(src, h)
	if err != nil {
		return nil, err
	}
	probe := make([]byte, 32)
	_, _ = rand.Read(probe)
	if h.check, err = w.Wrap(ctx, probe, h.checkAAD()); err != nil {
		return nil, fmt.Errorf("keystore: wrap the check value: %w", err)
	}
	res, err := db.ExecContext(ctx, `INSERT INTO keystore_header (id, kind, kdf, salt, check_) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		h.kind, h.kdf, h.salt, h.check)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("keystore: write header: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 { // another Open created it meanwhile
		return unlock(ctx, db, src, kdf)
	}
	return w, nil
}

func (s *SQL) closeStmts() {
	for _, st := range []*sql.Stmt{s.get, s.put, s.del, s.list} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// Close releases the store's statements; later calls return ErrClosed. It is idempotent.
func (s *SQL) Close() error {
	if s.db == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.closeStmts()
	}
	return nil
}

func (s *SQL) enter(ctx context.Context) error {
	if s.db == nil {
		return &NotConstructedError{Type: "SQL", Constructor: "Open"}
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

func dekAAD(name string) []byte {
	return lengthPrefixed([]byte("anya-go/keystore/v1/dek"), []byte(name))
}

func entryAAD(name string, created int64, meta []byte) []byte {
	return lengthPrefixed([]byte("anya-go/keystore/v1/entry"), []byte(name), binary.BigEndian.AppendUint64(nil, uint64(created)), meta)
}

// Put implements Store.
func (s *SQL) Put(ctx context.Context, e Entry) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if err := Check(e); err != nil {
		return err
	}
	meta := e.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	mb, err := json.Marshal(meta) // keys sorted: one encoding per map
	if err != nil {
		return err
	}
	created := s.now().UnixNano()
	dek := make([]byte, KEKSize)
	_, _ = rand.Read(dek)
	defer clear(dek)
	aead, err := newGCM(dek)
	if err != nil {
		return err
	}
	sealed := seal(aead, e.Secret, entryAAD(e.Name, created, mb))
	wrapped, err := s.wrap.Wrap(ctx, dek, dekAAD(e.Name))
	if err != nil {
		return fmt.Errorf("keystore: wrap the data key of %q: %w", e.Name, err)
	}
	if _, err := s.put.ExecContext(ctx, e.Name, created, string(mb), wrapped, sealed); err != nil {
		if sqlitex.IsPrimaryKeyViolation(err) {
			return fmt.Errorf("%w: %q", ErrExists, e.Name)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("keystore: put %q: %w", e.Name, err)
	}
	return nil
}

// Get implements Store.
func (s *SQL) Get(ctx context.Context, name string) (Entry, error) {
	if err := s.enter(ctx); err != nil {
		return Entry{}, err
	}
	defer s.mu.RUnlock()
	var (
		created     int64
		meta        string
		dek, secret []byte
	)
	err := s.get.QueryRowContext(ctx, name).Scan(&created, &meta, &dek, &secret)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Entry{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	case err != nil:
		if ctx.Err() != nil {
			return Entry{}, ctx.Err()
		}
		return Entry{}, fmt.Errorf("keystore: get %q: %w", name, err)
	}
	return s.decode(ctx, name, created, []byte(meta), dek, secret)
}

// decode authenticates and decrypts a stored entry.
func (s *SQL) decode(ctx context.Context, name string, created int64, meta, wrapped, sealed []byte) (Entry, error) {
	key, err := s.wrap.Unwrap(ctx, wrapped, dekAAD(name))
	if err != nil {
		if errors.Is(err, ErrUnwrap) {
			return Entry{}, &IntegrityError{Name: name, Reason: "its data key does not unwrap: " + err.Error()}
		}
		return Entry{}, fmt.Errorf("keystore: unwrap the data key of %q: %w", name, err)
	}
	defer clear(key)
	if len(key) != KEKSize {
		return Entry{}, &IntegrityError{Name: name, Reason: fmt.Sprintf("a %d-byte data key", len(key))}
	}
	aead, err := newGCM(key)
	if err != nil {
		return Entry{}, err
	}
	secret, err := open(aead, sealed, entryAAD(name, created, meta))
	if err != nil {
		return Entry{}, &IntegrityError{Name: name, Reason: "its secret, name, date or metadata was altered: " + err.Error()}
	}
	e := Entry{Name: name, Secret: secret, Created: time.Unix(0, created).UTC()}
	if err := json.Unmarshal(meta, &e.Meta); err != nil {
		return Entry{}, &IntegrityError{Name: name, Reason: "metadata: " + err.Error()}
	}
	return e, nil
}

// List implements Store.
func (s *SQL) List(ctx context.Context, prefix string) ([]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.list.QueryContext(ctx, len(prefix), prefix)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("keystore: list: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("keystore: list: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("keystore: list: %w", err)
	}
	return out, nil
}

// Delete implements Store.
func (s *SQL) Delete(ctx context.Context, name string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	res, err := s.del.ExecContext(ctx, name)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("keystore: delete %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return nil
}

package featurestore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/ml"
)

// DefaultCacheSize is the number of entries of the default online cache.
const DefaultCacheSize = 100_000

// Sentinel errors.
var (
	// ErrNotFound reports an entity with no vector of the schema (at the time asked).
	ErrNotFound = errors.New("featurestore: not found")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("featurestore: closed")
	// ErrInvalid reports a bad argument: an empty entity, a vector that does not fit its schema.
	ErrInvalid = errors.New("featurestore: invalid argument")
	// ErrInvalidOption is wrapped by the *OptionError Open returns for an invalid option.
	ErrInvalidOption = errors.New("featurestore: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Store.
	ErrNotConstructed = errors.New("featurestore: not constructed")
)

// Record is a feature vector of an entity (a DID, an address, a transaction id) valid from Time.
type Record struct {
	Entity string
	Vector ml.Vector
	Time   time.Time
	// Seq orders records written with the same Time: later writes win.
	Seq int64
}

// Newer reports whether r was written after o: a later Time, or the same Time and a greater
// Seq. It is the order the online tier keeps the latest record by.
func (r Record) Newer(o Record) bool {
	return r.Time.After(o.Time) || (r.Time.Equal(o.Time) && r.Seq > o.Seq)
}

func (r Record) newer(o Record) bool { return r.Newer(o) }

// Cache is the online tier: the latest Record per key, in process. Implementations must be safe
// for concurrent use; Get returns ok=false for keys they do not hold (an evicted key is fine).
// featurestoretest.RunCache is its conformance suite.
type Cache interface {
	Get(key string) (Record, bool)
	Set(key string, r Record)
}

// Online is an online tier that several processes may share (a NATS JetStream KV bucket, see
// ml/featurestore/natsonline): its calls may block and fail, so they take a context and return
// errors, and Put keeps the newer record atomically, whichever process writes.
// featurestoretest.RunOnline is its conformance suite.
//
//   - Get MUST return the record stored under key, or an error wrapping ErrNotFound.
//   - Put MUST store r under key unless the record stored there is newer (Record.Newer), and
//     return the record the key holds afterwards; the compare and the store are atomic, so
//     concurrent Puts leave the newest record, never an older one.
//   - Both MUST be safe for concurrent use, and return ctx.Err() (possibly wrapped) without
//     effect when ctx has ended.
type Online interface {
	Get(ctx context.Context, key string) (Record, error)
	Put(ctx context.Context, key string, r Record) (Record, error)
}

// CacheOnline adapts an in-process Cache to Online: Put compares and sets under a lock, which
// makes it atomic within the process. It is how WithCache's cache serves the Store. A nil c is
// a MemoryCache of DefaultCacheSize.
func CacheOnline(c Cache) Online {
	if c == nil {
		c = NewMemoryCache(DefaultCacheSize)
	}
	return &cacheOnline{c: c}
}

type cacheOnline struct {
	mu sync.Mutex
	c  Cache
}

func (o *cacheOnline) Get(ctx context.Context, key string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	r, ok := o.c.Get(key)
	if !ok {
		return Record{}, ErrNotFound
	}
	return r, nil
}

func (o *cacheOnline) Put(ctx context.Context, key string, r Record) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if cur, ok := o.c.Get(key); ok && cur.Newer(r) {
		return cur, nil
	}
	o.c.Set(key, r)
	return r, nil
}

// Store keeps feature vectors per entity and schema: every write is appended to the offline
// tier (SQLite) with its time, and the latest per entity is kept in the online tier (a cache in
// front of SQLite). Get serves the latest vector from the online tier; AsOf answers what the
// latest vector was at a given time from the offline tier — so a training set built with AsOf at
// the times decisions were made holds exactly the vectors the decisions were scored on.
// A Store is safe for concurrent use. Create it with Open: the methods of a zero Store return a
// *NotConstructedError naming Open, and its Close returns nil.
type Store struct {
	db      *sql.DB
	online  Online
	now     func() time.Time
	log     *slog.Logger
	schemas map[string]ml.Schema

	mu     sync.Mutex // orders writes: offline insert and online update happen together
	closed bool
}

// migrations are the offline tier's schema steps (append-only; see internal/sqlitex.Migrate).
var migrations = []string{`
CREATE TABLE features (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	entity  TEXT    NOT NULL,
	schema  TEXT    NOT NULL,
	version INTEGER NOT NULL,
	ts      INTEGER NOT NULL,
	vals    BLOB    NOT NULL
);
CREATE INDEX features_pit ON features (entity, schema, version, ts, seq);`}

// Open opens (creating if needed) the feature store in the SQLite database at path, which other
// components may share; ":memory:" keeps it in memory (for tests). An invalid option makes it return an *OptionError naming it, and open nothing.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{online: cfg.online, now: cfg.now, log: cfg.logger, schemas: cfg.schemas}
	db, err := sqlitex.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := sqlitex.Migrate(ctx, db, "ml.featurestore", migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("featurestore: %w", err)
	}
	s.db = db
	return s, nil
}

// Close closes the database. Idempotent.
func (s *Store) Close() error {
	if s.db == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

func notStore() error { return &NotConstructedError{Type: "Store", Constructor: "Open"} }

func key(entity, schema string, version int) string {
	return entity + "\x00" + schema + "@" + strconv.Itoa(version)
}

func encode(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decode(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("featurestore: stored vector of %d bytes", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// Put records v for entity at the store clock's current time.
func (s *Store) Put(ctx context.Context, entity string, v ml.Vector) (Record, error) {
	if s.db == nil {
		return Record{}, notStore()
	}
	return s.PutAt(ctx, entity, v, s.now())
}

// PutAt records v for entity as of at (for backfills). The online tier moves only forward: a
// record older than the one it holds is stored offline but does not replace it.
func (s *Store) PutAt(ctx context.Context, entity string, v ml.Vector, at time.Time) (Record, error) {
	if s.db == nil {
		return Record{}, notStore()
	}
	if entity == "" || v.Schema == "" || len(v.Values) == 0 {
		return Record{}, fmt.Errorf("%w: entity %q, schema %q, %d values", ErrInvalid, entity, v.Schema, len(v.Values))
	}
	if sc, ok := s.schemas[key("", v.Schema, v.Version)]; ok {
		if err := sc.Validate(v); err != nil {
			return Record{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	} else {
		for _, x := range v.Values {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return Record{}, fmt.Errorf("%w: non-finite feature value", ErrInvalid)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Record{}, ErrClosed
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO features (entity, schema, version, ts, vals) VALUES (?, ?, ?, ?, ?)`,
		entity, v.Schema, v.Version, at.UnixNano(), encode(v.Values))
	if err != nil {
		return Record{}, fmt.Errorf("featurestore: %w", err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return Record{}, fmt.Errorf("featurestore: %w", err)
	}
	r := Record{Entity: entity, Vector: ml.Vector{Schema: v.Schema, Version: v.Version, Values: append([]float32(nil), v.Values...)},
		Time: time.Unix(0, at.UnixNano()), Seq: seq}
	k := key(entity, v.Schema, v.Version)
	best := r
	if _, err := s.online.Get(ctx, k); errors.Is(err, ErrNotFound) {
		// The online tier may have evicted a newer record; ask the offline tier.
		if latest, err := s.latest(ctx, entity, v.Schema, v.Version, math.MaxInt64); err == nil && latest.newer(r) {
			best = latest
		}
	}
	if _, err := s.online.Put(ctx, k, best); err != nil {
		s.log.WarnContext(ctx, "featurestore: online tier not updated", "entity", entity, "schema", v.Schema, "err", err)
	}
	return r, nil
}

// Get returns the latest record of entity for the schema from the online tier, loading it from
// the offline tier on a miss. It returns an error wrapping ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, entity, schema string, version int) (Record, error) {
	if s.db == nil {
		return Record{}, notStore()
	}
	k := key(entity, schema, version)
	if r, ok := s.onlineGet(ctx, k); ok {
		return copyRecord(r), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Record{}, ErrClosed
	}
	if r, ok := s.onlineGet(ctx, k); ok { // filled while we waited
		return copyRecord(r), nil
	}
	r, err := s.latest(ctx, entity, schema, version, math.MaxInt64)
	if err != nil {
		return Record{}, err
	}
	if held, err := s.online.Put(ctx, k, r); err != nil {
		s.log.WarnContext(ctx, "featurestore: online tier not filled", "entity", entity, "schema", schema, "err", err)
	} else {
		r = held // another process may have written a newer one meanwhile
	}
	return copyRecord(r), nil
}

// onlineGet reads the online tier; a failure other than a miss is logged and read as a miss.
func (s *Store) onlineGet(ctx context.Context, k string) (Record, bool) {
	r, err := s.online.Get(ctx, k)
	if err == nil {
		return r, true
	}
	if !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
		s.log.WarnContext(ctx, "featurestore: online tier failed; reading the offline tier", "err", err)
	}
	return Record{}, false
}

func copyRecord(r Record) Record {
	r.Vector.Values = append([]float32(nil), r.Vector.Values...)
	return r
}

// AsOf returns the record of entity for the schema that was the latest at time t (written with a
// time at or before t), from the offline tier. It returns an error wrapping ErrNotFound when
// there was none yet.
func (s *Store) AsOf(ctx context.Context, entity, schema string, version int, t time.Time) (Record, error) {
	if s.db == nil {
		return Record{}, notStore()
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return Record{}, ErrClosed
	}
	return s.latest(ctx, entity, schema, version, t.UnixNano())
}

func (s *Store) latest(ctx context.Context, entity, schema string, version int, maxTS int64) (Record, error) {
	row := s.db.QueryRowContext(ctx, `SELECT seq, ts, vals FROM features WHERE entity = ? AND schema = ? AND version = ? AND ts <= ?
		ORDER BY ts DESC, seq DESC LIMIT 1`, entity, schema, version, maxTS)
	var seq, ts int64
	var blob []byte
	if err := row.Scan(&seq, &ts, &blob); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Record{}, fmt.Errorf("%w: %s %s@%d", ErrNotFound, entity, schema, version)
		}
		return Record{}, fmt.Errorf("featurestore: %w", err)
	}
	vals, err := decode(blob)
	if err != nil {
		return Record{}, err
	}
	return Record{Entity: entity, Vector: ml.Vector{Schema: schema, Version: version, Values: vals}, Time: time.Unix(0, ts), Seq: seq}, nil
}

// Event is a labelled decision: what happened to Entity at Time.
type Event struct {
	Entity string
	Time   time.Time
	Label  uint8
}

// TrainingSet joins events with the vectors that were current when they happened (AsOf each
// event's time): row i of X is the vector event i was scored on. Events whose entity had no
// vector yet are skipped; their indexes are returned in skipped.
func (s *Store) TrainingSet(ctx context.Context, schema string, version int, events []Event) (x [][]float32, y []uint8, skipped []int, err error) {
	if s.db == nil {
		return nil, nil, nil, notStore()
	}
	for i, e := range events {
		r, err := s.AsOf(ctx, e.Entity, schema, version, e.Time)
		if errors.Is(err, ErrNotFound) {
			skipped = append(skipped, i)
			continue
		}
		if err != nil {
			return nil, nil, nil, err
		}
		x = append(x, r.Vector.Values)
		y = append(y, e.Label)
	}
	return x, y, skipped, nil
}

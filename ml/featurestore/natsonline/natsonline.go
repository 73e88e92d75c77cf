package natsonline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/featurestore"
)

// Defaults of New.
const (
	// DefaultBucket is the KV bucket of the online tier.
	DefaultBucket = "anya_features"
	// DefaultReplicas is the bucket's replication factor (1: a single server).
	DefaultReplicas = 1
)

var (
	// ErrInvalidOption is wrapped by the *OptionError New returns for an invalid option.
	ErrInvalidOption = errors.New("natsonline: invalid option")
	// ErrCorrupt is returned for an entry that does not decode as a record.
	ErrCorrupt = errors.New("natsonline: corrupt entry")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Online.
	ErrNotConstructed = errors.New("natsonline: not constructed")
)

// OptionError names an option (or New's argument "js") whose value New refuses; nothing is
// constructed. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("natsonline: invalid option %s(%v): %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Online: it names the constructor. It
// matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "Online"
	Constructor string // "New"
}

func (e *NotConstructedError) Error() string {
	return "natsonline: a zero " + e.Type + " is not usable: create it with natsonline." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// Option configures New.
type Option func(*config)

type config struct {
	bucket   string
	replicas int
	storage  jetstream.StorageType
}

// WithBucket names the KV bucket. Hosts sharing the online tier use the same bucket. Defaults
// to DefaultBucket.
func WithBucket(name string) Option { return func(c *config) { c.bucket = name } }

// WithReplicas sets the bucket's replication factor in a JetStream cluster (1, 3 or 5).
// Defaults to DefaultReplicas.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithMemoryStorage keeps the bucket in memory: faster, emptied when the server stops (reads
// then fall back to each host's offline tier). Defaults to file storage.
func WithMemoryStorage() Option { return func(c *config) { c.storage = jetstream.MemoryStorage } }

// Online is a featurestore.Online on a NATS JetStream KV bucket. It is safe for concurrent use
// and holds no goroutines; it does not own the connection. Create it with New: the methods of a
// zero Online return a *NotConstructedError.
type Online struct {
	kv jetstream.KeyValue
}

var _ featurestore.Online = (*Online)(nil)

// New returns the online tier on js, creating its bucket if it does not exist.
func New(ctx context.Context, js jetstream.JetStream, opts ...Option) (*Online, error) {
	if js == nil {
		return nil, &OptionError{Option: "js", Reason: "must not be nil"}
	}
	cfg := config{bucket: DefaultBucket, replicas: DefaultReplicas, storage: jetstream.FileStorage}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	switch {
	case cfg.bucket == "" || len(cfg.bucket) > 64 || strings.Trim(cfg.bucket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "":
		return nil, &OptionError{Option: "WithBucket", Value: cfg.bucket, Reason: "want 1 to 64 of A-Z a-z 0-9 _ -"}
	case cfg.replicas < 1 || cfg.replicas > 5:
		return nil, &OptionError{Option: "WithReplicas", Value: cfg.replicas, Reason: "want 1 to 5"}
	}
	kv, err := natsx.OpenKV(ctx, js, natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{
		Bucket: cfg.bucket, Description: "anya feature store, online tier", History: 1, Storage: cfg.storage, Replicas: cfg.replicas,
	}})
	if err != nil {
		return nil, fmt.Errorf("natsonline: bucket %s: %w", cfg.bucket, err)
	}
	return &Online{kv: kv}, nil
}

func notOnline() error { return &NotConstructedError{Type: "Online", Constructor: "New"} }

// entry is a record as the bucket keeps it.
type entry struct {
	Entity  string    `json:"e"`
	Schema  string    `json:"s"`
	Version int       `json:"v"`
	Values  []float32 `json:"x"`
	Time    int64     `json:"t"` // Unix nanoseconds
	Seq     int64     `json:"q"`
}

func keyOf(key string) string { return "f." + natsx.EscapeKey(key) }

func decode(data []byte) (featurestore.Record, error) {
	var e entry
	if err := json.Unmarshal(data, &e); err != nil {
		return featurestore.Record{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return featurestore.Record{Entity: e.Entity, Vector: ml.Vector{Schema: e.Schema, Version: e.Version, Values: e.Values},
		Time: time.Unix(0, e.Time), Seq: e.Seq}, nil
}

func fail(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// Get implements featurestore.Online.
func (o *Online) Get(ctx context.Context, key string) (featurestore.Record, error) {
	r, _, err := o.get(ctx, key)
	return r, err
}

func (o *Online) get(ctx context.Context, key string) (featurestore.Record, uint64, error) {
	if o.kv == nil {
		return featurestore.Record{}, 0, notOnline()
	}
	if err := ctx.Err(); err != nil {
		return featurestore.Record{}, 0, err
	}
	e, err := o.kv.Get(ctx, keyOf(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return featurestore.Record{}, 0, featurestore.ErrNotFound
	}
	if err != nil {
		return featurestore.Record{}, 0, fail(ctx, err)
	}
	r, err := decode(e.Value())
	return r, e.Revision(), err
}

// Put implements featurestore.Online: it reads the entry and writes r by compare-and-set on
// its revision unless the stored record is newer, trying again when another host wrote in
// between.
func (o *Online) Put(ctx context.Context, key string, r featurestore.Record) (featurestore.Record, error) {
	if o.kv == nil {
		return featurestore.Record{}, notOnline()
	}
	data, err := json.Marshal(entry{Entity: r.Entity, Schema: r.Vector.Schema, Version: r.Vector.Version, Values: r.Vector.Values,
		Time: r.Time.UnixNano(), Seq: r.Seq})
	if err != nil {
		return featurestore.Record{}, err
	}
	for {
		cur, rev, err := o.get(ctx, key)
		switch {
		case errors.Is(err, featurestore.ErrNotFound):
			_, err = o.kv.Create(ctx, keyOf(key), data)
		case errors.Is(err, ErrCorrupt):
			_, err = o.kv.Update(ctx, keyOf(key), data, rev) // replace what cannot be read
		case err != nil:
			return featurestore.Record{}, err
		case cur.Newer(r):
			return cur, nil
		default:
			_, err = o.kv.Update(ctx, keyOf(key), data, rev)
		}
		if err == nil {
			return r, nil
		}
		if !natsx.IsConflict(err) {
			return featurestore.Record{}, fail(ctx, err)
		}
	}
}

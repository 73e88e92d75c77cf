package natscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/internal/telemetry"
)

// Defaults of New.
const (
	// DefaultBucket is the KV bucket of the cache; values above the inline limit go to the
	// object store of the same name with "_blobs" appended.
	DefaultBucket = "anya_cache"
	// DefaultReplicas is the bucket's replication factor (1: a single server).
	DefaultReplicas = 1
	// DefaultInlineMax is the largest value kept in a KV entry (under the default NATS max
	// payload of 1 MiB).
	DefaultInlineMax = 768 << 10
	// DefaultBlobTTL is how long the object store keeps a large value. Entries have their own
	// TTL; a value whose blob is gone reads as absent, which a cache may do.
	DefaultBlobTTL = 24 * time.Hour
	// Granularity is the resolution of JetStream per-key TTLs: a TTL is rounded up to whole
	// seconds.
	Granularity = time.Second
)

var (
	// ErrInvalidOption is wrapped by the *OptionError New returns for an invalid option.
	ErrInvalidOption = errors.New("natscache: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Store.
	ErrNotConstructed = errors.New("natscache: not constructed")
)

// OptionError names an option (or an argument, such as New's "js") whose value is refused;
// nothing is constructed. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("natscache: invalid option %s(%v): %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Store: it names the constructor. It
// matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "Store"
	Constructor string // "New"
}

func (e *NotConstructedError) Error() string {
	return "natscache: a zero " + e.Type + " is not usable: create it with natscache." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

func notStore() error { return &NotConstructedError{Type: "Store", Constructor: "New"} }

// Option configures New.
type Option func(*config)

type config struct {
	bucket    string
	replicas  int
	inlineMax int
	blobTTL   time.Duration
	storage   jetstream.StorageType
	logger    *slog.Logger

	tracerProv trace.TracerProvider
}

// WithTracerProvider traces every Get, Set and Delete with tp: a span of kind client,
// "natscache.get", "natscache.set" or "natscache.delete", with db.system.name "nats",
// db.collection.name (the bucket) and db.operation.name — never keys or values. A Get that
// finds nothing has anya.found false and is no failure. Under a cache's traced load (a Tiered
// cache's shared tier) these spans sit inside the cache.load span. A nil tp is the no-op
// provider. Defaults to OpenTelemetry's no-op provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProv = tp }
}

// WithBucket names the KV bucket. Hosts sharing the cache use the same bucket. Defaults to
// DefaultBucket.
func WithBucket(name string) Option { return func(c *config) { c.bucket = name } }

// WithReplicas sets the replication factor of the bucket in a JetStream cluster (1, 3 or 5).
// Defaults to DefaultReplicas.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithInlineMax sets the largest value kept in a KV entry; larger ones go to the object store.
// Defaults to DefaultInlineMax.
func WithInlineMax(n int) Option { return func(c *config) { c.inlineMax = n } }

// WithBlobTTL sets how long the object store keeps a large value. Defaults to DefaultBlobTTL.
func WithBlobTTL(d time.Duration) Option { return func(c *config) { c.blobTTL = d } }

// WithFileStorage keeps the bucket on disk, so that it survives a server restart. Defaults to
// memory storage: a cache can be refilled.
func WithFileStorage() Option { return func(c *config) { c.storage = jetstream.FileStorage } }

// WithLogger sets the logger of failures a watcher survives. Defaults to a logger that
// discards everything.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Store is a cache.Store on a NATS JetStream KV bucket, shared by every host attached to the
// server. It is safe for concurrent use. It does not own the connection. Create it with New:
// the methods of a zero Store return a *NotConstructedError, and its Close returns nil.
type Store struct {
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	blobs natsx.Blobs
	cfg   config
	ops   *telemetry.Ops // nil unless traced

	mu     sync.RWMutex
	closed bool
	subs   map[*Watcher]struct{}
}

var _ cache.Store = (*Store)(nil)

// New returns a store on js, creating its bucket (with per-key TTLs enabled) and object store
// if they do not exist.
func New(ctx context.Context, js jetstream.JetStream, opts ...Option) (*Store, error) {
	if js == nil {
		return nil, &OptionError{Option: "js", Reason: "must not be nil"}
	}
	cfg := config{bucket: DefaultBucket, replicas: DefaultReplicas, inlineMax: DefaultInlineMax, blobTTL: DefaultBlobTTL,
		storage: jetstream.MemoryStorage, logger: slog.New(slog.DiscardHandler)}
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
	case cfg.inlineMax < 1 || cfg.inlineMax > 8<<20:
		return nil, &OptionError{Option: "WithInlineMax", Value: cfg.inlineMax, Reason: "want 1 byte to 8 MiB"}
	case cfg.blobTTL < time.Second:
		return nil, &OptionError{Option: "WithBlobTTL", Value: cfg.blobTTL, Reason: "want at least 1s"}
	case cfg.logger == nil:
		return nil, &OptionError{Option: "WithLogger", Reason: "must not be nil"}
	}
	kv, err := natsx.OpenKV(ctx, js, natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{
		Bucket: cfg.bucket, Description: "anya shared cache", History: 1, Storage: cfg.storage, Replicas: cfg.replicas,
		LimitMarkerTTL: time.Second,
	}})
	if err != nil {
		return nil, fmt.Errorf("natscache: bucket %s: %w", cfg.bucket, err)
	}
	obs, err := natsx.OpenObjectStore(ctx, js, jetstream.ObjectStoreConfig{
		Bucket: cfg.bucket + "_blobs", Description: "anya shared cache, large values", TTL: cfg.blobTTL, Storage: cfg.storage, Replicas: cfg.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("natscache: object store %s_blobs: %w", cfg.bucket, err)
	}
	return &Store{js: js, kv: kv, blobs: natsx.Blobs{Store: obs, InlineMax: cfg.inlineMax}, cfg: cfg, subs: map[*Watcher]struct{}{},
		ops: telemetry.NewOps(cfg.tracerProv, "cache/natscache", "nats", cfg.bucket)}, nil
}

// knownErrors name error types on spans.
var knownErrors = [...]error{cache.ErrClosed, cache.ErrInvalidKey, cache.ErrInvalidTTL}

// keyOf maps a cache key to a KV key: natsx.EscapeKey keeps [-/_A-Za-z0-9] and escapes every
// other byte as "=XX", so distinct keys never collide and any bytes are accepted.
func keyOf(key string) string { return "k." + natsx.EscapeKey(key) }

func (s *Store) enter(ctx context.Context, key string) error {
	if s.kv == nil {
		return notStore()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return cache.ErrClosed
	}
	if len(key) == 0 || len(key) > cache.MaxStoreKeyLen {
		s.mu.RUnlock()
		return cache.ErrInvalidKey
	}
	return nil
}

func fail(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// Get implements cache.Store. A large value whose blob the object store no longer has reads as
// absent.
func (s *Store) Get(ctx context.Context, key string) (_ []byte, err error) {
	ctx, span := s.ops.Start(ctx, "get")
	defer func() { telemetry.EndOp(span, err, cache.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx, key); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	e, err := s.kv.Get(ctx, keyOf(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, cache.ErrNotFound
	}
	if err != nil {
		return nil, fail(ctx, err)
	}
	v, err := s.blobs.Unwrap(ctx, e.Value())
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, cache.ErrNotFound
	}
	return v, fail(ctx, err)
}

// Set implements cache.Store. A positive ttl is rounded up to whole seconds (Granularity): the
// server deletes the entry once it has passed.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) (err error) {
	ctx, span := s.ops.Start(ctx, "set")
	defer func() { telemetry.EndOp(span, err, nil, knownErrors[:]...) }()
	if err := s.enter(ctx, key); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if ttl < 0 {
		return cache.ErrInvalidTTL
	}
	v, err := s.blobs.Wrap(ctx, value)
	if err == nil {
		_, err = natsx.Put(ctx, s.js, natsx.Write{Bucket: s.cfg.bucket, Key: keyOf(key), Value: v, TTL: ttl})
	}
	return fail(ctx, err)
}

// Delete implements cache.Store.
func (s *Store) Delete(ctx context.Context, key string) (err error) {
	ctx, span := s.ops.Start(ctx, "delete")
	defer func() { telemetry.EndOp(span, err, nil, knownErrors[:]...) }()
	if err := s.enter(ctx, key); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return fail(ctx, s.kv.Delete(ctx, keyOf(key)))
}

// Close implements cache.Store: it stops the store's watchers. It does not close the
// connection. It is idempotent.
func (s *Store) Close() error {
	if s.kv == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	subs := make([]*Watcher, 0, len(s.subs))
	for w := range s.subs {
		subs = append(subs, w)
	}
	s.mu.Unlock()
	for _, w := range subs {
		_ = w.Close()
	}
	return nil
}

// Watcher tells a function about every key of the store that changes. Close it when done. Watch
// makes one: the zero Watcher watches nothing, and its Close returns nil.
type Watcher struct {
	s      *Store
	w      jetstream.KeyWatcher
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Watch calls onChange with every key set, deleted or expired in the store from now on — by
// any host, this one included — on a goroutine of its own, one key at a time. It is how every
// host's in-process tier learns that the shared value changed (see Tiers): the bucket's change
// stream is the broadcast.
func (s *Store) Watch(ctx context.Context, onChange func(key string)) (*Watcher, error) {
	if s.kv == nil {
		return nil, notStore()
	}
	if onChange == nil {
		return nil, &OptionError{Option: "onChange", Reason: "must not be nil"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, cache.ErrClosed
	}
	wctx, cancel := context.WithCancel(context.Background())
	kw, err := s.kv.Watch(wctx, "k.>", jetstream.UpdatesOnly(), jetstream.MetaOnly())
	if err != nil {
		cancel()
		return nil, fmt.Errorf("natscache: watch: %w", err)
	}
	w := &Watcher{s: s, w: kw, cancel: cancel, done: make(chan struct{})}
	s.subs[w] = struct{}{}
	go w.run(onChange)
	return w, nil
}

func (w *Watcher) run(onChange func(string)) {
	defer close(w.done)
	for e := range w.w.Updates() {
		if e == nil {
			continue
		}
		key, err := natsx.UnescapeKey(strings.TrimPrefix(e.Key(), "k."))
		if err != nil {
			w.s.cfg.logger.Warn("natscache: ignoring a key the store did not write", "key", e.Key())
			continue
		}
		onChange(key)
	}
}

// Close stops the watcher and waits for its goroutine. It is idempotent.
func (w *Watcher) Close() error {
	if w.s == nil {
		return nil
	}
	w.once.Do(func() {
		_ = w.w.Stop()
		w.cancel()
		<-w.done
		w.s.mu.Lock()
		delete(w.s.subs, w)
		w.s.mu.Unlock()
	})
	return nil
}

// LocalTier is the part of a cache.Tiered that Tiers uses.
type LocalTier interface {
	Namespace() string
	InvalidateLocal(ids ...string)
}

// Tiers returns an onChange function for Watch that drops a changed key, cache.Key(namespace,
// id), from the in-process tiers of the Tiered cache of its namespace. Keys of other namespaces
// are ignored, and so are nil tiers.
func Tiers(tiers ...LocalTier) func(key string) {
	byNS := make(map[string]LocalTier, len(tiers))
	for _, t := range tiers {
		if t != nil {
			byNS[t.Namespace()] = t
		}
	}
	return func(key string) {
		ns, id, ok := strings.Cut(key, "/")
		if !ok {
			return
		}
		if t := byNS[ns]; t != nil {
			t.InvalidateLocal(id)
		}
	}
}

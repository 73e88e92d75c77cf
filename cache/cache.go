package cache

import (
	"context"
	"errors"
	"math"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// forever is the expiry of an entry that does not expire.
const forever = time.Duration(math.MaxInt64)

// item is what the cache stores for a key: the value as given, its own TTL (0 for the cache's,
// negative for none), or a cached not-found.
type item[V any] struct {
	v       V
	ttl     time.Duration
	missing bool
}

// Cache is a typed, size-bounded in-process cache: W-TinyLFU eviction, default and per-entry
// TTL, single-flight loading, negative caching, stale-while-revalidate refresh, invalidation by
// key, predicate and prefix, and counters. Values are stored as given, without copying or
// serialization. A Set is visible to the next Get (read-your-writes).
//
// A Cache is safe for concurrent use. Create it with [New]; [Cache.Close] stops its background
// work. The zero value is a cache with the defaults, as New() returns, set up on first use; it
// must not be copied after first use.
type Cache[K comparable, V any] struct {
	o      atomic.Pointer[otter.Cache[K, item[V]]] // nil until set up
	cfg    config
	hits   *counter
	misses *counter
	coarse *otter.CoarseClock

	evictions, loadOK, loadFailed atomic.Uint64

	mu     sync.Mutex // serializes Close, the executor's hand-offs and the zero value's set-up
	closed atomic.Bool
	wg     sync.WaitGroup

	tracer     trace.Tracer // nil unless traced: loads test it
	metricsReg metric.Registration
}

// New returns an empty cache.
func New[K comparable, V any](opts ...Option) (*Cache[K, V], error) {
	cfg, err := newConfig(kindCache, opts)
	if err != nil {
		return nil, err
	}
	c := &Cache[K, V]{}
	if err := c.setup(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// setup builds the cache core for cfg and publishes it last, which makes the configuration
// visible to every goroutine that loads the core.
func (c *Cache[K, V]) setup(cfg config) error {
	c.cfg, c.hits, c.misses = cfg, newCounter(), newCounter()
	// The cache counts for itself: hits and misses in striped counters, which cost less on
	// the read path than the core's statistics, evictions as the core reports them.
	o := &otter.Options[K, item[V]]{
		MaximumSize: cfg.maxEntries,
		Executor:    c.execute,
		Logger:      otterLogger{cfg.logger},
		OnAtomicDeletion: func(e otter.DeletionEvent[K, item[V]]) {
			if e.WasEvicted() {
				c.evictions.Add(1)
			}
		},
	}
	switch {
	case cfg.clockSet:
		o.Clock = otterClock{cfg.now}
	case cfg.resolution > 0 && (cfg.expiry || cfg.refreshAfter > 0):
		c.coarse = otter.NewCoarseClock(cfg.resolution)
		o.Clock = c.coarse
	}
	if cfg.expiry {
		o.ExpiryCalculator = otter.ExpiryWritingFunc(func(e otter.Entry[K, item[V]]) time.Duration {
			return cfg.expiresAfter(e.Value.ttl, e.Value.missing)
		})
	}
	if cfg.refreshAfter > 0 {
		o.RefreshCalculator = otter.RefreshWriting[K, item[V]](cfg.refreshAfter)
	}
	oc, err := otter.New(o)
	if err != nil {
		if c.coarse != nil {
			c.coarse.Stop()
		}
		return &OptionError{Option: "New", Value: err, Reason: "rejected by the cache core"}
	}
	c.tracer = telemetry.Tracer(cfg.tracerProv, "cache")
	if m := telemetry.Meter(cfg.meterProv, "cache"); m != nil {
		if err := c.startMetrics(m); err != nil {
			oc.StopAllGoroutines()
			if c.coarse != nil {
				c.coarse.Stop()
			}
			return err
		}
	}
	c.o.Store(oc)
	return nil
}

// core returns the cache core, setting a zero Cache up with the defaults first.
func (c *Cache[K, V]) core() *otter.Cache[K, item[V]] {
	if o := c.o.Load(); o != nil {
		return o
	}
	return c.setupZero()
}

func (c *Cache[K, V]) setupZero() *otter.Cache[K, item[V]] {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.o.Load() == nil {
		cfg, err := newConfig(kindCache, nil)
		if err == nil {
			err = c.setup(cfg)
		}
		if err != nil { // the defaults are valid: TestZeroCache proves it
			panic("cache: the default configuration was refused: " + err.Error())
		}
	}
	return c.o.Load()
}

func (cfg *config) expiresAfter(ttl time.Duration, missing bool) time.Duration {
	switch {
	case ttl > 0:
		return ttl
	case ttl < 0:
		return forever
	case missing:
		return cfg.negTTL
	case cfg.ttl > 0:
		return cfg.ttl
	}
	return forever
}

// execute runs the cache core's background tasks (maintenance, refreshes) on goroutines that
// Close waits for; after Close, on the caller's goroutine.
func (c *Cache[K, V]) execute(fn func()) {
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		fn()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

// Close stops the cache's background work and waits for it, refreshes in flight included.
// The cache keeps its entries and still answers Get, Set and invalidations; GetOrLoad returns
// [ErrClosed]. Close is idempotent and always returns nil.
func (c *Cache[K, V]) Close() error {
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return nil
	}
	c.closed.Store(true)
	c.mu.Unlock()
	if o := c.o.Load(); o != nil { // a zero Cache that was never used has nothing to stop
		o.StopAllGoroutines()
		if c.coarse != nil {
			c.coarse.Stop()
		}
	}
	c.wg.Wait()
	if c.metricsReg != nil {
		_ = c.metricsReg.Unregister()
	}
	return nil
}

// Get returns the value of key, if the cache has one. A cached not-found reports false.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	it, ok := c.core().GetIfPresent(key)
	c.count(ok)
	return it.v, ok && !it.missing
}

// Set stores value for key, replacing any value, with the cache's TTL.
func (c *Cache[K, V]) Set(key K, value V) {
	c.core().Set(key, item[V]{v: value})
}

// SetWithTTL stores value for key with its own TTL; ttl = 0 means the entry does not expire.
// It returns [ErrInvalidTTL] for a negative ttl and [ErrNoExpiry] on a cache without expiry,
// and stores nothing then.
func (c *Cache[K, V]) SetWithTTL(key K, value V, ttl time.Duration) error {
	o := c.core()
	switch {
	case ttl < 0:
		return ErrInvalidTTL
	case !c.cfg.expiry:
		return ErrNoExpiry
	case ttl == 0:
		ttl = -1
	}
	o.Set(key, item[V]{v: value, ttl: ttl})
	return nil
}

// GetOrLoad returns the value of key, loading it with loader on a miss. Concurrent calls for a
// key that is loading wait for that one load (single-flight), so a stampede makes one call to
// the source; calls that pass different loaders for one key must load the same value.
//
// A loader returns [ErrNotFound] (possibly wrapped) for a key its source does not have;
// GetOrLoad then returns ErrNotFound, and with [WithNegativeTTL] remembers it. Any other error,
// or a panic (returned as a [*PanicError]), goes to every waiting caller and is not cached:
// the next call loads again. If ctx ends during the load, GetOrLoad returns ctx.Err() to
// that caller only: the others keep waiting, or load again if the load failed for it.
//
// With [WithRefreshAfter], an entry due for refresh is returned as it is, and reloaded in the
// background with a context detached from ctx's cancellation.
//
// A hit allocates nothing; but the loader is kept by a load, so a closure passed as loader
// escapes to the heap. A loader that captures nothing, or one created once (a method value
// kept in a field, say), keeps the hit path allocation-free.
func (c *Cache[K, V]) GetOrLoad(ctx context.Context, key K, loader func(ctx context.Context, key K) (V, error)) (V, error) {
	var zero V
	if loader == nil {
		return zero, ErrNilLoader
	}
	if c.closed.Load() {
		return zero, ErrClosed
	}
	if it, ok := c.lookup(ctx, key, func() func(context.Context, K) (V, error) { return loader }); ok {
		return c.result(it)
	}
	return c.loadMiss(ctx, key, loader)
}

// lookup finds key and counts the hit or the miss. A hit that is due for refresh starts one
// with the loader that loader() returns, which is only built then.
func (c *Cache[K, V]) lookup(ctx context.Context, key K, loader func() func(context.Context, K) (V, error)) (item[V], bool) {
	o := c.core()
	if c.cfg.refreshAfter == 0 {
		it, ok := o.GetIfPresent(key)
		c.count(ok)
		return it, ok
	}
	e, ok := o.GetEntry(key)
	c.count(ok)
	if ok && e.RefreshableAtNano <= e.SnapshotAtNano {
		o.Refresh(ctx, key, &loaderOf[K, V]{c: c, fn: loader()})
	}
	return e.Value, ok
}

// loadMiss loads key, which lookup missed, or joins the load in flight, or finds the value a
// load finished in between.
func (c *Cache[K, V]) loadMiss(ctx context.Context, key K, loader func(context.Context, K) (V, error)) (V, error) {
	it, err := c.core().Get(ctx, key, &loaderOf[K, V]{c: c, fn: loader})
	if err != nil {
		var zero V
		if ctxErr := ctx.Err(); ctxErr != nil {
			return zero, ctxErr
		}
		if errors.Is(err, otter.ErrNotFound) {
			return zero, ErrNotFound
		}
		return zero, err
	}
	return c.result(it)
}

func (c *Cache[K, V]) count(hit bool) {
	if hit {
		c.hits.inc()
	} else {
		c.misses.inc()
	}
}

func (c *Cache[K, V]) result(it item[V]) (V, error) {
	if it.missing {
		var zero V
		return zero, ErrNotFound
	}
	return it.v, nil
}

// loaderOf adapts a loader function to the cache core. It is built on a miss only.
type loaderOf[K comparable, V any] struct {
	c  *Cache[K, V]
	fn func(context.Context, K) (V, error)
}

func (l *loaderOf[K, V]) Load(ctx context.Context, key K) (item[V], error) {
	if l.c.tracer != nil {
		return l.traced(ctx, key, false)
	}
	return l.load(ctx, key)
}

func (l *loaderOf[K, V]) Reload(ctx context.Context, key K, _ item[V]) (item[V], error) {
	if l.c.tracer != nil {
		return l.traced(ctx, key, true)
	}
	return l.load(ctx, key)
}

// traced is load inside a span. A not-found is an answer, not a failure of the load.
func (l *loaderOf[K, V]) traced(ctx context.Context, key K, refresh bool) (item[V], error) {
	ctx, span := l.c.spanLoad(ctx, refresh)
	it, err := l.load(ctx, key)
	span.SetAttributes(attrFound.Bool(err == nil && !it.missing))
	spanErr := err
	if errors.Is(err, otter.ErrNotFound) {
		spanErr = nil
	}
	telemetry.End(span, spanErr, knownErrors[:]...)
	return it, err
}

// load calls the loader, turning a panic into a *PanicError and not-found into a cached
// not-found (with negative caching) or the core's not-found, and counts the load.
func (l *loaderOf[K, V]) load(ctx context.Context, key K) (it item[V], err error) {
	defer func() {
		if r := recover(); r != nil {
			it, err = item[V]{}, &PanicError{Value: r, Stack: debug.Stack()}
		}
		if err == nil || errors.Is(err, otter.ErrNotFound) {
			l.c.loadOK.Add(1)
		} else {
			l.c.loadFailed.Add(1)
		}
	}()
	v, err := l.fn(ctx, key)
	switch {
	case err == nil:
		return item[V]{v: v}, nil
	case !errors.Is(err, ErrNotFound):
		return item[V]{}, err
	case l.c.cfg.negTTL > 0:
		return item[V]{missing: true}, nil
	}
	return item[V]{}, otter.ErrNotFound
}

// Invalidate removes the value of key, and reports whether there was one.
func (c *Cache[K, V]) Invalidate(key K) bool {
	_, ok := c.core().Invalidate(key)
	return ok
}

// InvalidateKeys removes the values of keys. It always returns nil; its signature suits
// [InvalidateOn].
func (c *Cache[K, V]) InvalidateKeys(_ context.Context, keys ...K) error {
	o := c.core()
	for _, k := range keys {
		o.Invalidate(k)
	}
	return nil
}

// InvalidateIf removes the entries whose key pred accepts, and returns how many it removed.
// It visits every entry. A nil pred removes nothing.
func (c *Cache[K, V]) InvalidateIf(pred func(key K) bool) int {
	if pred == nil {
		return 0
	}
	n := 0
	o := c.core()
	for k := range o.Keys() {
		if pred(k) {
			if _, ok := o.Invalidate(k); ok {
				n++
			}
		}
	}
	return n
}

// InvalidateAll removes every entry.
func (c *Cache[K, V]) InvalidateAll() { c.core().InvalidateAll() }

// InvalidatePrefix removes the entries of c whose key starts with prefix, and returns how many
// it removed.
func InvalidatePrefix[K ~string, V any](c *Cache[K, V], prefix string) int {
	return c.InvalidateIf(func(k K) bool { return strings.HasPrefix(string(k), prefix) })
}

// Len returns the number of entries, an estimate under concurrent writes.
func (c *Cache[K, V]) Len() int { return c.core().EstimatedSize() }

// Stats counts a cache's lookups and removals since it was created.
type Stats struct {
	Hits          uint64 // lookups that found an entry, cached not-founds included
	Misses        uint64 // lookups that found nothing
	Evictions     uint64 // entries removed for size or expiry (not invalidations)
	LoadSuccesses uint64 // loads that returned a value or not-found
	LoadFailures  uint64 // loads that failed
	Size          int    // entries now, an estimate
}

// HitRatio returns Hits / (Hits + Misses), or 1 without lookups.
func (s Stats) HitRatio() float64 {
	if s.Hits+s.Misses == 0 {
		return 1
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// Stats returns the cache's counters.
func (c *Cache[K, V]) Stats() Stats {
	o := c.core()
	return Stats{
		Hits:          c.hits.load(),
		Misses:        c.misses.load(),
		Evictions:     c.evictions.Load(),
		LoadSuccesses: c.loadOK.Load(),
		LoadFailures:  c.loadFailed.Load(),
		Size:          o.EstimatedSize(),
	}
}

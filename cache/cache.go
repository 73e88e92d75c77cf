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
	"github.com/maypok86/otter/v2/stats"
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
// work.
type Cache[K comparable, V any] struct {
	o       *otter.Cache[K, item[V]]
	cfg     config
	counter *stats.Counter
	coarse  *otter.CoarseClock

	mu     sync.Mutex
	closed atomic.Bool
	wg     sync.WaitGroup
}

// New returns an empty cache.
func New[K comparable, V any](opts ...Option) (*Cache[K, V], error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	c := &Cache[K, V]{cfg: cfg, counter: stats.NewCounter()}
	o := &otter.Options[K, item[V]]{
		MaximumSize:   cfg.maxEntries,
		StatsRecorder: c.counter,
		Executor:      c.execute,
		Logger:        otterLogger{cfg.logger},
	}
	switch {
	case cfg.clock != nil:
		o.Clock = otterClock{cfg.clock}
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
		return nil, &ConfigError{Field: "Options", Value: err, Reason: "rejected by the cache core"}
	}
	c.o = oc
	return c, nil
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
	c.o.StopAllGoroutines()
	if c.coarse != nil {
		c.coarse.Stop()
	}
	c.wg.Wait()
	return nil
}

// Get returns the value of key, if the cache has one. A cached not-found reports false.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	it, ok := c.o.GetIfPresent(key)
	return it.v, ok && !it.missing
}

// Set stores value for key, replacing any value, with the cache's TTL.
func (c *Cache[K, V]) Set(key K, value V) {
	c.o.Set(key, item[V]{v: value})
}

// SetWithTTL stores value for key with its own TTL; ttl = 0 means the entry does not expire.
// It returns [ErrInvalidTTL] for a negative ttl and [ErrNoExpiry] on a cache without expiry,
// and stores nothing then.
func (c *Cache[K, V]) SetWithTTL(key K, value V, ttl time.Duration) error {
	switch {
	case ttl < 0:
		return ErrInvalidTTL
	case !c.cfg.expiry:
		return ErrNoExpiry
	case ttl == 0:
		ttl = -1
	}
	c.o.Set(key, item[V]{v: value, ttl: ttl})
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
// The loader is kept by the load, so a closure escapes to the heap: a loader that captures
// nothing, or one created once (say, a method value kept in a field), makes hits allocation-free.
func (c *Cache[K, V]) GetOrLoad(ctx context.Context, key K, loader func(ctx context.Context, key K) (V, error)) (V, error) {
	var zero V
	if loader == nil {
		return zero, ErrNilLoader
	}
	if c.closed.Load() {
		return zero, ErrClosed
	}
	var l otter.Loader[K, item[V]] = loadFunc[K, V](loader)
	if c.cfg.negTTL > 0 {
		l = loadNegFunc[K, V](loader)
	}
	it, err := c.o.Get(ctx, key, l)
	if err != nil {
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

func (c *Cache[K, V]) result(it item[V]) (V, error) {
	if it.missing {
		var zero V
		return zero, ErrNotFound
	}
	return it.v, nil
}

// loadFunc adapts a loader to the cache core: not-found is not cached. Being a func type, it
// becomes an interface value without allocating.
type loadFunc[K comparable, V any] func(context.Context, K) (V, error)

func (f loadFunc[K, V]) Load(ctx context.Context, key K) (item[V], error) {
	return load(ctx, key, f, false)
}

func (f loadFunc[K, V]) Reload(ctx context.Context, key K, _ item[V]) (item[V], error) {
	return load(ctx, key, f, false)
}

// loadNegFunc is loadFunc for a cache that caches not-found.
type loadNegFunc[K comparable, V any] func(context.Context, K) (V, error)

func (f loadNegFunc[K, V]) Load(ctx context.Context, key K) (item[V], error) {
	return load(ctx, key, f, true)
}

func (f loadNegFunc[K, V]) Reload(ctx context.Context, key K, _ item[V]) (item[V], error) {
	return load(ctx, key, f, true)
}

// load calls fn, turning a panic into a *PanicError and not-found into a cached not-found
// (negative) or the core's not-found.
func load[K comparable, V any](ctx context.Context, key K, fn func(context.Context, K) (V, error), negative bool) (it item[V], err error) {
	defer func() {
		if r := recover(); r != nil {
			it, err = item[V]{}, &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	v, err := fn(ctx, key)
	switch {
	case err == nil:
		return item[V]{v: v}, nil
	case !errors.Is(err, ErrNotFound):
		return item[V]{}, err
	case negative:
		return item[V]{missing: true}, nil
	}
	return item[V]{}, otter.ErrNotFound
}

// Invalidate removes the value of key, and reports whether there was one.
func (c *Cache[K, V]) Invalidate(key K) bool {
	_, ok := c.o.Invalidate(key)
	return ok
}

// InvalidateKeys removes the values of keys. It always returns nil; its signature suits
// [InvalidateOn].
func (c *Cache[K, V]) InvalidateKeys(_ context.Context, keys ...K) error {
	for _, k := range keys {
		c.o.Invalidate(k)
	}
	return nil
}

// InvalidateIf removes the entries whose key pred accepts, and returns how many it removed.
// It visits every entry.
func (c *Cache[K, V]) InvalidateIf(pred func(key K) bool) int {
	n := 0
	for k := range c.o.Keys() {
		if pred(k) {
			if _, ok := c.o.Invalidate(k); ok {
				n++
			}
		}
	}
	return n
}

// InvalidateAll removes every entry.
func (c *Cache[K, V]) InvalidateAll() { c.o.InvalidateAll() }

// InvalidatePrefix removes the entries of c whose key starts with prefix, and returns how many
// it removed.
func InvalidatePrefix[K ~string, V any](c *Cache[K, V], prefix string) int {
	return c.InvalidateIf(func(k K) bool { return strings.HasPrefix(string(k), prefix) })
}

// Len returns the number of entries, an estimate under concurrent writes.
func (c *Cache[K, V]) Len() int { return c.o.EstimatedSize() }

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
	s := c.counter.Snapshot()
	return Stats{
		Hits:          s.Hits,
		Misses:        s.Misses,
		Evictions:     s.Evictions,
		LoadSuccesses: s.LoadSuccesses,
		LoadFailures:  s.LoadFailures,
		Size:          c.o.EstimatedSize(),
	}
}

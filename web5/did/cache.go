package did

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/anya-org/anya-go/cache"
)

// Cache stores resolution results for a Resolver. The interface is small on purpose, so
// that a shared or distributed cache can stand behind it.
//
// Implementations MUST be safe for concurrent use and MUST NOT return an entry after its
// TTL has passed. They MAY drop entries at any time. Values are shared between callers and
// must not be modified.
type Cache interface {
	Get(ctx context.Context, key string) (*Result, bool)
	Set(ctx context.Context, key string, r *Result, ttl time.Duration)
}

// MemoryCache is a size-bounded, least-recently-used, TTL-honouring in-memory Cache. The
// zero value is ready to use and holds DefaultCacheSize results.
type MemoryCache struct {
	mu    sync.Mutex
	size  int
	items map[string]*list.Element
	order *list.List // front: most recently used
}

type cacheEntry struct {
	key     string
	r       *Result
	expires time.Time
}

var _ Cache = (*MemoryCache)(nil)

// NewMemoryCache returns a cache holding at most size results (DefaultCacheSize if size ≤ 0).
func NewMemoryCache(size int) *MemoryCache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &MemoryCache{size: size, items: make(map[string]*list.Element), order: list.New()}
}

// init makes a zero MemoryCache usable; c.mu is held.
func (c *MemoryCache) init() {
	if c.items == nil {
		c.items = make(map[string]*list.Element)
		c.order = list.New()
	}
	if c.size <= 0 {
		c.size = DefaultCacheSize
	}
}

// Get returns a live entry.
func (c *MemoryCache) Get(_ context.Context, key string) (*Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !time.Now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.r, true
}

// Set stores r for ttl, evicting the least recently used entry when full.
func (c *MemoryCache) Set(_ context.Context, key string, r *Result, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	exp := time.Now().Add(ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if el, ok := c.items[key]; ok {
		el.Value = &cacheEntry{key: key, r: r, expires: exp}
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, r: r, expires: exp})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

// Len returns the number of entries, expired ones included until they are touched.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// SharedCache is a Cache on the SDK's cache package (W-TinyLFU, single-flight, counters), so
// DID resolution can share a cache set-up, its statistics and its invalidation with the rest of
// a host. The cache must be built with cache.WithTTL (or cache.WithNegativeTTL) so that every
// result expires after its own TTL; results are not stored otherwise. The host owns the cache
// and closes it. A zero SharedCache has no cache behind it and stores nothing.
type SharedCache struct{ c *cache.Cache[string, *Result] }

var _ Cache = SharedCache{}

// NewSharedCache returns a Cache backed by c.
func NewSharedCache(c *cache.Cache[string, *Result]) SharedCache { return SharedCache{c: c} }

// Get returns a live entry.
func (s SharedCache) Get(_ context.Context, key string) (*Result, bool) {
	if s.c == nil {
		return nil, false
	}
	return s.c.Get(key)
}

// Set stores r for ttl. A ttl ≤ 0, or a cache without expiry tracking, stores nothing.
func (s SharedCache) Set(_ context.Context, key string, r *Result, ttl time.Duration) {
	if ttl > 0 && s.c != nil {
		_ = s.c.SetWithTTL(key, r, ttl)
	}
}

package did

import (
	"container/list"
	"context"
	"sync"
	"time"
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

// MemoryCache is a size-bounded, least-recently-used, TTL-honouring in-memory Cache.
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

// Get returns a live entry.
func (c *MemoryCache) Get(_ context.Context, key string) (*Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
	return c.order.Len()
}

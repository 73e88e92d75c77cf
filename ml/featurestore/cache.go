package featurestore

import (
	"container/list"
	"sync"
)

// MemoryCache is the default online tier: a mutex-guarded map with least-recently-used
// eviction beyond its size. The zero MemoryCache is empty and ready to use, and holds up to
// DefaultCacheSize records.
type MemoryCache struct {
	mu    sync.Mutex
	size  int
	items map[string]*list.Element
	order *list.List // front: most recently used
}

type entry struct {
	key string
	rec Record
}

var _ Cache = (*MemoryCache)(nil)

// NewMemoryCache returns a cache holding at most size records (at least 1).
func NewMemoryCache(size int) *MemoryCache {
	return &MemoryCache{size: max(size, 1), items: map[string]*list.Element{}, order: list.New()}
}

// Get returns the record under key and marks it recently used.
func (c *MemoryCache) Get(key string) (Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key] // a nil map (the zero cache) holds nothing
	if !ok {
		return Record{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry).rec, true
}

// Set stores r under key, evicting the least recently used record when full.
func (c *MemoryCache) Set(key string, r Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil { // the zero cache
		c.items, c.order = map[string]*list.Element{}, list.New()
		if c.size < 1 {
			c.size = DefaultCacheSize
		}
	}
	if el, ok := c.items[key]; ok {
		el.Value.(*entry).rec = r
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&entry{key: key, rec: r})
	for c.order.Len() > c.size {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*entry).key)
	}
}

// Len returns the number of records held.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

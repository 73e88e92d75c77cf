package cache

import (
	"bytes"
	"context"
	"time"
)

// MemoryStore is a [Store] in the process's memory: the shared tier of a single process, and
// the stand-in for a distributed store in tests. It is a [Cache] of byte slices, so it is
// bounded and evicts like one. Create it with [NewMemoryStore]; every method of the zero value
// but Close returns a [*NotConstructedError].
type MemoryStore struct {
	c *Cache[string, []byte]
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store. It accepts the options of [New]; [WithTTL] is
// implied, so that entries can carry their TTL.
func NewMemoryStore(opts ...Option) (*MemoryStore, error) {
	c, err := New[string, []byte](append([]Option{WithTTL(0)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return &MemoryStore{c: c}, nil
}

func (s *MemoryStore) check(ctx context.Context, key string) error {
	if s.c == nil {
		return &NotConstructedError{Type: "MemoryStore", Constructor: "NewMemoryStore"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.c.closed.Load() {
		return ErrClosed
	}
	if len(key) == 0 || len(key) > MaxStoreKeyLen {
		return ErrInvalidKey
	}
	return nil
}

// Get returns a copy of the value of key, or [ErrNotFound].
func (s *MemoryStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.check(ctx, key); err != nil {
		return nil, err
	}
	v, ok := s.c.Get(key)
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

// Set stores a copy of value for key; ttl = 0 means no expiry.
func (s *MemoryStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.check(ctx, key); err != nil {
		return err
	}
	if ttl < 0 {
		return ErrInvalidTTL
	}
	return s.c.SetWithTTL(key, append(make([]byte, 0, len(value)), value...), ttl)
}

// Delete removes key.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, key); err != nil {
		return err
	}
	s.c.Invalidate(key)
	return nil
}

// Close stops the store's background work. It is idempotent.
func (s *MemoryStore) Close() error {
	if s.c == nil {
		return nil
	}
	return s.c.Close()
}

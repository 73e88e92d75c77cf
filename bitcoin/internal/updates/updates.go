package updates

import (
	"slices"
	"sync"

	"github.com/anya-org/anya-go/bitcoin"
)

// Handlers is a set of update handlers. The zero value is ready to use; it is safe for
// concurrent use.
type Handlers struct {
	mu     sync.Mutex
	next   uint64
	hs     map[uint64]func(bitcoin.ChainUpdate)
	closed bool
}

// Add registers h and returns the function that removes it. After Close, Add registers
// nothing.
func (s *Handlers) Add(h func(bitcoin.ChainUpdate)) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return func() {}
	}
	if s.hs == nil {
		s.hs = make(map[uint64]func(bitcoin.ChainUpdate))
	}
	id := s.next
	s.next++
	s.hs[id] = h
	return func() {
		s.mu.Lock()
		delete(s.hs, id)
		s.mu.Unlock()
	}
}

// Snapshot returns the registered handlers in registration order.
func (s *Handlers) Snapshot() []func(bitcoin.ChainUpdate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]uint64, 0, len(s.hs))
	for id := range s.hs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]func(bitcoin.ChainUpdate), len(ids))
	for i, id := range ids {
		out[i] = s.hs[id]
	}
	return out
}

// Close removes every handler and makes later Adds no-ops.
func (s *Handlers) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	clear(s.hs)
}

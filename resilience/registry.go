package resilience

import (
	"iter"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Registry holds one policy per key, say one circuit breaker per protocol or per endpoint,
// created on first use by a shared constructor. Lookups of existing keys take no lock and
// allocate nothing. A Registry is safe for concurrent use; create it with [NewRegistry] or
// [NewBreakerRegistry]. The zero value holds nothing, and its Get returns a
// [*NotConstructedError].
type Registry[K comparable, P any] struct {
	m   atomic.Pointer[map[K]P] // copied on write: keys are few and added rarely
	mu  sync.Mutex
	new func(K) (P, error)
}

// NewRegistry returns a registry that creates the policy of a new key with newPolicy.
func NewRegistry[K comparable, P any](newPolicy func(key K) (P, error)) (*Registry[K, P], error) {
	if newPolicy == nil {
		return nil, &OptionError{Policy: "registry", Option: "newPolicy", Value: nil, Reason: "must not be nil"}
	}
	r := &Registry[K, P]{new: newPolicy}
	r.m.Store(&map[K]P{})
	return r, nil
}

// NewBreakerRegistry returns a registry of circuit breakers that share opts, each named after
// its key (see [WithName]). The options are validated here, once.
func NewBreakerRegistry(opts ...Option) (*Registry[string, *CircuitBreaker], error) {
	if _, err := newBreakerConfig(opts); err != nil {
		return nil, err
	}
	shared := slices.Clip(slices.Clone(opts))
	return NewRegistry(func(key string) (*CircuitBreaker, error) {
		return NewCircuitBreaker(append(shared, WithName(key))...)
	})
}

// Get returns the policy of key, creating it on first use. An error from the constructor is
// returned, and nothing is stored, so a later Get tries again.
func (r *Registry[K, P]) Get(key K) (P, error) {
	m := r.m.Load()
	if m == nil {
		var zero P
		return zero, &NotConstructedError{Type: "Registry", Constructor: "NewRegistry"}
	}
	if p, ok := (*m)[key]; ok {
		return p, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := *r.m.Load()
	if p, ok := cur[key]; ok {
		return p, nil
	}
	p, err := r.new(key)
	if err != nil {
		var zero P
		return zero, err
	}
	next := maps.Clone(cur)
	next[key] = p
	r.m.Store(&next)
	return p, nil
}

// Len returns the number of policies.
func (r *Registry[K, P]) Len() int {
	if m := r.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// All returns the keys and policies created so far, in no particular order.
func (r *Registry[K, P]) All() iter.Seq2[K, P] {
	if m := r.m.Load(); m != nil {
		return maps.All(*m)
	}
	return maps.All(map[K]P(nil))
}

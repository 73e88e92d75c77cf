package bustest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/bus"
)

// DefaultWait is how long WaitFor waits before failing the test.
const DefaultWait = 10 * time.Second

// Recorder keeps every message its subscription receives. It is safe for concurrent use. Create
// it with Record: a zero Recorder has no subscription and records nothing (Wait then returns
// only when ctx ends).
type Recorder[T any] struct {
	sub *bus.Subscription

	mu      sync.Mutex
	envs    []bus.Envelope[T]
	changed chan struct{} // closed and replaced on every new message
}

// Record subscribes a Recorder to pattern on b. The subscription ends when the test ends. It fails
// the test if the subscription cannot be made.
func Record[T any](t testing.TB, b *bus.Bus, pattern string, opts ...bus.SubscribeOption) *Recorder[T] {
	t.Helper()
	r := &Recorder[T]{changed: make(chan struct{})}
	sub, err := bus.Subscribe(b, pattern, r.handle, opts...)
	if err != nil {
		t.Fatalf("bustest: record %q: %v", pattern, err)
	}
	r.sub = sub
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return r
}

func (r *Recorder[T]) handle(_ context.Context, e bus.Envelope[T]) error {
	r.mu.Lock()
	r.envs = append(r.envs, e)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	return nil
}

// Subscription returns the recorder's subscription.
func (r *Recorder[T]) Subscription() *bus.Subscription { return r.sub }

// Len returns how many messages have been recorded.
func (r *Recorder[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.envs)
}

// Envelopes returns a copy of the recorded messages in arrival order.
func (r *Recorder[T]) Envelopes() []bus.Envelope[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.Envelope[T](nil), r.envs...)
}

// Payloads returns the recorded payloads in arrival order.
func (r *Recorder[T]) Payloads() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]T, len(r.envs))
	for i, e := range r.envs {
		out[i] = e.Payload
	}
	return out
}

// Wait blocks until at least n messages are recorded, then returns the recorded messages. It
// returns ctx.Err() if ctx ends first.
func (r *Recorder[T]) Wait(ctx context.Context, n int) ([]bus.Envelope[T], error) {
	for {
		r.mu.Lock()
		if len(r.envs) >= n {
			out := append([]bus.Envelope[T](nil), r.envs...)
			r.mu.Unlock()
			return out, nil
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// WaitFor is Wait bounded by DefaultWait that fails the test on timeout.
func (r *Recorder[T]) WaitFor(t testing.TB, n int) []bus.Envelope[T] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultWait)
	defer cancel()
	out, err := r.Wait(ctx, n)
	if err != nil {
		t.Fatalf("bustest: waited %v for %d messages on %q, got %d", DefaultWait, n, r.sub.Pattern(), r.Len())
	}
	return out
}

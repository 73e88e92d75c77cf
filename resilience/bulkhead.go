package resilience

import (
	"context"
	"sync/atomic"
	"time"
)

// Defaults of a [Bulkhead].
const (
	DefaultBulkheadQueue   = 0 // calls that may wait for a slot
	DefaultBulkheadMaxWait = 0 // no limit on the wait but the caller's context
)

type bulkheadConfig struct {
	common
	queue   int
	maxWait time.Duration
}

// BulkheadQueue lets up to n calls wait for a slot when all are taken; more are refused at
// once with [ErrBulkheadFull]. It configures a [Bulkhead]. Defaults to
// [DefaultBulkheadQueue].
func BulkheadQueue(n int) Option {
	return func(c *config) {
		if c.accepts(KindBulkhead, "BulkheadQueue", n) {
			c.bulkhead.queue = n
		}
	}
}

// BulkheadMaxWait refuses a queued call with [ErrBulkheadFull] once it has waited d; 0 means it
// waits as long as its context allows. It configures a [Bulkhead]. Defaults to
// [DefaultBulkheadMaxWait].
func BulkheadMaxWait(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(KindBulkhead, "BulkheadMaxWait", d) {
			c.bulkhead.maxWait = d
		}
	}
}

// Bulkhead limits the calls in flight, so that one slow dependency cannot take every goroutine
// and connection of the process: up to maxConcurrent calls run at once, a bounded number
// wait for a slot, and the rest are refused with [ErrBulkheadFull]. Create it with
// [NewBulkhead]; the zero value refuses every call with a [*NotConstructedError].
type Bulkhead struct {
	sem     chan struct{}
	waiting atomic.Int64
	cfg     bulkheadConfig
	em      emitter
}

// NewBulkhead returns a bulkhead of maxConcurrent slots, at least 1.
func NewBulkhead(maxConcurrent int, opts ...Option) (*Bulkhead, error) {
	cfg, err := applyOptions(KindBulkhead, opts)
	if err != nil {
		return nil, err
	}
	c := cfg.bulkhead
	c.common = cfg.common
	bad := func(option string, v any, reason string) error {
		return &OptionError{Policy: KindBulkhead, Option: option, Value: v, Reason: reason}
	}
	switch {
	case maxConcurrent < 1 || maxConcurrent > 1<<24:
		return nil, bad("maxConcurrent", maxConcurrent, "must be in [1, 16777216]")
	case c.queue < 0:
		return nil, bad("BulkheadQueue", c.queue, "must not be negative")
	case c.maxWait < 0:
		return nil, bad("BulkheadMaxWait", c.maxWait, "must not be negative")
	}
	return &Bulkhead{sem: make(chan struct{}, maxConcurrent), cfg: c, em: c.emitter(KindBulkhead)}, nil
}

// InFlight returns the calls running now.
func (b *Bulkhead) InFlight() int { return len(b.sem) }

// Waiting returns the calls waiting for a slot now.
func (b *Bulkhead) Waiting() int { return int(b.waiting.Load()) }

func (b *Bulkhead) acquire(ctx context.Context) error {
	if b.sem == nil {
		return &NotConstructedError{Type: "Bulkhead", Constructor: "NewBulkhead"}
	}
	select {
	case b.sem <- struct{}{}:
		return nil
	default:
	}
	if b.waiting.Add(1) > int64(b.cfg.queue) {
		b.waiting.Add(-1)
		return b.reject(ctx)
	}
	defer b.waiting.Add(-1)
	var expired <-chan time.Time
	if b.cfg.maxWait > 0 {
		t := time.NewTimer(b.cfg.maxWait)
		defer t.Stop()
		expired = t.C
	}
	select {
	case b.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		return b.reject(ctx)
	}
}

func (b *Bulkhead) reject(ctx context.Context) error {
	b.em.emitCtx(ctx, Event{Kind: EventRejected, Err: ErrBulkheadFull})
	return ErrBulkheadFull
}

func runBulkhead[R any](ctx context.Context, b *Bulkhead, ps []Policy, fn func(context.Context) (R, error)) (R, error) {
	if err := b.acquire(ctx); err != nil {
		var zero R
		return zero, err
	}
	defer func() { <-b.sem }()
	return run(ctx, ps, fn)
}

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

// BulkheadOption configures a [Bulkhead]. Every [Option] is a BulkheadOption.
type BulkheadOption interface {
	applyBulkhead(*bulkheadConfig)
}

type bulkheadOption func(*bulkheadConfig)

func (o bulkheadOption) applyBulkhead(c *bulkheadConfig) { o(c) }

// BulkheadQueue lets up to n calls wait for a slot when all are taken; more are refused at
// once with [ErrBulkheadFull]. Defaults to [DefaultBulkheadQueue].
func BulkheadQueue(n int) BulkheadOption {
	return bulkheadOption(func(c *bulkheadConfig) { c.queue = n })
}

// BulkheadMaxWait refuses a queued call with [ErrBulkheadFull] once it has waited d; 0 means it
// waits as long as its context allows. Defaults to [DefaultBulkheadMaxWait].
func BulkheadMaxWait(d time.Duration) BulkheadOption {
	return bulkheadOption(func(c *bulkheadConfig) { c.maxWait = d })
}

// Bulkhead limits the calls in flight, so that one slow dependency cannot take every goroutine
// and connection of the process: up to maxConcurrent calls run at once, a bounded number
// wait for a slot, and the rest are refused with [ErrBulkheadFull]. Create it with
// [NewBulkhead].
type Bulkhead struct {
	sem     chan struct{}
	waiting atomic.Int64
	cfg     bulkheadConfig
	em      emitter
}

// NewBulkhead returns a bulkhead of maxConcurrent slots, at least 1.
func NewBulkhead(maxConcurrent int, opts ...BulkheadOption) (*Bulkhead, error) {
	c := bulkheadConfig{common: defaultCommon(), queue: DefaultBulkheadQueue, maxWait: DefaultBulkheadMaxWait}
	for _, o := range opts {
		if o != nil {
			o.applyBulkhead(&c)
		}
	}
	bad := func(field string, v any, reason string) error {
		return &ConfigError{Policy: KindBulkhead, Field: field, Value: v, Reason: reason}
	}
	switch {
	case maxConcurrent < 1 || maxConcurrent > 1<<24:
		return nil, bad("MaxConcurrent", maxConcurrent, "must be in [1, 16777216]")
	case c.queue < 0:
		return nil, bad("Queue", c.queue, "must not be negative")
	case c.maxWait < 0:
		return nil, bad("MaxWait", c.maxWait, "must not be negative")
	}
	if err := c.common.validate(KindBulkhead); err != nil {
		return nil, err
	}
	return &Bulkhead{sem: make(chan struct{}, maxConcurrent), cfg: c, em: c.emitter(KindBulkhead)}, nil
}

// InFlight returns the calls running now.
func (b *Bulkhead) InFlight() int { return len(b.sem) }

// Waiting returns the calls waiting for a slot now.
func (b *Bulkhead) Waiting() int { return int(b.waiting.Load()) }

func (b *Bulkhead) acquire(ctx context.Context) error {
	select {
	case b.sem <- struct{}{}:
		return nil
	default:
	}
	if b.waiting.Add(1) > int64(b.cfg.queue) {
		b.waiting.Add(-1)
		return b.reject()
	}
	defer b.waiting.Add(-1)
	var expired <-chan time.Time
	if b.cfg.maxWait > 0 {
		ch, stop := b.cfg.clock.After(b.cfg.maxWait)
		defer stop()
		expired = ch
	}
	select {
	case b.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		return b.reject()
	}
}

func (b *Bulkhead) reject() error {
	b.em.emit(Event{Kind: EventRejected, Err: ErrBulkheadFull})
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

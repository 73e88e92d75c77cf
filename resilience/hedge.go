package resilience

import (
	"context"
	"slices"
	"sync"
	"time"
)

// DefaultHedgeAttempts is the attempts a hedged call makes at most by default: the first one and
// one hedge.
const DefaultHedgeAttempts = 2

type hedgeConfig struct {
	common
	attempts int
}

// HedgeAttempts is the most attempts a hedged call makes, the first one included, each delay
// after the previous one. It configures a [Hedge]. Defaults to [DefaultHedgeAttempts].
func HedgeAttempts(n int) Option {
	return func(c *config) {
		if c.accepts(KindHedge, "HedgeAttempts", n) {
			c.hedge.attempts = n
		}
	}
}

// Hedge cuts tail latency: when a call has not returned after a delay, it starts a second
// attempt alongside the first, and the first attempt to return wins; the others are
// cancelled. Run calls with [Hedged] (or [Hedge.Do]), which applies policies of its own to each
// attempt; nest the call in [Get] to put policies, a retry say, around the hedged call.
//
// Create it with [NewHedge]; the zero value returns a [*NotConstructedError] instead of calling
// anything.
//
// Hedge is not a [Policy] because its attempts run on goroutines of their own: a function
// handed to them escapes to the heap, and in [Do] and [Get] it would do so for every call.
type Hedge struct {
	delay time.Duration
	cfg   hedgeConfig
	em    emitter
}

// NewHedge returns a hedge that starts another attempt after delay, which must not be
// negative (0 starts every attempt at once).
func NewHedge(delay time.Duration, opts ...Option) (*Hedge, error) {
	cfg, err := applyOptions(KindHedge, opts)
	if err != nil {
		return nil, err
	}
	c := cfg.hedge
	c.common = cfg.common
	bad := func(option string, v any, reason string) error {
		return &OptionError{Policy: KindHedge, Option: option, Value: v, Reason: reason}
	}
	switch {
	case delay < 0:
		return nil, bad("delay", delay, "must not be negative")
	case c.attempts < 1 || c.attempts > 64:
		return nil, bad("HedgeAttempts", c.attempts, "must be in [1, 64]")
	}
	return &Hedge{delay: delay, cfg: c, em: c.emitter(KindHedge)}, nil
}

// Do is [Hedged] for a function without a result.
func (h *Hedge) Do(ctx context.Context, fn func(context.Context) error, policies ...Policy) error {
	if fn == nil {
		return ErrNilFunc
	}
	_, err := Hedged(ctx, h, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) }, policies...)
	return err
}

// Hedged calls fn through policies (see [Do]), and through them again after each delay of h
// while no attempt has returned, up to h's attempts. The first attempt to return, with a
// result or an error, wins; the others' contexts are cancelled, and Hedged returns once they
// have returned, so fn must honour its context. If ctx ends first, Hedged returns ctx.Err().
func Hedged[R any](ctx context.Context, h *Hedge, fn func(context.Context) (R, error), policies ...Policy) (R, error) {
	var zero R
	if fn == nil {
		return zero, ErrNilFunc
	}
	if h == nil {
		return zero, invalidPolicy[R](nil)
	}
	if h.cfg.attempts == 0 {
		return zero, &NotConstructedError{Type: "Hedge", Constructor: "NewHedge"}
	}
	ps := slices.Clone(policies)
	type result struct {
		res R
		err error
	}
	results := make(chan result, h.cfg.attempts)
	var wg sync.WaitGroup
	cancels := make([]context.CancelFunc, 0, h.cfg.attempts)
	defer func() {
		for _, cancel := range cancels {
			cancel()
		}
		wg.Wait()
	}()
	launch := func() {
		actx, cancel := context.WithCancel(ctx)
		cancels = append(cancels, cancel)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := run(actx, ps, fn)
			results <- result{res, err}
		}()
	}
	var (
		t     *time.Timer
		timer <-chan time.Time // nil once every attempt has started
	)
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	arm := func() {
		switch {
		case len(cancels) >= h.cfg.attempts:
			timer = nil
		case t == nil:
			t = time.NewTimer(h.delay)
			timer = t.C
		default:
			t.Reset(h.delay)
		}
	}
	launch()
	arm()
	for {
		select {
		case <-timer:
			launch()
			h.em.emitCtx(ctx, Event{Kind: EventHedge, Attempt: len(cancels), Delay: h.delay})
			arm()
		case r := <-results:
			if r.err != nil && ctx.Err() != nil {
				return zero, ctx.Err()
			}
			return r.res, r.err
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
}

package resilience

import (
	"context"
	"time"
)

// Timeout bounds how long a call may take: the call gets a context whose deadline is the
// timeout, and a call that the deadline ends fails with a [*TimeoutError], which outer
// policies (a circuit breaker, a retry) count as a failure of the callee. The call must honour
// its context; Timeout does not abandon a call that ignores it. Create it with [NewTimeout];
// the zero value returns a [*NotConstructedError] instead of calling anything.
type Timeout struct {
	d   time.Duration
	err error
	em  emitter
}

// NewTimeout returns a timeout of d, which must be positive.
func NewTimeout(d time.Duration, opts ...Option) (*Timeout, error) {
	c, err := applyOptions(KindTimeout, opts)
	if err != nil {
		return nil, err
	}
	if d <= 0 {
		return nil, &OptionError{Policy: KindTimeout, Option: "d", Value: d, Reason: "must be positive"}
	}
	return &Timeout{d: d, err: &TimeoutError{Timeout: d}, em: c.emitter(KindTimeout)}, nil
}

// Duration returns the timeout.
func (t *Timeout) Duration() time.Duration { return t.d }

func runTimeout[R any](ctx context.Context, t *Timeout, ps []Policy, fn func(context.Context) (R, error)) (R, error) {
	if t.d <= 0 {
		var zero R
		return zero, &NotConstructedError{Type: "Timeout", Constructor: "NewTimeout"}
	}
	tctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	res, err := run(tctx, ps, fn)
	if err != nil && ctx.Err() == nil && tctx.Err() == context.DeadlineExceeded {
		t.em.emitCtx(ctx, Event{Kind: EventTimeout, Delay: t.d, Err: err})
		return res, t.err
	}
	return res, err
}

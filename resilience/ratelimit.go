package resilience

import (
	"context"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// DefaultRateLimiterMaxWait is how long a call waits for a token by default: not at all.
const DefaultRateLimiterMaxWait = 0

type rateLimiterConfig struct {
	common
	maxWait time.Duration
}

// RateLimiterMaxWait lets a call wait up to d for a token; a call that would wait longer is
// refused at once with [ErrRateLimited]. It configures a [RateLimiter]. Defaults to
// [DefaultRateLimiterMaxWait].
func RateLimiterMaxWait(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(KindRateLimiter, "RateLimiterMaxWait", d) {
			c.rateLimiter.maxWait = d
		}
	}
}

// RateLimiter lets calls through at a steady rate with a token bucket: perSecond tokens a
// second, up to burst saved. A call without a token waits for one up to its maximum wait, or
// is refused with [ErrRateLimited]. Create it with [NewRateLimiter]; the zero value refuses
// every call with a [*NotConstructedError].
type RateLimiter struct {
	lim *rate.Limiter
	cfg rateLimiterConfig
	em  emitter
}

// NewRateLimiter returns a rate limiter of perSecond calls a second (positive and finite)
// with bursts of up to burst calls (at least 1).
func NewRateLimiter(perSecond float64, burst int, opts ...Option) (*RateLimiter, error) {
	cfg, err := applyOptions(KindRateLimiter, opts)
	if err != nil {
		return nil, err
	}
	c := cfg.rateLimiter
	c.common = cfg.common
	bad := func(option string, v any, reason string) error {
		return &OptionError{Policy: KindRateLimiter, Option: option, Value: v, Reason: reason}
	}
	switch {
	case !(perSecond > 0) || math.IsInf(perSecond, 0):
		return nil, bad("perSecond", perSecond, "must be positive and finite")
	case burst < 1:
		return nil, bad("burst", burst, "must be at least 1")
	case c.maxWait < 0:
		return nil, bad("RateLimiterMaxWait", c.maxWait, "must not be negative")
	}
	lim := rate.NewLimiter(rate.Limit(perSecond), burst)
	// The bucket starts full at the clock's time, not at the zero time.
	lim.SetLimitAt(c.now(), rate.Limit(perSecond))
	return &RateLimiter{lim: lim, cfg: c, em: c.emitter(KindRateLimiter)}, nil
}

// Tokens returns the tokens available now: 0 for a zero RateLimiter.
func (l *RateLimiter) Tokens() float64 {
	if l.lim == nil {
		return 0
	}
	return l.lim.TokensAt(l.cfg.now())
}

func (l *RateLimiter) acquire(ctx context.Context) error {
	if l.lim == nil {
		return &NotConstructedError{Type: "RateLimiter", Constructor: "NewRateLimiter"}
	}
	now := l.cfg.now()
	if l.cfg.maxWait == 0 {
		if l.lim.AllowN(now, 1) {
			return nil
		}
		return l.reject(ctx)
	}
	r := l.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d == 0 {
		return nil
	}
	if d > l.cfg.maxWait {
		r.CancelAt(now)
		return l.reject(ctx)
	}
	if err := sleep(ctx, d); err != nil {
		r.CancelAt(l.cfg.now())
		return err
	}
	return nil
}

func (l *RateLimiter) reject(ctx context.Context) error {
	l.em.emitCtx(ctx, Event{Kind: EventRejected, Err: ErrRateLimited})
	return ErrRateLimited
}

func runRateLimiter[R any](ctx context.Context, l *RateLimiter, ps []Policy, fn func(context.Context) (R, error)) (R, error) {
	if err := l.acquire(ctx); err != nil {
		var zero R
		return zero, err
	}
	return run(ctx, ps, fn)
}

package resilience

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a [Retry].
const (
	DefaultMaxAttempts       = 3                      // attempts, the first one included
	DefaultInitialDelay      = 100 * time.Millisecond // backoff before the second attempt, before jitter
	DefaultMaxDelay          = 10 * time.Second       // longest backoff, before jitter
	DefaultBackoffMultiplier = 2.0                    // growth of the backoff per attempt
)

type retryConfig struct {
	common
	maxAttempts  int
	maxElapsed   time.Duration
	initial      time.Duration
	maxDelay     time.Duration
	mult         float64
	noJitter     bool
	delayFns     []any // func(int, R, error) time.Duration
	retryIf      []namedPred
	abortIf      []namedPred
	retryResults []any // func(R) bool
	budget       *RetryBudget
}

// MaxAttempts is the most attempts a call gets, the first one included; 0 means no limit, which
// needs a [MaxElapsed]. It configures a [Retry]. Defaults to [DefaultMaxAttempts].
func MaxAttempts(n int) Option {
	return func(c *config) {
		if c.accepts(KindRetry, "MaxAttempts", n) {
			c.retry.maxAttempts = n
		}
	}
}

// MaxElapsed gives up rather than start an attempt later than d after the first one started.
// It configures a [Retry]. Defaults to no limit (0).
func MaxElapsed(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(KindRetry, "MaxElapsed", d) {
			c.retry.maxElapsed = d
		}
	}
}

// Backoff sets the exponential backoff: the wait before attempt n+1 is drawn uniformly from
// [0, min(maxDelay, initial × multiplier^(n-1))] ("full jitter"). It configures a [Retry].
// Defaults to [DefaultInitialDelay] and [DefaultMaxDelay].
func Backoff(initial, maxDelay time.Duration) Option {
	return func(c *config) {
		if c.accepts(KindRetry, "Backoff", initial) {
			c.retry.initial, c.retry.maxDelay = initial, maxDelay
		}
	}
}

// BackoffMultiplier sets the backoff's growth per attempt, at least 1. It configures a
// [Retry]. Defaults to [DefaultBackoffMultiplier].
func BackoffMultiplier(m float64) Option {
	return func(c *config) {
		if c.accepts(KindRetry, "BackoffMultiplier", m) {
			c.retry.mult = m
		}
	}
}

// WithoutJitter makes every wait the full backoff instead of a random part of it. It
// configures a [Retry]. Defaults to full jitter.
func WithoutJitter() Option {
	return func(c *config) {
		if c.accepts(KindRetry, "WithoutJitter", true) {
			c.retry.noJitter = true
		}
	}
}

// DelayFunc computes the wait after failed attempt number attempt of a call whose result type
// is R, from its result and error (nil for a rejected result); a negative wait falls back to the
// backoff. Calls of other result types use the backoff; use R = struct{} for [Do]. A
// server's hint (see [RetryAfterHint]) still lengthens the wait. It configures a [Retry].
// Defaults to the backoff.
func DelayFunc[R any](f func(attempt int, result R, err error) time.Duration) Option {
	return func(c *config) {
		if c.accepts(KindRetry, "DelayFunc", nil) {
			c.retry.delayFns = append(c.retry.delayFns, f)
		}
	}
}

// RetryIf retries the errors pred accepts. Given with [RetryOn] or [RetryOnType], an error that
// any of them accepts is retried. It configures a [Retry]. Defaults to retrying every error.
func RetryIf(pred func(error) bool) Option {
	return retryIf("RetryIf", pred)
}

func retryIf(option string, pred func(error) bool) Option {
	return func(c *config) {
		if c.accepts(KindRetry, option, nil) {
			c.retry.retryIf = append(c.retry.retryIf, namedPred{option, pred})
		}
	}
}

// RetryOn retries the errors that match one of targets with [errors.Is]. See [RetryIf]. It
// configures a [Retry]. Defaults to retrying every error.
func RetryOn(targets ...error) Option {
	return retryIf("RetryOn", func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	})
}

// RetryOnType retries the errors that have an E in their chain, as found by [errors.As]. See
// [RetryIf]. It configures a [Retry]. Defaults to retrying every error.
func RetryOnType[E error]() Option {
	return retryIf("RetryOnType", func(err error) bool {
		var e E
		return errors.As(err, &e)
	})
}

// AbortIf never retries the errors pred accepts, whatever else is configured. Errors marked
// with [Permanent] are never retried either. It configures a [Retry]. Defaults to none.
func AbortIf(pred func(error) bool) Option {
	return abortIf("AbortIf", pred)
}

func abortIf(option string, pred func(error) bool) Option {
	return func(c *config) {
		if c.accepts(KindRetry, option, nil) {
			c.retry.abortIf = append(c.retry.abortIf, namedPred{option, pred})
		}
	}
}

// AbortOn never retries the errors that match one of targets with [errors.Is]. See [AbortIf].
// It configures a [Retry]. Defaults to none.
func AbortOn(targets ...error) Option {
	return abortIf("AbortOn", func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	})
}

// RetryResultIf retries a call of result type R that returns, without an error, a result pred
// accepts. It configures a [Retry]. Defaults to none.
func RetryResultIf[R any](pred func(R) bool) Option {
	return func(c *config) {
		if c.accepts(KindRetry, "RetryResultIf", nil) {
			c.retry.retryResults = append(c.retry.retryResults, pred)
		}
	}
}

// WithBudget draws every retry from budget, which may be shared by many retries, so that
// retries cannot multiply the load on a failing dependency; a nil budget means none. It
// configures a [Retry]. Defaults to no budget.
func WithBudget(budget *RetryBudget) Option {
	return func(c *config) {
		if c.accepts(KindRetry, "WithBudget", budget) {
			c.retry.budget = budget
		}
	}
}

// namedPred is a predicate and the option that gave it, for error messages.
type namedPred struct {
	option string
	f      func(error) bool
}

// Retry calls again a call that failed, after a backoff, until it succeeds or the retry gives
// up with a [RetryError]. Its success path allocates nothing. A Retry is safe for concurrent
// use; create it with [NewRetry] and apply it with [Do] or [Get]. The zero value is a retry
// with the defaults, as NewRetry() returns, set up on first use; it must not be copied after
// first use.
//
// Errors from the caller's context ending are never retried: the call returns ctx.Err().
type Retry struct {
	ready atomic.Bool // cfg and em are set: by NewRetry, or on a zero Retry's first use
	cfg   retryConfig
	em    emitter
	mu    sync.Mutex // serializes the zero value's set-up
}

func defaultRetryConfig() retryConfig {
	return retryConfig{
		maxAttempts: DefaultMaxAttempts,
		initial:     DefaultInitialDelay,
		maxDelay:    DefaultMaxDelay,
		mult:        DefaultBackoffMultiplier,
	}
}

// NewRetry returns a retry policy.
func NewRetry(opts ...Option) (*Retry, error) {
	c, err := applyOptions(KindRetry, opts)
	if err != nil {
		return nil, err
	}
	rc := c.retry
	rc.common = c.common
	if err := rc.validate(); err != nil {
		return nil, err
	}
	r := &Retry{cfg: rc, em: rc.emitter(KindRetry)}
	r.ready.Store(true)
	return r, nil
}

// setUp sets a zero Retry up with the defaults, once. It is cheap enough to inline.
func (r *Retry) setUp() {
	if !r.ready.Load() {
		r.setUpZero()
	}
}

func (r *Retry) setUpZero() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready.Load() {
		r.cfg = defaultRetryConfig()
		r.cfg.common = defaultCommon()
		r.em = r.cfg.emitter(KindRetry)
		r.ready.Store(true)
	}
}

func (c *retryConfig) validate() error {
	bad := func(option string, v any, reason string) error {
		return &OptionError{Policy: KindRetry, Option: option, Value: v, Reason: reason}
	}
	switch {
	case c.maxAttempts < 0:
		return bad("MaxAttempts", c.maxAttempts, "must not be negative")
	case c.maxElapsed < 0:
		return bad("MaxElapsed", c.maxElapsed, "must not be negative")
	case c.maxAttempts == 0 && c.maxElapsed == 0:
		return bad("MaxAttempts", c.maxAttempts, "0 (no limit) needs a MaxElapsed")
	case c.initial < 0:
		return bad("Backoff", c.initial, "the initial delay must not be negative")
	case c.maxDelay < c.initial:
		return bad("Backoff", c.maxDelay, "the maximum delay must be at least the initial delay")
	case !(c.mult >= 1) || math.IsInf(c.mult, 0):
		return bad("BackoffMultiplier", c.mult, "must be finite and at least 1")
	case c.budget != nil && !c.budget.constructed():
		return bad("WithBudget", "a zero RetryBudget", "create the budget with NewRetryBudget")
	}
	for _, p := range c.retryIf {
		if p.f == nil {
			return bad(p.option, nil, "the predicate must not be nil")
		}
	}
	for _, p := range c.abortIf {
		if p.f == nil {
			return bad(p.option, nil, "the predicate must not be nil")
		}
	}
	return nil
}

// retryable reports whether the failure err may be retried.
func (r *Retry) retryable(err error) bool {
	var p *permanentError
	if errors.As(err, &p) || errors.Is(err, context.Canceled) {
		return false
	}
	for _, p := range r.cfg.abortIf {
		if p.f(err) {
			return false
		}
	}
	if len(r.cfg.retryIf) == 0 {
		return true
	}
	for _, p := range r.cfg.retryIf {
		if p.f(err) {
			return true
		}
	}
	return false
}

// backoff returns the wait after failed attempt number attempt.
func (r *Retry) backoff(attempt int) time.Duration {
	d := float64(r.cfg.initial) * math.Pow(r.cfg.mult, float64(attempt-1))
	if d >= float64(r.cfg.maxDelay) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(r.cfg.maxDelay)
	}
	if r.cfg.noJitter || d < 1 {
		return time.Duration(d)
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

func runRetry[R any](ctx context.Context, r *Retry, ps []Policy, fn func(context.Context) (R, error)) (R, error) {
	r.setUp()
	var start time.Time
	if r.cfg.maxElapsed > 0 {
		start = r.cfg.now()
	}
	if r.cfg.budget != nil {
		r.cfg.budget.deposit()
	}
	var rt retryTrace
	if t := r.em.tel; t != nil && t.tracer != nil {
		rt.tracer, rt.start = t.tracer, time.Now()
	}
	for attempt := 1; ; attempt++ {
		res, err := run(ctx, ps, fn)
		if err == nil && (len(r.cfg.retryResults) == 0 || !matchResult(r.cfg.retryResults, res)) {
			rt.end(attempt, nil)
			return res, nil
		}
		if err != nil && ctx.Err() != nil {
			rt.end(attempt, ctx.Err())
			return res, ctx.Err()
		}
		ctx = rt.failed(ctx, &r.em)
		delay, gaveUp := retryDelay(ctx, r, attempt, start, res, err)
		if gaveUp != nil {
			rt.end(attempt, gaveUp)
			return res, gaveUp
		}
		if err := sleep(ctx, delay); err != nil {
			rt.end(attempt, err)
			return res, err
		}
	}
}

// retryDelay decides what follows failed attempt number attempt: the wait before the next
// one, or the RetryError that gives up.
func retryDelay[R any](ctx context.Context, r *Retry, attempt int, start time.Time, res R, err error) (time.Duration, error) {
	failure := err
	if failure == nil {
		failure = ErrResultRejected
	}
	giveUp := func(reason error) (time.Duration, error) {
		re := &RetryError{Attempts: attempt, Reason: reason, Err: failure}
		r.em.emitCtx(ctx, Event{Kind: EventGiveUp, Attempt: attempt, Err: re})
		return 0, re
	}
	if err != nil && !r.retryable(err) {
		return giveUp(ErrNotRetryable)
	}
	if r.cfg.maxAttempts > 0 && attempt >= r.cfg.maxAttempts {
		return giveUp(ErrRetriesExhausted)
	}
	delay := time.Duration(-1)
	for _, f := range r.cfg.delayFns {
		if df, ok := f.(func(int, R, error) time.Duration); ok {
			delay = df(attempt, res, err)
			break
		}
	}
	if delay < 0 {
		delay = r.backoff(attempt)
	}
	if hint, ok := retryAfter(err); ok && hint > delay {
		delay = hint
	}
	if r.cfg.maxElapsed > 0 && r.cfg.now().Sub(start)+delay > r.cfg.maxElapsed {
		return giveUp(ErrMaxElapsed)
	}
	if r.cfg.budget != nil && !r.cfg.budget.withdraw() {
		return giveUp(ErrBudgetExhausted)
	}
	r.em.emitCtx(ctx, Event{Kind: EventRetry, Attempt: attempt + 1, Delay: delay, Err: failure})
	return delay, nil
}

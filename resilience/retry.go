package resilience

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
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
	retryIf      []func(error) bool
	abortIf      []func(error) bool
	retryResults []any // func(R) bool
	budget       *RetryBudget
}

// RetryOption configures a [Retry]. Every [Option] is a RetryOption.
type RetryOption interface {
	applyRetry(*retryConfig)
}

type retryOption func(*retryConfig)

func (o retryOption) applyRetry(c *retryConfig) { o(c) }

// MaxAttempts is the most attempts a call gets, the first one included; 0 means no limit, which
// needs a [MaxElapsed]. Defaults to [DefaultMaxAttempts].
func MaxAttempts(n int) RetryOption {
	return retryOption(func(c *retryConfig) { c.maxAttempts = n })
}

// MaxElapsed gives up rather than start an attempt later than d after the first one started.
// Defaults to no limit (0).
func MaxElapsed(d time.Duration) RetryOption {
	return retryOption(func(c *retryConfig) { c.maxElapsed = d })
}

// Backoff sets the exponential backoff: the wait before attempt n+1 is drawn uniformly from
// [0, min(maxDelay, initial × multiplier^(n-1))] ("full jitter"). Defaults to
// [DefaultInitialDelay] and [DefaultMaxDelay].
func Backoff(initial, maxDelay time.Duration) RetryOption {
	return retryOption(func(c *retryConfig) { c.initial, c.maxDelay = initial, maxDelay })
}

// BackoffMultiplier sets the backoff's growth per attempt, at least 1. Defaults to
// [DefaultBackoffMultiplier].
func BackoffMultiplier(m float64) RetryOption {
	return retryOption(func(c *retryConfig) { c.mult = m })
}

// WithoutJitter makes every wait the full backoff instead of a random part of it. Defaults to
// full jitter.
func WithoutJitter() RetryOption {
	return retryOption(func(c *retryConfig) { c.noJitter = true })
}

// DelayFunc computes the wait after failed attempt number attempt of a call whose result type
// is R, from its result and error (nil for a rejected result); a negative wait falls back to the
// backoff. Calls of other result types use the backoff; use R = struct{} for [Do]. A
// server's hint (see [RetryAfterHint]) still lengthens the wait. Defaults to the backoff.
func DelayFunc[R any](f func(attempt int, result R, err error) time.Duration) RetryOption {
	return retryOption(func(c *retryConfig) { c.delayFns = append(c.delayFns, f) })
}

// RetryIf retries the errors pred accepts. Given with [RetryOn] or [RetryOnType], an error that
// any of them accepts is retried. Defaults to retrying every error.
func RetryIf(pred func(error) bool) RetryOption {
	return retryOption(func(c *retryConfig) { c.retryIf = append(c.retryIf, pred) })
}

// RetryOn retries the errors that match one of targets with [errors.Is]. See [RetryIf].
func RetryOn(targets ...error) RetryOption {
	return RetryIf(func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	})
}

// RetryOnType retries the errors that have an E in their chain, as found by [errors.As]. See
// [RetryIf].
func RetryOnType[E error]() RetryOption {
	return RetryIf(func(err error) bool {
		var e E
		return errors.As(err, &e)
	})
}

// AbortIf never retries the errors pred accepts, whatever else is configured. Errors marked
// with [Permanent] are never retried either. Defaults to none.
func AbortIf(pred func(error) bool) RetryOption {
	return retryOption(func(c *retryConfig) { c.abortIf = append(c.abortIf, pred) })
}

// AbortOn never retries the errors that match one of targets with [errors.Is]. See [AbortIf].
func AbortOn(targets ...error) RetryOption {
	return AbortIf(func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	})
}

// RetryResultIf retries a call of result type R that returns, without an error, a result pred
// accepts. Defaults to none.
func RetryResultIf[R any](pred func(R) bool) RetryOption {
	return retryOption(func(c *retryConfig) { c.retryResults = append(c.retryResults, pred) })
}

// WithBudget draws every retry from budget, which may be shared by many retries, so that
// retries cannot multiply the load on a failing dependency. Defaults to no budget.
func WithBudget(budget *RetryBudget) RetryOption {
	return retryOption(func(c *retryConfig) { c.budget = budget })
}

// Retry calls again a call that failed, after a backoff, until it succeeds or the retry gives
// up with a [RetryError]. Its success path allocates nothing. A Retry is safe for concurrent
// use; create it with [NewRetry] and apply it with [Do] or [Get].
//
// Errors from the caller's context ending are never retried: the call returns ctx.Err().
type Retry struct {
	cfg retryConfig
	em  emitter
}

// NewRetry returns a retry policy.
func NewRetry(opts ...RetryOption) (*Retry, error) {
	c := retryConfig{
		common:      defaultCommon(),
		maxAttempts: DefaultMaxAttempts,
		initial:     DefaultInitialDelay,
		maxDelay:    DefaultMaxDelay,
		mult:        DefaultBackoffMultiplier,
	}
	for _, o := range opts {
		if o != nil {
			o.applyRetry(&c)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Retry{cfg: c, em: c.emitter(KindRetry)}, nil
}

func (c *retryConfig) validate() error {
	bad := func(field string, v any, reason string) error {
		return &ConfigError{Policy: KindRetry, Field: field, Value: v, Reason: reason}
	}
	if err := c.common.validate(KindRetry); err != nil {
		return err
	}
	switch {
	case c.maxAttempts < 0:
		return bad("MaxAttempts", c.maxAttempts, "must not be negative")
	case c.maxElapsed < 0:
		return bad("MaxElapsed", c.maxElapsed, "must not be negative")
	case c.maxAttempts == 0 && c.maxElapsed == 0:
		return bad("MaxAttempts", c.maxAttempts, "0 (no limit) needs a MaxElapsed")
	case c.initial < 0:
		return bad("InitialDelay", c.initial, "must not be negative")
	case c.maxDelay < c.initial:
		return bad("MaxDelay", c.maxDelay, "must be at least the initial delay")
	case !(c.mult >= 1) || math.IsInf(c.mult, 0):
		return bad("BackoffMultiplier", c.mult, "must be finite and at least 1")
	}
	for i, f := range c.retryIf {
		if f == nil {
			return bad("RetryIf", i, "must not be nil")
		}
	}
	for i, f := range c.abortIf {
		if f == nil {
			return bad("AbortIf", i, "must not be nil")
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
	for _, f := range r.cfg.abortIf {
		if f(err) {
			return false
		}
	}
	if len(r.cfg.retryIf) == 0 {
		return true
	}
	for _, f := range r.cfg.retryIf {
		if f(err) {
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
	var start time.Time
	if r.cfg.maxElapsed > 0 {
		start = r.cfg.clock.Now()
	}
	if r.cfg.budget != nil {
		r.cfg.budget.deposit()
	}
	for attempt := 1; ; attempt++ {
		res, err := run(ctx, ps, fn)
		if err == nil && (len(r.cfg.retryResults) == 0 || !matchResult(r.cfg.retryResults, res)) {
			return res, nil
		}
		if err != nil && ctx.Err() != nil {
			return res, ctx.Err()
		}
		delay, gaveUp := retryDelay(r, attempt, start, res, err)
		if gaveUp != nil {
			return res, gaveUp
		}
		if err := sleep(ctx, r.cfg.clock, delay); err != nil {
			return res, err
		}
	}
}

// retryDelay decides what follows failed attempt number attempt: the wait before the next
// one, or the RetryError that gives up.
func retryDelay[R any](r *Retry, attempt int, start time.Time, res R, err error) (time.Duration, error) {
	failure := err
	if failure == nil {
		failure = ErrResultRejected
	}
	giveUp := func(reason error) (time.Duration, error) {
		re := &RetryError{Attempts: attempt, Reason: reason, Err: failure}
		r.em.emit(Event{Kind: EventGiveUp, Attempt: attempt, Err: re})
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
	if r.cfg.maxElapsed > 0 && r.cfg.clock.Now().Sub(start)+delay > r.cfg.maxElapsed {
		return giveUp(ErrMaxElapsed)
	}
	if r.cfg.budget != nil && !r.cfg.budget.withdraw() {
		return giveUp(ErrBudgetExhausted)
	}
	r.em.emit(Event{Kind: EventRetry, Attempt: attempt + 1, Delay: delay, Err: failure})
	return delay, nil
}

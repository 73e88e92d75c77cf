package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Policy is a policy that [Do] and [Get] apply to a call: a [*CircuitBreaker], [*Retry],
// [*Timeout], [*Bulkhead], [*RateLimiter] or [*Fallback]. The set is closed; [Hedge] runs calls
// through policies of its own with [Hedged].
type Policy interface {
	policy()
}

func (*CircuitBreaker) policy() {}
func (*Retry) policy()          {}
func (*Timeout) policy()        {}
func (*Bulkhead) policy()       {}
func (*RateLimiter) policy()    {}
func (*Fallback[R]) policy()    {}

// Do calls fn through policies, outermost first: Do(ctx, fn, fallback, retry, breaker) is
// fallback(retry(breaker(fn))). Each policy is applied in the order given; see the package
// documentation for the recommended order. With no policies, Do calls fn.
//
// Do returns fn's error, or the error of the policy that stopped the call. When ctx ends while
// a policy waits (a retry's backoff, a bulkhead's queue, a rate limiter's wait), Do returns
// ctx.Err().
func Do(ctx context.Context, fn func(context.Context) error, policies ...Policy) error {
	if fn == nil {
		return ErrNilFunc
	}
	_, err := run(ctx, policies, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	return err
}

// Get is [Do] for a function that returns a result. The policies are not tied to the result
// type: one circuit breaker can guard calls of different result types. A [Fallback] must have
// the call's result type R; one of another type makes Get return [ErrInvalidPolicy].
func Get[R any](ctx context.Context, fn func(context.Context) (R, error), policies ...Policy) (R, error) {
	if fn == nil {
		var zero R
		return zero, ErrNilFunc
	}
	return run(ctx, policies, fn)
}

// run applies ps[0] to the call of ps[1:] and fn. Policies are dispatched by type rather than
// through an interface method, so that neither fn nor the policies escape: a call through
// policies allocates nothing on its success path.
func run[R any](ctx context.Context, ps []Policy, fn func(context.Context) (R, error)) (R, error) {
	if len(ps) == 0 {
		return fn(ctx)
	}
	switch p := ps[0].(type) {
	case *CircuitBreaker:
		if p != nil {
			return runBreaker(ctx, p, ps[1:], fn)
		}
	case *Retry:
		if p != nil {
			return runRetry(ctx, p, ps[1:], fn)
		}
	case *Timeout:
		if p != nil {
			return runTimeout(ctx, p, ps[1:], fn)
		}
	case *Bulkhead:
		if p != nil {
			return runBulkhead(ctx, p, ps[1:], fn)
		}
	case *RateLimiter:
		if p != nil {
			return runRateLimiter(ctx, p, ps[1:], fn)
		}
	case *Fallback[R]:
		if p != nil {
			return runFallback(ctx, p, ps[1:], fn)
		}
	}
	var zero R
	return zero, invalidPolicy[R](ps[0])
}

func invalidPolicy[R any](p Policy) error {
	if p == nil {
		return fmt.Errorf("%w: nil", ErrInvalidPolicy)
	}
	var zero R
	return fmt.Errorf("%w: %T (nil, or a fallback for another result type than %T)", ErrInvalidPolicy, p, zero)
}

// matchResult reports whether one of preds, each a func(R) bool for some R, accepts r.
func matchResult[R any](preds []any, r R) bool {
	for _, p := range preds {
		if f, ok := p.(func(R) bool); ok && f(r) {
			return true
		}
	}
	return false
}

// sleep waits d, or until ctx is done, in which case it returns ctx.Err().
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// callerDone reports whether err comes from the caller's context ending: such a failure says
// nothing about the callee, and no policy counts or retries it.
func callerDone(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.Canceled)
}

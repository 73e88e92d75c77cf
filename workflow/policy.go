package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/anya-org/anya-go/resilience"
)

// Policy is a step's declared timeout and retry policy, defaults filled in, and what the step
// calls, so a PolicyFunc can pick shared policies (a circuit breaker per protocol).
type Policy struct {
	Timeout   time.Duration // per attempt; 0 means none
	Retry     Retry
	Step      string // the step's id
	Operation string // the operation's name
	Protocol  string // the step's protocol
}

// Executor runs a step's attempts under its policy: it calls attempt, and calls it again after a
// failure for which Retryable is true, bounding each call's duration. It returns nil once an
// attempt succeeds, or the last attempt's error. It must return ctx.Err() promptly when ctx ends,
// without calling attempt again: cancellation is not a failure.
//
// The engine counts attempts itself, across restarts, and fails an attempt with
// ErrAttemptsExhausted (wrapped in Permanent) once the step's MaxAttempts are used, so an
// Executor may retry without counting.
type Executor func(ctx context.Context, attempt func(ctx context.Context) error) error

// PolicyFunc builds the Executor of a step from its Policy; the engine calls it once per step
// when a definition is registered. Hosts plug in their resilience stack here (circuit breakers,
// bulkheads, shared rate limits) with WithPolicy.
type PolicyFunc func(Policy) Executor

// DefaultPolicy retries with exponential backoff: it waits Retry.Backoff before the second
// attempt, multiplies the wait by Retry.Multiplier after each one up to Retry.MaxBackoff, and
// bounds each attempt by Timeout. It stops after Retry.MaxAttempts attempts, at the first error
// that is not Retryable, and when ctx ends.
func DefaultPolicy(p Policy) Executor {
	return func(ctx context.Context, attempt func(context.Context) error) error {
		wait := time.Duration(p.Retry.Backoff)
		for n := 1; ; n++ {
			err := runAttempt(ctx, p.Timeout, attempt)
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !Retryable(err) || n >= p.Retry.MaxAttempts {
				return err
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			wait = min(time.Duration(float64(wait)*p.Retry.Multiplier), time.Duration(p.Retry.MaxBackoff))
		}
	}
}

func runAttempt(ctx context.Context, timeout time.Duration, attempt func(context.Context) error) error {
	if timeout <= 0 {
		return attempt(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := attempt(actx)
	if err != nil && ctx.Err() == nil && actx.Err() != nil {
		return fmt.Errorf("workflow: attempt timed out after %v: %w", timeout, err)
	}
	return err
}

// ResiliencePolicy returns a PolicyFunc that carries out steps' policies with the resilience
// package: a resilience.Retry built from the step's Retry (exponential backoff with full jitter;
// errors marked Permanent are not retried), then the policies extra returns for the step — a
// circuit breaker or bulkhead per protocol, a rate limiter per operation; extra may be nil — then
// a resilience.Timeout bounding each attempt. opts are applied to every Retry after the step's
// settings (WithListener, WithBudget, WithoutJitter, ...).
//
// A retry's configuration that resilience refuses (an invalid option) makes the step fail at
// its first attempt, without calling the operation.
func ResiliencePolicy(extra func(Policy) []resilience.Policy, opts ...resilience.Option) PolicyFunc {
	return func(p Policy) Executor {
		initial, maxDelay := time.Duration(p.Retry.Backoff), time.Duration(p.Retry.MaxBackoff)
		ropts := append([]resilience.Option{
			resilience.MaxAttempts(p.Retry.MaxAttempts),
			resilience.Backoff(initial, max(initial, maxDelay)),
			resilience.BackoffMultiplier(p.Retry.Multiplier),
			resilience.AbortIf(func(err error) bool { return !Retryable(err) }),
		}, opts...)
		retry, err := resilience.NewRetry(ropts...)
		if err != nil {
			return func(context.Context, func(context.Context) error) error {
				return Permanent(fmt.Errorf("workflow: step %s retry policy: %w", p.Step, err))
			}
		}
		policies := []resilience.Policy{retry}
		if extra != nil {
			for _, e := range extra(p) {
				if e != nil {
					policies = append(policies, e)
				}
			}
		}
		if p.Timeout > 0 {
			t, err := resilience.NewTimeout(p.Timeout)
			if err != nil {
				return func(context.Context, func(context.Context) error) error {
					return Permanent(fmt.Errorf("workflow: step %s timeout: %w", p.Step, err))
				}
			}
			policies = append(policies, t)
		}
		return func(ctx context.Context, attempt func(context.Context) error) error {
			return resilience.Do(ctx, attempt, policies...)
		}
	}
}

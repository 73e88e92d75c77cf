package bus

import (
	"context"
	"time"
)

// RetryHandler is middleware that runs the handler again when it fails: it calls the rest of
// the chain up to attempts times in all while it returns an error, waiting backoff before the
// second attempt and doubling the wait each time after (capped at 64×backoff). It stops early
// when ctx ends. A panic counts as an error and is retried too. attempts < 1 is treated as 1.
// The retries happen in the subscription's goroutine, in memory; Redeliver instead hands a
// failed message back to a transport that redelivers. (Package resilience's Retry is a policy
// for any call, not bus middleware.)
func RetryHandler(attempts int, backoff time.Duration) Middleware {
	attempts = max(attempts, 1)
	return func(next HandleFunc) HandleFunc {
		return func(ctx context.Context, m *Meta) error {
			wait := backoff
			var err error
			for i := range attempts {
				if err = next(ctx, m); err == nil {
					return nil
				}
				if i == attempts-1 {
					break
				}
				if wait > 0 {
					t := time.NewTimer(wait)
					select {
					case <-ctx.Done():
						t.Stop()
						return err
					case <-t.C:
					}
					wait = min(2*wait, 64*backoff)
				}
			}
			return err
		}
	}
}

// TimeoutHandler is middleware that gives each call of the rest of the chain a context that ends
// after d. The handler must honour its context for this to bound it. (Package resilience's
// Timeout is a policy for any call, not bus middleware.)
func TimeoutHandler(d time.Duration) Middleware {
	return func(next HandleFunc) HandleFunc {
		return func(ctx context.Context, m *Meta) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, m)
		}
	}
}

// Correlate puts the handled message into the handler's context (see ContextWithParent), so that
// everything the handler publishes with that context carries the message's correlation ID and
// names it as the cause.
func Correlate() Middleware {
	return func(next HandleFunc) HandleFunc {
		return func(ctx context.Context, m *Meta) error {
			return next(ContextWithParent(ctx, *m), m)
		}
	}
}

package resilience

import (
	"context"
	"time"
)

// Clock is the time source of the policies that measure or wait: the circuit breaker's
// windows and open state, the retry's waits, the bulkhead's and rate limiter's waits and the
// hedge's delay. [Timeout] uses the deadline of package context, which follows package time.
//
// The default clock is package time. Tests of time-based behaviour run the policies inside
// a testing/synctest bubble, where package time is already fake, and need no other clock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has elapsed, and a function that releases
	// the channel's resources if it is no longer needed.
	After(d time.Duration) (<-chan time.Time, func())
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// sleep waits d on c, or until ctx is done, in which case it returns ctx.Err().
func sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	ch, stop := c.After(d)
	defer stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

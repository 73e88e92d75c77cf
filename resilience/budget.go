package resilience

import (
	"math"
	"sync/atomic"
)

// RetryBudget caps retries at a ratio of calls, so that retries cannot multiply the load on a
// dependency that is failing. Every call (not attempt) through a [Retry] that uses the budget
// deposits ratio retries, and every retry withdraws one; the balance never exceeds burst. So
// over any stretch of time, retries ≤ ratio × calls + burst. A RetryBudget is safe for
// concurrent use and is typically shared by the retries of one dependency. Create it with
// [NewRetryBudget]: the zero value holds no retries and earns none, and [WithBudget] refuses
// it.
type RetryBudget struct {
	balance atomic.Int64 // in thousandths of a retry
	perCall int64
	cap     int64
}

const milli = 1000

// NewRetryBudget returns a budget of ratio retries per call, with ratio in (0, 1000], and at
// most burst retries saved up, at least 1. It starts full, so a cold process can retry.
func NewRetryBudget(ratio float64, burst int) (*RetryBudget, error) {
	if !(ratio > 0 && ratio <= 1000) {
		return nil, &OptionError{Policy: "retry-budget", Option: "ratio", Value: ratio, Reason: "must be in (0, 1000]"}
	}
	if burst < 1 || burst > math.MaxInt32 {
		return nil, &OptionError{Policy: "retry-budget", Option: "burst", Value: burst, Reason: "must be at least 1"}
	}
	b := &RetryBudget{perCall: max(int64(math.Round(ratio*milli)), 1), cap: int64(burst) * milli}
	b.balance.Store(b.cap)
	return b, nil
}

func (b *RetryBudget) constructed() bool { return b.cap > 0 }

// Available returns the retries the budget can pay for now.
func (b *RetryBudget) Available() float64 {
	return float64(b.balance.Load()) / milli
}

// deposit credits one call. At the cap, which is where a healthy dependency keeps it, it only
// reads the balance.
func (b *RetryBudget) deposit() {
	for {
		old := b.balance.Load()
		if old >= b.cap {
			return
		}
		if b.balance.CompareAndSwap(old, min(old+b.perCall, b.cap)) {
			return
		}
	}
}

// withdraw pays for one retry, if the balance allows it.
func (b *RetryBudget) withdraw() bool {
	for {
		old := b.balance.Load()
		if old < milli {
			return false
		}
		if b.balance.CompareAndSwap(old, old-milli) {
			return true
		}
	}
}

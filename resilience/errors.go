package resilience

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sentinel errors. Test for them with [errors.Is]: the errors the policies return wrap them.
var (
	// ErrCircuitOpen is returned, without calling the function, by a [CircuitBreaker] that is
	// open, forced open, or half-open with all of its probe calls in flight.
	ErrCircuitOpen = errors.New("resilience: circuit breaker is open")
	// ErrBulkheadFull is returned by a [Bulkhead] whose calls and wait queue are all taken, or
	// whose wait for a free slot took longer than its maximum wait.
	ErrBulkheadFull = errors.New("resilience: bulkhead is full")
	// ErrRateLimited is returned by a [RateLimiter] that has no token for the call within its
	// maximum wait.
	ErrRateLimited = errors.New("resilience: rate limit exceeded")
	// ErrTimeout is wrapped by the error of a call that a [Timeout] cut short.
	ErrTimeout = errors.New("resilience: timeout exceeded")
	// ErrRetriesExhausted is a reason of a [RetryError]: every permitted attempt failed.
	ErrRetriesExhausted = errors.New("resilience: retries exhausted")
	// ErrMaxElapsed is a reason of a [RetryError]: the next attempt would start after the
	// retry's maximum elapsed time.
	ErrMaxElapsed = errors.New("resilience: maximum elapsed time reached")
	// ErrBudgetExhausted is a reason of a [RetryError]: the [RetryBudget] has no retry left.
	ErrBudgetExhausted = errors.New("resilience: retry budget exhausted")
	// ErrNotRetryable is a reason of a [RetryError]: the failure is not one the retry retries.
	ErrNotRetryable = errors.New("resilience: failure is not retryable")
	// ErrResultRejected is the failure a [RetryError] reports when the last attempt returned a
	// result that a result predicate rejected, without an error.
	ErrResultRejected = errors.New("resilience: result rejected")
	// ErrInvalidOption is wrapped by every [OptionError].
	ErrInvalidOption = errors.New("resilience: invalid option")
	// ErrNotConstructed is wrapped by the [NotConstructedError] that the zero value of a
	// policy which needs its constructor's arguments returns.
	ErrNotConstructed = errors.New("resilience: not constructed")
	// ErrInvalidPolicy is returned by [Do] and [Get] for a nil policy, or a [Fallback] whose
	// result type is not the call's.
	ErrInvalidPolicy = errors.New("resilience: invalid policy")
	// ErrNilFunc is returned by [Do], [Get] and [Hedged] for a nil function.
	ErrNilFunc = errors.New("resilience: nil function")
	// ErrInvalidRetryAfter is wrapped by the error [ParseRetryAfter] returns for a value that
	// is neither a number of seconds nor an HTTP date.
	ErrInvalidRetryAfter = errors.New("resilience: invalid Retry-After value")
	// errUnknownName is returned by Event.UnmarshalJSON for a kind or state it does not know.
	errUnknownName = errors.New("resilience: unknown event kind or state in JSON")
)

// OptionError reports an invalid option or constructor argument, found when a policy is
// constructed: a value out of range, or an option of another policy. Nothing is constructed
// when it is returned. It matches [ErrInvalidOption] with [errors.Is].
type OptionError struct {
	Policy string // the kind of policy being constructed, e.g. KindCircuitBreaker
	Option string // the option, e.g. "FailureRateThreshold", or the constructor's argument, e.g. "maxConcurrent"
	Value  any    // the rejected value
	Reason string // what a valid value looks like
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("resilience: %s: option %s = %v: %s", e.Policy, e.Option, e.Value, e.Reason)
}

// Unwrap returns [ErrInvalidOption].
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the zero value of a policy that cannot work without its
// constructor's arguments (a [Bulkhead] without a size, a [Timeout] without a duration, ...):
// it names the constructor to use. A zero [CircuitBreaker] and a zero [Retry] need none, and
// work as the constructor's defaults. It matches [ErrNotConstructed] with [errors.Is].
type NotConstructedError struct {
	Type        string // the zero value's type, e.g. "Bulkhead"
	Constructor string // the function that creates a usable one, e.g. "NewBulkhead"
}

func (e *NotConstructedError) Error() string {
	return "resilience: a zero " + e.Type + " is not usable: create it with resilience." + e.Constructor
}

// Unwrap returns [ErrNotConstructed].
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// RetryError is returned by a [Retry] that gives up. It wraps both the reason for giving up
// ([ErrRetriesExhausted], [ErrMaxElapsed], [ErrBudgetExhausted] or [ErrNotRetryable]) and the
// last failure, so [errors.Is] and [errors.As] see through it to either.
type RetryError struct {
	Attempts int   // how many attempts were made
	Reason   error // why the retry gave up
	Err      error // the last attempt's failure; ErrResultRejected for a rejected result
}

func (e *RetryError) Error() string {
	attempts := "attempts"
	if e.Attempts == 1 {
		attempts = "attempt"
	}
	reason, last := "resilience: retry gave up", "unknown failure"
	if e.Reason != nil {
		reason = e.Reason.Error()
	}
	if e.Err != nil {
		last = e.Err.Error()
	}
	return reason + " after " + strconv.Itoa(e.Attempts) + " " + attempts + ": " + last
}

// Unwrap returns the reason and the last failure.
func (e *RetryError) Unwrap() []error { return []error{e.Reason, e.Err} }

// TimeoutError is returned by a [Timeout] whose deadline ended the call. It matches both
// [ErrTimeout] and [context.DeadlineExceeded] with [errors.Is].
type TimeoutError struct {
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return "resilience: timeout exceeded after " + e.Timeout.String()
}

// Is reports whether target is [ErrTimeout].
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// Unwrap returns [context.DeadlineExceeded].
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// permanentError marks a failure that no retry retries.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that no [Retry] retries, whatever its predicates say. The
// result still matches err with [errors.Is]. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// RetryAfterHint is implemented by errors that carry a server's hint of when to retry, such as
// an HTTP 429 or 503 response with a Retry-After header. A [Retry] waits at least that long
// before its next attempt. Attach a hint to any error with [WithRetryAfter].
type RetryAfterHint interface {
	error
	RetryAfter() time.Duration
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// WithRetryAfter returns err carrying the hint that the next attempt should wait d. A negative
// d counts as zero. WithRetryAfter(nil, d) is nil.
func WithRetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: max(d, 0)}
}

// retryAfter returns the hint err carries, if any.
func retryAfter(err error) (time.Duration, bool) {
	var h RetryAfterHint
	if errors.As(err, &h) {
		return max(h.RetryAfter(), 0), true
	}
	return 0, false
}

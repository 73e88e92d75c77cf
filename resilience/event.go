package resilience

import (
	"context"
	"log/slog"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind uint8

// The kinds of [Event].
const (
	// EventStateChange: a circuit breaker changed state (From, To). Every listener first
	// receives one with Initial set, reporting the state the breaker had when the listener was
	// registered.
	EventStateChange EventKind = iota + 1
	// EventRejected: a circuit breaker, bulkhead or rate limiter refused a call (Err says why).
	EventRejected
	// EventRetry: a retry will make attempt Attempt after waiting Delay; Err is the failure.
	EventRetry
	// EventGiveUp: a retry gave up after Attempt attempts; Err is the [RetryError].
	EventGiveUp
	// EventTimeout: a timeout cut a call short after Delay.
	EventTimeout
	// EventFallback: a fallback replaced the failure Err.
	EventFallback
	// EventHedge: a hedge started attempt Attempt after Delay.
	EventHedge
)

var eventKindNames = [...]string{"", "state", "rejected", "retry", "give-up", "timeout", "fallback", "hedge"}

// String returns the kind's name, e.g. "state" or "retry".
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && k != 0 {
		return eventKindNames[k]
	}
	return "unknown"
}

// Policy kinds, as found in [Event.Policy] and [OptionError.Policy].
const (
	KindCircuitBreaker = "circuit-breaker"
	KindRetry          = "retry"
	KindTimeout        = "timeout"
	KindBulkhead       = "bulkhead"
	KindRateLimiter    = "rate-limiter"
	KindFallback       = "fallback"
	KindHedge          = "hedge"
)

// Event reports what a policy did: a state change, a rejection, a retry. Listeners registered
// with [WithListener] receive events synchronously, on the goroutine of the call that caused
// them; a listener must be quick and must not call the policy that reports to it.
type Event struct {
	Kind    EventKind
	Policy  string        // the kind of policy, e.g. KindCircuitBreaker
	Name    string        // the policy's name, from WithName
	Time    time.Time     // when it happened, by the policy's clock
	From    State         // EventStateChange: the previous state
	To      State         // EventStateChange: the new state
	Initial bool          // EventStateChange: the state at registration, not a change
	Attempt int           // EventRetry, EventGiveUp, EventHedge: the attempt number
	Delay   time.Duration // EventRetry: the wait; EventTimeout: the timeout; EventHedge: the delay
	Err     error         // the failure or the rejection
}

// Topic returns the event's topic for an event bus: "resilience.<policy>.<kind>", e.g.
// "resilience.circuit-breaker.state" or "resilience.retry.give-up". Subscribe to
// "resilience.>" to see every policy.
func (e Event) Topic() string {
	return "resilience." + e.Policy + "." + e.Kind.String()
}

// emitter holds a policy's name, listeners, clock and logger: what every policy shares.
type emitter struct {
	policy    string
	name      string
	listeners []func(Event)
	now       func() time.Time
	logger    *slog.Logger
	tel       *policyTelemetry // nil unless traced or metered
}

// emit delivers e to the listeners and logs it: state changes at Info, the rest at Debug.
func (em *emitter) emit(e Event) {
	level := slog.LevelDebug
	if e.Kind == EventStateChange {
		level = slog.LevelInfo
	}
	logged := em.logger.Enabled(context.Background(), level)
	if len(em.listeners) == 0 && !logged {
		return
	}
	e.Policy, e.Name = em.policy, em.name
	if e.Time.IsZero() {
		e.Time = em.now()
	}
	for _, l := range em.listeners {
		l(e)
	}
	if logged {
		attrs := []slog.Attr{slog.String("policy", e.Policy), slog.String("name", e.Name), slog.String("kind", e.Kind.String())}
		switch e.Kind {
		case EventStateChange:
			attrs = append(attrs, slog.String("from", e.From.String()), slog.String("to", e.To.String()))
		case EventRetry, EventGiveUp, EventHedge:
			attrs = append(attrs, slog.Int("attempt", e.Attempt), slog.Duration("delay", e.Delay))
		case EventTimeout:
			attrs = append(attrs, slog.Duration("delay", e.Delay))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("err", e.Err.Error()))
		}
		em.logger.LogAttrs(context.Background(), level, "resilience event", attrs...)
	}
}

package resilience

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a policy. The package has one option type for every policy: the options
// that every policy has ([WithName], [WithListener], [WithClock], [WithLogger]) are accepted
// by every constructor, and each of the others belongs to one kind of policy, named in its
// documentation. A constructor given an option of another policy, say [MaxAttempts] for
// [NewCircuitBreaker], returns an [*OptionError] saying so ("does not apply to
// CircuitBreaker") and constructs nothing.
type Option func(*config)

// config is what the options set: the common fields and each policy's own. A constructor sets
// kind before applying the options, so an option of another policy can report itself.
type config struct {
	kind   string
	misuse *OptionError // the first option that does not apply to kind
	common
	breaker     breakerConfig
	retry       retryConfig
	bulkhead    bulkheadConfig
	rateLimiter rateLimiterConfig
	fallback    fallbackConfig
	hedge       hedgeConfig
}

// applyOptions returns the configuration of a policy of kind: the defaults, then opts in
// order (nil options are skipped), then the common fields validated. The policy's own fields
// are validated by its constructor.
func applyOptions(kind string, opts []Option) (*config, error) {
	c := &config{kind: kind, common: defaultCommon()}
	switch kind {
	case KindCircuitBreaker:
		c.breaker = defaultBreakerConfig()
	case KindRetry:
		c.retry = defaultRetryConfig()
	case KindBulkhead:
		c.bulkhead = bulkheadConfig{queue: DefaultBulkheadQueue, maxWait: DefaultBulkheadMaxWait}
	case KindRateLimiter:
		c.rateLimiter = rateLimiterConfig{maxWait: DefaultRateLimiterMaxWait}
	case KindHedge:
		c.hedge = hedgeConfig{attempts: DefaultHedgeAttempts}
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.misuse != nil {
		return nil, c.misuse
	}
	if err := c.common.validate(kind); err != nil {
		return nil, err
	}
	return c, nil
}

// accepts reports whether an option of a policy of kind applies to the policy being
// configured; the first one that does not is recorded as an [*OptionError].
func (c *config) accepts(kind, option string, value any) bool {
	if c.kind == kind {
		return true
	}
	if c.misuse == nil {
		c.misuse = &OptionError{Policy: c.kind, Option: option, Value: value,
			Reason: "does not apply to " + typeName(c.kind) + " (it configures a " + typeName(kind) + ")"}
	}
	return false
}

// typeName returns the Go type of a policy kind, as error messages name it.
func typeName(kind string) string {
	switch kind {
	case KindCircuitBreaker:
		return "CircuitBreaker"
	case KindRetry:
		return "Retry"
	case KindTimeout:
		return "Timeout"
	case KindBulkhead:
		return "Bulkhead"
	case KindRateLimiter:
		return "RateLimiter"
	case KindFallback:
		return "Fallback"
	case KindHedge:
		return "Hedge"
	}
	return kind
}

// common is the configuration every policy has.
type common struct {
	name      string
	listeners []func(Event)
	now       func() time.Time
	clockSet  bool // WithClock was given: the time is not package time's
	logger    *slog.Logger

	tracerProv trace.TracerProvider
	meterProv  metric.MeterProvider
}

func defaultCommon() common {
	return common{now: time.Now, logger: slog.New(slog.DiscardHandler)}
}

func (c *common) emitter(policy string) emitter {
	return emitter{policy: policy, name: c.name, listeners: c.listeners, now: c.now, logger: c.logger, tel: newPolicyTelemetry(c)}
}

func (c *common) validate(policy string) error {
	for i, l := range c.listeners {
		if l == nil {
			return &OptionError{Policy: policy, Option: "WithListener", Value: nil, Reason: "listener " + strconv.Itoa(i) + " is nil"}
		}
	}
	if c.now == nil {
		return &OptionError{Policy: policy, Option: "WithClock", Value: nil, Reason: "must not be nil"}
	}
	if c.logger == nil {
		return &OptionError{Policy: policy, Option: "WithLogger", Value: nil, Reason: "must not be nil"}
	}
	if strings.ContainsAny(c.name, "\x00\n") {
		return &OptionError{Policy: policy, Option: "WithName", Value: c.name, Reason: "must not contain NUL or newline"}
	}
	return nil
}

// WithName names the policy in its events and logs, e.g. "bitcoin" for the bitcoin node's
// breaker. Every policy accepts it. Defaults to "".
func WithName(name string) Option {
	return func(c *config) { c.name = name }
}

// WithListener adds a listener that receives the policy's events (see [Event]); it may be
// given more than once. Listeners run synchronously on the goroutine of the call that caused
// the event. To publish events to an event bus, publish e under e.Topic() from the listener.
// Every policy accepts it. Defaults to no listener.
func WithListener(fn func(Event)) Option {
	return func(c *config) { c.listeners = append(c.listeners, fn) }
}

// WithClock sets the time source the policy reads: the circuit breaker's windows and open
// state, the retry's maximum elapsed time, the rate limiter's tokens and the time of events.
// Waits (backoffs, queues, hedge delays) use package time's timers whatever the clock; tests
// of time-based behaviour run in a testing/synctest bubble, where package time is fake, and
// need no clock. Every policy accepts it. Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now, c.clockSet = now, true }
}

// WithLogger sets the logger of the policy's events: state changes at Info, the others at
// Debug. Every policy accepts it. Defaults to a logger that discards everything.
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

// WithTracerProvider traces the policy with tp. Policies start no span of their own for a call
// that goes well: their events (rejections, retries, give-ups, timeouts, fallbacks, hedges)
// become events on the span of the call they wrap (the span in the call's context), and a
// [Retry] whose first attempt fails opens a span (SpanRetry) covering the whole call, in which
// the next attempts run. Errors are named by type (error.type), never by their text. Every
// policy accepts it; a nil tp is the no-op provider. Defaults to OpenTelemetry's no-op
// provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProv = tp }
}

// WithMeterProvider reports the policy's events as the counter anya.resilience.events and, for
// a [CircuitBreaker], its state (anya.resilience.breaker.state) and its calls by outcome
// (anya.resilience.breaker.calls), as instruments of mp. A breaker stays registered with mp
// for as long as mp lives. Every policy accepts it; a nil mp is the no-op provider. Defaults to
// OpenTelemetry's no-op provider: nothing is reported.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProv = mp }
}

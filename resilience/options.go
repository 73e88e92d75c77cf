package resilience

import (
	"log/slog"
	"strings"
)

// common is the configuration every policy has.
type common struct {
	name      string
	listeners []func(Event)
	clock     Clock
	logger    *slog.Logger
}

func defaultCommon() common {
	return common{clock: systemClock{}, logger: slog.New(slog.DiscardHandler)}
}

func (c *common) emitter(policy string) emitter {
	return emitter{policy: policy, name: c.name, listeners: c.listeners, clock: c.clock, logger: c.logger}
}

func (c *common) validate(policy string) error {
	for i, l := range c.listeners {
		if l == nil {
			return &ConfigError{Policy: policy, Field: "Listener", Value: i, Reason: "must not be nil"}
		}
	}
	if c.clock == nil {
		return &ConfigError{Policy: policy, Field: "Clock", Value: nil, Reason: "must not be nil"}
	}
	if c.logger == nil {
		return &ConfigError{Policy: policy, Field: "Logger", Value: nil, Reason: "must not be nil"}
	}
	if strings.ContainsAny(c.name, "\x00\n") {
		return &ConfigError{Policy: policy, Field: "Name", Value: c.name, Reason: "must not contain NUL or newline"}
	}
	return nil
}

// Option configures what every policy has: its name, listeners, clock and logger. An Option
// is accepted by every policy's constructor.
type Option interface {
	BreakerOption
	RetryOption
	TimeoutOption
	BulkheadOption
	RateLimiterOption
	FallbackOption
	HedgeOption
}

type commonOption func(*common)

func (o commonOption) applyBreaker(c *breakerConfig)         { o(&c.common) }
func (o commonOption) applyRetry(c *retryConfig)             { o(&c.common) }
func (o commonOption) applyTimeout(c *timeoutConfig)         { o(&c.common) }
func (o commonOption) applyBulkhead(c *bulkheadConfig)       { o(&c.common) }
func (o commonOption) applyRateLimiter(c *rateLimiterConfig) { o(&c.common) }
func (o commonOption) applyFallback(c *fallbackConfig)       { o(&c.common) }
func (o commonOption) applyHedge(c *hedgeConfig)             { o(&c.common) }

// WithName names the policy in its events and logs, e.g. "bitcoin" for the bitcoin node's
// breaker. Defaults to "".
func WithName(name string) Option {
	return commonOption(func(c *common) { c.name = name })
}

// WithListener adds a listener that receives the policy's events (see [Event]); it may be
// given more than once. Listeners run synchronously on the goroutine of the call that caused
// the event. To publish events to an event bus, publish e under e.Topic() from the listener.
// Defaults to no listener.
func WithListener(fn func(Event)) Option {
	return commonOption(func(c *common) { c.listeners = append(c.listeners, fn) })
}

// WithClock sets the policy's time source (see [Clock]). Defaults to package time.
func WithClock(clock Clock) Option {
	return commonOption(func(c *common) { c.clock = clock })
}

// WithLogger sets the logger of the policy's events: state changes at Info, the others at
// Debug. Defaults to a logger that discards everything.
func WithLogger(logger *slog.Logger) Option {
	return commonOption(func(c *common) { c.logger = logger })
}

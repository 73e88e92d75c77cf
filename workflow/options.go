package workflow

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/bus"
)

// Option configures an Engine (New) or a SQLite store (OpenSQLiteStore). The package has one
// option type: WithFullSync configures a store and the others an Engine. A constructor given an
// option of the other kind returns an *OptionError saying it "does not apply" and constructs
// nothing.
type Option func(*config)

// The kinds of thing an option configures.
const (
	kindEngine      = "Engine"
	kindSQLiteStore = "SQLiteStore"
)

type config struct {
	kind   string       // what is being constructed: kindEngine or kindSQLiteStore
	misuse *OptionError // the first option of the other kind

	// Engine
	bus       *bus.Bus
	busSet    bool
	logger    *slog.Logger
	now       func() time.Time
	policy    PolicyFunc
	guard     Guard
	guardSet  bool
	limits    Limits
	timeout   time.Duration
	retry     Retry
	resumeN   int
	eventOpts []bus.PublishOption
	owner     string
	ownerSet  bool
	leaseTTL  time.Duration

	tracerProv trace.TracerProvider
	meterProv  metric.MeterProvider

	// SQLiteStore
	fullSync bool
}

// accepts reports whether an option of kind applies to what is being constructed; the first one
// that does not is recorded as an *OptionError.
func (c *config) accepts(kind, option string, value any) bool {
	if c.kind == kind {
		return true
	}
	if c.misuse == nil {
		c.misuse = &OptionError{Option: option, Value: value, Reason: "does not apply to " + c.kind + " (it configures " + article(kind) + ")"}
	}
	return false
}

func article(kind string) string {
	if kind == kindEngine {
		return "an " + kind
	}
	return "a " + kind
}

// WithBus publishes the engine's Events on b. It configures an Engine. Defaults to none.
func WithBus(b *bus.Bus) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithBus", nil) {
			c.bus, c.busSet = b, true
		}
	}
}

// WithTracerProvider traces the engine's runs with tp: a span (SpanRun) for each execution of a
// run — a child of the span in Run's context; the host's Execute span, say — with a span
// (SpanStep) for each step in it, covering all the step's attempts, whose context the step's
// operations and its guard crossings receive, and a span (SpanCompensate) for each
// compensation. Spans name the workflow, step, operation and protocol, never run IDs, inputs,
// outputs or error texts. It configures an Engine; a nil tp is the no-op provider. Defaults to
// OpenTelemetry's no-op provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithTracerProvider", nil) {
			c.tracerProv = tp
		}
	}
}

// WithMeterProvider counts the engine's runs by workflow and outcome (anya.workflow.runs) and
// records each step's duration (anya.workflow.step.duration) as instruments of mp. It
// configures an Engine; a nil mp is the no-op provider. Defaults to OpenTelemetry's no-op
// provider: nothing is reported.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithMeterProvider", nil) {
			c.meterProv = mp
		}
	}
}

// WithLogger sets the logger for events that could not be published and runs Resume could not
// continue. It configures an Engine. Defaults to a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithLogger", nil) {
			c.logger = l
		}
	}
}

// WithClock sets the clock that stamps records and events. It configures an Engine. Defaults to
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithClock", nil) {
			c.now = now
		}
	}
}

// WithPolicy sets how steps' timeouts and retries are carried out. It configures an Engine.
// Defaults to DefaultPolicy.
func WithPolicy(f PolicyFunc) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithPolicy", nil) {
			c.policy = f
		}
	}
}

// WithGuard makes every step whose input reads the output of a step of another protocol pass
// that data through g first (see Guard). It configures an Engine. Defaults to none.
func WithGuard(g Guard) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithGuard", nil) {
			c.guard, c.guardSet = g, true
		}
	}
}

// WithLimits bounds the definitions the engine accepts; zero fields keep their defaults, and
// none may be negative. It configures an Engine. Defaults to Limits{} (DefaultMaxSteps,
// DefaultMaxNesting, DefaultMaxExpressionBytes, DefaultCELCostLimit).
func WithLimits(l Limits) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithLimits", l) {
			c.limits = l
		}
	}
}

// WithDefaultTimeout bounds each attempt of steps that declare no timeout; 0 means unbounded,
// and it must not be negative. It configures an Engine. Defaults to DefaultTimeout.
func WithDefaultTimeout(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithDefaultTimeout", d) {
			c.timeout = d
		}
	}
}

// WithDefaultRetry sets the retry policy of steps that declare none: MaxAttempts from 1 to
// MaxAttemptsLimit, no negative backoff, a Multiplier of 0 (the default) or at least 1. It
// configures an Engine. Defaults to Retry{MaxAttempts: DefaultMaxAttempts} with the default
// backoff.
func WithDefaultRetry(r Retry) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithDefaultRetry", r) {
			c.retry = r
		}
	}
}

// WithResumeConcurrency sets how many runs Resume continues at once, at least 1. It configures
// an Engine. Defaults to DefaultResumeConcurrency.
func WithResumeConcurrency(n int) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithResumeConcurrency", n) {
			c.resumeN = n
		}
	}
}

// WithOwner names the engine on the leases it takes (see Lease): engines sharing a store must
// have distinct, non-empty owners. It configures an Engine. Defaults to a random name drawn at
// New.
func WithOwner(owner string) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithOwner", owner) {
			c.owner, c.ownerSet = owner, true
		}
	}
}

// WithLeaseTTL sets how long the engine's lease on a run lasts without renewal, at least 3ms;
// it renews at a third of it. Another engine sharing the store takes over a run once its lease
// has lapsed, so this is how long the runs of an engine that died wait. It configures an
// Engine. Defaults to DefaultLeaseTTL.
func WithLeaseTTL(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(kindEngine, "WithLeaseTTL", d) {
			c.leaseTTL = d
		}
	}
}

// WithFullSync makes every commit wait for the disk (fsync), so that committed transitions and
// intents survive power loss and operating-system crashes, not only process crashes. It costs
// an fsync per commit. It configures a SQLite store (OpenSQLiteStore). Defaults to off.
func WithFullSync() Option {
	return func(c *config) {
		if c.accepts(kindSQLiteStore, "WithFullSync", nil) {
			c.fullSync = true
		}
	}
}

// newConfig applies the defaults of kind, then opts in order (nil options are skipped), then
// validates the result once.
func newConfig(kind string, opts []Option) (config, error) {
	c := config{
		kind:     kind,
		logger:   slog.New(slog.DiscardHandler),
		now:      time.Now,
		policy:   DefaultPolicy,
		timeout:  DefaultTimeout,
		retry:    Retry{MaxAttempts: DefaultMaxAttempts},
		resumeN:  DefaultResumeConcurrency,
		leaseTTL: DefaultLeaseTTL,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.misuse != nil {
		return config{}, c.misuse
	}
	bad := func(option string, v any, reason string) (config, error) {
		return config{}, &OptionError{Option: option, Value: v, Reason: reason}
	}
	r, l := c.retry, c.limits
	switch {
	case c.busSet && c.bus == nil:
		return bad("WithBus", nil, "must not be nil")
	case c.logger == nil:
		return bad("WithLogger", nil, "must not be nil")
	case c.now == nil:
		return bad("WithClock", nil, "must not be nil")
	case c.policy == nil:
		return bad("WithPolicy", nil, "must not be nil")
	case c.guardSet && c.guard == nil:
		return bad("WithGuard", nil, "must not be nil")
	case l.MaxSteps < 0 || l.MaxNesting < 0 || l.MaxExpressionBytes < 0:
		return bad("WithLimits", l, "a limit must not be negative")
	case c.timeout < 0:
		return bad("WithDefaultTimeout", c.timeout, "must not be negative")
	case r.MaxAttempts < 1 || r.MaxAttempts > MaxAttemptsLimit:
		return bad("WithDefaultRetry", r, "MaxAttempts must be from 1 to MaxAttemptsLimit")
	case r.Backoff < 0 || r.MaxBackoff < 0:
		return bad("WithDefaultRetry", r, "the backoff must not be negative")
	case r.Multiplier != 0 && r.Multiplier < 1:
		return bad("WithDefaultRetry", r, "the multiplier must be 0 (the default) or at least 1")
	case c.resumeN < 1:
		return bad("WithResumeConcurrency", c.resumeN, "must be at least 1")
	case c.ownerSet && c.owner == "":
		return bad("WithOwner", "", "must not be empty")
	case c.leaseTTL < 3*time.Millisecond:
		return bad("WithLeaseTTL", c.leaseTTL, "must be at least 3ms")
	}
	c.limits = l.withDefaults()
	return c, nil
}

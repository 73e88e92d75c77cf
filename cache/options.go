package cache

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Defaults of a [Cache].
const (
	DefaultMaxEntries   = 10_000 // entries kept before the least valuable are evicted
	DefaultTTL          = 0      // entries do not expire
	DefaultNegativeTTL  = 0      // not-found is not cached
	DefaultRefreshAfter = 0      // no stale-while-revalidate refresh
)

// Option configures a [Cache] ([New], [NewMemoryStore]) or a [Tiered] cache ([NewTiered]).
// The package has one option type: [WithLogger] configures both, [WithCross], [WithStore] and
// [WithCodec] configure a Tiered cache, and the others a Cache. A constructor given an option
// of the other kind returns an [*OptionError] saying it "does not apply" and constructs
// nothing.
type Option func(*config)

// The kinds of thing an option configures.
const (
	kindCache  = "Cache"
	kindTiered = "Tiered"
)

type config struct {
	kind   string       // what is being constructed: kindCache or kindTiered
	misuse *OptionError // the first option of the other kind
	logger *slog.Logger

	// Cache
	maxEntries   int
	ttl          time.Duration
	negTTL       time.Duration
	refreshAfter time.Duration
	expiry       bool             // WithTTL or WithNegativeTTL was given
	now          func() time.Time // WithClock; nil: the cache core's own clock
	clockSet     bool
	resolution   time.Duration
	name         string
	tracerProv   trace.TracerProvider
	meterProv    metric.MeterProvider

	// Tiered
	cross    *Cache[string, any]
	store    Store
	storeTTL time.Duration
	codec    any // Codec[V]
}

// accepts reports whether an option of kind applies to what is being constructed; the first
// one that does not is recorded as an [*OptionError].
func (c *config) accepts(kind, option string, value any) bool {
	if c.kind == kind {
		return true
	}
	if c.misuse == nil {
		c.misuse = &OptionError{Option: option, Value: value, Reason: "does not apply to " + c.kind + " (it configures a " + kind + ")"}
	}
	return false
}

// WithMaxEntries bounds the cache to n entries; past it, the entries least likely to be used
// again are evicted (W-TinyLFU). It configures a [Cache]. Defaults to [DefaultMaxEntries].
func WithMaxEntries(n int) Option {
	return func(c *config) {
		if c.accepts(kindCache, "WithMaxEntries", n) {
			c.maxEntries = n
		}
	}
}

// WithTTL makes entries expire d after they are written, unless written with their own TTL
// ([Cache.SetWithTTL]); d = 0 keeps them until evicted but still allows per-entry TTLs. A cache
// created without WithTTL or [WithNegativeTTL] does not read the clock, which makes its reads
// cheaper. It configures a [Cache]. Defaults to [DefaultTTL] without expiry tracking.
func WithTTL(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(kindCache, "WithTTL", d) {
			c.ttl, c.expiry = d, true
		}
	}
}

// WithNegativeTTL caches the not-found answer of a loader (one that returns [ErrNotFound]) for
// d, so that lookups of a missing key do not reach the source each time. It configures a
// [Cache]. Defaults to [DefaultNegativeTTL]: not-found is not cached.
func WithNegativeTTL(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(kindCache, "WithNegativeTTL", d) {
			c.negTTL, c.expiry = d, true
		}
	}
}

// WithRefreshAfter serves an entry older than d as it is and reloads it in the background
// (stale-while-revalidate) when [Cache.GetOrLoad] finds it; it must be shorter than the TTL.
// A failed refresh keeps the old value, and is logged. It configures a [Cache]. Defaults to
// [DefaultRefreshAfter]: no refresh.
func WithRefreshAfter(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(kindCache, "WithRefreshAfter", d) {
			c.refreshAfter = d
		}
	}
}

// WithClock sets the time source of a cache's expiry and refresh. Without a periodic clock,
// the cache then drops expired entries as operations find them. Not with
// [WithClockResolution]. It configures a [Cache]. Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if c.accepts(kindCache, "WithClock", nil) {
			c.now, c.clockSet = now, true
		}
	}
}

// WithClockResolution makes the cache read the time once per d on a goroutine of its own,
// instead of on every operation: reads of a cache with expiry or refresh get about twice as
// fast, and entries expire or refresh up to d early or late. Not with [WithClock]. It
// configures a [Cache]. Defaults to reading the time on every operation.
func WithClockResolution(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(kindCache, "WithClockResolution", d) {
			c.resolution = d
		}
	}
}

// WithName names the cache in its telemetry (the attribute anya.cache.name), e.g. "did" for a
// DID resolver's cache. It configures a [Cache]. Defaults to "".
func WithName(name string) Option {
	return func(c *config) {
		if c.accepts(kindCache, "WithName", name) {
			c.name = name
		}
	}
}

// WithTracerProvider traces every load of the cache with tp: a span ([SpanLoad]) around each
// loader call of a [Cache.GetOrLoad] miss or background refresh — hits are not traced, and
// callers that wait for a load in flight share its span. The span names the cache, whether
// the load was a refresh and whether the key was found; never the key or the value. It
// configures a [Cache]; a nil tp is the no-op provider. Defaults to OpenTelemetry's no-op
// provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if c.accepts(kindCache, "WithTracerProvider", tp) {
			c.tracerProv = tp
		}
	}
}

// WithMeterProvider reports the counters of [Cache.Stats] — lookups by result (hit, miss),
// evictions, loads by outcome — and the cache's size as instruments of mp, read when mp
// collects, so counting costs the read path nothing more. [Cache.Close] stops reporting. It
// configures a [Cache]; a nil mp is the no-op provider. Defaults to OpenTelemetry's no-op
// provider: nothing is reported.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if c.accepts(kindCache, "WithMeterProvider", mp) {
			c.meterProv = mp
		}
	}
}

// WithLogger sets the logger of what lookups survive: a [Cache]'s failed background refreshes,
// a [Tiered] cache's failing or undecodable shared tier. It configures both. Defaults to a
// logger that discards everything.
func WithLogger(logger *slog.Logger) Option { return func(c *config) { c.logger = logger } }

func newConfig(kind string, opts []Option) (config, error) {
	c := config{
		kind:         kind,
		maxEntries:   DefaultMaxEntries,
		ttl:          DefaultTTL,
		negTTL:       DefaultNegativeTTL,
		refreshAfter: DefaultRefreshAfter,
		logger:       slog.New(slog.DiscardHandler),
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
	switch {
	case c.logger == nil:
		return bad("WithLogger", nil, "must not be nil")
	case c.maxEntries < 1:
		return bad("WithMaxEntries", c.maxEntries, "must be at least 1")
	case c.ttl < 0:
		return bad("WithTTL", c.ttl, "must not be negative")
	case c.negTTL < 0:
		return bad("WithNegativeTTL", c.negTTL, "must not be negative")
	case c.refreshAfter < 0:
		return bad("WithRefreshAfter", c.refreshAfter, "must not be negative")
	case c.refreshAfter > 0 && c.ttl > 0 && c.refreshAfter >= c.ttl:
		return bad("WithRefreshAfter", c.refreshAfter, "must be shorter than the TTL")
	case c.clockSet && c.now == nil:
		return bad("WithClock", nil, "must not be nil")
	case c.resolution < 0:
		return bad("WithClockResolution", c.resolution, "must not be negative")
	case c.resolution > 0 && c.clockSet:
		return bad("WithClockResolution", c.resolution, "cannot be combined with WithClock")
	case c.storeTTL < 0:
		return bad("WithStore", c.storeTTL, "the TTL must not be negative")
	}
	return c, nil
}

// otterLogger logs otter's warnings and errors (failed refreshes) with slog.
type otterLogger struct{ l *slog.Logger }

func (o otterLogger) Warn(ctx context.Context, msg string, err error) {
	o.l.WarnContext(ctx, msg, "err", err)
}

func (o otterLogger) Error(ctx context.Context, msg string, err error) {
	o.l.ErrorContext(ctx, msg, "err", err)
}

// otterClock adapts a WithClock function. It has no ticks: the cache then does without
// periodic clean-ups, and expired entries are dropped as operations find them.
type otterClock struct{ now func() time.Time }

func (o otterClock) NowNano() int64                      { return o.now().UnixNano() }
func (o otterClock) Tick(time.Duration) <-chan time.Time { return nil }

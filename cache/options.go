package cache

import (
	"context"
	"log/slog"
	"time"
)

// Defaults of a [Cache].
const (
	DefaultMaxEntries   = 10_000 // entries kept before the least valuable are evicted
	DefaultTTL          = 0      // entries do not expire
	DefaultNegativeTTL  = 0      // not-found is not cached
	DefaultRefreshAfter = 0      // no stale-while-revalidate refresh
)

// Clock is a cache's time source.
type Clock interface {
	Now() time.Time
}

type config struct {
	maxEntries   int
	ttl          time.Duration
	negTTL       time.Duration
	refreshAfter time.Duration
	expiry       bool // WithTTL or WithNegativeTTL was given
	clock        Clock
	resolution   time.Duration
	logger       *slog.Logger
}

// Option configures a [Cache].
type Option func(*config)

// WithMaxEntries bounds the cache to n entries; past it, the entries least likely to be used
// again are evicted (W-TinyLFU). Defaults to [DefaultMaxEntries].
func WithMaxEntries(n int) Option { return func(c *config) { c.maxEntries = n } }

// WithTTL makes entries expire d after they are written, unless written with their own TTL
// ([Cache.SetWithTTL]); d = 0 keeps them until evicted but still allows per-entry TTLs. A cache
// created without WithTTL or [WithNegativeTTL] does not read the clock, which makes its reads
// cheaper. Defaults to [DefaultTTL] without expiry tracking.
func WithTTL(d time.Duration) Option {
	return func(c *config) { c.ttl, c.expiry = d, true }
}

// WithNegativeTTL caches the not-found answer of a loader (one that returns [ErrNotFound]) for
// d, so that lookups of a missing key do not reach the source each time. Defaults to
// [DefaultNegativeTTL]: not-found is not cached.
func WithNegativeTTL(d time.Duration) Option {
	return func(c *config) { c.negTTL, c.expiry = d, true }
}

// WithRefreshAfter serves an entry older than d as it is and reloads it in the background
// (stale-while-revalidate) when [Cache.GetOrLoad] finds it; it must be shorter than the TTL.
// A failed refresh keeps the old value, and is logged. Defaults to [DefaultRefreshAfter]: no
// refresh.
func WithRefreshAfter(d time.Duration) Option { return func(c *config) { c.refreshAfter = d } }

// WithClock sets the cache's time source. Defaults to package time.
func WithClock(clock Clock) Option { return func(c *config) { c.clock = clock } }

// WithClockResolution makes the cache read the time once per d on a goroutine of its own,
// instead of on every operation: reads of a cache with expiry or refresh get about twice as
// fast, and entries expire or refresh up to d early or late. Not with [WithClock]. Defaults
// to reading the time on every operation.
func WithClockResolution(d time.Duration) Option { return func(c *config) { c.resolution = d } }

// WithLogger sets the logger of failed background refreshes. Defaults to a logger that
// discards everything.
func WithLogger(logger *slog.Logger) Option { return func(c *config) { c.logger = logger } }

func newConfig(opts []Option) (config, error) {
	c := config{
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
	bad := func(field string, v any, reason string) (config, error) {
		return config{}, &ConfigError{Field: field, Value: v, Reason: reason}
	}
	switch {
	case c.maxEntries < 1:
		return bad("MaxEntries", c.maxEntries, "must be at least 1")
	case c.ttl < 0:
		return bad("TTL", c.ttl, "must not be negative")
	case c.negTTL < 0:
		return bad("NegativeTTL", c.negTTL, "must not be negative")
	case c.refreshAfter < 0:
		return bad("RefreshAfter", c.refreshAfter, "must not be negative")
	case c.refreshAfter > 0 && c.ttl > 0 && c.refreshAfter >= c.ttl:
		return bad("RefreshAfter", c.refreshAfter, "must be shorter than the TTL")
	case c.resolution < 0:
		return bad("ClockResolution", c.resolution, "must not be negative")
	case c.resolution > 0 && c.clock != nil:
		return bad("ClockResolution", c.resolution, "cannot be combined with WithClock")
	case c.logger == nil:
		return bad("Logger", nil, "must not be nil")
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

// otterClock adapts a Clock. It has no ticks: the cache then does without periodic clean-ups,
// and expired entries are dropped as operations find them.
type otterClock struct{ c Clock }

func (o otterClock) NowNano() int64                      { return o.c.Now().UnixNano() }
func (o otterClock) Tick(time.Duration) <-chan time.Time { return nil }

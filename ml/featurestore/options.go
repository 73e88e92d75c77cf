package featurestore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/anya-org/anya-go/ml"
)

// Option configures a Store (see Open). Options never fail: Open validates the configuration
// once and returns an *OptionError naming the first invalid one.
type Option func(*config)

type config struct {
	online     Online
	onlineBy   string // the option that set online: "WithCache" or "WithOnline"
	onlineNil  bool   // it was given nil
	now        func() time.Time
	logger     *slog.Logger
	schemaList []ml.Schema
	schemas    map[string]ml.Schema
}

// WithCache sets the online tier to an in-process cache. Defaults to
// NewMemoryCache(DefaultCacheSize).
func WithCache(c Cache) Option {
	return func(cfg *config) {
		cfg.onlineBy, cfg.onlineNil = "WithCache", c == nil
		if c != nil {
			cfg.online = CacheOnline(c)
		}
	}
}

// WithOnline sets the online tier to one that several processes may share, such as
// natsonline's: every host then serves the latest vector any host wrote. The online tier is a
// cache in front of the offline one: its failures are logged, and reads fall back to the
// offline tier. Defaults to an in-process cache (see WithCache).
func WithOnline(o Online) Option {
	return func(cfg *config) { cfg.online, cfg.onlineBy, cfg.onlineNil = o, "WithOnline", o == nil }
}

// WithClock sets the clock that stamps Put. Defaults to time.Now.
func WithClock(now func() time.Time) Option { return func(cfg *config) { cfg.now = now } }

// WithSchemas makes Put validate vectors against their schema (by name and version); each
// schema must pass ml.Schema.Check. Defaults to none: vectors are stored as given.
func WithSchemas(schemas ...ml.Schema) Option {
	return func(cfg *config) { cfg.schemaList = append(cfg.schemaList, schemas...) }
}

// WithLogger sets the logger of the online tier's failures. Defaults to a logger that discards
// everything.
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.logger = l } }

// newConfig applies the defaults, then opts in order (nil options are skipped), then validates
// the result once.
func newConfig(opts []Option) (config, error) {
	c := config{now: time.Now, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	bad := func(option string, v any, reason string) (config, error) {
		return config{}, &OptionError{Option: option, Value: v, Reason: reason}
	}
	switch {
	case c.onlineNil:
		return bad(c.onlineBy, nil, "must not be nil")
	case c.now == nil:
		return bad("WithClock", nil, "must not be nil")
	case c.logger == nil:
		return bad("WithLogger", nil, "must not be nil")
	}
	if c.online == nil {
		c.online = CacheOnline(NewMemoryCache(DefaultCacheSize))
	}
	c.schemas = make(map[string]ml.Schema, len(c.schemaList))
	for _, sc := range c.schemaList {
		if err := sc.Check(); err != nil {
			return bad("WithSchemas", sc.ID(), err.Error())
		}
		c.schemas[key("", sc.Name, sc.Version)] = sc
	}
	return c, nil
}

// OptionError names an option whose value Open refuses; nothing is opened. It matches
// ErrInvalidOption.
type OptionError struct {
	Option string // e.g. "WithClock"
	Value  any    // the rejected value (nil for a nil function or interface)
	Reason string // what a valid value looks like
}

func (e *OptionError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("featurestore: invalid option %s: %s", e.Option, e.Reason)
	}
	return fmt.Sprintf("featurestore: invalid option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Store: it names the constructor. It
// matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "Store"
	Constructor string // "Open"
}

func (e *NotConstructedError) Error() string {
	return "featurestore: a zero " + e.Type + " is not usable: create it with featurestore." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

package console

import (
	"log/slog"
	"time"
)

// Defaults of New.
const (
	// DefaultMaxEventStreams is how many live event streams (server-sent events) may be open at
	// once; more are answered 503.
	DefaultMaxEventStreams = 8
	// DefaultEventBuffer is how many bus events wait for a slow event stream before the oldest
	// are dropped: the console never slows the bus.
	DefaultEventBuffer = 256
	// DefaultHeartbeat is how often an idle event stream sends a comment, so that proxies keep
	// it open.
	DefaultHeartbeat = 15 * time.Second
	// MinRedactionKeyBytes is the shortest redaction key WithRedactionKey takes.
	MinRedactionKeyBytes = 16
)

// Bounds of what the console reads from a request.
const (
	// MaxQueryBytes bounds a request's query string; a longer one is answered 414.
	MaxQueryBytes = 2048
	// MaxFormBytes bounds the body of a write.
	MaxFormBytes = 4096
)

// Option configures New.
type Option func(*config)

type config struct {
	writes     Authorizer
	writesSet  bool
	key        []byte
	logger     *slog.Logger
	now        func() time.Time
	maxStreams int
	buffer     int
	heartbeat  time.Duration
}

// WithWrites enables the console's writes — resetting a circuit breaker — for the requests
// allow lets through (besides the Authorizer given to New). A write is a POST from a page of
// the console: it must carry the console's CSRF token and come from the console's origin.
// Defaults to no writes: the console is read-only, and every POST is answered 403.
func WithWrites(allow Authorizer) Option {
	return func(c *config) { c.writes, c.writesSet = allow, true }
}

// WithRedactionKey sets the key of the pseudonyms that stand for DIDs and Bitcoin addresses
// wherever the console shows one: the first hex digits of HMAC-SHA256 under key, as the trust
// boundaries compute them (security.WithRedactionKey), so a host that gives both the same key
// sees the same pseudonym in the console and in what crossed into ML. At least
// MinRedactionKeyBytes bytes. Defaults to a random key: pseudonyms hold while the Handler lives.
func WithRedactionKey(key []byte) Option {
	return func(c *config) { c.key = key }
}

// WithLogger sets where the console logs what goes wrong while serving (never request
// contents); nil is silent. Defaults to a silent logger (slog.DiscardHandler).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithClock sets the clock of the "as of" times the pages show. Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithMaxEventStreams sets how many live event streams may be open at once (at least 1).
// Defaults to DefaultMaxEventStreams.
func WithMaxEventStreams(n int) Option {
	return func(c *config) { c.maxStreams = n }
}

// WithEventBuffer sets how many bus events wait for a slow event stream before the oldest are
// dropped (at least 1). Defaults to DefaultEventBuffer.
func WithEventBuffer(n int) Option {
	return func(c *config) { c.buffer = n }
}

// WithHeartbeat sets how often an idle event stream sends a comment (at least a second).
// Defaults to DefaultHeartbeat.
func WithHeartbeat(d time.Duration) Option {
	return func(c *config) { c.heartbeat = d }
}

func newConfig(opts []Option) (config, error) {
	c := config{maxStreams: DefaultMaxEventStreams, buffer: DefaultEventBuffer, heartbeat: DefaultHeartbeat, now: time.Now}
	for _, o := range opts {
		if o == nil {
			return config{}, &OptionError{Option: "Option", Value: nil, Reason: "nil option"}
		}
		o(&c)
	}
	switch {
	case c.writesSet && c.writes == nil:
		return config{}, &OptionError{Option: "WithWrites", Value: nil, Reason: "nil authorizer: say who may write"}
	case c.key != nil && len(c.key) < MinRedactionKeyBytes:
		return config{}, &OptionError{Option: "WithRedactionKey", Value: len(c.key), Reason: "a key of at least 16 bytes"}
	case c.now == nil:
		return config{}, &OptionError{Option: "WithClock", Value: nil, Reason: "nil clock"}
	case c.maxStreams < 1:
		return config{}, &OptionError{Option: "WithMaxEventStreams", Value: c.maxStreams, Reason: "at least 1"}
	case c.buffer < 1:
		return config{}, &OptionError{Option: "WithEventBuffer", Value: c.buffer, Reason: "at least 1"}
	case c.heartbeat < time.Second:
		return config{}, &OptionError{Option: "WithHeartbeat", Value: c.heartbeat, Reason: "at least a second"}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

package stream

import (
	"context"
	"log/slog"
	"strconv"
	"time"
)

// Defaults of the operators' options.
const (
	// DefaultMaxKeys bounds the keys an operator keeps state for.
	DefaultMaxKeys = 1_000_000
	// DefaultEviction is what happens when a new key arrives at the bound.
	DefaultEviction = EvictLRU
	// DefaultLatePolicy is what happens to an event behind the watermark.
	DefaultLatePolicy = LateDrop
	// DefaultAllowedLateness is how long state is kept after its window closes.
	DefaultAllowedLateness = time.Duration(0)
	// DefaultCheckpointInterval is how often state is checkpointed to the Store, in
	// processing time.
	DefaultCheckpointInterval = time.Second
	// DefaultInputBuffer is how many records each source may hand over before it waits for
	// the operator.
	DefaultInputBuffer = 4096
	// DefaultMaxPartials bounds the partial matches a Matcher keeps per key.
	DefaultMaxPartials = 64
)

// Eviction is what an operator does when an event of a new key arrives while it already keeps
// state for WithMaxKeys keys.
type Eviction uint8

const (
	// EvictLRU drops the state of the least recently updated key (counted in Stats.Evicted)
	// to make room: its open windows and partial matches are discarded without being emitted.
	EvictLRU Eviction = iota
	// RefuseNew keeps the existing keys and drops the new key's event (counted in
	// Stats.Refused).
	RefuseNew
)

func (e Eviction) String() string {
	switch e {
	case EvictLRU:
		return "evict-lru"
	case RefuseNew:
		return "refuse-new"
	}
	return "eviction(" + strconv.Itoa(int(e)) + ")"
}

// LatePolicy is what an operator does with an event whose time is behind the watermark.
type LatePolicy uint8

const (
	// LateDrop drops it, counted in Stats.Late.
	LateDrop LatePolicy = iota
	// LateSideOutput hands it to the WithLateOutput function instead of processing it.
	LateSideOutput
	// LateUpdate processes it if the state it belongs to is still kept (WithAllowedLateness):
	// results already emitted are replaced (Kind Update) or withdrawn (Kind Retract). Events
	// later than that are dropped, or handed to WithLateOutput if one is set.
	LateUpdate
)

func (p LatePolicy) String() string {
	switch p {
	case LateDrop:
		return "drop"
	case LateSideOutput:
		return "side-output"
	case LateUpdate:
		return "update"
	}
	return "late-policy(" + strconv.Itoa(int(p)) + ")"
}

// Option configures an operator (NewAggregate, NewJoin, NewJoin3, NewIntervalJoin,
// NewMatcher).
type Option func(*config)

type config struct {
	set         uint32 // optXxx bits of the options given
	name        string
	clock       func() time.Time
	logger      *slog.Logger
	store       Store
	every       time.Duration
	maxKeys     int
	eviction    Eviction
	late        LatePolicy
	lateness    time.Duration
	lateOut     func(context.Context, Late) error
	buffer      int
	outer       bool
	maxPartials int
	allMatches  bool
	reuse       bool
}

const (
	optName uint32 = 1 << iota
	optClock
	optLogger
	optStore
	optEvery
	optMaxKeys
	optEviction
	optLate
	optLateness
	optLateOut
	optBuffer
	optOuter
	optMaxPartials
	optAllMatches
	optReuse
)

// WithName names the pipeline: the name goes into every result ID and keys the checkpoints in
// the Store, so two operators sharing a store need different names. Defaults to the operator's
// kind ("aggregate", "join", "join3", "interval-join", "matcher").
func WithName(name string) Option {
	return func(c *config) { c.name, c.set = name, c.set|optName }
}

// WithClock sets the processing-time clock: it stamps records of sources without event time,
// decides when a source is idle and when to checkpoint. Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock, c.set = now, c.set|optClock }
}

// WithLogger sets the logger for checkpoints and restores. Defaults to a logger that discards
// everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger, c.set = l, c.set|optLogger }
}

// WithStore checkpoints the operator's state, its sources' offsets and watermarks to s, and
// restores them when Run starts. Defaults to none: state lives only as long as Run.
func WithStore(s Store) Option {
	return func(c *config) { c.store, c.set = s, c.set|optStore }
}

// WithCheckpointInterval sets how often, in processing time, state is checkpointed; 0
// checkpoints after every batch of records. Defaults to DefaultCheckpointInterval.
func WithCheckpointInterval(d time.Duration) Option {
	return func(c *config) { c.every, c.set = d, c.set|optEvery }
}

// WithMaxKeys bounds the keys the operator keeps state for; see WithEviction. Defaults to
// DefaultMaxKeys.
func WithMaxKeys(n int) Option {
	return func(c *config) { c.maxKeys, c.set = n, c.set|optMaxKeys }
}

// WithEviction sets what happens when a new key arrives at the WithMaxKeys bound. Defaults to
// DefaultEviction (EvictLRU).
func WithEviction(e Eviction) Option {
	return func(c *config) { c.eviction, c.set = e, c.set|optEviction }
}

// WithLatePolicy sets what happens to events behind the watermark. Defaults to
// DefaultLatePolicy (LateDrop).
func WithLatePolicy(p LatePolicy) Option {
	return func(c *config) { c.late, c.set = p, c.set|optLate }
}

// WithAllowedLateness keeps state d longer than its window (or pattern horizon) needs, so that
// late events within d update what was emitted. Only with LateUpdate. Defaults to
// DefaultAllowedLateness (0).
func WithAllowedLateness(d time.Duration) Option {
	return func(c *config) { c.lateness, c.set = d, c.set|optLateness }
}

// WithLateOutput hands late events to f: all of them under LateSideOutput, those too late to
// update anything under LateUpdate. An error from f stops the pipeline. Defaults to none.
func WithLateOutput(f func(ctx context.Context, l Late) error) Option {
	return func(c *config) { c.lateOut, c.set = f, c.set|optLateOut }
}

// WithInputBuffer sets how many records each source may hand over before its Emit waits for
// the operator to catch up. Defaults to DefaultInputBuffer.
func WithInputBuffer(n int) Option {
	return func(c *config) { c.buffer, c.set = n, c.set|optBuffer }
}

// WithOuter makes a join emit partial results: a window join emits every key and window with
// at least one event, naming the sides without events in Missing; an interval join emits the
// left events that found no match once their interval has passed. Defaults to an inner join.
func WithOuter() Option {
	return func(c *config) { c.outer, c.set = true, c.set|optOuter }
}

// WithMaxPartials bounds the partial matches a Matcher keeps per key; a start event beyond it
// is counted in Stats.Refused. Defaults to DefaultMaxPartials.
func WithMaxPartials(n int) Option {
	return func(c *config) { c.maxPartials, c.set = n, c.set|optMaxPartials }
}

// WithAllMatches makes a Matcher emit every match, including matches that overlap a match
// already emitted. Defaults to skipping past a match: after a match, the partial matches of
// its key that started at or before its last event are discarded.
func WithAllMatches() Option {
	return func(c *config) { c.allMatches, c.set = true, c.set|optAllMatches }
}

// WithReuse makes a window join hand out results whose event slices borrow the operator's
// buffers: they are valid only until the loop body that received the result returns, and are
// reused for later windows. A consumer that keeps a result, or sends it on, keeps r.Clone().
// It saves an allocation per event and the garbage collection that goes with it. Defaults to
// results that own their slices.
func WithReuse() Option {
	return func(c *config) { c.reuse, c.set = true, c.set|optReuse }
}

var optNames = map[uint32]string{
	optOuter: "WithOuter", optMaxPartials: "WithMaxPartials", optAllMatches: "WithAllMatches",
	optReuse: "WithReuse",
}

// newConfig applies defaults, then opts, then validates once. allowed lists the optional
// option bits the operator supports beyond the common ones.
func newConfig(kind string, allowed uint32, opts []Option) (config, error) {
	c := config{
		name:        kind,
		clock:       time.Now,
		logger:      slog.New(slog.DiscardHandler),
		every:       DefaultCheckpointInterval,
		maxKeys:     DefaultMaxKeys,
		eviction:    DefaultEviction,
		late:        DefaultLatePolicy,
		lateness:    DefaultAllowedLateness,
		buffer:      DefaultInputBuffer,
		maxPartials: DefaultMaxPartials,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	bad := func(opt string, v any, reason string) (config, error) {
		return config{}, &OptionError{Option: opt, Value: v, Reason: reason}
	}
	for bit, name := range optNames {
		if c.set&bit != 0 && allowed&bit == 0 {
			return bad(name, true, "not supported by "+kind)
		}
	}
	switch {
	case c.name == "":
		return bad("WithName", c.name, "must not be empty")
	case c.clock == nil:
		return bad("WithClock", nil, "must not be nil")
	case c.logger == nil:
		return bad("WithLogger", nil, "must not be nil")
	case c.set&optStore != 0 && c.store == nil:
		return bad("WithStore", nil, "must not be nil")
	case c.every < 0:
		return bad("WithCheckpointInterval", c.every, "must not be negative")
	case c.maxKeys < 1:
		return bad("WithMaxKeys", c.maxKeys, "must be at least 1")
	case c.eviction > RefuseNew:
		return bad("WithEviction", c.eviction, "unknown eviction policy")
	case c.late > LateUpdate:
		return bad("WithLatePolicy", c.late, "unknown late policy")
	case c.lateness < 0:
		return bad("WithAllowedLateness", c.lateness, "must not be negative")
	case c.lateness > 0 && c.late != LateUpdate:
		return bad("WithAllowedLateness", c.lateness, "only with WithLatePolicy(LateUpdate)")
	case c.late == LateSideOutput && c.lateOut == nil:
		return bad("WithLatePolicy", c.late, "LateSideOutput needs WithLateOutput")
	case c.set&optLateOut != 0 && c.lateOut == nil:
		return bad("WithLateOutput", nil, "must not be nil")
	case c.lateOut != nil && c.late == LateDrop:
		return bad("WithLateOutput", "func", "needs WithLatePolicy(LateSideOutput) or LateUpdate")
	case c.buffer < 1:
		return bad("WithInputBuffer", c.buffer, "must be at least 1")
	case c.maxPartials < 1:
		return bad("WithMaxPartials", c.maxPartials, "must be at least 1")
	}
	return c, nil
}

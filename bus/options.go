package bus

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"strconv"
	"time"
)

// Defaults of the bus and of every subscription that does not override them.
const (
	// DefaultQueueSize is how many messages may wait in each subscriber queue (per lane, see
	// Concurrency) before the slow-consumer policy applies.
	DefaultQueueSize = 1024
	// DefaultPolicy is what happens when a subscriber queue is full: the publisher waits.
	DefaultPolicy = PolicyBlock
	// DefaultMaxTopics bounds how many distinct topics get their own routing entry and counters;
	// traffic on further topics is still routed and counted under OverflowTopic.
	DefaultMaxTopics = 10_000
	// OverflowTopic is the Stats key that counts topics beyond the WithMaxTopics limit.
	OverflowTopic = "_overflow"
)

// Policy is what a subscriber does when a message arrives and its queue is full.
type Policy uint8

const (
	// PolicyBlock makes the publisher wait for room, bounded by the publisher's context: the
	// slow consumer pushes back. Nothing is lost silently: a message that does not get in — the
	// context ended first, or the subscription or the bus ended — is counted as dropped and
	// Publish returns a *PublishError that says so.
	PolicyBlock Policy = iota
	// PolicyDropNewest discards the arriving message.
	PolicyDropNewest
	// PolicyDropOldest discards the oldest queued message to make room for the arriving one.
	PolicyDropOldest
	// PolicyFail refuses the arriving message and makes Publish return a *DeliveryError wrapping
	// ErrQueueFull. Other subscribers still receive it.
	PolicyFail
)

func (p Policy) String() string {
	switch p {
	case PolicyBlock:
		return "block"
	case PolicyDropNewest:
		return "drop-newest"
	case PolicyDropOldest:
		return "drop-oldest"
	case PolicyFail:
		return "fail"
	}
	return "policy(" + strconv.Itoa(int(p)) + ")"
}

// Metric names a counter that a MetricsFunc is told about.
type Metric uint8

const (
	MetricPublished Metric = iota // a message was accepted by Publish (once per publish)
	MetricDelivered               // a handler returned nil (once per subscriber)
	MetricDropped                 // a subscriber discarded a message or could not take it (see TopicStats.Dropped)
	MetricFailed                  // a handler's final result was an error (or a panic, an undecodable payload, a PolicyFail refusal)
)

func (m Metric) String() string {
	switch m {
	case MetricPublished:
		return "published"
	case MetricDelivered:
		return "delivered"
	case MetricDropped:
		return "dropped"
	case MetricFailed:
		return "failed"
	}
	return "metric"
}

// MetricsFunc is told about every counted event as it happens, so hosts can feed any metrics
// system. subscriber is "" for MetricPublished. It runs inline on the publishing or handling
// goroutine: it must be fast and must not block.
type MetricsFunc func(topic, subscriber string, m Metric)

// ErrorFunc is told about every message a subscriber could not handle: a handler's final error
// (after middleware such as Retry), a panic, an undecodable or mistyped payload, or a failed
// dead-letter publish.
type ErrorFunc func(subscriber string, m Meta, err error)

// Option configures a Bus.
type Option func(*config) error

type config struct {
	source     string
	clock      func() time.Time
	logger     *slog.Logger
	transport  Transport
	codec      Codec
	queueSize  int
	policy     Policy
	middleware []Middleware
	metrics    MetricsFunc
	onError    ErrorFunc
	maxTopics  int
}

// WithDefaultSource sets the Source of messages whose publisher names none. Defaults to "".
func WithDefaultSource(source string) Option {
	return func(c *config) error { c.source = source; return nil }
}

// WithClock sets the clock that stamps Meta.Time. Defaults to the wall time at New plus the
// monotonic time elapsed since: it costs one clock read per message instead of time.Now's two and
// never goes backwards, but does not follow steps of the wall clock made after New.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return &OptionError{Option: "WithClock", Reason: "nil clock"}
		}
		c.clock = now
		return nil
	}
}

// WithLogger sets the logger for handler failures that no ErrorFunc takes. Defaults to a logger
// that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return &OptionError{Option: "WithLogger", Reason: "nil logger"}
		}
		c.logger = l
		return nil
	}
}

// WithTransport routes every publish and subscription through t, encoding payloads with codec
// (JSONCodec when codec is nil). Defaults to none: the in-process typed fast path, which never
// serializes. The bus does not close t.
func WithTransport(t Transport, codec Codec) Option {
	return func(c *config) error {
		if t == nil {
			return &OptionError{Option: "WithTransport", Reason: "nil transport"}
		}
		if codec == nil {
			codec = JSONCodec{}
		}
		c.transport, c.codec = t, codec
		return nil
	}
}

// WithDefaultQueueSize sets the queue capacity of subscriptions that do not set QueueSize.
// Defaults to DefaultQueueSize.
func WithDefaultQueueSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return &OptionError{Option: "WithDefaultQueueSize", Reason: "must be at least 1"}
		}
		c.queueSize = n
		return nil
	}
}

// WithDefaultPolicy sets the slow-consumer policy of subscriptions that do not set OnFull.
// Defaults to DefaultPolicy (PolicyBlock).
func WithDefaultPolicy(p Policy) Option {
	return func(c *config) error {
		if p > PolicyFail {
			return &OptionError{Option: "WithDefaultPolicy", Reason: "unknown policy"}
		}
		c.policy = p
		return nil
	}
}

// WithMiddleware wraps every subscription's handler in mw, outside the subscription's own
// middleware; the first listed is the outermost. Defaults to none.
func WithMiddleware(mw ...Middleware) Option {
	return func(c *config) error {
		for _, m := range mw {
			if m == nil {
				return &OptionError{Option: "WithMiddleware", Reason: "nil middleware"}
			}
		}
		c.middleware = append(c.middleware, mw...)
		return nil
	}
}

// WithMetrics sets a function told about every counted event. Defaults to none (Stats still
// counts).
func WithMetrics(f MetricsFunc) Option {
	return func(c *config) error { c.metrics = f; return nil }
}

// WithErrorHandler sets the function told about messages subscribers could not handle. Defaults
// to logging them at warning level on the bus logger.
func WithErrorHandler(f ErrorFunc) Option {
	return func(c *config) error { c.onError = f; return nil }
}

// WithMaxTopics bounds the distinct topics with their own routing entry and counters. Defaults to
// DefaultMaxTopics.
func WithMaxTopics(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return &OptionError{Option: "WithMaxTopics", Reason: "must be at least 1"}
		}
		c.maxTopics = n
		return nil
	}
}

// SubscribeOption configures one subscription.
type SubscribeOption func(*subConfig) error

type subConfig struct {
	name        string
	queueSize   int
	policy      Policy
	policySet   bool
	concurrency int
	orderedKeys bool
	filter      any // func(Envelope[T]) bool, checked against T at Subscribe
	middleware  []Middleware
	deadLetter  string
	onError     ErrorFunc
	group       string
	redeliver   bool
}

// Named names the subscription in Stats, metrics, errors and dead letters. Defaults to
// "sub-<n>" where n counts subscriptions of the bus.
func Named(name string) SubscribeOption {
	return func(c *subConfig) error { c.name = name; return nil }
}

// QueueSize sets how many messages may wait in the subscription's queue (in each lane, see
// Concurrency) before its OnFull policy applies. The handler's goroutine takes waiting messages
// a batch at a time, so besides the waiting ones it may hold up to n it has taken but not yet
// handled; those are never dropped. Defaults to the bus's WithDefaultQueueSize.
func QueueSize(n int) SubscribeOption {
	return func(c *subConfig) error {
		if n < 1 {
			return &OptionError{Option: "QueueSize", Reason: "must be at least 1"}
		}
		c.queueSize = n
		return nil
	}
}

// OnFull sets what happens when the queue is full. Defaults to the bus's WithDefaultPolicy.
func OnFull(p Policy) SubscribeOption {
	return func(c *subConfig) error {
		if p > PolicyFail {
			return &OptionError{Option: "OnFull", Reason: "unknown policy"}
		}
		c.policy, c.policySet = p, true
		return nil
	}
}

// Concurrency runs up to n handler calls at once: the subscription gets n queues ("lanes"), each
// with its own goroutine, and each message goes to the lane with the shortest queue. Messages are
// then handled out of publish order unless OrderedByKey is also set. QueueSize applies per lane.
// Defaults to 1: one call at a time, in publish order.
func Concurrency(n int) SubscribeOption {
	return func(c *subConfig) error {
		if n < 1 {
			return &OptionError{Option: "Concurrency", Reason: "must be at least 1"}
		}
		c.concurrency = n
		return nil
	}
}

// OrderedByKey keeps messages with the same Meta.Key in publish order under Concurrency > 1: a
// key always maps to the same lane. Messages with an empty key go to the shortest queue.
// Defaults to off.
func OrderedByKey() SubscribeOption {
	return func(c *subConfig) error { c.orderedKeys = true; return nil }
}

// Filter makes the subscription skip messages for which keep returns false. It runs on the
// publishing goroutine before the message is queued, so skipped messages take no queue room.
// T must be the subscription's type; Subscribe fails otherwise.
func Filter[T any](keep func(Envelope[T]) bool) SubscribeOption {
	return func(c *subConfig) error {
		if keep == nil {
			return &OptionError{Option: "Filter", Reason: "nil filter"}
		}
		c.filter = keep
		return nil
	}
}

// Use wraps the handler in mw; the first listed is the outermost. Defaults to none.
func Use(mw ...Middleware) SubscribeOption {
	return func(c *subConfig) error {
		for _, m := range mw {
			if m == nil {
				return &OptionError{Option: "Use", Reason: "nil middleware"}
			}
		}
		c.middleware = append(c.middleware, mw...)
		return nil
	}
}

// DeadLetter republishes every message the handler finally fails on to topic, with the same
// payload, a CausationID pointing at the failed message, and headers HeaderDeadLetterReason,
// HeaderDeadLetterTopic and HeaderDeadLetterSubscriber. Defaults to none.
func DeadLetter(topic string) SubscribeOption {
	return func(c *subConfig) error {
		if err := ValidateTopic(topic); err != nil {
			return err
		}
		c.deadLetter = topic
		return nil
	}
}

// OnError sets the function told about this subscription's failures, instead of the bus's.
func OnError(f ErrorFunc) SubscribeOption {
	return func(c *subConfig) error { c.onError = f; return nil }
}

// Group makes the subscription a member of group: the members of a group (subscriptions with
// the same group name and pattern) share the pattern's messages, each message going to one of
// them. On a distributed GroupTransport the members may be in different processes, which is how
// several hosts split one stream of work; on a persistent one the group keeps its place while it
// has no member. The bus's transport must implement GroupTransport (MemTransport does); Subscribe
// fails otherwise, and on a bus without a transport. Defaults to none: the subscription receives
// every message of its pattern.
func Group(name string) SubscribeOption {
	return func(c *subConfig) error {
		if name == "" {
			return &OptionError{Option: "Group", Reason: "empty group name"}
		}
		c.group = name
		return nil
	}
}

// Redeliver hands a message back to the transport when the handler finally fails on it (after
// middleware such as Retry): a transport that redelivers (one that sets Message.Acker) delivers
// it again after its backoff, to this subscription or, in a group, to any member. Each failed
// attempt is told to the ErrorFunc; the message is counted failed and dead-lettered only when
// the transport gives up on it. A redelivered message arrives after messages published later,
// so Redeliver trades publish order for retries that survive the process. Without it, and on
// transports that do not redeliver, a handler's final error is final. Defaults to off.
func Redeliver() SubscribeOption {
	return func(c *subConfig) error { c.redeliver = true; return nil }
}

// Header names set on dead letters.
const (
	HeaderDeadLetterReason     = "dead-letter-reason"
	HeaderDeadLetterTopic      = "dead-letter-topic"
	HeaderDeadLetterSubscriber = "dead-letter-subscriber"
)

// PublishOption configures one Publish call. PublishOptions are plain values, so passing them
// does not allocate.
type PublishOption struct {
	kind    uint8
	s1, s2  string
	headers Headers
	parent  parentRef
}

const (
	optKey uint8 = iota + 1
	optSource
	optHeader
	optHeaders
	optCause
	optCorrelation
	optID
)

// WithKey sets the message's ordering key (see OrderedByKey).
func WithKey(key string) PublishOption { return PublishOption{kind: optKey, s1: key} }

// WithSource sets the message's Source. Defaults to the bus's WithDefaultSource.
func WithSource(source string) PublishOption { return PublishOption{kind: optSource, s1: source} }

// WithHeader adds one header to the message.
func WithHeader(key, value string) PublishOption {
	return PublishOption{kind: optHeader, s1: key, s2: value}
}

// WithHeaders adds every entry of h to the message's headers (h is copied).
func WithHeaders(h Headers) PublishOption { return PublishOption{kind: optHeaders, headers: h} }

// WithCause makes the message a child of parent (see ContextWithParent), overriding any parent
// carried by the context.
func WithCause(parent Meta) PublishOption {
	return PublishOption{kind: optCause, parent: parentRef{id: parent.ID, corr: parent.CorrelationID}}
}

// WithCorrelation sets the message's CorrelationID, overriding any inherited one.
func WithCorrelation(id ID) PublishOption {
	return PublishOption{kind: optCorrelation, parent: parentRef{corr: id}}
}

// WithID sets the message's ID instead of a new one (the zero ID is ignored). Publishers that
// may publish one event more than once — again after a crash, or from several hosts that see the
// same thing — give it the same ID each time (DerivedID), so that a de-duplicating transport
// (natsbus: JetStream's duplicate window) stores it once and subscribers can drop an ID they
// have handled. Defaults to a new ID unique to the bus.
func WithID(id ID) PublishOption { return PublishOption{kind: optID, parent: parentRef{id: id}} }

// DerivedID returns the ID derived from name: the first 16 bytes of its SHA-256, so the same
// name gives the same ID in every process and distinct names collide with negligible
// probability. It is never the zero ID.
func DerivedID(name string) ID {
	sum := sha256.Sum256([]byte(name))
	id := ID{hi: binary.BigEndian.Uint64(sum[0:8]), lo: binary.BigEndian.Uint64(sum[8:16])}
	if id.IsZero() {
		id.lo = 1
	}
	return id
}

// Middleware wraps a handler call. It sees the message's Meta (it may change Headers or other
// fields before calling next) but not the payload, so one middleware serves subscriptions of any
// payload type.
type Middleware func(next HandleFunc) HandleFunc

// HandleFunc is one step of a middleware chain.
type HandleFunc func(ctx context.Context, m *Meta) error

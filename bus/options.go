package bus

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
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
	MetricPublished    Metric = iota // a message was accepted by Publish (once per publish)
	MetricDelivered                  // a handler returned nil (once per subscriber)
	MetricDropped                    // a subscriber discarded a message or could not take it (see TopicStats.Dropped)
	MetricFailed                     // a handler's final result was an error (or a panic, an undecodable payload, a PolicyFail refusal)
	MetricDeadLettered               // a failed message was republished to the subscription's dead-letter topic (and counted failed before)
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
	case MetricDeadLettered:
		return "dead-lettered"
	}
	return "metric"
}

// MetricsFunc is told about every counted event as it happens, so hosts can feed any metrics
// system. subscriber is "" for MetricPublished. It runs inline on the publishing or handling
// goroutine: it must be fast and must not block.
type MetricsFunc func(topic, subscriber string, m Metric)

// ErrorFunc is told about every message a subscriber could not handle: a handler's final error
// (after middleware such as RetryHandler), a panic, an undecodable or mistyped payload, or a failed
// dead-letter publish.
type ErrorFunc func(subscriber string, m Meta, err error)

// Option configures a Bus (see New). Options never fail: New validates the configuration once
// and returns an *OptionError naming the first invalid one.
type Option func(*config)

type config struct {
	source     string
	clock      func() time.Time
	clockSet   bool
	logger     *slog.Logger
	transport  Transport
	transSet   bool
	codec      Codec
	queueSize  int
	policy     Policy
	middleware []Middleware
	metrics    MetricsFunc
	onError    ErrorFunc
	maxTopics  int
	tracerProv trace.TracerProvider
	meterProv  metric.MeterProvider
	topicName  func(topic string) string
}

// WithDefaultSource sets the Source of messages whose publisher names none (see WithSource).
// Defaults to "".
func WithDefaultSource(source string) Option {
	return func(c *config) { c.source = source }
}

// WithClock sets the clock that stamps Meta.Time. Defaults to the wall time at New plus the
// monotonic time elapsed since: it costs one clock read per message instead of time.Now's two
// and never goes backwards, but does not follow steps of the wall clock made after New.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock, c.clockSet = now, true }
}

// WithLogger sets the logger for handler failures that no ErrorFunc takes. Defaults to a logger
// that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithTransport routes every publish and subscription through t, encoding payloads with codec
// (JSONCodec when codec is nil). The bus does not close t. Defaults to none: the in-process
// typed fast path, which never serializes.
func WithTransport(t Transport, codec Codec) Option {
	return func(c *config) {
		if codec == nil {
			codec = JSONCodec{}
		}
		c.transport, c.codec, c.transSet = t, codec, true
	}
}

// WithDefaultQueueSize sets the queue capacity of subscriptions that do not set QueueSize; it
// must be at least 1. Defaults to DefaultQueueSize.
func WithDefaultQueueSize(n int) Option {
	return func(c *config) { c.queueSize = n }
}

// WithDefaultPolicy sets the slow-consumer policy of subscriptions that do not set OnFull.
// Defaults to DefaultPolicy (PolicyBlock).
func WithDefaultPolicy(p Policy) Option {
	return func(c *config) { c.policy = p }
}

// WithMiddleware wraps every subscription's handler in mw, outside the subscription's own
// middleware (see Use); the first listed is the outermost. Defaults to none.
func WithMiddleware(mw ...Middleware) Option {
	return func(c *config) { c.middleware = append(c.middleware, mw...) }
}

// WithMetrics sets a function told about every counted event; nil sets none. Defaults to none
// (Stats still counts).
func WithMetrics(f MetricsFunc) Option {
	return func(c *config) { c.metrics = f }
}

// WithTracerProvider traces the bus with tp: a span (SpanPublish) for every Publish, whose
// context the message carries in its traceparent and tracestate headers — across a Transport
// too — and a span (SpanProcess) for every handler call, a child of the publisher's span, whose
// context the handler's ctx carries, so the handler's own spans join the trace that published
// the event. A nil tp is the no-op provider. Defaults to OpenTelemetry's no-op provider: nothing
// is traced and nothing is added to messages.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProv = tp }
}

// WithMeterProvider reports the bus's counters per topic (published, delivered, dropped,
// failed, dead-lettered) and the queue depth of each subscription as instruments of mp, read
// from the counters Stats keeps when mp collects. A nil mp is the no-op provider. Defaults to
// OpenTelemetry's no-op provider: nothing is reported.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProv = mp }
}

// WithTopicTemplate sets how topics are named in the bus's telemetry: its spans and
// instruments carry f(topic) as messaging.destination.name (and f(pattern) as
// anya.bus.pattern), and the counters of topics f names alike are reported as one. Use it for
// topics that hold an identifier — a tenant token, an account — which must not reach traces
// and metrics and would make a time series per identifier: f maps such a topic to its
// template ("web5.dwn.{tenant}.records.written"; see dwn.TopicTemplate). Routing, Stats and
// the metrics hook keep the real topics. A nil f keeps topics as they are. Defaults to the
// topic itself.
func WithTopicTemplate(f func(topic string) string) Option {
	return func(c *config) { c.topicName = f }
}

// WithErrorHandler sets the function told about messages subscribers could not handle (see
// OnError for one subscription); nil sets none. Defaults to logging them at warning level on
// the bus logger (see WithLogger).
func WithErrorHandler(f ErrorFunc) Option {
	return func(c *config) { c.onError = f }
}

// WithMaxTopics bounds the distinct topics with their own routing entry and counters; it must
// be at least 1. Defaults to DefaultMaxTopics.
func WithMaxTopics(n int) Option {
	return func(c *config) { c.maxTopics = n }
}

// newConfig applies the defaults, then opts in order (nil options are skipped), then validates
// the result once.
func newConfig(opts []Option) (config, error) {
	c := config{
		logger:    slog.New(slog.DiscardHandler),
		queueSize: DefaultQueueSize,
		policy:    DefaultPolicy,
		maxTopics: DefaultMaxTopics,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	bad := func(option string, v any, reason string) (config, error) {
		return config{}, &OptionError{Option: option, Value: v, Reason: reason}
	}
	switch {
	case c.clockSet && c.clock == nil:
		return bad("WithClock", nil, "must not be nil")
	case c.logger == nil:
		return bad("WithLogger", nil, "must not be nil")
	case c.transSet && c.transport == nil:
		return bad("WithTransport", nil, "the transport must not be nil")
	case c.queueSize < 1:
		return bad("WithDefaultQueueSize", c.queueSize, "must be at least 1")
	case c.policy > PolicyFail:
		return bad("WithDefaultPolicy", c.policy, "unknown policy")
	case c.maxTopics < 1:
		return bad("WithMaxTopics", c.maxTopics, "must be at least 1")
	}
	for i, m := range c.middleware {
		if m == nil {
			return bad("WithMiddleware", nil, "middleware "+strconv.Itoa(i)+" is nil")
		}
	}
	return c, nil
}

// SubscribeOption configures one subscription (see Subscribe). Like Option it never fails:
// Subscribe validates the subscription's configuration once and returns an *OptionError naming
// the first invalid option.
type SubscribeOption func(*subConfig)

type subConfig struct {
	name        string
	queueSize   int
	policy      Policy
	concurrency int
	orderedKeys bool
	filter      any // func(Envelope[T]) bool, checked against T at Subscribe
	filterSet   bool
	middleware  []Middleware
	deadLetter  string
	dlqSet      bool
	onError     ErrorFunc
	group       string
	groupSet    bool
	redeliver   bool
}

// Named names the subscription in Stats, metrics, errors and dead letters. Defaults to
// "sub-<n>" where n counts subscriptions of the bus.
func Named(name string) SubscribeOption {
	return func(c *subConfig) { c.name = name }
}

// QueueSize sets how many messages may wait in the subscription's queue (in each lane, see
// Concurrency) before its OnFull policy applies; it must be at least 1. The handler's goroutine
// takes waiting messages a batch at a time, so besides the waiting ones it may hold up to n it
// has taken but not yet handled; those are never dropped. Defaults to the bus's
// WithDefaultQueueSize.
func QueueSize(n int) SubscribeOption {
	return func(c *subConfig) { c.queueSize = n }
}

// OnFull sets what happens when the queue is full. Defaults to the bus's WithDefaultPolicy.
func OnFull(p Policy) SubscribeOption {
	return func(c *subConfig) { c.policy = p }
}

// Concurrency runs up to n handler calls at once (n at least 1): the subscription gets n queues
// ("lanes"), each with its own goroutine, and each message goes to the lane with the shortest
// queue. Messages are then handled out of publish order unless OrderedByKey is also set.
// QueueSize applies per lane. Defaults to 1: one call at a time, in publish order.
func Concurrency(n int) SubscribeOption {
	return func(c *subConfig) { c.concurrency = n }
}

// OrderedByKey keeps messages with the same Meta.Key in publish order under Concurrency > 1: a
// key always maps to the same lane. Messages with an empty key go to the shortest queue.
// Defaults to off.
func OrderedByKey() SubscribeOption {
	return func(c *subConfig) { c.orderedKeys = true }
}

// Filter makes the subscription skip messages for which keep returns false. It runs on the
// publishing goroutine before the message is queued, so skipped messages take no queue room.
// T must be the subscription's type and keep must not be nil; Subscribe fails otherwise.
// Defaults to none: the subscription takes every message of its pattern.
func Filter[T any](keep func(Envelope[T]) bool) SubscribeOption {
	return func(c *subConfig) { c.filter, c.filterSet = keep, true }
}

// Use wraps the handler in mw, inside the bus's WithMiddleware; the first listed is the
// outermost. Defaults to none.
func Use(mw ...Middleware) SubscribeOption {
	return func(c *subConfig) { c.middleware = append(c.middleware, mw...) }
}

// DeadLetter republishes every message the handler finally fails on to topic (a literal topic,
// see ValidateTopic), with the same payload, a CausationID pointing at the failed message, and
// headers HeaderDeadLetterReason, HeaderDeadLetterTopic and HeaderDeadLetterSubscriber.
// Defaults to none.
func DeadLetter(topic string) SubscribeOption {
	return func(c *subConfig) { c.deadLetter, c.dlqSet = topic, true }
}

// OnError sets the function told about this subscription's failures, instead of the bus's
// (see WithErrorHandler). Defaults to the bus's.
func OnError(f ErrorFunc) SubscribeOption {
	return func(c *subConfig) { c.onError = f }
}

// Group makes the subscription a member of group (a non-empty name): the members of a group
// (subscriptions with the same group name and pattern) share the pattern's messages, each
// message going to one of them. On a distributed GroupTransport the members may be in
// different processes, which is how several hosts split one stream of work; on a persistent one
// the group keeps its place while it has no member. The bus's transport must implement
// GroupTransport (MemTransport does); Subscribe fails otherwise, and on a bus without a
// transport. Defaults to none: the subscription receives every message of its pattern.
func Group(name string) SubscribeOption {
	return func(c *subConfig) { c.group, c.groupSet = name, true }
}

// Redeliver hands a message back to the transport when the handler finally fails on it (after
// middleware such as RetryHandler): a transport that redelivers (one that sets Message.Acker)
// delivers it again after its backoff, to this subscription or, in a group, to any member. Each
// failed attempt is told to the ErrorFunc; the message is counted failed and dead-lettered only
// when the transport gives up on it. A redelivered message arrives after messages published
// later, so Redeliver trades publish order for retries that survive the process. Without it,
// and on transports that do not redeliver, a handler's final error is final. Defaults to off.
func Redeliver() SubscribeOption {
	return func(c *subConfig) { c.redeliver = true }
}

// newSubConfig applies the bus's defaults, then opts in order (nil options are skipped), then
// validates what does not depend on the payload type (Subscribe checks the Filter).
func (b *Bus) newSubConfig(opts []SubscribeOption) (subConfig, error) {
	c := subConfig{queueSize: b.cfg.queueSize, policy: b.cfg.policy, concurrency: 1}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	bad := func(option string, v any, reason string) (subConfig, error) {
		return subConfig{}, &OptionError{Option: option, Value: v, Reason: reason}
	}
	switch {
	case c.queueSize < 1:
		return bad("QueueSize", c.queueSize, "must be at least 1")
	case c.policy > PolicyFail:
		return bad("OnFull", c.policy, "unknown policy")
	case c.concurrency < 1:
		return bad("Concurrency", c.concurrency, "must be at least 1")
	case c.groupSet && c.group == "":
		return bad("Group", "", "the group name must not be empty")
	}
	if c.dlqSet {
		var te *TopicError
		if err := ValidateTopic(c.deadLetter); errors.As(err, &te) {
			return bad("DeadLetter", c.deadLetter, te.Reason)
		}
	}
	for i, m := range c.middleware {
		if m == nil {
			return bad("Use", nil, "middleware "+strconv.Itoa(i)+" is nil")
		}
	}
	return c, nil
}

// Header names set on dead letters.
const (
	HeaderDeadLetterReason     = "dead-letter-reason"
	HeaderDeadLetterTopic      = "dead-letter-topic"
	HeaderDeadLetterSubscriber = "dead-letter-subscriber"
)

// PublishOption configures one Publish call. Publish options cannot be invalid, so Publish
// never refuses one; nil options are skipped.
type PublishOption func(*publishConfig)

// publishConfig is what publish options write: the message's metadata, as the bus stamped it.
type publishConfig struct{ m Meta }

// WithKey sets the message's ordering key (see OrderedByKey). Defaults to "".
func WithKey(key string) PublishOption {
	return func(c *publishConfig) { c.m.Key = key }
}

// WithSource sets the message's Source. Defaults to the bus's WithDefaultSource.
func WithSource(source string) PublishOption {
	return func(c *publishConfig) { c.m.Source = source }
}

// WithHeader adds one header to the message, replacing a header of the same key. Defaults to
// none: a message's Headers are nil unless an option sets one.
func WithHeader(key, value string) PublishOption {
	return func(c *publishConfig) {
		if c.m.Headers == nil {
			c.m.Headers = make(Headers, 1)
		}
		c.m.Headers[key] = value
	}
}

// WithHeaders adds every entry of h to the message's headers (h is copied), replacing headers
// of the same keys. Defaults to none: a message's Headers are nil unless an option sets one.
func WithHeaders(h Headers) PublishOption {
	return func(c *publishConfig) {
		if len(h) == 0 {
			return
		}
		if c.m.Headers == nil {
			c.m.Headers = make(Headers, len(h))
		}
		for k, v := range h {
			c.m.Headers[k] = v
		}
	}
}

// WithCause makes the message a child of parent, overriding any parent carried by the context:
// its CausationID is parent.ID and its CorrelationID is parent's (or parent.ID when parent has
// none). Defaults to the parent carried by the publisher's context (see ContextWithParent), or
// none.
func WithCause(parent Meta) PublishOption {
	return func(c *publishConfig) {
		c.m.CausationID, c.m.CorrelationID = parent.ID, parent.CorrelationID
		if c.m.CorrelationID.IsZero() {
			c.m.CorrelationID = parent.ID
		}
	}
}

// WithCorrelation sets the message's CorrelationID, overriding any inherited one. Defaults to
// the parent's correlation (see WithCause), or none.
func WithCorrelation(id ID) PublishOption {
	return func(c *publishConfig) { c.m.CorrelationID = id }
}

// WithID sets the message's ID instead of a new one (the zero ID is ignored). Publishers that
// may publish one event more than once — again after a crash, or from several hosts that see the
// same thing — give it the same ID each time (DerivedID), so that a de-duplicating transport
// (natsbus: JetStream's duplicate window) stores it once and subscribers can drop an ID they
// have handled. Defaults to a new ID unique to the bus.
func WithID(id ID) PublishOption {
	return func(c *publishConfig) {
		if !id.IsZero() {
			c.m.ID = id
		}
	}
}

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

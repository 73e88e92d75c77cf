package natsbus

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of New.
const (
	// DefaultStream is the name of the stream that keeps the bus's persistent messages.
	DefaultStream = "ANYA_BUS"
	// DefaultSubjectPrefix is the root of the bus's subjects: "<prefix>.s.<topic>" for
	// persistent topics, "<prefix>.f.<topic>" for fire-and-forget ones.
	DefaultSubjectPrefix = "anya.bus"
	// DefaultAckWait is how long a delivered message may stay unsettled (queued in a bus
	// subscription, or being handled) before JetStream delivers it again.
	DefaultAckWait = 30 * time.Second
	// DefaultMaxDeliver is how many times a message naked under bus.Redeliver is delivered
	// before the failure is final.
	DefaultMaxDeliver = 5
	// DefaultBackoff is the wait before the first redelivery of a naked message; it doubles
	// with each further delivery, up to DefaultMaxBackoff.
	DefaultBackoff = time.Second
	// DefaultMaxBackoff caps the wait before a redelivery.
	DefaultMaxBackoff = 30 * time.Second
	// DefaultMaxAckPending bounds the messages a subscription holds unsettled.
	DefaultMaxAckPending = 1024
	// DefaultMaxAge bounds how long the stream keeps a message nobody has acknowledged.
	DefaultMaxAge = 24 * time.Hour
	// DefaultDuplicateWindow is how long JetStream remembers message IDs to drop re-publishes.
	DefaultDuplicateWindow = 2 * time.Minute
	// DefaultInactiveThreshold is how long the consumer of a subscription (not of a group)
	// outlives a process that died without unsubscribing.
	DefaultInactiveThreshold = time.Minute
	// DefaultTimeout bounds the control calls Subscribe makes (creating consumers).
	DefaultTimeout = 5 * time.Second
	// DefaultReplicas is the stream's replication factor (1: a single server).
	DefaultReplicas = 1
)

// Option configures New.
type Option func(*config)

type config struct {
	stream, prefix string
	fireAndForget  []string
	ackWait        time.Duration
	maxDeliver     int
	backoff, maxBo time.Duration
	maxAckPending  int
	maxAge, dupWin time.Duration
	inactive       time.Duration
	timeout        time.Duration
	replicas       int
	storage        jetstream.StorageType
	logger         *slog.Logger
}

// WithStream names the stream of persistent messages. Transports of every process sharing one
// bus must use the same stream and subject prefix. Defaults to DefaultStream.
func WithStream(name string) Option { return func(c *config) { c.stream = name } }

// WithSubjectPrefix sets the root of the bus's subjects (dot-separated tokens, no wildcards).
// Defaults to DefaultSubjectPrefix.
func WithSubjectPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithFireAndForget declares topics (bus patterns) whose messages go over core NATS: no
// stream, no acknowledgement, no redelivery, no de-duplication — delivered to the subscriptions
// connected at the time, or lost. Meant for high-rate telemetry whose loss is harmless.
// Defaults to none.
func WithFireAndForget(patterns ...string) Option {
	return func(c *config) { c.fireAndForget = append(c.fireAndForget, patterns...) }
}

// WithAckWait sets how long a delivered message may stay unsettled before JetStream delivers it
// again (to the same subscription, or to another member of its group). It must exceed the time
// a message may wait in a subscription's queue plus the time its handler takes. Defaults to
// DefaultAckWait.
func WithAckWait(d time.Duration) Option { return func(c *config) { c.ackWait = d } }

// WithMaxDeliver sets how many deliveries a message naked under bus.Redeliver gets before the
// failure is final (it is then terminated: not delivered again). Deliveries that time out
// (a process died holding the message) are not limited. Defaults to DefaultMaxDeliver.
func WithMaxDeliver(n int) Option { return func(c *config) { c.maxDeliver = n } }

// WithBackoff sets the wait before redelivering a naked message: first, doubling with each
// delivery up to max. Defaults to DefaultBackoff and DefaultMaxBackoff.
func WithBackoff(first, max time.Duration) Option {
	return func(c *config) { c.backoff, c.maxBo = first, max }
}

// WithMaxAckPending bounds how many messages one subscription (or group) holds unsettled;
// JetStream stops delivering to it beyond. Defaults to DefaultMaxAckPending.
func WithMaxAckPending(n int) Option { return func(c *config) { c.maxAckPending = n } }

// WithMaxAge bounds how long the stream keeps a message that some consumer has not
// acknowledged. Defaults to DefaultMaxAge.
func WithMaxAge(d time.Duration) Option { return func(c *config) { c.maxAge = d } }

// WithDuplicateWindow sets how long JetStream remembers message IDs: a message published again
// with the same ID within the window is stored once. Defaults to DefaultDuplicateWindow.
func WithDuplicateWindow(d time.Duration) Option { return func(c *config) { c.dupWin = d } }

// WithInactiveThreshold sets how long the consumer of a subscription outside any group survives
// its process dying without unsubscribing. Defaults to DefaultInactiveThreshold.
func WithInactiveThreshold(d time.Duration) Option { return func(c *config) { c.inactive = d } }

// WithTimeout bounds the control calls Subscribe makes. Defaults to DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithReplicas sets the stream's replication factor in a JetStream cluster (1, 3 or 5).
// Defaults to DefaultReplicas.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithMemoryStorage keeps the stream in memory instead of files: faster, lost when the server
// stops. Defaults to file storage.
func WithMemoryStorage() Option { return func(c *config) { c.storage = jetstream.MemoryStorage } }

// WithLogger sets the logger of messages that cannot be decoded and settlements that fail.
// Defaults to a logger that discards everything.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

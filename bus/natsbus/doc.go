// Package natsbus is a bus.Transport on NATS JetStream: buses in several processes attached to
// one JetStream server (or cluster) share their topics, with durable, acknowledged delivery.
//
//	tr, _ := natsbus.New(ctx, js) // js: the host's jetstream.JetStream
//	defer tr.Close()
//	b, _ := bus.New(bus.WithTransport(tr, nil))
//
// # Subjects
//
// A topic "a.b" is published on the subject "<prefix>.s.a.b" (prefix: WithSubjectPrefix,
// "anya.bus" by default), which the transport's stream captures; topics declared
// WithFireAndForget go on "<prefix>.f.a.b" over core NATS instead, outside any stream.
// Subscription patterns map the same way, '*' and '>' kept, so each subscription's consumer
// filters on the server. Topic tokens may hold bytes that subjects may not: every byte outside
// '!'..'~', and '%', is escaped as "%XX" (upper-case hex), token by token, so distinct topics
// never share a subject and a received subject maps back to exactly one topic.
//
// # Envelope
//
// The payload is the message data; the envelope travels in headers: the ID as Nats-Msg-Id,
// and Anya-Time (Unix nanoseconds), Anya-Source, Anya-Correlation, Anya-Causation, Anya-Key,
// and one Anya-H-<name> header per entry of Meta.Headers. Messages on the bus's subjects that
// are not valid envelopes (another publisher's) are terminated and logged, never delivered.
//
// # Delivery
//
// Each subscription has a JetStream consumer of its own (ephemeral, starting at the time of
// Subscribe); the members of a bus.Group share one durable consumer named after the group
// (DurableName), in whatever process they run, and the group keeps its place while it has no
// member. The stream keeps a message until every consumer interested in it has acknowledged it.
//
// Delivery is at least once. A message is acknowledged when its bus handler has returned (or
// the subscription's policy discarded it); one left unsettled — its process died, or its queue
// held it past WithAckWait — is delivered again, to a group's other members too. A subscription
// closed with messages still queued naks them, so they are delivered again at once. Under
// bus.Redeliver a handler's failure naks the message, which comes back after a backoff
// (WithBackoff, doubling) until WithMaxDeliver deliveries, after which the failure is final
// (counted, dead-lettered, and the message terminated).
//
// Publishing is idempotent within WithDuplicateWindow: JetStream stores a message whose ID it has
// already seen once, so a publisher retrying after a crash (with the same ID) causes no
// duplicate.
//
// # Ordering
//
// JetStream delivers a consumer's messages in stream order, and the transport passes them to
// the bus one at a time, so a subscription sees messages in publish order (per publisher and
// topic, as the bus contract asks), and per key in particular; bus.OrderedByKey keeps that order
// under bus.Concurrency. Two things reorder, and are documented trade-offs: a message delivered
// again (naked under Redeliver, or timed out) arrives after later ones; and the members of a
// group split the messages between them, so order holds per member, not across the group —
// a group whose messages must be handled strictly in order has one member at a time.
//
// # Drain
//
// Delivery is asynchronous: Publish returns once the stream has the message. The transport is a
// bus.Flusher, so Bus.Drain first waits until what was published has reached its subscriptions.
//
// # Conventions
//
// The SDK has one option style. A constructor takes options of one type, Option, a
// func(*config) over an unexported configuration: it applies the defaults, then the options in
// order, then validates the whole configuration once and returns a typed *OptionError naming
// the offending option, its value and the reason (it matches the package's ErrInvalidOption
// with errors.Is). Option constructors never fail and never panic, and each option's
// documentation ends with its default. Time comes from WithClock(now func() time.Time),
// time.Now by default; timers and sleeps use package time, so tests fake time with
// testing/synctest. Logs go to WithLogger(*slog.Logger), silent by default. The zero value of an
// exported type either works as documented or returns an error naming its constructor (it
// matches the package's ErrNotConstructed with errors.Is); it never panics.
//
// New takes Options in that style; the transport has no clock of its own. The zero Transport is
// not usable: its methods return a *NotConstructedError naming New, and Close returns nil.
package natsbus

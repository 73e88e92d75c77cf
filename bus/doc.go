// Package bus is a typed publish/subscribe event bus for the host application and every package
// of the SDK: the Bitcoin notifier, the Web5 records store, the ML pipelines and the workflow
// engine all publish here, and hosts subscribe with ordinary Go types.
//
// # Publishing and subscribing
//
// A Bus is created with New. Subscribe registers a typed handler for a topic pattern; Publish sends
// a typed value to a literal topic:
//
//	b, _ := bus.New()
//	defer b.Close()
//	bus.Subscribe(b, "bitcoin.block.*", func(ctx context.Context, e bus.Envelope[Block]) error {
//		fmt.Println(e.Topic, e.Payload.Height)
//		return nil
//	})
//	bus.Publish(ctx, b, "bitcoin.block.connected", Block{Height: 7})
//
// Every message travels in an Envelope: its Meta (ID, topic, time, source, correlation and
// causation IDs, ordering key, headers) and its Payload. Payloads published in-process are handed
// to subscribers as they are, without reflection or serialization; the fast path does not
// allocate.
//
// # Topics
//
// Topics are dot-separated tokens, as in NATS subjects, so the same names work on a distributed
// transport. Patterns may use '*' for exactly one token and a final '>' for one or more tokens:
// "bitcoin.*.connected", "web5.>". Malformed topics and patterns ("a..b", "a.>.b", "", a wildcard
// in a published topic) are rejected with a *TopicError.
//
// # Queues and slow consumers
//
// Each subscription has its own bounded queue and its own goroutine, so a slow or stuck handler
// never stalls other subscribers. The goroutine takes what is waiting a batch at a time, which
// keeps the cost of a message to one short critical section for the publisher. What happens when its queue is full is declared per
// subscription (OnFull): PolicyBlock (the default) makes the publisher wait, bounded by the
// publisher's context; PolicyDropNewest and PolicyDropOldest discard a message and count it;
// PolicyFail makes Publish return ErrQueueFull. Handling is in publish order; Concurrency runs
// several handler calls at once, and OrderedByKey keeps messages with the same key in order
// while doing so.
//
// # Failures
//
// A handler's panic is recovered and becomes a *PanicError; it never crashes the host.
// Middleware (RetryHandler, TimeoutHandler, Correlate, or the host's own) wraps handler calls;
// DeadLetter republishes messages a handler finally fails on; ErrorFunc and the logger are told
// about every failure. Filter skips messages before they take queue room.
//
// # What Publish promises
//
// Publish returns nil when every matching subscription took the message: queued it, skipped it
// with its Filter, or discarded it as its drop policy says. When one did not — its PolicyFail
// queue was full, the publisher's context ended while it waited for room, or the subscription or
// the bus ended first — Publish returns a *PublishError naming each such subscription in a
// *DeliveryError, and errors.Is matches the cause (ErrQueueFull, ctx.Err(), ErrUnsubscribed,
// ErrClosed). The message is published regardless, and every other subscription handles it.
// Whatever happens, each message ends, once per subscription it was routed to, as delivered,
// dropped or failed: the counters always balance (see TopicStats and SubscriptionStats).
//
// # Lifecycle
//
// Close stops at once, discarding what is queued; Drain delivers what is queued and then closes.
// Both wait for every goroutine the bus started, and Publish afterwards returns ErrClosed.
// Unsubscribe ends one subscription.
//
// # Observability
//
// Stats returns per-topic counters (published, delivered, dropped, failed) and Subscription.Stats
// per-subscription ones (received, delivered, dropped, failed, queued, publishers waiting); WithMetrics reports each event as it happens to a function, so any
// metrics system can be wired without this package depending on one.
//
// With WithTracerProvider, every Publish is a span (SpanPublish, "bus.publish", kind producer)
// whose W3C trace context the message carries in its traceparent and tracestate headers — over
// a Transport too, so a handler in another process joins the trace — and every handler call is
// a span (SpanProcess, "bus.process", kind consumer), a child of the publish span, carried by
// the handler's ctx. Their attributes are messaging.system ("anya.bus"),
// messaging.operation.type ("send", "process"), messaging.destination.name (the topic),
// messaging.message.id, messaging.destination.subscription.name (the subscription's name) and
// messaging.consumer.group.name; a failed handler's span has status Error and error.type, never
// the error's text. Payloads, keys and headers are never recorded.
//
// With WithMeterProvider, the counters of Stats are instruments read when the meter collects —
// counting costs the hot paths nothing more: anya.bus.published, anya.bus.delivered,
// anya.bus.dropped, anya.bus.failed and anya.bus.dead_lettered ({message}, per
// messaging.destination.name), and the gauge anya.bus.queue.depth ({message}, per
// messaging.destination.subscription.name and anya.bus.pattern). Close stops reporting.
// Topics that hold an identifier (a records store's tenant token) are named in spans and
// instruments by the template WithTopicTemplate gives them, and counted together.
// Without either option (the default, and OpenTelemetry's no-op providers alike) the bus adds
// nothing to messages and its hot paths test one pointer. docs/observability.md lists the
// instruments of every package.
//
// # Transports
//
// WithTransport puts a byte-level Transport (with a Codec) under the same API, for buses that span
// processes. MemTransport is an in-process one that copies every message; package natsbus is one
// on NATS JetStream. Package bustest holds the conformance suite every Bus configuration and
// Transport must pass, and a Recorder for tests.
//
// A transport that redelivers hands each message with an Acker: the bus acknowledges it once
// the handler has run (or the subscription's policy discarded it) and naks what it could not
// handle (queued when the subscription closed, interrupted by Close), so a process that dies
// loses none of its messages. With Redeliver, a handler's final failure naks the message too,
// and it is counted failed and dead-lettered only when the transport gives up. Group makes
// subscriptions — in any process attached to a GroupTransport — share a pattern's messages.
// An asynchronous transport implements Flusher, which Drain uses before settling.
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
// Per-call options have the same shape: Subscribe takes SubscribeOptions and Publish takes
// PublishOptions, funcs over an unexported configuration like Option; Subscribe validates its
// options once in the same way, and publish options cannot be invalid. Nil options are skipped.
// The zero Bus and Subscription return a *NotConstructedError naming New and Subscribe; the zero
// MemTransport is ready to use.
package bus

package bus

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// Publish sends v to every subscription whose pattern matches topic and returns once each of
// them has taken it (it does not wait for handlers). The topic must be literal: no wildcards, no
// empty tokens. Publishing never allocates on the in-process path unless options add headers or
// a subscription does not take the message. If ctx carries a parent message (see
// ContextWithParent, Correlate) the new message is its child.
//
// A subscription takes a message when it queues it, when its Filter skips it, and when its
// PolicyDropNewest or PolicyDropOldest queue is full and a message is discarded (counted as
// dropped: shedding load is what those policies are declared for). It does not take the message
// when its PolicyFail queue is full (counted as failed, cause ErrQueueFull), when Publish waited
// under PolicyBlock and ctx ended first (counted as dropped, cause ctx.Err()), or when the
// subscription was unsubscribed or the bus closed before the message got into its queue
// (counted as dropped, cause ErrUnsubscribed or ErrClosed).
//
// Publish returns nil when every subscription took the message. Otherwise it returns a
// *PublishError with one *DeliveryError per subscription that did not, so errors.Is matches each
// cause (ctx.Err(), ErrQueueFull, ErrUnsubscribed, ErrClosed) and errors.As finds the
// subscriptions. The message was published all the same: it has an ID, it counts in Stats, every
// other subscription took it and will handle it — publishing it again delivers it twice to those.
// Either way every message ends, once per subscription it was routed to, as delivered, dropped
// or failed in Stats and in the metrics hook.
//
// Before the message is published — the bus closed (or draining, unless ctx is a handler's; see
// Drain), a malformed topic, a payload the Transport's codec cannot encode — Publish returns that
// error (ErrClosed, a *TopicError, the codec's error) and counts nothing. On a bus with a
// Transport, what the transport reports (subscriber refusals, or its own failure) comes back
// inside the *PublishError. On a Bus not made by New (a zero or nil *Bus) it returns a
// *NotConstructedError.
func Publish[T any](ctx context.Context, b *Bus, topic string, v T, opts ...PublishOption) error {
	if !b.constructed() {
		return notBus()
	}
	if b.tracer != nil {
		ctx, span := b.spanPublish(ctx, topic)
		err := publish(ctx, b, topic, v, opts, span)
		endSpan(span, err)
		return err
	}
	return publish(ctx, b, topic, v, opts, nil)
}

// publish is Publish on a constructed bus; span is the publish span when the bus traces, whose
// context (in ctx) the message then carries in its headers.
func publish[T any](ctx context.Context, b *Bus, topic string, v T, opts []PublishOption, span trace.Span) error {
	n, ok := b.enter(ctx)
	defer b.leave()
	if !ok {
		return ErrClosed
	}
	r, err := b.routeFor(topic)
	if err != nil {
		return err
	}
	it := item[T]{env: Envelope[T]{Payload: v}, ts: r.stats}
	b.stamp(ctx, &it.env.Meta, n, topic, opts)
	if span != nil {
		it.env.Headers = telemetry.Inject(ctx, it.env.Headers)
		span.SetAttributes(attrMessageID.String(it.env.ID.String()))
	}
	if b.cfg.transport != nil {
		return publishTransport(ctx, b, r.stats, &it.env)
	}
	b.countPublished(r.stats)
	var errs []error
	var boxed any
	for _, s := range r.subs {
		var err error
		if ts, ok := s.(*subscriber[T]); ok {
			err = ts.offer(ctx, &it)
		} else {
			if boxed == nil {
				boxed = v
			}
			err = s.offerAny(ctx, it.env.Meta, boxed, r.stats)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if errs != nil {
		return &PublishError{Topic: topic, ID: it.env.ID, Errs: errs}
	}
	return nil
}

func (b *Bus) countPublished(ts *topicStats) {
	ts.published.Add(1)
	if b.cfg.metrics != nil {
		b.cfg.metrics(ts.topic, "", MetricPublished)
	}
}

func publishTransport[T any](ctx context.Context, b *Bus, ts *topicStats, e *Envelope[T]) error {
	data, err := b.cfg.codec.Marshal(e.Payload)
	if err != nil {
		return err
	}
	b.countPublished(ts)
	err = b.cfg.transport.Publish(ctx, &Message{Meta: e.Meta, Data: data})
	if err == nil {
		return nil
	}
	return &PublishError{Topic: e.Topic, ID: e.ID, Errs: flatten(nil, err)}
}

// flatten appends the leaves of err's errors.Join tree to out, so that a *PublishError lists
// one cause per subscription however the transport joined them.
func flatten(out []error, err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = flatten(out, e)
		}
		return out
	}
	return append(out, err)
}

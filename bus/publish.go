package bus

import (
	"context"
	"errors"
)

// Publish sends v to every subscription whose pattern matches topic and returns once it is queued
// for each of them (it does not wait for handlers). The topic must be literal: no wildcards, no
// empty tokens. Publishing never allocates on the in-process path unless options add headers.
//
// Under PolicyBlock a full queue makes Publish wait, bounded by ctx; under PolicyFail it makes
// Publish return a *DeliveryError wrapping ErrQueueFull. Either way the other subscribers still
// get the message. After Close it returns ErrClosed, and during Drain too unless ctx is a
// handler's (see Drain). If ctx carries a parent message (see ContextWithParent, Correlate) the
// new message is its child.
func Publish[T any](ctx context.Context, b *Bus, topic string, v T, opts ...PublishOption) error {
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
	r.stats.published.Add(1)
	if b.cfg.metrics != nil {
		b.cfg.metrics(r.stats.topic, "", MetricPublished)
	}
	if b.cfg.transport != nil {
		return publishTransport(ctx, b, &it.env)
	}
	var errs error
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
			errs = errors.Join(errs, err)
		}
	}
	return errs
}

func publishTransport[T any](ctx context.Context, b *Bus, e *Envelope[T]) error {
	data, err := b.cfg.codec.Marshal(e.Payload)
	if err != nil {
		return err
	}
	return b.cfg.transport.Publish(ctx, &Message{Meta: e.Meta, Data: data})
}

package bus

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// Span names, instrument names and attribute keys of the bus (see the package documentation,
// Observability, and docs/observability.md).
const (
	SpanPublish = "bus.publish" // one per Publish, kind producer
	SpanProcess = "bus.process" // one per handler call, kind consumer, child of the publisher's span

	MetricNamePublished    = "anya.bus.published"     // {message}, counter, per topic
	MetricNameDelivered    = "anya.bus.delivered"     // {message}, counter, per topic
	MetricNameDropped      = "anya.bus.dropped"       // {message}, counter, per topic
	MetricNameFailed       = "anya.bus.failed"        // {message}, counter, per topic
	MetricNameDeadLettered = "anya.bus.dead_lettered" // {message}, counter, per topic
	MetricNameQueueDepth   = "anya.bus.queue.depth"   // {message}, gauge, per subscription
)

// Attribute keys on the bus's spans and measurements.
const (
	attrSystem       = attribute.Key("messaging.system")
	attrOperation    = attribute.Key("messaging.operation.type")
	attrDestination  = attribute.Key("messaging.destination.name")
	attrSubscription = attribute.Key("messaging.destination.subscription.name")
	attrGroup        = attribute.Key("messaging.consumer.group.name")
	attrMessageID    = attribute.Key("messaging.message.id")
	attrPattern      = attribute.Key("anya.bus.pattern")
)

// systemName is the messaging.system of the bus.
const systemName = "anya.bus"

// busErrors are the bus's sentinels, which name error types on spans.
var busErrors = [...]error{ErrClosed, ErrUnsubscribed, ErrQueueFull, ErrTypeMismatch, ErrHandlerPanic}

// topicName returns how telemetry names topic (see WithTopicTemplate).
func (b *Bus) topicName(topic string) string {
	if b.cfg.topicName != nil {
		return b.cfg.topicName(topic)
	}
	return topic
}

// spanPublish starts the span of one Publish, a child of ctx's span.
func (b *Bus) spanPublish(ctx context.Context, topic string) (context.Context, trace.Span) {
	return b.tracer.Start(ctx, SpanPublish, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attrSystem.String(systemName), attrOperation.String("send"), attrDestination.String(b.topicName(topic))))
}

// endSpan ends a publish or process span with its outcome.
func endSpan(span trace.Span, err error) { telemetry.End(span, err, busErrors[:]...) }

// spanProcess starts the span of one handler call: a child of the span whose context the
// message carries in its traceparent header (the publisher's, in this process or another).
func (s *subBase) spanProcess(ctx context.Context, m *Meta) (context.Context, trace.Span) {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attrSystem.String(systemName), attrOperation.String("process"),
		attrDestination.String(s.b.topicName(m.Topic)), attrSubscription.String(s.name), attrMessageID.String(m.ID.String()))
	if s.group != "" {
		attrs = append(attrs, attrGroup.String(s.group))
	}
	return s.b.tracer.Start(telemetry.Extract(ctx, m.Headers), SpanProcess,
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
}

// startMetrics registers the bus's instruments, read from its counters when the meter collects:
// counting costs the publish and delivery paths nothing more than the counters they keep anyway.
func (b *Bus) startMetrics(m metric.Meter) error {
	counter := func(name, desc string) (metric.Int64ObservableCounter, error) {
		return m.Int64ObservableCounter(name, metric.WithUnit("{message}"), metric.WithDescription(desc))
	}
	published, err := counter(MetricNamePublished, "Messages accepted by Publish.")
	if err != nil {
		return err
	}
	delivered, err := counter(MetricNameDelivered, "Messages a handler handled successfully, once per subscription.")
	if err != nil {
		return err
	}
	dropped, err := counter(MetricNameDropped, "Messages a subscription discarded or could not take.")
	if err != nil {
		return err
	}
	failed, err := counter(MetricNameFailed, "Messages a handler finally failed on, undecodable or refused by a full queue.")
	if err != nil {
		return err
	}
	dead, err := counter(MetricNameDeadLettered, "Failed messages republished to a dead-letter topic.")
	if err != nil {
		return err
	}
	depth, err := m.Int64ObservableGauge(MetricNameQueueDepth, metric.WithUnit("{message}"),
		metric.WithDescription("Messages in a subscription's queues not yet handled: waiting, or taken by its goroutine."))
	if err != nil {
		return err
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		b.observe(o, published, delivered, dropped, failed, dead, depth)
		return nil
	}, published, delivered, dropped, failed, dead, depth)
	if err != nil {
		return err
	}
	b.metricsReg = reg
	return nil
}

// observe reports the bus's counters per topic and the depth of each subscription's queue,
// under the names WithTopicTemplate gives them: topics (and subscriptions) named alike are
// summed, so that each attribute set is observed once.
func (b *Bus) observe(o metric.Observer, published, delivered, dropped, failed, dead, depth metric.Int64Observable) {
	type counts struct{ published, delivered, dropped, failed, dead uint64 }
	stats := b.Stats()
	byTopic := make(map[string]*counts, len(stats))
	order := make([]string, 0, len(stats))
	for _, ts := range stats {
		name := b.topicName(ts.Topic)
		c := byTopic[name]
		if c == nil {
			c = new(counts)
			byTopic[name] = c
			order = append(order, name)
		}
		c.published += ts.Published
		c.delivered += ts.Delivered
		c.dropped += ts.Dropped
		c.failed += ts.Failed
		c.dead += ts.DeadLettered
	}
	for _, name := range order {
		c, set := byTopic[name], metric.WithAttributes(attrDestination.String(name))
		o.ObserveInt64(published, int64(c.published), set)
		o.ObserveInt64(delivered, int64(c.delivered), set)
		o.ObserveInt64(dropped, int64(c.dropped), set)
		o.ObserveInt64(failed, int64(c.failed), set)
		o.ObserveInt64(dead, int64(c.dead), set)
	}
	type sub struct{ name, pattern string }
	depths := map[sub]int64{}
	var subs []sub
	for _, s := range b.allSubs() {
		sb := s.base()
		k := sub{sb.name, b.topicName(sb.pat.raw)}
		if _, seen := depths[k]; !seen {
			subs = append(subs, k)
		}
		depths[k] += int64(s.queued())
	}
	for _, k := range subs {
		o.ObserveInt64(depth, depths[k], metric.WithAttributes(attrSubscription.String(k.name), attrPattern.String(k.pattern)))
	}
}

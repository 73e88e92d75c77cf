package bus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
)

type payment struct {
	From   string
	Amount int64
}

// The instruments report what the bus did after a known workload: every counter per topic, the
// depth of a stuck subscription's queue; spans of failed handlers say the error's type only,
// and the dead letter joins the failed handler's trace.
func TestTelemetryWorkload(t *testing.T) {
	const did, amount = "did:example:alice-7f3a", int64(123456789)
	synctest.Test(t, func(t *testing.T) {
		k := telemetrytest.New(t)
		b := newBus(t, bus.WithMeterProvider(k.MP), bus.WithTracerProvider(k.TP))
		defer b.Close()
		ok := func(context.Context, bus.Envelope[payment]) error { return nil }
		sub := func(pattern string, h bus.Handler[payment], opts ...bus.SubscribeOption) {
			t.Helper()
			if _, err := bus.Subscribe(b, pattern, h, opts...); err != nil {
				t.Fatal(err)
			}
		}
		sub("pay.>", ok, bus.Named("ok"))
		sub("pay.>", func(context.Context, bus.Envelope[payment]) error {
			return errors.New("declined for " + did)
		}, bus.Named("bad"), bus.DeadLetter("dlq.pay"))
		sub("dlq.>", ok, bus.Named("dlq"))
		gate := make(chan struct{})
		sub("slow.x", func(ctx context.Context, _ bus.Envelope[payment]) error {
			<-gate
			return nil
		}, bus.Named("slow"), bus.QueueSize(1), bus.OnFull(bus.PolicyDropNewest))

		ctx := context.Background()
		for range 3 {
			if err := bus.Publish(ctx, b, "pay.sent", payment{From: did, Amount: amount}, bus.WithKey(did)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		// The first is held by the handler, the second waits in the queue, the third is dropped:
		// two are in the queue, not yet handled.
		for i := range 3 {
			if err := bus.Publish(ctx, b, "slow.x", payment{From: did, Amount: amount}); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				synctest.Wait()
			}
		}

		rm := k.Collect(t)
		topic := func(s string) attribute.KeyValue { return attribute.String("messaging.destination.name", s) }
		for _, c := range []struct {
			name  string
			topic string
			want  int64
		}{
			{bus.MetricNamePublished, "pay.sent", 3},
			{bus.MetricNameDelivered, "pay.sent", 3},
			{bus.MetricNameFailed, "pay.sent", 3},
			{bus.MetricNameDeadLettered, "pay.sent", 3},
			{bus.MetricNameDropped, "pay.sent", 0},
			{bus.MetricNamePublished, "dlq.pay", 3},
			{bus.MetricNameDelivered, "dlq.pay", 3},
			{bus.MetricNamePublished, "slow.x", 3},
			{bus.MetricNameDropped, "slow.x", 1},
		} {
			if got, found := telemetrytest.Int(rm, c.name, topic(c.topic)); !found || got != c.want {
				t.Errorf("%s{%s} = %d (found %v), want %d", c.name, c.topic, got, found, c.want)
			}
		}
		depth := func(s string) int64 {
			v, _ := telemetrytest.Int(rm, bus.MetricNameQueueDepth, attribute.String("messaging.destination.subscription.name", s))
			return v
		}
		if depth("slow") != 2 || depth("ok") != 0 {
			t.Errorf("queue depth: slow %d (want 2), ok %d (want 0)", depth("slow"), depth("ok"))
		}
		for _, name := range []string{bus.MetricNamePublished, bus.MetricNameQueueDepth} {
			if m, _ := telemetrytest.Metric(rm, name); m.Unit != "{message}" {
				t.Errorf("%s has unit %q", name, m.Unit)
			}
		}

		// Spans: 3 + 3 dead letters + 3 slow publishes; process spans of bad fail by type.
		if n := len(k.Named(bus.SpanPublish)); n != 9 {
			t.Errorf("%d publish spans, want 9", n)
		}
		var bad, dead int
		for _, s := range k.Named(bus.SpanProcess) {
			v, _ := telemetrytest.Attr(s, "messaging.destination.subscription.name")
			switch v.AsString() {
			case "bad":
				bad++
				if s.Status().Code != codes.Error || s.Status().Description != "_OTHER" {
					t.Errorf("failed handler's span status %+v", s.Status())
				}
			case "dlq":
				dead++
				// dlq process ← dead-letter publish ← bad's process span
				for _, p := range k.Named(bus.SpanPublish) {
					if p.SpanContext().SpanID() == s.Parent().SpanID() {
						var parentName string
						for _, q := range k.Ended() {
							if q.SpanContext().SpanID() == p.Parent().SpanID() {
								v, _ := telemetrytest.Attr(q, "messaging.destination.subscription.name")
								parentName = q.Name() + "/" + v.AsString()
							}
						}
						if parentName != bus.SpanProcess+"/bad" {
							t.Errorf("the dead letter was published under %q, want the failed handler's span", parentName)
						}
					}
				}
			}
		}
		if bad != 3 || dead != 3 {
			t.Errorf("%d failed handler spans, %d dead-letter handler spans; want 3 and 3", bad, dead)
		}
		k.NoLeak(t, did, "123456789", "declined")
		close(gate)
		b.Close()
		if _, found := telemetrytest.Metric(k.Collect(t), bus.MetricNamePublished); found {
			t.Error("a closed bus is still reported")
		}
	})
}

// With a topic template, topics that hold an identifier reach neither spans nor metrics: they
// are named by their template, and the counters of topics with one template are summed.
func TestTelemetryTopicTemplate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := telemetrytest.New(t)
		template := func(topic string) string {
			if tok := strings.Split(topic, "."); len(tok) == 3 && tok[0] == "tenant" && tok[1] != "*" && tok[1] != ">" {
				return "tenant.{id}." + tok[2]
			}
			return topic
		}
		b := newBus(t, bus.WithMeterProvider(k.MP), bus.WithTracerProvider(k.TP), bus.WithTopicTemplate(template))
		defer b.Close()
		got := make(chan string, 4)
		for _, pattern := range []string{"tenant.*.written", "tenant.alice7f3a.written"} {
			if _, err := bus.Subscribe(b, pattern, func(_ context.Context, e bus.Envelope[int]) error {
				got <- e.Topic
				return nil
			}, bus.Named("records")); err != nil {
				t.Fatal(err)
			}
		}
		for _, topic := range []string{"tenant.alice7f3a.written", "tenant.bob91c2.written", "other.topic"} {
			if err := bus.Publish(context.Background(), b, topic, 1); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait() // every handler has returned
		if len(got) != 3 || <-got != "tenant.alice7f3a.written" {
			t.Fatalf("handlers saw %d messages; the real topic must reach them", len(got)+1)
		}
		rm := k.Collect(t)
		dest := func(name string) attribute.KeyValue { return attribute.String("messaging.destination.name", name) }
		if n, _ := telemetrytest.Int(rm, bus.MetricNamePublished, dest("tenant.{id}.written")); n != 2 {
			t.Errorf("published{tenant.{id}.written} = %d, want 2", n)
		}
		if n, _ := telemetrytest.Int(rm, bus.MetricNameDelivered, dest("tenant.{id}.written")); n != 3 {
			t.Errorf("delivered{tenant.{id}.written} = %d, want 3", n)
		}
		if n, _ := telemetrytest.Int(rm, bus.MetricNamePublished, dest("other.topic")); n != 1 {
			t.Errorf("published{other.topic} = %d, want 1", n)
		}
		var depths int
		for _, sp := range k.Named(bus.SpanPublish) {
			if v, _ := telemetrytest.Attr(sp, "messaging.destination.name"); v.AsString() != "tenant.{id}.written" && v.AsString() != "other.topic" {
				t.Errorf("publish span names %q", v.AsString())
			}
		}
		if m, _ := telemetrytest.Metric(rm, bus.MetricNameQueueDepth); m.Data != nil {
			depths = len(m.Data.(metricdata.Gauge[int64]).DataPoints)
		}
		if depths != 2 {
			t.Errorf("%d queue depth points, want 2: tenant.*.written and the template of the other", depths)
		}
		if n, ok := telemetrytest.Int(rm, bus.MetricNameQueueDepth, attribute.String("anya.bus.pattern", "tenant.{id}.written")); !ok || n != 0 {
			t.Errorf("queue depth of the templated subscription: %d (reported %v)", n, ok)
		}
		k.NoLeak(t, "alice7f3a", "bob91c2")
	})
}

// Without a provider, with nil ones, or with OpenTelemetry's no-op ones, the bus adds nothing to
// messages.
func TestTelemetryOffAddsNothing(t *testing.T) {
	for name, opts := range map[string][]bus.Option{
		"default": nil,
		"nil":     {bus.WithTracerProvider(nil), bus.WithMeterProvider(nil)},
		"no-op":   {bus.WithTracerProvider(tracenoop.NewTracerProvider()), bus.WithMeterProvider(metricnoop.NewMeterProvider())},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBus(t, opts...)
			got := make(chan bus.Headers, 1)
			if _, err := bus.Subscribe(b, "a", func(_ context.Context, e bus.Envelope[int]) error {
				got <- e.Headers
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := bus.Publish(context.Background(), b, "a", 1); err != nil {
				t.Fatal(err)
			}
			if h := <-got; h != nil {
				t.Errorf("headers %v", h)
			}
			if err := b.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkDeliveryTelemetry is one publish delivered to one subscriber, with the bus's
// instrumentation off (the default), given OpenTelemetry's no-op providers, reporting metrics to
// an SDK meter provider, and tracing to an SDK tracer provider (spans recorded, none exported).
func BenchmarkDeliveryTelemetry(b *testing.B) {
	k := telemetrytest.New(b)
	tp := sdktrace.NewTracerProvider() // records spans, exports none: the cost of the instrumentation itself
	defer tp.Shutdown(context.Background())
	for _, c := range []struct {
		name string
		opts []bus.Option
	}{
		{"off", nil},
		{"noop", []bus.Option{bus.WithTracerProvider(tracenoop.NewTracerProvider()), bus.WithMeterProvider(metricnoop.NewMeterProvider())}},
		{"metrics", []bus.Option{bus.WithMeterProvider(k.MP)}},
		{"traces", []bus.Option{bus.WithTracerProvider(tp)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			bb, err := bus.New(append([]bus.Option{bus.WithDefaultQueueSize(1024)}, c.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			n, want := 0, b.N
			if _, err := bus.Subscribe(bb, "bitcoin.block.*", func(context.Context, bus.Envelope[payment]) error {
				if n++; n == want {
					close(done)
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := bus.Publish(ctx, bb, "bitcoin.block.connected", payment{Amount: int64(i)}); err != nil {
					b.Fatal(err)
				}
			}
			<-done
			b.StopTimer()
			bb.Close()
		})
	}
}

// Package otelbench measures what the SDK's OpenTelemetry instrumentation costs, side by side in
// one run: bus delivery and a call through a circuit breaker with instrumentation off (the
// default, the anchor), with OpenTelemetry's no-op providers, with an SDK meter provider and with
// an SDK tracer provider (spans recorded, none exported).
package otelbench

import (
	"context"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/resilience"
)

// providers is one way of configuring instrumentation: a tracer and a meter provider, each nil
// (not configured), no-op or the SDK's.
type providers struct {
	name string
	tp   trace.TracerProvider
	mp   metric.MeterProvider
}

// variants returns the four configurations compared, the anchor (otel=off) first. The SDK
// providers are shut down when b ends.
func variants(b *testing.B) []providers {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tp := sdktrace.NewTracerProvider() // records spans, exports none: the cost of the instrumentation itself
	b.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	return []providers{
		{name: "otel=off"},
		{name: "otel=noop", tp: tracenoop.NewTracerProvider(), mp: metricnoop.NewMeterProvider()},
		{name: "otel=metrics", mp: mp},
		{name: "otel=traces", tp: tp},
	}
}

type event struct {
	Seq    int
	Amount int64
}

// BenchmarkTelemetry is bus delivery (one publish handled by one subscriber; the clock stops
// when every event was handled) and one successful call through a closed circuit breaker, per
// instrumentation configuration.
func BenchmarkTelemetry(b *testing.B) {
	for _, v := range variants(b) {
		b.Run("bus/"+v.name, func(b *testing.B) { benchBus(b, v) })
	}
	for _, v := range variants(b) {
		b.Run("breaker/"+v.name, func(b *testing.B) { benchBreaker(b, v) })
	}
}

func benchBus(b *testing.B, v providers) {
	opts := []bus.Option{bus.WithDefaultQueueSize(1024)}
	if v.tp != nil {
		opts = append(opts, bus.WithTracerProvider(v.tp))
	}
	if v.mp != nil {
		opts = append(opts, bus.WithMeterProvider(v.mp))
	}
	bb, err := bus.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	want := int64(b.N)
	if _, err := bus.Subscribe(bb, "bitcoin.block.*", func(context.Context, bus.Envelope[event]) error {
		if n.Add(1) == want {
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
		if err := bus.Publish(ctx, bb, "bitcoin.block.connected", event{Seq: i, Amount: 5}); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	bb.Close()
}

var sink atomic.Int64

func call(context.Context) (int, error) { return int(sink.Load()), nil }

func benchBreaker(b *testing.B, v providers) {
	var opts []resilience.Option
	if v.tp != nil {
		opts = append(opts, resilience.WithTracerProvider(v.tp))
	}
	if v.mp != nil {
		opts = append(opts, resilience.WithMeterProvider(v.mp))
	}
	cb, err := resilience.NewCircuitBreaker(opts...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = resilience.Get(ctx, call, cb)
	}
}

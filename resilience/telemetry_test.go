package resilience_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/resilience"
)

const secretDID = "did:example:bob-91c2"

var errDeclined = errors.New("declined for " + secretDID)

// A breaker reports its calls by outcome and its state; a refused call marks the caller's span.
func TestBreakerTelemetry(t *testing.T) {
	k := telemetrytest.New(t)
	cb, err := resilience.NewCircuitBreaker(resilience.WithName("chain"), resilience.MinCalls(100),
		resilience.WithMeterProvider(k.MP), resilience.WithTracerProvider(k.TP))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if err := resilience.Do(ctx, ok, cb); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		_ = resilience.Do(ctx, func(context.Context) error { return errDeclined }, cb)
	}
	_ = resilience.Do(ctx, func(context.Context) error { return context.Canceled }, cb) // ignored
	cb.ForceOpen()
	pctx, parent := k.TP.Tracer("host").Start(ctx, "send")
	if err := resilience.Do(pctx, ok, cb); !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Fatalf("forced-open breaker let a call through: %v", err)
	}
	parent.End()

	rm := k.Collect(t)
	name := attribute.String("anya.resilience.name", "chain")
	for outcome, want := range map[string]int64{"success": 3, "failure": 2, "ignored": 1, "rejected": 1} {
		if got, _ := telemetrytest.Int(rm, resilience.MetricNameBreakerCalls, name, attribute.String("anya.outcome", outcome)); got != want {
			t.Errorf("calls{%s} = %d, want %d", outcome, got, want)
		}
	}
	for state, want := range map[string]int64{"forced-open": 1, "closed": 0, "open": 0} {
		if got, found := telemetrytest.Int(rm, resilience.MetricNameBreakerState, name, attribute.String("anya.resilience.breaker.state", state)); !found || got != want {
			t.Errorf("state{%s} = %d, want %d", state, got, want)
		}
	}
	for kind, want := range map[string]int64{"rejected": 1, "state": 1} {
		if got, _ := telemetrytest.Int(rm, resilience.MetricNameEvents, name, attribute.String("anya.resilience.event", kind)); got != want {
			t.Errorf("events{%s} = %d, want %d", kind, got, want)
		}
	}
	ev := k.One(t, "send").Events()
	if len(ev) != 1 || ev[0].Name != "resilience.rejected" {
		t.Fatalf("events on the caller's span: %+v", ev)
	}
	if got := attribute.NewSet(ev[0].Attributes...); got.HasValue("error.type") {
		if v, _ := got.Value("error.type"); v.AsString() != resilience.ErrCircuitOpen.Error() {
			t.Errorf("error.type %q", v.AsString())
		}
	} else {
		t.Error("the rejection names no error type")
	}
	if n := len(k.Ended()); n != 1 {
		t.Errorf("the breaker started spans of its own: %s", telemetrytest.Names(k.Ended()))
	}
	k.NoLeak(t, secretDID, "declined")
}

// A retry whose first attempt fails opens a span over the call; the later attempts run in it.
// A call that succeeds at once has none.
func TestRetryTelemetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := telemetrytest.New(t)
		r, err := resilience.NewRetry(resilience.WithName("rpc"), resilience.MaxAttempts(3), resilience.Backoff(time.Second, time.Second),
			resilience.WithTracerProvider(k.TP), resilience.WithMeterProvider(k.MP))
		if err != nil {
			t.Fatal(err)
		}
		tr := k.TP.Tracer("host")
		attempts := 0
		call := func(ctx context.Context) error {
			attempts++
			_, s := tr.Start(ctx, "attempt")
			defer s.End()
			if attempts < 3 {
				return errDeclined
			}
			return nil
		}
		ctx, op := tr.Start(context.Background(), "op")
		if err := resilience.Do(ctx, call, r); err != nil {
			t.Fatal(err)
		}
		op.End()
		rs := k.One(t, resilience.SpanRetry)
		telemetrytest.ChildOf(t, rs, k.One(t, "op"))
		at := k.Named("attempt")
		if len(at) != 3 {
			t.Fatalf("%d attempt spans", len(at))
		}
		telemetrytest.ChildOf(t, at[0], k.One(t, "op"))
		telemetrytest.ChildOf(t, at[1], rs)
		telemetrytest.ChildOf(t, at[2], rs)
		if rs.StartTime().After(at[0].StartTime()) || rs.EndTime().Before(at[2].EndTime()) {
			t.Error("the retry span does not cover the call")
		}
		if v, _ := telemetrytest.Attr(rs, "anya.resilience.attempt"); v.AsInt64() != 3 || rs.Status().Code == codes.Error {
			t.Errorf("retry span: attempts %d, status %+v", v.AsInt64(), rs.Status())
		}
		if ev := rs.Events(); len(ev) != 2 || ev[0].Name != "resilience.retry" || ev[1].Name != "resilience.retry" {
			t.Errorf("retry span events %+v", ev)
		}

		// Succeeding at once: no span. Giving up: a failed span that names the reason.
		before := len(k.Ended())
		if err := resilience.Do(context.Background(), ok, r); err != nil {
			t.Fatal(err)
		}
		if len(k.Ended()) != before {
			t.Errorf("a call that succeeded at once was traced: %s", telemetrytest.Names(k.Ended()[before:]))
		}
		if err := resilience.Do(context.Background(), func(context.Context) error { return errDeclined }, r); !errors.Is(err, resilience.ErrRetriesExhausted) {
			t.Fatal(err)
		}
		spans := k.Named(resilience.SpanRetry)
		last := spans[len(spans)-1]
		if last.Status().Code != codes.Error || last.Status().Description != resilience.ErrRetriesExhausted.Error() {
			t.Errorf("given-up span status %+v", last.Status())
		}
		rm := k.Collect(t)
		name := attribute.String("anya.resilience.name", "rpc")
		for kind, want := range map[string]int64{"retry": 4, "give-up": 1} {
			if got, _ := telemetrytest.Int(rm, resilience.MetricNameEvents, name, attribute.String("anya.resilience.event", kind)); got != want {
				t.Errorf("events{%s} = %d, want %d", kind, got, want)
			}
		}
		k.NoLeak(t, secretDID, "declined")
	})
}

// Nil providers are the no-op ones, accepted by every policy.
func TestTelemetryOptions(t *testing.T) {
	off := []resilience.Option{resilience.WithTracerProvider(nil), resilience.WithMeterProvider(nil)}
	cb, err := resilience.NewCircuitBreaker(off...)
	if err != nil {
		t.Fatal(err)
	}
	to, err := resilience.NewTimeout(time.Second, off...)
	if err != nil {
		t.Fatal(err)
	}
	if err := resilience.Do(context.Background(), func(context.Context) error { return nil }, cb, to); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkBreakerTelemetry is a successful call through a circuit breaker and through a retry,
// with instrumentation off (the default), OpenTelemetry's no-op providers, an SDK meter provider,
// and an SDK tracer provider (spans recorded, none exported).
func BenchmarkBreakerTelemetry(b *testing.B) {
	k := telemetrytest.New(b)
	tp := sdktrace.NewTracerProvider() // records spans, exports none: the cost of the instrumentation itself
	defer tp.Shutdown(context.Background())
	ctx := context.Background()
	for _, c := range []struct {
		name string
		opts []resilience.Option
	}{
		{"off", nil},
		{"noop", []resilience.Option{resilience.WithTracerProvider(tracenoop.NewTracerProvider()), resilience.WithMeterProvider(metricnoop.NewMeterProvider())}},
		{"metrics", []resilience.Option{resilience.WithMeterProvider(k.MP)}},
		{"traces", []resilience.Option{resilience.WithTracerProvider(tp)}},
	} {
		b.Run("breaker/"+c.name, func(b *testing.B) {
			cb := must(resilience.NewCircuitBreaker(c.opts...))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := resilience.Get(ctx, succeed, cb); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("retry/"+c.name, func(b *testing.B) {
			r := must(resilience.NewRetry(c.opts...))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := resilience.Get(ctx, succeed, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package telemetry_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/anya-org/anya-go/internal/telemetry"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
)

func TestProvidersOffWhenNilOrNoop(t *testing.T) {
	if telemetry.Tracer(nil, "bus") != nil || telemetry.Tracer(tracenoop.NewTracerProvider(), "bus") != nil {
		t.Fatal("a nil or no-op tracer provider gave a tracer")
	}
	np := tracenoop.NewTracerProvider()
	if telemetry.Tracer(&np, "bus") != nil {
		t.Fatal("a pointer to the no-op tracer provider gave a tracer")
	}
	if telemetry.Meter(nil, "bus") != nil || telemetry.Meter(metricnoop.NewMeterProvider(), "bus") != nil {
		t.Fatal("a nil or no-op meter provider gave a meter")
	}
	k := telemetrytest.New(t)
	if telemetry.Tracer(k.TP, "bus") == nil || telemetry.Meter(k.MP, "bus") == nil {
		t.Fatal("an SDK provider gave no tracer or meter")
	}
	_, span := telemetry.Tracer(k.TP, "cache/natscache").Start(context.Background(), "x")
	span.End()
	if got := k.One(t, "x").InstrumentationScope().Name; got != "github.com/anya-org/anya-go/cache/natscache" {
		t.Fatalf("scope %q", got)
	}
}

func TestInjectExtract(t *testing.T) {
	k := telemetrytest.New(t)
	tr := telemetry.Tracer(k.TP, "bus")
	ctx, parent := tr.Start(context.Background(), "parent")
	h := telemetry.Inject(ctx, nil)
	if len(h[telemetry.HeaderTraceparent]) != 55 {
		t.Fatalf("traceparent %q", h[telemetry.HeaderTraceparent])
	}
	got := trace.SpanContextFromContext(telemetry.Extract(context.Background(), h))
	if !got.IsRemote() || got.TraceID() != parent.SpanContext().TraceID() || got.SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("extracted %v, injected %v", got, parent.SpanContext())
	}
	parent.End()
	if h := telemetry.Inject(context.Background(), nil); h != nil {
		t.Fatalf("a context without a span injected %v", h)
	}
	for name, h := range map[string]map[string]string{
		"nil":        nil,
		"malformed":  {"traceparent": "00-zz-yy-01"},
		"zero ids":   {"traceparent": "00-00000000000000000000000000000000-0000000000000000-01"},
		"version ff": {"traceparent": "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	} {
		if sc := trace.SpanContextFromContext(telemetry.Extract(context.Background(), h)); sc.IsValid() {
			t.Errorf("%s: extracted a valid span context %v", name, sc)
		}
	}
}

type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d for did:example:alice", e.code) }

type wrapper struct{ err error }

func (w *wrapper) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapper) Unwrap() error { return w.err }

func TestErrorType(t *testing.T) {
	sentinel := errors.New("pkg: queue full")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"canceled", fmt.Errorf("op: %w", context.Canceled), "context.Canceled"},
		{"deadline", context.DeadlineExceeded, "context.DeadlineExceeded"},
		{"known sentinel", fmt.Errorf("sub x: %w", sentinel), "pkg: queue full"},
		{"typed, wrapped", fmt.Errorf("wrapped: %w", &codeError{7}), "*telemetry_test.codeError"},
		{"plain text with data", fmt.Errorf("address bc1qsecret is bad"), "_OTHER"},
		{"errors.New", errors.New("amount 12345"), "_OTHER"},
		{"joined", errors.Join(errors.New("a"), errors.New("b")), "_OTHER"},
		{"innermost type", &wrapper{fmt.Errorf("x: %w", &codeError{1})}, "*telemetry_test.codeError"},
	} {
		if got := telemetry.ErrorType(tc.err, sentinel); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEndKeepsMessagesOut(t *testing.T) {
	k := telemetrytest.New(t)
	tr := telemetry.Tracer(k.TP, "x")
	_, s := tr.Start(context.Background(), "failed")
	telemetry.End(s, &codeError{3})
	_, s = tr.Start(context.Background(), "cancelled")
	telemetry.End(s, context.Canceled)
	f := k.One(t, "failed")
	if f.Status().Description != "*telemetry_test.codeError" {
		t.Fatalf("status %+v", f.Status())
	}
	if c := k.One(t, "cancelled"); c.Status().Code != 0 {
		t.Fatalf("a cancelled span has status %v", c.Status())
	}
	k.NoLeak(t, "did:example:alice", "code 3")
}

func TestPseudonym(t *testing.T) {
	key := []byte("0123456789abcdef")
	m := hmac.New(sha256.New, key)
	m.Write([]byte("did:example:alice"))
	want := "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	if got := telemetry.Pseudonym(key, "did:example:alice"); got != want {
		t.Fatalf("%s, want %s", got, want)
	}
	if telemetry.Pseudonym(nil, "did:example:alice") != "" || telemetry.Pseudonym(key, "") != "" {
		t.Fatal("a pseudonym without a key or a value")
	}
}

// leakTB records what NoLeak reports instead of failing the test.
type leakTB struct {
	testing.TB
	errs []string
}

func (l *leakTB) Errorf(format string, args ...any) {
	l.errs = append(l.errs, fmt.Sprintf(format, args...))
}

func TestNoLeakFindsEveryPlace(t *testing.T) {
	k := telemetrytest.New(t)
	tr := telemetry.Tracer(k.TP, "x")
	m := telemetry.Meter(k.MP, "x")
	c, _ := m.Int64Counter("anya.x.count")
	c.Add(context.Background(), 1, telemetry.Set(telemetry.KeyOutcome.String("paid bc1qleak")))
	_, s := tr.Start(context.Background(), "span did:example:inname")
	s.SetAttributes(telemetry.KeyOutcome.String("x did:example:inattr"))
	s.AddEvent("ev", trace.WithAttributes(telemetry.KeyOutcome.String("9999 sat")))
	s.End()
	l := &leakTB{TB: t}
	k.NoLeak(l, "bc1qleak", "did:example:inname", "DID:EXAMPLE:INATTR", "9999 sat", "not-there")
	if len(l.errs) != 4 {
		t.Fatalf("NoLeak reported %d leaks, want 4: %q", len(l.errs), l.errs)
	}
	if spans, points := k.Texts(t); spans != 1 || points != 1 {
		t.Fatalf("Texts: %d spans, %d points", spans, points)
	}
}

func TestOps(t *testing.T) {
	var off *telemetry.Ops
	ctx := context.Background()
	if c, s := off.Start(ctx, "get"); c != ctx || s != nil {
		t.Fatal("a nil Ops started a span")
	}
	telemetry.EndOp(nil, errors.New("x"), nil) // nothing to end
	if telemetry.NewOps(tracenoop.NewTracerProvider(), "cache/natscache", "nats", "b") != nil {
		t.Fatal("the no-op provider gave an Ops")
	}
	k := telemetrytest.New(t)
	ops := telemetry.NewOps(k.TP, "cache/natscache", "nats", "bucket1")
	notFound := errors.New("pkg: not found")
	_, s := ops.Start(ctx, "get")
	telemetry.EndOp(s, fmt.Errorf("key k: %w", notFound), notFound)
	_, s = ops.Start(ctx, "set")
	telemetry.EndOp(s, &codeError{2}, notFound)
	get, set := k.One(t, "natscache.get"), k.One(t, "natscache.set")
	if get.SpanKind() != trace.SpanKindClient || get.Status().Code != 0 {
		t.Fatalf("get: kind %v status %+v", get.SpanKind(), get.Status())
	}
	if v, ok := telemetrytest.Attr(get, telemetry.KeyFound); !ok || v.AsBool() {
		t.Fatal("a not-found get does not say so")
	}
	if v, _ := telemetrytest.Attr(set, telemetry.KeyDBCollection); v.AsString() != "bucket1" || set.Status().Description != "*telemetry_test.codeError" {
		t.Fatalf("set: collection %q status %+v", v.AsString(), set.Status())
	}
}

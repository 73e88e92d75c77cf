package security_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/anya-org/anya-go/internal/telemetry"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/security"
)

// Each crossing is a span under the caller's with its audit append under it; the principal is
// named only by its pseudonym — the one a hashed field gets — and the data, the amounts and the
// denial's reason (which quotes the principal) are never recorded.
func TestTelemetryCrossings(t *testing.T) {
	const did, address, amount = "did:key:z6MkTelemetryBob", "bc1qtelemetrysecretaddr", int64(123456789)
	key := []byte("0123456789abcdef0123")
	k := telemetrytest.New(t)
	ctx := context.Background()
	log, err := security.OpenAuditLog(ctx, filepath.Join(t.TempDir(), "audit.db"),
		security.WithTracerProvider(k.TP), security.WithMeterProvider(k.MP))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	bs, err := security.New([]security.Boundary{
		{From: security.Web5, To: security.ML, Fields: map[string]security.Field{
			"sender":     {Type: security.TypeString, Redact: security.RedactHash},
			"address":    {Type: security.TypeString, Redact: security.RedactRemove},
			"amount_sat": {Type: security.TypeInteger},
		}},
		{From: security.ML, To: security.Bitcoin, Actions: []string{"bitcoin.send_payment"},
			PaymentActions: []string{"bitcoin.send_payment"}, Fields: map[string]security.Field{"risk": {Type: security.TypeNumber}}},
	}, security.WithAudit(log), security.WithRedactionKey(key), security.WithTracerProvider(k.TP), security.WithMeterProvider(k.MP))
	if err != nil {
		t.Fatal(err)
	}
	sctx := security.NewContext(ctx, &security.Context{Principal: did})
	sctx, step := k.TP.Tracer("host").Start(sctx, "step")
	out, err := bs.Cross(sctx, "web5", "ml", "ml.score", map[string]any{"sender": did, "address": address, "amount_sat": amount})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bs.Cross(sctx, "ml", "bitcoin", "bitcoin.send_payment", map[string]any{"risk": 0.1}); !errors.Is(err, security.ErrUnverifiedIdentity) {
		t.Fatalf("an unverified payment crossed: %v", err)
	}
	if _, err := bs.Cross(sctx, "ml", "ml", "same", map[string]any{}); err != nil { // not a crossing
		t.Fatal(err)
	}
	step.End()

	crosses := k.Named(security.SpanCross)
	if len(crosses) != 2 {
		t.Fatalf("%d crossing spans, want 2: %s", len(crosses), telemetrytest.Names(k.Ended()))
	}
	appends := k.Named(security.SpanAuditAppend)
	if len(appends) != 2 {
		t.Fatalf("%d audit spans", len(appends))
	}
	for i, c := range crosses {
		telemetrytest.ChildOf(t, c, k.One(t, "step"))
		telemetrytest.ChildOf(t, appends[i], c)
		v, _ := telemetrytest.Attr(c, "anya.security.principal")
		if v.AsString() != telemetry.Pseudonym(key, did) || v.AsString() != out["sender"] {
			t.Errorf("crossing %d: principal %q, want the pseudonym %q the boundary gave the sender field", i, v.AsString(), out["sender"])
		}
	}
	for key, want := range map[attribute.Key]string{"anya.security.decision": "deny", "anya.security.rule": "privilege",
		"anya.security.from": "ml", "anya.security.to": "bitcoin", "anya.security.action": "bitcoin.send_payment"} {
		if v, _ := telemetrytest.Attr(crosses[1], key); v.AsString() != want {
			t.Errorf("denied crossing %s = %q, want %q", key, v.AsString(), want)
		}
	}
	if v, _ := telemetrytest.Attr(appends[1], "anya.security.audit.seq"); v.AsInt64() != 2 {
		t.Errorf("second append at %d", v.AsInt64())
	}

	rm := k.Collect(t)
	for _, c := range []struct {
		metric string
		attrs  []attribute.KeyValue
		want   int64
	}{
		{security.MetricNameCrossings, []attribute.KeyValue{attribute.String("anya.security.decision", "allow"), attribute.String("anya.security.to", "ml")}, 1},
		{security.MetricNameCrossings, []attribute.KeyValue{attribute.String("anya.security.decision", "deny"), attribute.String("anya.security.rule", "privilege")}, 1},
		{security.MetricNameAuditAppends, []attribute.KeyValue{attribute.String("anya.security.audit.kind", "crossing")}, 2},
		{security.MetricNameAuditAppends, []attribute.KeyValue{attribute.String("anya.security.decision", "deny")}, 1},
	} {
		if got, _ := telemetrytest.Int(rm, c.metric, c.attrs...); got != c.want {
			t.Errorf("%s%v = %d, want %d", c.metric, c.attrs, got, c.want)
		}
	}
	// Free-text kinds chosen by the host are not attributes.
	if _, err := log.Append(ctx, security.Entry{Kind: "login " + did, Decision: "ok " + address}); err != nil {
		t.Fatal(err)
	}
	k.NoLeak(t, did, address, "123456789", "needs a verified identity")
}

// Without a redaction key the principal is not named at all.
func TestTelemetryNoKeyNoPrincipal(t *testing.T) {
	k := telemetrytest.New(t)
	bs, err := security.New([]security.Boundary{{From: security.Web5, To: security.ML, AllowUnknown: true}}, security.WithTracerProvider(k.TP))
	if err != nil {
		t.Fatal(err)
	}
	ctx := security.NewContext(context.Background(), &security.Context{Principal: "did:key:z6MkNoKey"})
	if _, err := bs.Cross(ctx, "web5", "ml", "x", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if _, ok := telemetrytest.Attr(k.One(t, security.SpanCross), "anya.security.principal"); ok {
		t.Error("a principal attribute without a redaction key")
	}
	k.NoLeak(t, "did:key:z6MkNoKey")
}

// The provider options configure both Boundaries and an AuditLog; nil providers are the no-op
// ones, not invalid options.
func TestTelemetryOptions(t *testing.T) {
	ctx := context.Background()
	off := []security.Option{security.WithTracerProvider(nil), security.WithMeterProvider(nil)}
	log, err := security.OpenAuditLog(ctx, filepath.Join(t.TempDir(), "a.db"), off...)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	bs, err := security.New([]security.Boundary{{From: security.Web5, To: security.ML, AllowUnknown: true}}, append(off, security.WithAudit(log))...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bs.Cross(ctx, "web5", "ml", "x", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if h, err := log.Head(ctx); err != nil || h.Seq == 0 {
		t.Fatalf("audit head %+v, %v", h, err)
	}
}

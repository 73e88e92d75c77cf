package workflow_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/workflow"
)

// TestObservabilityVerifiedPayment runs a verified payment whose operations use every
// instrumented package — a DID cache, the ML engine, a retry and a circuit breaker, the bus —
// through the default trust boundaries with an audit log, all on one tracer and one meter
// provider. It checks that the payment is one connected trace with each package's spans under
// the step that caused them, that every package reported metrics, and that none of the DIDs,
// addresses, amounts or run IDs it handled appears in any span or metric.
func TestObservabilityVerifiedPayment(t *testing.T) {
	const did = "did:key:z6MkObservedSender"
	in := paymentInput("obs-1")
	in["sender_did"] = did
	secrets := []string{did, in["sender_address"].(string), in["recipient_address"].(string), strconv.Itoa(in["amount_sat"].(int)), "obs-1"}

	k := telemetrytest.New(t)
	tp, mp := k.TP, k.MP
	ctx := context.Background()

	b, err := bus.New(bus.WithTracerProvider(tp), bus.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	recorded := make(chan struct{}, 1)
	if _, err := bus.Subscribe(b, "payments.>", func(ctx context.Context, e bus.Envelope[map[string]any]) error {
		recorded <- struct{}{}
		return nil
	}, bus.Named("ledger")); err != nil {
		t.Fatal(err)
	}
	dids, err := cache.New[string, bool](cache.WithName("did"), cache.WithTracerProvider(tp), cache.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer dids.Close()
	tm := mltest.Linear([]float32{0.0001, -5}, 0)
	engine := mltest.NewEngine(t, tm.Model, ml.WithTracerProvider(tp), ml.WithMeterProvider(mp))
	breaker, err := resilience.NewCircuitBreaker(resilience.WithName("node"), resilience.WithTracerProvider(tp), resilience.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	retry, err := resilience.NewRetry(resilience.WithName("node"), resilience.Backoff(time.Millisecond, time.Millisecond),
		resilience.WithTracerProvider(tp), resilience.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	audit, err := security.OpenAuditLog(ctx, filepath.Join(t.TempDir(), "audit.db"),
		security.WithTracerProvider(tp), security.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	guard, err := security.New(security.DefaultBoundaries(), security.WithAudit(audit),
		security.WithRedactionKey([]byte("observability-redaction-key-0000")), security.WithTracerProvider(tp), security.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}

	ops := workflow.VerifiedPaymentOperations()
	sends := 0
	for i := range ops {
		switch ops[i].Name {
		case workflow.OpVerifyIdentity:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				ok, err := dids.GetOrLoad(ctx, c.Input["did"].(string), func(context.Context, string) (bool, error) { return true, nil })
				return map[string]any{"sender_verified": ok, "verification_score": 0.95}, err
			}
		case workflow.OpAssessRisk:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				s := tm.Model.Schema()
				v := ml.Vector{Schema: s.Name, Version: s.Version, Values: []float32{float32(c.Input["amount_sat"].(int64)) / 1000, float32(c.Input["verification_score"].(float64))}}
				res, err := engine.Score(ctx, v)
				return map[string]any{"risk_score": float64(res.Score)}, err
			}
		case workflow.OpSendPayment:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				err := resilience.Do(ctx, func(context.Context) error {
					if sends++; sends == 1 {
						return errors.New("node busy sending " + strconv.FormatInt(c.Input["amount_sat"].(int64), 10) + " to " + c.Input["to_address"].(string))
					}
					return nil
				}, retry, breaker)
				return map[string]any{"txid": "tx-1"}, err
			}
		case workflow.OpRecordPayment:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				return map[string]any{"record_id": "rec-1"}, bus.Publish(ctx, b, "payments.recorded", c.Input)
			}
		}
	}
	reg, err := workflow.NewRegistry(ops...)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, workflow.NewMemoryStore(), reg, []*workflow.Definition{workflow.VerifiedPayment()},
		workflow.WithGuard(guard), workflow.WithTracerProvider(tp), workflow.WithMeterProvider(mp))

	sctx, exec := tp.Tracer("host").Start(security.NewContext(ctx, senderContext(did)), "Execute")
	res, err := e.Run(sctx, workflow.VerifiedPaymentName, "obs-1", in)
	exec.End()
	if err != nil || res.Status != workflow.StatusCompleted {
		t.Fatalf("run: %v %+v", err, res)
	}
	<-recorded
	rm := k.Collect(t)                   // while the bus still reports
	k.NoLeak(t, secrets...)              // metrics of every package, spans so far
	if err := b.Drain(ctx); err != nil { // the handler's span ends
		t.Fatal(err)
	}

	// One connected trace, each package's span under the step that caused it.
	root := k.One(t, "Execute")
	byID := map[string]trace.ReadOnlySpan{}
	for _, s := range k.Ended() {
		byID[s.SpanContext().SpanID().String()] = s
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %s is in another trace", s.Name())
		}
	}
	stepOf := func(s trace.ReadOnlySpan) string {
		for p := byID[s.Parent().SpanID().String()]; p != nil; p = byID[p.Parent().SpanID().String()] {
			if p.Name() == workflow.SpanStep {
				v, _ := telemetrytest.Attr(p, "anya.workflow.step")
				return v.AsString()
			}
		}
		return ""
	}
	for name, step := range map[string]string{
		cache.SpanLoad:          "verify_sender",
		ml.SpanScore:            "fraud_assessment",
		resilience.SpanRetry:    "send_payment",
		bus.SpanPublish:         "record_payment",
		bus.SpanProcess:         "record_payment",
		"security.audit.append": "",
	} {
		spans := k.Named(name)
		if len(spans) == 0 {
			t.Errorf("no %s span", name)
			continue
		}
		if step != "" && stepOf(spans[0]) != step {
			t.Errorf("%s is under step %q, want %q", name, stepOf(spans[0]), step)
		}
	}
	for _, c := range k.Named(security.SpanCross) {
		if stepOf(c) == "" {
			t.Errorf("a crossing is outside every step")
		}
	}
	if n := len(k.Named(security.SpanCross)); n != 4 {
		t.Errorf("%d crossings traced, want the 4 the audit log holds", n)
	}

	// Every package reported metrics.
	for _, name := range []string{bus.MetricNamePublished, cache.MetricNameLookups, ml.MetricNameBatchSize,
		resilience.MetricNameBreakerCalls, resilience.MetricNameEvents, workflow.MetricNameRuns, workflow.MetricNameStepDuration,
		security.MetricNameCrossings, security.MetricNameAuditAppends} {
		if _, found := telemetrytest.Metric(rm, name); !found {
			t.Errorf("no %s", name)
		}
	}
	if spans, points := k.Texts(t); spans < 15 || points < 20 {
		t.Fatalf("only %d spans and %d data points were recorded", spans, points)
	}
	k.NoLeak(t, secrets...)
}

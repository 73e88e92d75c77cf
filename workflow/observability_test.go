package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"go.opentelemetry.io/otel/sdk/trace"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
	web5did "github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/workflow"
)

// TestObservabilityVerifiedPayment runs a verified payment whose operations use every
// instrumented package below the root — a DID cache, the ML engine, a retry and a circuit
// breaker around a bitcoin.Sender on a simulated chain, a records store (dwn) whose event goes
// out on the bus — through the default trust boundaries with an audit log, all on one tracer
// and one meter provider. It checks that the payment is one connected trace from the host's
// Execute span to the chain broadcast and the records-store write, with each package's spans
// under the step that caused them, that every package reported metrics, and that none of the
// DIDs, addresses, amounts, txids, tenant tokens or run IDs it handled appears in any span or
// metric.
func TestObservabilityVerifiedPayment(t *testing.T) {
	ctx := context.Background()
	payer, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	did := payer.String()
	in := paymentInput("obs-1")
	in["sender_did"] = did
	secrets := []string{did, dwn.TenantToken(did), in["sender_address"].(string), in["recipient_address"].(string), strconv.Itoa(in["amount_sat"].(int)), "obs-1"}

	k := telemetrytest.New(t)
	tp, mp := k.TP, k.MP

	b, err := bus.New(bus.WithTracerProvider(tp), bus.WithMeterProvider(mp), bus.WithTopicTemplate(dwn.TopicTemplate))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	recorded := make(chan struct{}, 1)
	if _, err := bus.Subscribe(b, dwn.TopicPrefix+".*."+dwn.EventRecordWritten, func(ctx context.Context, e bus.Envelope[dwn.Event]) error {
		recorded <- struct{}{}
		return nil
	}, bus.Named("ledger")); err != nil {
		t.Fatal(err)
	}
	resolver, err := web5did.NewResolver(web5did.WithMethods(didkey.New()))
	if err != nil {
		t.Fatal(err)
	}
	records, err := dwn.New(resolver, dwn.WithBus(b), dwn.WithTracerProvider(tp), dwn.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer records.Close()
	sim := bitcointest.NewSim(t)
	snd, err := bitcoin.NewSender(sim.Chain(), bitcoin.NewMemSendStore(), bitcoin.WithTracerProvider(tp), bitcoin.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	var txid, recordID string
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
				tx, err := sim.Wallet().Build(ctx, wire.NewTxOut(c.Input["amount_sat"].(int64), bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("obs-recipient"))))
				if err != nil {
					return nil, err
				}
				err = resilience.Do(ctx, func(ctx context.Context) error {
					if sends++; sends == 1 {
						return errors.New("node busy sending " + strconv.FormatInt(c.Input["amount_sat"].(int64), 10) + " to " + c.Input["to_address"].(string))
					}
					id, err := snd.Send(ctx, c.IdempotencyKey, tx)
					txid = id.String()
					return err
				}, retry, breaker)
				return map[string]any{"txid": txid}, err
			}
		case workflow.OpRecordPayment:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				data, err := json.Marshal(c.Input)
				if err != nil {
					return nil, err
				}
				w, err := dwn.NewWrite(ctx, payer, did, dwn.Write{Schema: "https://example.com/payment", DataFormat: "application/json", Data: data})
				if err != nil {
					return nil, err
				}
				r, err := records.Process(ctx, did, w)
				if err != nil {
					return nil, err
				}
				recordID = r.Record.ID
				return map[string]any{"record_id": recordID}, nil
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
	secrets = append(secrets, txid, recordID)
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
		bitcoin.SpanSend:        "send_payment",
		dwn.SpanRecordsWrite:    "record_payment",
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
		security.MetricNameCrossings, security.MetricNameAuditAppends, bitcoin.MetricNameSends, dwn.MetricNameMessages} {
		if _, found := telemetrytest.Metric(rm, name); !found {
			t.Errorf("no %s", name)
		}
	}
	if spans, points := k.Texts(t); spans < 15 || points < 20 {
		t.Fatalf("only %d spans and %d data points were recorded", spans, points)
	}
	k.NoLeak(t, secrets...)
}

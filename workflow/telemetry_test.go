package workflow_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/workflow"
)

// A run is a span under the caller's, with a span per step under it; guard crossings and
// operations run in the step's span. Runs are counted by outcome, steps timed; nothing of the
// payment — DIDs, addresses, amounts, run IDs — is recorded.
func TestTelemetryVerifiedPayment(t *testing.T) {
	k := telemetrytest.New(t)
	tr := k.TP.Tracer("host")
	guard := workflow.GuardFunc(func(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error) {
		_, s := tr.Start(ctx, "guard")
		s.End()
		return data, nil
	})
	p := newPayments()
	e := newEngine(t, workflow.NewMemoryStore(), p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()},
		workflow.WithTracerProvider(k.TP), workflow.WithMeterProvider(k.MP), workflow.WithGuard(guard))
	ctx, exec := tr.Start(context.Background(), "Execute")
	if res, err := e.Run(ctx, workflow.VerifiedPaymentName, "pay-1", paymentInput("pay-1")); err != nil || res.Status != workflow.StatusCompleted {
		t.Fatalf("run: %v", err)
	}
	exec.End()
	p.sendErr = func(c *workflow.Call) error {
		return workflow.Permanent(errors.New("insufficient funds at bcrt1qsender for 50000 sat"))
	}
	if _, err := e.Run(context.Background(), workflow.VerifiedPaymentName, "pay-2", paymentInput("pay-2")); err == nil {
		t.Fatal("a failed send completed the run")
	}

	runs := k.Named(workflow.SpanRun)
	if len(runs) != 2 {
		t.Fatalf("%d run spans: %s", len(runs), telemetrytest.Names(k.Ended()))
	}
	run := runs[0]
	telemetrytest.ChildOf(t, run, k.One(t, "Execute"))
	var steps []string
	for _, s := range k.Named(workflow.SpanStep) {
		if s.Parent().SpanID() == run.SpanContext().SpanID() {
			v, _ := telemetrytest.Attr(s, "anya.workflow.step")
			steps = append(steps, v.AsString())
		}
	}
	if want := []string{"verify_sender", "fraud_assessment", "send_payment", "record_payment"}; !slices.Equal(steps, want) {
		t.Fatalf("steps of the run: %v, want %v", steps, want)
	}
	// Every guard crossing is inside a step of a run.
	stepIDs := map[string]bool{}
	for _, s := range k.Named(workflow.SpanStep) {
		stepIDs[s.SpanContext().SpanID().String()] = true
	}
	guards := k.Named("guard")
	if len(guards) == 0 {
		t.Fatal("no guard crossing was traced")
	}
	for _, g := range guards {
		if !stepIDs[g.Parent().SpanID().String()] {
			t.Errorf("a guard crossing is not inside a step span")
		}
	}
	if v, _ := telemetrytest.Attr(run, "anya.workflow.status"); v.AsString() != "completed" {
		t.Errorf("run status %q", v.AsString())
	}
	failed := runs[1]
	if v, _ := telemetrytest.Attr(failed, "anya.workflow.status"); v.AsString() != "failed" || failed.Status().Code != codes.Error {
		t.Errorf("failed run: status %q, %+v", v.AsString(), failed.Status())
	}

	rm := k.Collect(t)
	name := attribute.String("anya.workflow.name", workflow.VerifiedPaymentName)
	for outcome, want := range map[string]int64{"completed": 1, "failed": 1} {
		if got, _ := telemetrytest.Int(rm, workflow.MetricNameRuns, name, attribute.String("anya.outcome", outcome)); got != want {
			t.Errorf("runs{%s} = %d, want %d", outcome, got, want)
		}
	}
	for _, c := range []struct {
		step, outcome string
		want          uint64
	}{{"verify_sender", "completed", 2}, {"send_payment", "completed", 1}, {"send_payment", "failed", 1}, {"record_payment", "completed", 1}} {
		n, sum, _ := telemetrytest.Histogram(rm, workflow.MetricNameStepDuration, name,
			attribute.String("anya.workflow.step", c.step), attribute.String("anya.outcome", c.outcome))
		if n != c.want || sum < 0 {
			t.Errorf("step.duration{%s,%s}: %d records, want %d", c.step, c.outcome, n, c.want)
		}
	}
	if m, _ := telemetrytest.Metric(rm, workflow.MetricNameStepDuration); m.Unit != "s" {
		t.Errorf("step duration unit %q", m.Unit)
	}
	in := paymentInput("pay-1")
	k.NoLeak(t, in["sender_did"].(string), in["sender_address"].(string), in["recipient_address"].(string), "50000", "pay-1", "pay-2", "insufficient")
}

// Nil providers are the no-op ones; the provider options configure an Engine, not a store.
func TestTelemetryOptions(t *testing.T) {
	if _, err := workflow.New(workflow.NewMemoryStore(), newPayments().registry(t), workflow.WithTracerProvider(nil), workflow.WithMeterProvider(nil)); err != nil {
		t.Errorf("nil providers: %v", err)
	}
	for name, o := range map[string]workflow.Option{
		"WithTracerProvider": workflow.WithTracerProvider(nil),
		"WithMeterProvider":  workflow.WithMeterProvider(nil),
	} {
		var oe *workflow.OptionError
		if _, err := workflow.OpenSQLiteStore(context.Background(), ":memory:", o); !errors.As(err, &oe) || oe.Option != name {
			t.Errorf("%s on a store: %v", name, err)
		}
	}
}

package anya_test

import (
	"strconv"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/telemetry"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/workflow"
)

// TestPaymentTrace makes one verified payment on the embedded chain with a Manager given a
// tracer and a meter provider (WithTracerProvider, WithMeterProvider) and checks that the
// payment is one trace rooted at Pay's span, holding the workflow's steps, the boundary
// crossings, the broadcast under the send step and the records write; that the workflow and
// the bus reported metrics; and that no DID, address, amount, payment ID, txid or record ID
// appears in any span or metric.
func TestPaymentTrace(t *testing.T) {
	k := telemetrytest.New(t)
	e := newEnv(t, anya.WithTracerProvider(k.TP), anya.WithMeterProvider(k.MP))
	const amount = 123_457
	p, err := e.m.Pay(e.verified(e.alice), anya.TriProtocol{PaymentID: "trace-pay-1", SenderDID: e.alice.String(),
		SenderAddress: e.alice.Address.String(), RecipientAddress: e.bob.Address.String(), AmountSat: amount})
	if err != nil {
		t.Fatal(err)
	}
	if p.Outcome != anya.OutcomeSent || p.Txid == "" {
		t.Fatalf("payment: %+v", p)
	}
	e.settle()

	pays := k.Named(anya.SpanPay)
	if len(pays) != 1 {
		t.Fatalf("%d %s spans, want 1; spans: %s", len(pays), anya.SpanPay, telemetrytest.Names(k.Ended()))
	}
	root := pays[0]
	if root.Parent().IsValid() {
		t.Errorf("%s has a parent: the test's context carries no span", anya.SpanPay)
	}
	tid := root.SpanContext().TraceID()
	byID := map[string]sdktrace.ReadOnlySpan{}
	var inTrace []sdktrace.ReadOnlySpan
	for _, s := range k.Ended() {
		if s.SpanContext().TraceID() == tid {
			byID[s.SpanContext().SpanID().String()] = s
			inTrace = append(inTrace, s)
		}
	}
	// Every span of the trace hangs from the root through spans of the trace.
	ancestors := func(s sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for q := byID[s.Parent().SpanID().String()]; q != nil; q = byID[q.Parent().SpanID().String()] {
			out = append(out, q)
		}
		return out
	}
	for _, s := range inTrace {
		if s == root {
			continue
		}
		if as := ancestors(s); len(as) == 0 || as[len(as)-1] != root {
			t.Errorf("span %s of the payment's trace is not under %s", s.Name(), anya.SpanPay)
		}
	}
	named := func(name string) []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range inTrace {
			if s.Name() == name {
				out = append(out, s)
			}
		}
		return out
	}
	stepOf := func(s sdktrace.ReadOnlySpan) string {
		for _, a := range ancestors(s) {
			if a.Name() == workflow.SpanStep {
				v, _ := telemetrytest.Attr(a, "anya.workflow.step")
				return v.AsString()
			}
		}
		return ""
	}
	if n := len(named(workflow.SpanRun)); n != 1 {
		t.Errorf("%d %s spans in the payment's trace, want 1", n, workflow.SpanRun)
	}
	if n := len(named(workflow.SpanStep)); n < 4 {
		t.Errorf("%d %s spans in the payment's trace, want one per step (at least 4)", n, workflow.SpanStep)
	}
	if n := len(named(security.SpanCross)); n == 0 {
		t.Errorf("no %s span in the payment's trace", security.SpanCross)
	}
	sends := named(bitcoin.SpanSend)
	if len(sends) != 1 {
		t.Errorf("%d %s spans in the payment's trace, want 1", len(sends), bitcoin.SpanSend)
	} else if step := stepOf(sends[0]); step != "send_payment" {
		t.Errorf("%s is under step %q, want the send step", bitcoin.SpanSend, step)
	}
	if n := len(named(dwn.SpanRecordsWrite)); n == 0 {
		t.Errorf("no %s span in the payment's trace; spans: %s", dwn.SpanRecordsWrite, telemetrytest.Names(inTrace))
	}

	secrets := []string{e.alice.String(), e.bob.String(), dwn.TenantToken(e.alice.String()), dwn.TenantToken(e.bob.String()),
		e.alice.Address.String(), e.bob.Address.String(), strconv.Itoa(amount), "trace-pay-1", p.Txid, p.RecordID}
	k.NoLeak(t, secrets...)

	rm := k.Collect(t)
	if n, ok := telemetrytest.Int(rm, workflow.MetricNameRuns, telemetry.KeyOutcome.String(string(workflow.StatusCompleted))); !ok || n != 1 {
		t.Errorf("%s completed = %d (reported: %v), want 1", workflow.MetricNameRuns, n, ok)
	}
	if n, ok := telemetrytest.Int(rm, workflow.MetricNameRuns, attribute.String("anya.outcome", "failed")); ok && n != 0 {
		t.Errorf("%s failed = %d, want 0", workflow.MetricNameRuns, n)
	}
	if n, ok := telemetrytest.Int(rm, bus.MetricNamePublished); !ok || n <= 0 {
		t.Errorf("%s = %d (reported: %v), want > 0", bus.MetricNamePublished, n, ok)
	}
}

package workflow_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/workflow"
)

var _ workflow.Guard = (*security.Boundaries)(nil)

// A guard sees each crossing once per step, from every other protocol the step's input reads,
// and what it returns is what the operation gets.
func TestGuardFuncSeesCrossings(t *testing.T) {
	var seen []string
	g := workflow.GuardFunc(func(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error) {
		seen = append(seen, from+"→"+to+":"+action)
		out := map[string]any{}
		for k, v := range data {
			if k != "secret" {
				out[k] = v
			}
		}
		return out, nil
	})
	var got map[string]any
	reg, _ := workflow.NewRegistry(
		workflow.Operation{Name: "web5.a", Func: func(context.Context, *workflow.Call) (map[string]any, error) {
			return map[string]any{"secret": "s", "x": 1}, nil
		}},
		workflow.Operation{Name: "bitcoin.b", Func: func(context.Context, *workflow.Call) (map[string]any, error) {
			return map[string]any{"y": 2}, nil
		}},
		workflow.Operation{Name: "ml.c", Func: func(_ context.Context, c *workflow.Call) (map[string]any, error) {
			got = c.Input
			return nil, nil
		}},
	)
	def := &workflow.Definition{Name: "g", Steps: []workflow.Step{
		{ID: "a", Operation: "web5.a"},
		{ID: "b", Operation: "bitcoin.b", Input: map[string]any{"n": "{{input.n}}"}},
		{ID: "c", Operation: "ml.c", Input: map[string]any{"secret": "{{steps.a.secret}}", "x": "{{steps.a.x}}", "y": "{{steps.b.y}}"}},
	}}
	e := newEngine(t, workflow.NewMemoryStore(), reg, []*workflow.Definition{def}, workflow.WithGuard(g))
	if _, err := e.Run(context.Background(), "g", "r", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, " ") != "bitcoin→ml:ml.c web5→ml:ml.c" {
		t.Fatalf("crossings %v", seen)
	}
	if _, ok := got["secret"]; ok || got["x"] != int64(1) || got["y"] != int64(2) {
		t.Fatalf("operation got %v", got)
	}
}

func senderContext(did string) *security.Context {
	return &security.Context{Principal: did, Scopes: []string{"payments:send"}, Credentials: []security.Credential{{
		Issuer: "did:web:kyc.example", Subject: did, ExpiresAt: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}}}
}

func guard(t testing.TB, audit *security.AuditLog) *security.Boundaries {
	t.Helper()
	g, err := security.New(security.DefaultBoundaries(), security.WithAudit(audit),
		security.WithRedactionKey([]byte("crash-test-redaction-key-000000")))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The verified payment with the default trust boundaries: every cross-protocol step input passes
// a boundary and is audited; without a verified identity the payment is refused.
func TestVerifiedPaymentThroughBoundaries(t *testing.T) {
	ctx := context.Background()
	audit, err := security.OpenAuditLog(ctx, filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	p := newPayments()
	e := newEngine(t, workflow.NewMemoryStore(), p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()},
		workflow.WithGuard(guard(t, audit)))

	sctx := security.NewContext(ctx, senderContext("did:key:z6MkSender"))
	res, err := e.Run(sctx, workflow.VerifiedPaymentName, "ok", paymentInput("ok"))
	if err != nil || res.Status != workflow.StatusCompleted {
		t.Fatalf("%v %+v", err, res)
	}
	entries, _ := audit.Entries(ctx, 1, 100)
	var crossings []string
	for _, en := range entries {
		crossings = append(crossings, en.From+"→"+en.To+":"+en.Action+":"+en.Decision)
	}
	want := []string{
		"web5→ml:ml.assess_risk:allow",
		"ml→bitcoin:bitcoin.send_payment:allow",
		"bitcoin→web5:web5.record_payment:allow",
		"ml→web5:web5.record_payment:allow",
	}
	if strings.Join(crossings, " ") != strings.Join(want, " ") {
		t.Fatalf("crossings\n got %v\nwant %v", crossings, want)
	}

	// A sender whose identity is not verified: the ML→Bitcoin crossing is refused, no payment.
	unverified := security.NewContext(ctx, &security.Context{Principal: "did:key:z6MkSender"})
	res, err = e.Run(unverified, workflow.VerifiedPaymentName, "unverified", paymentInput("unverified"))
	if !errors.Is(err, workflow.ErrRunFailed) || res.Step("send_payment").Status != workflow.StepFailed ||
		!strings.Contains(res.Error, "identity not verified") && !strings.Contains(res.Error, "needs a verified identity") {
		t.Fatalf("%v %+v", err, res)
	}
	if s := res.Step("send_payment"); s.Attempt != 0 {
		t.Fatalf("the send operation was called %d times", s.Attempt)
	}
	if p.count(workflow.OpSendPayment) != 1 {
		t.Fatalf("%d sends, want only the verified one", p.count(workflow.OpSendPayment))
	}
	last, _ := audit.Entries(ctx, uint64(len(entries)+2), 1)
	if len(last) != 1 || last[0].Decision != security.DecisionDeny || last[0].To != "bitcoin" || last[0].Rule != "privilege" {
		t.Fatalf("refusal not audited: %+v", last)
	}
	if _, err := audit.Verify(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

// An audit log that cannot record the crossing stops the run unfinished instead of failing it;
// once auditing works again, Resume completes it.
func TestUnauditableCrossingLeavesRunResumable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	audit, err := security.OpenAuditLog(ctx, filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	p := newPayments()
	store := workflow.NewMemoryStore()
	e := newEngine(t, store, p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()}, workflow.WithGuard(guard(t, audit)))
	_ = audit.Close()
	sctx := security.NewContext(ctx, senderContext("did:key:z6MkSender"))
	if _, err := e.Run(sctx, workflow.VerifiedPaymentName, "a1", paymentInput("a1")); !errors.Is(err, security.ErrAudit) {
		t.Fatalf("Run with a closed audit log = %v, want ErrAudit", err)
	}
	if got, _ := e.Get(ctx, "a1"); got.Status != workflow.StatusRunning {
		t.Fatalf("status %s, want running", got.Status)
	}
	audit2, err := security.OpenAuditLog(ctx, filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer audit2.Close()
	e2 := newEngine(t, store, p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()}, workflow.WithGuard(guard(t, audit2)))
	results, err := e2.Resume(ctx)
	if err != nil || len(results) != 1 || results[0].Status != workflow.StatusCompleted {
		t.Fatalf("Resume: %v %v", results, err)
	}
}

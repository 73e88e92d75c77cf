package anya_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/workflow"
)

// demoPayments runs the demo's three payments on e: order-1 sent, order-2 blocked by the fraud
// model, order-3 from bob, whose address is linked to no DID.
func demoPayments(e *env) {
	e.t.Helper()
	for _, p := range []struct {
		id     string
		from   *anya.Identity
		amount int64
		want   anya.Outcome
	}{{"order-1", e.alice, 25_000, anya.OutcomeSent}, {"order-2", e.alice, 100_000_000, anya.OutcomeBlocked},
		{"order-3", e.bob, 25_000, anya.OutcomeUnverified}} {
		to := e.bob
		if p.from == e.bob {
			to = e.alice
		}
		if got := e.pay(p.id, p.from, to, p.amount); got.Outcome != p.want {
			e.t.Fatalf("%s: %s, want %s", p.id, got.Outcome, p.want)
		}
	}
}

func hasProblem(h *anya.Health, part string) bool {
	return slices.ContainsFunc(h.Problems, func(p string) bool { return strings.Contains(p, part) })
}

// TestHealth: after the demo's payments a Manager is healthy — the chain answers and the notifier
// is at its tip, both engines are idle with the shipped models, the three protocols' breakers
// are closed, no run is unfinished and the audit chain verifies. Then the notifier stops while
// the chain grows (lag), the audit log is edited behind the Manager's back (tampered), and a
// breaker is forced open: each is a problem Health names.
func TestHealth(t *testing.T) {
	dir := t.TempDir()
	breakers, err := resilience.NewBreakerRegistry()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, anya.WithDataDir(dir), anya.WithEphemeralKeys(), anya.WithBreakers(breakers))
	demoPayments(e)
	// Settled: the notifier, the block triggers' checkpoint and the bridges at the chain's tip.
	waitFor(t, func() bool {
		h, err := e.m.Health(e.ctx)
		return err == nil && e.m.Notifier().Tip() == e.sim.Tip() && h.Chain.Checkpoint == e.sim.Tip()
	})
	e.settle()

	h, err := e.m.Health(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !h.OK || len(h.Problems) != 0 {
		t.Fatalf("healthy Manager: problems %q", h.Problems)
	}
	if c := h.Chain; !c.Reachable || c.Tip != e.sim.Tip() || c.Notified != c.Tip || c.Lag != 0 || c.Network != "regtest" ||
		c.Checkpoint != c.Tip {
		t.Errorf("chain %+v, want the simchain's tip %v everywhere", c, e.sim.Tip())
	}
	if len(h.Engines) != 2 || h.Engines[0].Role != "fraud" || h.Engines[0].Model != "fraud@1" || h.Engines[1].Model != "reputation@1" ||
		h.Engines[0].QueueDepth != 0 || h.Engines[0].Stats.Requests < 2 || h.Engines[0].Backend != e.m.Backend() {
		t.Errorf("engines %+v", h.Engines)
	}
	var names []string
	for _, b := range h.Breakers {
		names = append(names, b.Name)
		if b.State != resilience.StateClosed || b.Calls == 0 {
			t.Errorf("breaker %+v", b)
		}
	}
	if !slices.Equal(names, []string{"bitcoin", "bitcoin.chain", "ml", "ml.model", "web5", "web5.did", "web5.records"}) {
		t.Errorf("breakers %v", names)
	}
	head, err := e.m.Audit().Head(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Unfinished != 0 || h.Audit.Status != anya.AuditIntact || h.Audit.Head != head || h.Audit.Entries != int(head.Seq) || head.Seq == 0 {
		t.Errorf("unfinished %d, audit %+v (head %v)", h.Unfinished, h.Audit, head)
	}

	// Over the verify limit the chain is not walked, and that is no problem.
	if h, err := e.m.Health(e.ctx, anya.WithAuditVerifyLimit(int(head.Seq)-1)); err != nil || h.Audit.Status != anya.AuditUnchecked ||
		h.Audit.Head != head || h.Audit.Entries != 0 || !h.OK {
		t.Errorf("over the limit: %+v %v", h, err)
	}

	// The notifier stops; the chain grows.
	if err := e.m.Notifier().Close(); err != nil {
		t.Fatal(err)
	}
	e.mine(5, nil)
	// The audit log is edited behind the Manager's back.
	db := openSQLite(t, filepath.Join(dir, anya.AuditFile))
	if _, err := db.ExecContext(e.ctx, `UPDATE security_audit SET decision = 'allow' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(e.ctx, `UPDATE security_audit SET reason = 'rewritten' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	// The Bitcoin breaker is forced open.
	b, err := breakers.Get("bitcoin")
	if err != nil {
		t.Fatal(err)
	}
	b.ForceOpen()

	h, err = e.m.Health(e.ctx, anya.WithMaxNotifierLag(4))
	if err != nil {
		t.Fatal(err)
	}
	if h.OK || h.Chain.Lag != 5 || !hasProblem(h, "5 blocks behind") {
		t.Errorf("lag %d, problems %q", h.Chain.Lag, h.Problems)
	}
	if h.Audit.Status != anya.AuditTampered || len(h.Audit.Problems) == 0 || !strings.Contains(h.Audit.Problems[0], "3") ||
		!hasProblem(h, "audit log") {
		t.Errorf("tampered audit: %+v, problems %q", h.Audit, h.Problems)
	}
	if !hasProblem(h, "bitcoin circuit breaker is forced-open") {
		t.Errorf("problems %q", h.Problems)
	}
	if h, _ := e.m.Health(e.ctx, anya.WithMaxNotifierLag(5)); hasProblem(h, "behind") {
		t.Errorf("a lag within the bound is a problem: %q", h.Problems)
	}

	// ResetBreaker closes it; an unknown breaker is an *OpError.
	if err := e.m.ResetBreaker("bitcoin"); err != nil || b.State() != resilience.StateClosed {
		t.Errorf("ResetBreaker: %v, state %s", err, b.State())
	}
	var oe *anya.OpError
	if err := e.m.ResetBreaker("<script>"); !errors.As(err, &oe) || !errors.Is(err, anya.ErrInvalidOp) {
		t.Errorf("ResetBreaker of an unknown breaker: %v", err)
	}
}

// TestHealthChainUnreachableAndUnfinished: a chain that stops answering is reported, not
// returned as an error; a payment cut short is an unfinished run; after Close, Health is
// ErrClosed; a cancelled context is its error.
func TestHealthChainUnreachableAndUnfinished(t *testing.T) {
	h := newHost(t, 1_000_000)
	ctx := t.Context()
	pctx, cancel := context.WithCancel(ctx)
	h.chain.set(func(c *hookChain) {
		c.testAccept = func(context.Context, *wire.MsgTx) error {
			cancel() // the payment is cut short while the send step checks its transaction
			return context.Canceled
		}
	})
	if _, err := h.pay(pctx, "cut-1", 25_000); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted payment: %v", err)
	}
	unreachable := errors.New("connection refused")
	h.chain.set(func(c *hookChain) {
		c.testAccept = nil
		c.bestBlock = func(context.Context) error { return unreachable }
	})
	hl, err := h.m.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hl.OK || hl.Chain.Reachable || !strings.Contains(hl.Chain.Error, "connection refused") || !hasProblem(hl, "chain unreachable") {
		t.Errorf("unreachable chain: %+v, problems %q", hl.Chain, hl.Problems)
	}
	if hl.Unfinished != 1 || !slices.Equal(hl.UnfinishedRuns, []string{"cut-1"}) {
		t.Errorf("unfinished %d %v", hl.Unfinished, hl.UnfinishedRuns)
	}
	cancelled, stop := context.WithCancel(ctx)
	stop()
	if _, err := h.m.Health(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Health: %v", err)
	}
	for _, tc := range []struct {
		option string
		opt    anya.HealthOption
	}{{"WithAuditVerifyLimit", anya.WithAuditVerifyLimit(-1)}, {"WithMaxNotifierLag", anya.WithMaxNotifierLag(-2)}, {"HealthOption", nil}} {
		var oe *anya.OptionError
		if _, err := h.m.Health(ctx, tc.opt); !errors.As(err, &oe) || oe.Option != tc.option || !errors.Is(err, anya.ErrInvalidOption) {
			t.Errorf("%s: %v", tc.option, err)
		}
	}
	h.chain.set(func(c *hookChain) { c.bestBlock = nil })
	if err := h.m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Health(ctx); !errors.Is(err, anya.ErrClosed) {
		t.Errorf("Health after Close: %v", err)
	}
}

// TestPaymentsAndRuns: the demo's payments listed newest first with their outcome, sender,
// amount and the reason of each one not sent; narrowed by outcome and sender and paged; a
// run's detail shows each step's input and output; bad options are *OptionErrors.
func TestPaymentsAndRuns(t *testing.T) {
	e := newEnv(t)
	demoPayments(e)
	ctx := e.ctx
	all, err := e.m.Payments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range all {
		got = append(got, p.PaymentID+" "+string(p.Outcome))
	}
	if want := []string{"order-3 unverified", "order-2 blocked", "order-1 sent"}; !slices.Equal(got, want) {
		t.Fatalf("Payments = %q, want %q", got, want)
	}
	sent, blocked, unverified := all[2], all[1], all[0]
	if sent.Reason != nil || sent.Sender != e.alice.String() || sent.SenderAddress != e.alice.Address.String() ||
		sent.Recipient != e.bob.Address.String() || sent.AmountSat != 25_000 || sent.Txid == "" || sent.Created.IsZero() {
		t.Errorf("sent %+v", sent)
	}
	if r := blocked.Reason; r == nil || r.Reason != anya.ReasonRiskAboveThreshold || r.Step != "fraud_assessment" ||
		!strings.Contains(r.Message, "0.70") || blocked.AmountSat != 100_000_000 {
		t.Errorf("blocked %+v reason %+v", blocked, r)
	}
	if r := unverified.Reason; r == nil || r.Reason != anya.ReasonNoLink || r.Step != "verify_sender" || unverified.Sender != e.bob.String() {
		t.Errorf("unverified %+v reason %+v", unverified, r)
	}

	for _, tc := range []struct {
		name string
		opts []anya.ListOption
		want []string
	}{
		{"blocked", []anya.ListOption{anya.ListOutcome(anya.OutcomeBlocked)}, []string{"order-2"}},
		{"sent or unverified", []anya.ListOption{anya.ListOutcome(anya.OutcomeSent, anya.OutcomeUnverified)}, []string{"order-3", "order-1"}},
		{"failed", []anya.ListOption{anya.ListOutcome(anya.OutcomeFailed)}, []string{}},
		{"alice's", []anya.ListOption{anya.ListSender(e.alice.String())}, []string{"order-2", "order-1"}},
		{"alice's sent", []anya.ListOption{anya.ListSender(e.alice.String()), anya.ListOutcome(anya.OutcomeSent)}, []string{"order-1"}},
		{"page 1", []anya.ListOption{anya.ListLimit(2)}, []string{"order-3", "order-2"}},
		{"page 2", []anya.ListOption{anya.ListLimit(2), anya.ListBefore("order-2")}, []string{"order-1"}},
		// The outcome is decided after listing: a page of sent payments skips the others.
		{"sent, one a page", []anya.ListOption{anya.ListLimit(1), anya.ListOutcome(anya.OutcomeSent, anya.OutcomeBlocked)}, []string{"order-2"}},
		{"sent, next page", []anya.ListOption{anya.ListLimit(1), anya.ListOutcome(anya.OutcomeSent, anya.OutcomeBlocked), anya.ListBefore("order-2")}, []string{"order-1"}},
	} {
		ps, err := e.m.Payments(ctx, tc.opts...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ids := []string{}
		for _, p := range ps {
			ids = append(ids, p.PaymentID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, ids, tc.want)
		}
	}

	runs, err := e.m.Runs(ctx, anya.ListStatus(workflow.StatusTerminated))
	if err != nil || len(runs) != 1 || runs[0].ID != "order-3" || runs[0].Workflow != workflow.VerifiedPaymentName {
		t.Fatalf("terminated runs %+v %v", runs, err)
	}
	d, err := e.m.InspectRun(ctx, "order-2")
	if err != nil {
		t.Fatal(err)
	}
	if d.Payment == nil || d.Payment.Outcome != anya.OutcomeBlocked || len(d.Steps) != 4 {
		t.Fatalf("detail %+v", d)
	}
	risk := d.Steps[1]
	if risk.ID != "fraud_assessment" || risk.Input["amount_sat"] != int64(100_000_000) || risk.Output["risk_score"] != blocked.Risk ||
		risk.Duration() < 0 || risk.Started.IsZero() {
		t.Errorf("risk step %+v", risk)
	}
	if d.Steps[2].Status != workflow.StepSkipped || d.Steps[2].Input != nil {
		t.Errorf("send step %+v", d.Steps[2])
	}
	if _, err := e.m.InspectRun(ctx, "nope"); !errors.Is(err, workflow.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}

	for _, tc := range []struct {
		option string
		call   func() error
	}{
		{"ListLimit", func() error { _, err := e.m.Payments(ctx, anya.ListLimit(0)); return err }},
		{"ListOutcome", func() error { _, err := e.m.Payments(ctx, anya.ListOutcome("stolen")); return err }},
		{"ListSender", func() error { _, err := e.m.Payments(ctx, anya.ListSender("")); return err }},
		{"ListWorkflow", func() error { _, err := e.m.Payments(ctx, anya.ListWorkflow("x")); return err }},
		{"ListStatus", func() error { _, err := e.m.Payments(ctx, anya.ListStatus(workflow.StatusFailed)); return err }},
		{"ListOutcome", func() error { _, err := e.m.Runs(ctx, anya.ListOutcome(anya.OutcomeSent)); return err }},
		{"ListStatus", func() error { _, err := e.m.Runs(ctx, anya.ListStatus("asleep")); return err }},
		{"ListBefore", func() error { _, err := e.m.Runs(ctx, anya.ListBefore(strings.Repeat("x", 200))); return err }},
		{"ListOption", func() error { _, err := e.m.Runs(ctx, nil); return err }},
	} {
		var oe *anya.OptionError
		if err := tc.call(); !errors.As(err, &oe) || oe.Option != tc.option {
			t.Errorf("%s: %v", tc.option, err)
		}
	}
}

// TestModels: the shipped models' versions with their cards, the serving ones marked.
func TestModels(t *testing.T) {
	m, err := anya.New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ms, err := m.Models(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mi := range ms {
		got = append(got, mi.Manifest.ID()+" "+mi.Serving)
		if mi.Card == nil || mi.Card.Model != mi.Manifest.ID() || len(mi.Card.ROC) == 0 || mi.Card.Test.AUC <= 0.5 {
			t.Errorf("%s: card %+v", mi.Manifest.ID(), mi.Card)
		}
		if mi.Serving != "" && mi.Backend != m.Backend() {
			t.Errorf("%s: backend %q", mi.Manifest.ID(), mi.Backend)
		}
	}
	if want := []string{"fraud@1 fraud", "reputation@1 reputation"}; !slices.Equal(got, want) {
		t.Errorf("Models = %q, want %q", got, want)
	}
}

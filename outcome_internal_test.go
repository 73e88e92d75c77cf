package anya

import (
	"context"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/workflow"
)

// A payment whose run ended unsent just before a crash — before the Manager noted its outcome —
// gets its outcome noted and its event published at the next start.
func TestOutcomeNotedAtTheNextStart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	m, err := New(WithDataDir(dir), WithChain(sim))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	key, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	id, err := m.AddIdentity(ctx, bob, key)
	if err != nil {
		t.Fatal(err)
	}
	// What Pay does for a new payment, up to the run's end, and no further: the crash.
	if err := m.state.start(ctx, "crash-1", nil); err != nil {
		t.Fatal(err)
	}
	res, err := m.engine.Run(ctx, workflow.VerifiedPaymentName, "crash-1", map[string]any{"payment_id": "crash-1", "sender_did": bob.String(),
		"sender_address": id.Address.String(), "recipient_address": id.Address.String(), "amount_sat": 10_000})
	if err != nil || res.Status != workflow.StatusTerminated {
		t.Fatalf("run: %+v %v", res, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := make(chan PaymentEvent, 4)
	if _, err := bus.Subscribe(b, "anya.payment.>", func(_ context.Context, e bus.Envelope[PaymentEvent]) error {
		got <- e.Payload
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	m, err = New(WithDataDir(dir), WithChain(sim), WithBus(b))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	select {
	case ev := <-got:
		if ev.PaymentID != "crash-1" || ev.Outcome != OutcomeUnverified || ev.Refusal == nil || ev.Refusal.Reason != ReasonNoLink ||
			ev.DID != bob.String() || ev.Seq != 1 {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no event for the payment that ended before the crash")
	}
	p, err := m.Payment(ctx, "crash-1")
	if err != nil || len(p.Events) != 1 || p.Refusal.Reason != ReasonNoLink {
		t.Fatalf("stored payment %+v %v", p, err)
	}
	if open, err := m.state.openOutcomes(ctx); err != nil || len(open) != 0 {
		t.Fatalf("payments still open: %v %v", open, err)
	}
}

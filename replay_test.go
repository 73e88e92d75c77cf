package anya_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/workflow"
)

// TestStoredPaymentEqualsLive: for every outcome, the Payment that Pay returned live, the one
// paying it again returns, the one Execute returns, and the one Manager.Payment looks up are
// equal, field for field. Once the chain moves, the stored payment shows where its transaction
// is (height, block hash) and every event: the confirmation, a reorg, the confirmation again.
func TestStoredPaymentEqualsLive(t *testing.T) {
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	events := recordPaymentEvents(t, b)
	e := newEnv(t, anya.WithBus(b))
	ctx := e.ctx
	carol, err := e.m.NewIdentity(ctx) // linked, without coins: her payment fails in its send
	if err != nil {
		t.Fatal(err)
	}
	e.link(carol)
	failed := anya.TriProtocol{PaymentID: "eq-failed", SenderDID: carol.String(), SenderAddress: carol.Address.String(),
		RecipientAddress: e.alice.Address.String(), AmountSat: 10_000}
	if _, err := e.m.Workflows().Run(e.verified(carol), workflow.VerifiedPaymentName, failed.PaymentID, map[string]any{
		"payment_id": failed.PaymentID, "sender_did": failed.SenderDID, "sender_address": failed.SenderAddress,
		"recipient_address": failed.RecipientAddress, "amount_sat": failed.AmountSat}); err == nil {
		t.Fatal("carol's payment without coins was sent")
	}
	op := func(id string, from *anya.Identity, amount int64) anya.TriProtocol {
		return anya.TriProtocol{PaymentID: id, SenderDID: from.String(), SenderAddress: from.Address.String(),
			RecipientAddress: e.bob.Address.String(), AmountSat: amount}
	}
	var sent *anya.Payment
	for _, c := range []struct {
		op      anya.TriProtocol
		outcome anya.Outcome
	}{
		{op("eq-sent", e.alice, 25_000), anya.OutcomeSent},
		{op("eq-blocked", e.alice, 100_000_000), anya.OutcomeBlocked},
		{op("eq-unverified", e.bob, 10_000), anya.OutcomeUnverified},
		{failed, anya.OutcomeFailed},
	} {
		t.Run(string(c.outcome), func(t *testing.T) {
			wantErr := func(err error) {
				t.Helper()
				if c.outcome == anya.OutcomeFailed && !errors.Is(err, anya.ErrPaymentFailed) || c.outcome != anya.OutcomeFailed && err != nil {
					t.Fatal(err)
				}
			}
			live, err := e.m.Pay(ctx, c.op)
			wantErr(err)
			if live.Outcome != c.outcome {
				t.Fatalf("outcome %s, want %s", live.Outcome, c.outcome)
			}
			replay, err := e.m.Pay(ctx, c.op)
			wantErr(err)
			res, err := e.m.Execute(ctx, c.op)
			wantErr(err)
			lookup, err := e.m.Payment(ctx, c.op.PaymentID)
			if err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string]*anya.Payment{"paid again": replay, "executed": res.(*anya.Payment), "looked up": lookup} {
				if !reflect.DeepEqual(got, live) {
					t.Errorf("%s:\n%+v\nlive:\n%+v", name, got, live)
				}
			}
			if live.Outcome == anya.OutcomeSent {
				sent = live
			}
		})
	}
	if sent == nil {
		t.Fatal("no payment was sent")
	}
	if sent.VerificationScore != 1 || sent.Refusal != nil || sent.Confirmation == nil ||
		*sent.Confirmation != (anya.Confirmation{Status: anya.PaymentBroadcast}) || len(sent.Events) != 1 ||
		sent.Events[0].Outcome != anya.OutcomeSent || sent.Events[0].Status != anya.PaymentBroadcast || sent.Events[0].Seq != 1 {
		t.Fatalf("sent payment %+v, confirmation %+v, events %+v", sent, sent.Confirmation, sent.Events)
	}

	// Confirmed by the next block.
	e.mine(1, nil)
	events.wait(t, "eq-sent", 2)
	tip := e.sim.Tip()
	p, err := e.m.Payment(ctx, "eq-sent")
	if err != nil {
		t.Fatal(err)
	}
	if *p.Confirmation != (anya.Confirmation{Status: anya.PaymentConfirmed, Height: tip.Height, BlockHash: tip.Hash.String()}) {
		t.Fatalf("after the block: %+v, want confirmed at %d %s", p.Confirmation, tip.Height, tip.Hash)
	}
	if len(p.Events) != 2 || p.Events[1].Status != anya.PaymentConfirmed || p.Events[1].Block != tip || p.Events[1].Seq != 2 {
		t.Fatalf("events after the block: %+v", p.Events)
	}
	// Everything else is as it was.
	p.Confirmation, p.Events = sent.Confirmation, sent.Events
	if !reflect.DeepEqual(p, sent) {
		t.Fatalf("after the block:\n%+v\nwant, but for its confirmation:\n%+v", p, sent)
	}

	// A reorg takes the block away; the payment confirms again in the new chain.
	if _, err := e.sim.Reorg(1, 2); err != nil {
		t.Fatal(err)
	}
	evs := events.wait(t, "eq-sent", 4)
	p, err = e.m.Payment(ctx, "eq-sent")
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for i, ev := range p.Events {
		statuses = append(statuses, ev.Status)
		if ev.Seq != i+1 || !reflect.DeepEqual(ev, evs[i].Payload) {
			t.Errorf("event %d: %+v, published %+v", i, ev, evs[i].Payload)
		}
	}
	if !reflect.DeepEqual(statuses, []string{anya.PaymentBroadcast, anya.PaymentConfirmed, anya.PaymentBroadcast, anya.PaymentConfirmed}) {
		t.Fatalf("history %v, want sent, confirmed, reorged, confirmed", statuses)
	}
	again := p.Events[3].Block
	if again.Height != tip.Height || again.Hash == tip.Hash ||
		*p.Confirmation != (anya.Confirmation{Status: anya.PaymentConfirmed, Height: again.Height, BlockHash: again.Hash.String()}) {
		t.Fatalf("after the reorg: %+v (first block %v, now %v)", p.Confirmation, tip, again)
	}
}

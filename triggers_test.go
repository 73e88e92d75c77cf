package anya_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bus"
)

// A block's payments of several senders move as one batch: with two confirmations they are
// included by the block that mines them and confirmed by the next, each record rewritten and
// each payment's events published once, in order; a reorg takes them all back.
func TestBlockMovesItsPaymentsTogether(t *testing.T) {
	b, _ := bus.New()
	defer b.Close()
	moves := make(chan anya.PaymentEvent, 64)
	for _, topic := range []string{anya.TopicPaymentConfirmed, anya.TopicPaymentReorged} {
		if _, err := bus.Subscribe(b, topic, func(_ context.Context, ev bus.Envelope[anya.PaymentEvent]) error {
			moves <- ev.Payload
			return nil
		}, bus.QueueSize(64)); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, anya.WithBus(b), anya.WithConfirmations(2))
	e.mine(2, e.bob)
	e.mine(100, nil)
	e.link(e.bob)
	var ids []string
	for i := range 3 {
		for _, from := range []*anya.Identity{e.alice, e.bob} {
			to := e.bob
			if from == e.bob {
				to = e.alice
			}
			id := fmt.Sprintf("batch-%d-%s", i, from.String()[len(from.String())-6:])
			if p := e.pay(id, from, to, 10_000+int64(i)); p.Outcome != anya.OutcomeSent {
				t.Fatalf("payment %s: %s %s", id, p.Outcome, p.Error)
			}
			ids = append(ids, id)
		}
	}
	collect := func(status string) map[string]anya.PaymentEvent {
		t.Helper()
		got := map[string]anya.PaymentEvent{}
		for len(got) < len(ids) {
			select {
			case ev := <-moves:
				if ev.Status != status {
					t.Fatalf("event %+v, want %s", ev, status)
				}
				if _, dup := got[ev.PaymentID]; dup {
					t.Fatalf("a second %s event for %s", status, ev.PaymentID)
				}
				got[ev.PaymentID] = ev
			case <-time.After(30 * time.Second):
				t.Fatalf("%d of %d %s events", len(got), len(ids), status)
			}
		}
		return got
	}
	e.mine(1, nil)
	including := e.sim.Tip()
	e.mine(1, nil)
	confirmed := collect(anya.PaymentConfirmed)
	for _, id := range ids {
		if ev := confirmed[id]; ev.Block != including || ev.Seq != 2 {
			t.Fatalf("confirmed event of %s: %+v, want block %v, seq 2", id, ev, including)
		}
	}
	records := func(status, block string) {
		t.Helper()
		n := 0
		for _, from := range []*anya.Identity{e.alice, e.bob} {
			for id, pr := range e.paymentRecords(from) {
				if !slices.Contains(ids, id) {
					continue
				}
				n++
				if pr.Status != status || pr.BlockHash != block {
					t.Fatalf("record of %s: %+v, want %s in block %q", id, pr, status, block)
				}
			}
		}
		if n != len(ids) {
			t.Fatalf("%d payment records, want %d", n, len(ids))
		}
	}
	records(anya.PaymentConfirmed, including.Hash.String())
	if _, err := e.sim.Reorg(2, 0); err != nil { // both blocks leave: every payment is back in the mempool
		t.Fatal(err)
	}
	collect(anya.PaymentBroadcast)
	for _, id := range ids {
		p, err := e.m.Payment(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range p.Events {
			got = append(got, fmt.Sprintf("%s#%d", ev.Status, ev.Seq))
		}
		want := []string{anya.PaymentBroadcast + "#1", anya.PaymentConfirmed + "#2", anya.PaymentBroadcast + "#3"}
		if !slices.Equal(got, want) {
			t.Fatalf("events of %s: %v, want %v", id, got, want)
		}
	}
	records(anya.PaymentBroadcast, "")
	select {
	case ev := <-moves:
		t.Fatalf("an event more: %+v", ev)
	default:
	}
}

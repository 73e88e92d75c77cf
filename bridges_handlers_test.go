package anya_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge/handler"
	"github.com/anya-org/anya-go/bridge/trigger"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
)

// The host's event handlers run on the events the Manager fires its triggers on: a block's
// transaction paying a linked address reaches the "payments" handler, whose findings and side
// effect — through the Bitcoin → Web5 boundary — are in the block's BridgeBlock, after a
// post-processor dropped the effects of transactions touching no linked address; a DID
// document change delivered twice runs the "did-watch" handler twice and its side effect once.
func TestEventHandlersThroughTheTriggers(t *testing.T) {
	var (
		mu       sync.Mutex
		noted    = map[string]int{} // txid → runs of the payments handler's effect
		watched  int                // runs of the did-watch handler
		notified int                // runs of its effect
	)
	payments := func(_ context.Context, ev handler.Event) (handler.Result, error) {
		txid, _ := ev.Data["txid"].(string)
		links, _ := ev.Data["links"].([]any)
		return handler.Result{Values: map[string]any{"txid": txid, "links": len(links)}, Effects: []handler.Effect{{
			Name:  "note",
			Cross: &handler.Crossing{From: security.Bitcoin, To: security.Web5, Action: trigger.CrossRecordTx, Data: map[string]any{"txid": txid}},
			Run: func(_ context.Context, data map[string]any) (any, error) {
				mu.Lock()
				defer mu.Unlock()
				noted[data["txid"].(string)]++
				return "noted", nil
			},
		}}}, nil
	}
	linkedOnly := func(_ context.Context, _ handler.Event, rs []handler.Result) ([]handler.Result, error) {
		for i := range rs {
			if n, _ := rs[i].Values["links"].(int); rs[i].Handler == "payments" && n == 0 {
				rs[i].Effects = nil
			}
		}
		return rs, nil
	}
	didWatch := func(_ context.Context, ev handler.Event) (handler.Result, error) {
		mu.Lock()
		watched++
		mu.Unlock()
		return handler.Result{Effects: []handler.Effect{{Name: "notify", Run: func(context.Context, map[string]any) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			notified++
			return nil, nil
		}}}}, nil
	}
	e := newEnv(t, anya.WithEventHandler(trigger.KindTx, "payments", payments), anya.WithPostProcessor("linked-only", linkedOnly),
		anya.WithEventHandler("web5.did.*", "did-watch", didWatch))
	blocks := make(chan anya.BridgeBlock, 64)
	if _, err := bus.Subscribe(e.m.Bus(), anya.TopicBridgeBlock, func(_ context.Context, ev bus.Envelope[anya.BridgeBlock]) error {
		blocks <- ev.Payload
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.link(e.bob)
	// A transaction touching no linked address, in the same block.
	payer, err := bitcointest.NewWalletFromSeed(e.sim, "unlinked payer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Mine(101, simchain.PayTo(payer.PkScript())); err != nil {
		t.Fatal(err)
	}
	unlinked, err := payer.Send(e.ctx, wire.NewTxOut(20_000, mustParse(t, mustAddr(t, "nobody's")).PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	p := e.pay("handled-1", e.alice, e.bob, 50_000)
	if p.Outcome != anya.OutcomeSent {
		t.Fatalf("%s %+v", p.Outcome, p.Refusal)
	}
	mined := e.mineOne()
	var handled, other *anya.HandledEvent
	for handled == nil {
		select {
		case b := <-blocks:
			if b.Block.Hash != mined {
				continue
			}
			for i, h := range b.Handled {
				switch h.Event {
				case trigger.KindTx + "/" + p.Txid + "/" + mined.String():
					handled = &b.Handled[i]
				case trigger.KindTx + "/" + unlinked.TxHash().String() + "/" + mined.String():
					other = &b.Handled[i]
				}
			}
			if handled == nil {
				t.Fatalf("block %s: the payment was not handled: %+v", mined, b.Handled)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no BridgeBlock for the mined block")
		}
	}
	if handled.Err != "" || handled.Values["payments"]["txid"] != p.Txid || len(handled.Effects) != 1 ||
		handled.Effects[0].Effect != "note" || handled.Effects[0].Result != "noted" || handled.Effects[0].Denied {
		t.Fatalf("handled %+v", handled)
	}
	if other == nil || other.Values["payments"]["links"] != 0 || len(other.Effects) != 0 {
		t.Fatalf("the transaction touching no linked address: %+v, want its values and no effect", other)
	}
	mu.Lock()
	if noted[p.Txid] != 1 || len(noted) != 1 {
		t.Fatalf("the note effect ran %d times for the payment", noted[p.Txid])
	}
	mu.Unlock()

	// A DID document change, delivered twice: the handler sees both, the effect runs once.
	up := anya.DIDUpdate{DID: e.alice.String(), Version: "v-test", Document: &did.Document{ID: e.alice.String()}}
	for range 2 {
		if err := bus.Publish(e.ctx, e.m.Bus(), anya.TopicDIDUpdated, up); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		mu.Lock()
		w, n := watched, notified
		mu.Unlock()
		if w == 2 {
			if n != 1 {
				t.Fatalf("the notify effect ran %d times for one event delivered twice", n)
			}
			break
		}
		select {
		case <-deadline:
			t.Fatalf("did-watch ran %d times, want 2", w)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Handlers are refused at New, named: a bad pattern, a duplicate name, a newline in a name.
func TestEventHandlerOptionsRefused(t *testing.T) {
	f := func(context.Context, handler.Event) (handler.Result, error) { return handler.Result{}, nil }
	for name, opts := range map[string][]anya.Option{
		"bad pattern":    {anya.WithEventHandler("bitcoin.>.tx", "h", f)},
		"duplicate name": {anya.WithEventHandler("bitcoin.tx", "h", f), anya.WithEventHandler("web5.>", "h", f)},
		"newline":        {anya.WithEventHandler("bitcoin.tx", "h\nx", f)},
		"nil handler":    {anya.WithEventHandler("bitcoin.tx", "h", nil)},
		"nil post":       {anya.WithPostProcessor("p", nil)},
	} {
		_, err := anya.New(opts...)
		var oe *anya.OptionError
		if !errors.As(err, &oe) || (oe.Option != "WithEventHandler" && oe.Option != "WithPostProcessor") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

package anya_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge/handler"
	"github.com/anya-org/anya-go/bridge/trigger"
	"github.com/anya-org/anya-go/bus"
)

// A reorg takes back what the bridges wrote for the block in every store they wrote to — bob's
// transaction record too, though his link was revoked between the block and the reorg (the
// reverse index no longer names him) — and retracts the triggers' side effects: the host's
// action with an Undo half is given the result it returned; the one without is reported
// retracted, with its result, on TopicBridgeBlock for the host to compensate, as is the side
// effect of the host's event handler.
func TestReorgUndoesWritesOfRevokedLinksAndRetractsTriggers(t *testing.T) {
	var (
		mu     sync.Mutex
		notes  = map[string]int{} // event → runs of host.note
		undone = map[string]any{} // event → the result host.note's Undo was given
	)
	cross := trigger.Crossing{From: "bitcoin", To: "web5", Action: trigger.CrossRecordTx}
	e := newEnv(t,
		anya.WithTriggers(
			trigger.Definition{Name: "host-note", On: trigger.KindTx, When: "size(data.links) > 0", Action: "host.note", Cross: cross,
				Params: map[string]string{"txid": "data.txid"}},
			trigger.Definition{Name: "host-mail", On: trigger.KindTx, When: "size(data.links) > 0", Action: "host.mail", Cross: cross,
				Params: map[string]string{"txid": "data.txid"}}),
		anya.WithTriggerAction("host.note", trigger.Action{
			Run: func(_ context.Context, id string, data map[string]any) (any, error) {
				mu.Lock()
				defer mu.Unlock()
				notes[id]++
				return map[string]any{"noted": data["txid"]}, nil
			},
			Undo: func(_ context.Context, id string, result any) error {
				mu.Lock()
				defer mu.Unlock()
				undone[id] = result
				return nil
			},
		}),
		anya.WithTriggerAction("host.mail", trigger.Action{Run: func(context.Context, string, map[string]any) (any, error) {
			return "mailed", nil
		}}),
		anya.WithEventHandler(trigger.KindTx, "host-handler", func(context.Context, handler.Event) (handler.Result, error) {
			return handler.Result{Effects: []handler.Effect{{Name: "ping", Run: func(context.Context, map[string]any) (any, error) {
				return "pinged", nil
			}}}}, nil
		}))
	var disconnects []anya.BridgeBlock
	arrived := make(chan struct{}, 16)
	if _, err := bus.Subscribe(e.m.Bus(), anya.TopicBridgeBlock, func(_ context.Context, ev bus.Envelope[anya.BridgeBlock]) error {
		if !ev.Payload.Connected {
			mu.Lock()
			disconnects = append(disconnects, ev.Payload)
			mu.Unlock()
			arrived <- struct{}{}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.link(e.bob)
	p := e.pay("reorg-revoked", e.alice, e.bob, 50_000)
	if p.Outcome != anya.OutcomeSent {
		t.Fatalf("%s %+v", p.Outcome, p.Refusal)
	}
	txid := mustHash(t, p.Txid)
	first := e.mineOne()
	event := trigger.KindTx + "/" + p.Txid + "/" + first.String()
	if recs := e.txRecords(e.bob, p.Txid); len(recs) != 1 {
		t.Fatalf("bob's transaction records %+v", recs)
	}
	mu.Lock()
	if notes[event] != 1 {
		t.Fatalf("host.note ran %d times for %s", notes[event], event)
	}
	mu.Unlock()

	if err := e.m.RevokeLink(e.ctx, e.bob.String(), e.bob.Address.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Reorg(1, 2, simchain.Exclude(txid)); err != nil {
		t.Fatal(err)
	}
	e.settle()
	select { // the bus delivers the disconnect's event after the bridges moved past it
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatalf("no disconnect on %s", anya.TopicBridgeBlock)
	}
	if recs := e.txRecords(e.bob, p.Txid); len(recs) != 0 {
		t.Fatalf("the reorged-out transaction is still recorded in bob's store (link revoked since): %+v", recs)
	}
	if recs := e.txRecords(e.alice, p.Txid); len(recs) != 0 {
		t.Fatalf("the reorged-out transaction is still recorded in alice's store: %+v", recs)
	}
	mu.Lock()
	defer mu.Unlock()
	if r, ok := undone[event].(map[string]any); !ok || r["noted"] != p.Txid {
		t.Fatalf("host.note's Undo for %s: %v (all: %v)", event, undone[event], undone)
	}
	var got map[string]anya.TriggerRetraction
	for _, d := range disconnects {
		if d.Block.Hash == first {
			got = map[string]anya.TriggerRetraction{}
			for _, r := range d.Retracted {
				if r.Event == event {
					got[r.Trigger+r.Handler+"/"+r.Effect] = r
				}
			}
		}
	}
	if got == nil {
		t.Fatalf("no disconnect of %s on %s: %+v", first, anya.TopicBridgeBlock, disconnects)
	}
	if r := got["host-note/"]; !r.Undone || r.Err != "" {
		t.Errorf("host-note retraction %+v, want undone", r)
	}
	if r := got["host-mail/"]; r.Undone || r.Result != "mailed" {
		t.Errorf("host-mail retraction %+v, want marked retracted with its result", r)
	}
	if _, ok := got["record-linked-tx/"]; !ok {
		t.Errorf("record-linked-tx not retracted: %+v", got)
	}
	if r := got["host-handler/ping"]; r.Result != "pinged" {
		t.Errorf("the event handler's effect not retracted: %+v", got)
	}
}

package anya_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/dwn"
)

// One transaction paying many linked addresses: the record-linked-tx trigger verifies every
// link again (several at once) and records the transaction in the store of each DID whose link
// still verifies — once, in the links' order — and lists, without recording anything for it,
// the one whose link no longer does (its credential expired while it stayed in the index).
func TestRecordLinkedTxManyLinks(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	e := newEnv(t, anya.WithClock(now)) // alice is linked now
	// The others are linked 200 days later; 200 days after that, alice's link (valid for
	// DefaultLinkValidity, a year) has expired and theirs have not.
	clock.Add(int64(200 * 24 * time.Hour))
	ids := []*anya.Identity{e.bob}
	for range 10 {
		id, err := e.m.NewIdentity(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		e.link(id)
	}
	clock.Add(int64(200 * 24 * time.Hour))

	var (
		mu       sync.Mutex
		outcomes []anya.TriggerOutcome
	)
	sub := subscribeOutcomes(t, e.m, &mu, &outcomes)
	defer sub()
	funder, err := bitcointest.NewWalletFromSeed(e.sim, "record-linked-tx funder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Mine(101, simchain.PayTo(funder.PkScript())); err != nil {
		t.Fatal(err)
	}
	e.settle()
	all := append([]*anya.Identity{e.alice}, ids...)
	outs := make([]*wire.TxOut, len(all))
	for i, id := range all {
		outs[i] = wire.NewTxOut(20_000, id.Address.PkScript())
	}
	tx, err := funder.Send(e.ctx, outs...)
	if err != nil {
		t.Fatal(err)
	}
	e.mineOne()
	txid := tx.TxHash().String()
	// WaitBridges returns once the checkpoint moved; the block's event reaches the subscriber
	// after that.
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := len(outcomes)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	mu.Lock()
	defer mu.Unlock()
	var got *anya.TriggerOutcome
	for i := range outcomes {
		if outcomes[i].Trigger == "record-linked-tx" {
			if got != nil {
				t.Fatalf("record-linked-tx fired twice: %+v", outcomes)
			}
			got = &outcomes[i]
		}
	}
	if got == nil || got.Err != "" || got.Denied {
		t.Fatalf("record-linked-tx: %+v", got)
	}
	raw, err := json.Marshal(got.Result)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Recorded   []string `json:"recorded"`
		Unverified []string `json:"unverified"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if want := []string{e.alice.String() + " " + e.alice.Address.String()}; !slices.Equal(res.Unverified, want) {
		t.Errorf("unverified %v, want %v", res.Unverified, want)
	}
	if len(res.Recorded) != len(ids) {
		t.Fatalf("%d records written, want %d: %+v", len(res.Recorded), len(ids), res)
	}
	if recs := hostTxRecords(t, e.m, e.alice, txid); len(recs) != 0 {
		t.Errorf("a transaction record in the store of alice, whose link expired: %+v", recs)
	}
	for i, id := range ids {
		recs := hostTxRecords(t, e.m, id, txid)
		if len(recs) != 1 || recs[0].Address != id.Address.String() || recs[0].AmountSat <= 0 {
			t.Fatalf("%s: transaction records %+v", id, recs)
		}
		// The IDs come in the links' order: each is the record in that identity's store.
		if recs[0].id != res.Recorded[i] {
			t.Errorf("record %d is %s, not %s's transaction record %s", i, res.Recorded[i], id, recs[0].id)
		}
	}
}

type txRecordOf struct {
	anya.TxRecord
	id string
}

// hostTxRecords returns the transaction records of txid in id's store, read by the host (under
// the grants, with the Manager's clock).
func hostTxRecords(t *testing.T, m *anya.Manager, id *anya.Identity, txid string) []txRecordOf {
	t.Helper()
	recs, err := m.BridgeRecords().Query(t.Context(), id.String(), bridge.PathTx, dwn.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []txRecordOf
	for _, r := range recs {
		var tr anya.TxRecord
		if err := json.Unmarshal(r.Data, &tr); err != nil {
			t.Fatal(err)
		}
		if tr.Txid == txid {
			out = append(out, txRecordOf{tr, r.ID})
		}
	}
	return out
}

// subscribeOutcomes collects the trigger outcomes of every TopicBridgeBlock event; the
// function returned stops it.
func subscribeOutcomes(t *testing.T, m *anya.Manager, mu *sync.Mutex, into *[]anya.TriggerOutcome) func() {
	t.Helper()
	sub, err := bus.Subscribe(m.Bus(), anya.TopicBridgeBlock, func(_ context.Context, ev bus.Envelope[anya.BridgeBlock]) error {
		mu.Lock()
		defer mu.Unlock()
		*into = append(*into, ev.Payload.Triggers...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return func() { _ = sub.Unsubscribe() }
}

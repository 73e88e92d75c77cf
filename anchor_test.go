package anya_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bridge"
	bridgeanchor "github.com/anya-org/anya-go/bridge/anchor"
	"github.com/anya-org/anya-go/web5/dwn"
)

// hostRecords returns the bridge records under path in the store of the host's alice.
func (h *host) hostRecords(path string) []*dwn.Record {
	h.t.Helper()
	recs, err := h.m.BridgeRecords().Query(h.t.Context(), h.alice.String(), path, dwn.Filter{})
	if err != nil {
		h.t.Fatal(err)
	}
	return recs
}

// An anchor is exactly-once across a crash: recorded, then the process stops before the
// broadcast reaches the node; after the restart, the same anchor ID sends the recorded
// transaction — the same txid — and asking again sends nothing new and keeps one receipt. The
// same anchor ID over other records is refused, and sends nothing.
func TestAnchorExactlyOnceAcrossCrash(t *testing.T) {
	h := newHost(t, 1_000_000)
	ctx := t.Context()
	linkRec := h.hostRecords(bridge.PathLink)[0].ID
	from := h.alice.Address.String()

	pctx, cancel := context.WithCancel(ctx)
	var recorded chainhash.Hash
	h.chain.set(func(c *hookChain) {
		c.broadcast = func(_ context.Context, tx *wire.MsgTx) error {
			recorded = tx.TxHash()
			cancel() // recorded; the process stops before the broadcast reaches the node
			return context.Canceled
		}
	})
	if _, err := h.m.Anchor(pctx, "crash-anchor", h.alice.String(), []string{linkRec}, from); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted anchor: %v", err)
	}
	h.chain.set(func(c *hookChain) { c.broadcast = nil })
	if recorded == (chainhash.Hash{}) {
		t.Fatal("the anchor reached no broadcast")
	}
	if err := h.m.Close(); err != nil {
		t.Fatal(err)
	}
	if pool, _ := h.sim.Mempool(ctx); len(pool) != 0 {
		t.Fatalf("the chain has %d transactions: the anchor was broadcast", len(pool))
	}

	m := h.open()
	if _, err := m.AddIdentity(ctx, mustFixedDID(t, "host alice"), aliceKey()); err != nil {
		t.Fatal(err)
	}
	r, err := m.Anchor(ctx, "crash-anchor", h.alice.String(), []string{linkRec}, from)
	if err != nil {
		t.Fatal(err)
	}
	if r.Txid != recorded {
		t.Fatalf("the retry sent %s, want the recorded %s", r.Txid, recorded)
	}
	pool, _ := h.sim.Mempool(ctx)
	if len(pool) != 1 || pool[0].Txid != recorded {
		t.Fatalf("mempool %+v, want the recorded anchor only", pool)
	}

	// Again, twice at once: the same transaction, nothing broadcast, one receipt kept.
	h.chain.counts()
	var wg sync.WaitGroup
	again := make([]*bridgeanchor.Receipt, 2)
	errs := make([]error, 2)
	for i := range again {
		wg.Go(func() { again[i], errs[i] = m.Anchor(ctx, "crash-anchor", h.alice.String(), []string{linkRec}, from) })
	}
	wg.Wait()
	for i := range again {
		if errs[i] != nil || again[i].Txid != recorded || again[i].Root != r.Root || again[i].Vout != r.Vout {
			t.Fatalf("asking again: %+v %v, want %+v", again[i], errs[i], r)
		}
	}
	if n := h.chain.counts()["Broadcast"]; n != 0 {
		t.Fatalf("asking again broadcast %d transactions", n)
	}
	receipts := h.hostRecords(bridge.PathAnchor)
	if len(receipts) != 1 {
		t.Fatalf("%d receipts in alice's store, want 1", len(receipts))
	}

	// The same anchor ID over other records: refused, nothing sent.
	_, err = m.Anchor(ctx, "crash-anchor", h.alice.String(), []string{linkRec, receipts[0].ID}, from)
	var opErr *anya.OpError
	if !errors.As(err, &opErr) || opErr.Field != "anchorID" {
		t.Fatalf("the anchor ID over other records: %v", err)
	}
	if pool, _ := h.sim.Mempool(ctx); len(pool) != 1 {
		t.Fatalf("the refused anchor sent something: mempool %+v", pool)
	}
	if _, err := m.Anchor(ctx, "", h.alice.String(), []string{linkRec}, from); !errors.Is(err, anya.ErrInvalidOp) {
		t.Fatalf("an empty anchor ID: %v", err)
	}

	if _, err := h.sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	v, err := m.VerifyAnchor(ctx, *r, h.alice.String(), linkRec)
	if err != nil || v.Block == nil || len(v.Committed) != 1 {
		t.Fatalf("verification: %+v %v", v, err)
	}
}

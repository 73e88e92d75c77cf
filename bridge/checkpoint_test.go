package bridge_test

import (
	"context"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
)

// A checkpoint survives a restart: a new Checkpoint over the same store reads it back, and
// checkpoints of different bridges do not mix.
func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := bridge.Setup(ctx, w.node, w.host, "", 0, nil); err != nil {
		t.Fatal(err)
	}
	rs, _ := bridge.NewRecords(w.node, w.host)
	a, _ := bridge.NewCheckpoint(rs, w.host.String(), "utxo")
	b, _ := bridge.NewCheckpoint(rs, w.host.String(), "triggers")
	if cp, err := a.Load(ctx); err != nil || !cp.IsZero() {
		t.Fatalf("fresh: %v %v", cp, err)
	}
	for h := int32(1); h <= 3; h++ {
		if err := a.Save(ctx, bitcoin.BlockStamp{Height: h, Hash: chainhash.Hash{byte(h)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Save(ctx, bitcoin.BlockStamp{Height: 9, Hash: chainhash.Hash{9}}); err != nil {
		t.Fatal(err)
	}
	again, _ := bridge.NewCheckpoint(rs, w.host.String(), "utxo")
	if cp, err := again.Load(ctx); err != nil || cp.Height != 3 || cp.Hash != (chainhash.Hash{3}) {
		t.Fatalf("after restart: %v %v", cp, err)
	}
	if _, err := bridge.NewCheckpoint(nil, "", ""); err == nil {
		t.Fatal("an empty checkpoint was accepted")
	}
}

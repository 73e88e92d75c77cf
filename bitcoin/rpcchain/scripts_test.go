package rpcchain_test

import (
	"context"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

// Address reuse comes from btcd's address index.
func TestScriptUses(t *testing.T) {
	ctx := t.Context()
	node := bitcointest.StartBtcd(t)
	if err := node.MineTo(ctx, bitcointest.SegwitHeight+1); err != nil {
		t.Fatal(err)
	}
	be := node.Backend(t)
	c := node.NewChain(t)
	script := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("rpc reused"))
	uses := func() (int, bool) {
		t.Helper()
		n, known, err := c.ScriptUses(ctx, script)
		if err != nil {
			t.Fatal(err)
		}
		return n, known
	}
	if n, known := uses(); n != 0 || !known {
		t.Fatalf("fresh: %d %v", n, known)
	}
	if _, err := be.Wallet().Send(ctx, wire.NewTxOut(10_000, script), wire.NewTxOut(20_000, script)); err != nil {
		t.Fatal(err)
	}
	if _, err := be.Mine(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := be.Wallet().Send(ctx, wire.NewTxOut(30_000, script)); err != nil {
		t.Fatal(err)
	}
	if n, _ := uses(); n != 3 {
		t.Fatalf("two confirmed and one in the mempool: %d", n)
	}
	// Through the feature lookup.
	l := bitcoin.ChainFeatureLookup(c)
	if n, known, err := l.ScriptUses(ctx, script); err != nil || !known || n != 3 {
		t.Fatalf("lookup: %d %v %v", n, known, err)
	}
	// A script without an address form cannot be looked up.
	if _, known, err := c.ScriptUses(ctx, []byte{0x51}); err != nil || known {
		t.Fatalf("OP_TRUE: %v %v", known, err)
	}
}

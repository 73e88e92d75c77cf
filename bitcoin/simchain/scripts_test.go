package simchain_test

import (
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

// The script index counts every output paying a script, follows reorgs, and makes address
// reuse a known feature.
func TestScriptUses(t *testing.T) {
	s := bitcointest.NewSim(t)
	ctx := t.Context()
	script := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("reused"))
	uses := func() int {
		t.Helper()
		n, known, err := s.SimChain().ScriptUses(ctx, script)
		if err != nil || !known {
			t.Fatalf("%v %v", known, err)
		}
		return n
	}
	if n := uses(); n != 0 {
		t.Fatalf("fresh script used %d times", n)
	}
	if _, err := s.Wallet().Send(ctx, wire.NewTxOut(10_000, script), wire.NewTxOut(20_000, script)); err != nil {
		t.Fatal(err)
	}
	if n := uses(); n != 2 {
		t.Fatalf("mempool: %d", n)
	}
	s.Mine(ctx, 1)
	if _, err := s.Wallet().Send(ctx, wire.NewTxOut(30_000, script)); err != nil {
		t.Fatal(err)
	}
	s.Mine(ctx, 1)
	if n := uses(); n != 3 {
		t.Fatalf("confirmed: %d", n)
	}
	// Spending does not unsay a use.
	w, _ := bitcointest.NewWallet(s.Chain(), bitcointest.KeyFromSeed("reused"))
	if _, err := w.Send(ctx, wire.NewTxOut(5_000, s.Wallet().PkScript())); err != nil {
		t.Fatal(err)
	}
	s.Mine(ctx, 1)
	if n := uses(); n < 3 {
		t.Fatalf("after a spend: %d", n)
	}

	// Feature extraction now knows about reuse.
	fx, err := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(bitcoin.ChainFeatureLookup(s.Chain())), bitcoin.WithFeatureNetwork(bitcoin.Regtest))
	if err != nil {
		t.Fatal(err)
	}
	fresh := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("fresh"))
	tx, err := s.Wallet().Build(ctx, wire.NewTxOut(1_000, script), wire.NewTxOut(1_000, fresh))
	if err != nil {
		t.Fatal(err)
	}
	vec, err := fx.Tx(ctx, tx, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := bitcoin.TxFeatureSchema()
	if vec[names.Index("reuse_known")] != 1 || vec[names.Index("out_reused_count")] < 1 {
		t.Fatalf("reuse_known %v, out_reused_count %v", vec[names.Index("reuse_known")], vec[names.Index("out_reused_count")])
	}

	// A reorg that drops the blocks takes their uses away.
	before := uses()
	if _, err := s.SimChain().Reorg(3, 0); err != nil {
		t.Fatal(err)
	}
	for _, e := range mustMempool(t, s) {
		_ = s.SimChain().Evict(e.Txid)
	}
	if n := uses(); n != 0 || before == 0 {
		t.Fatalf("after the reorg: %d (before %d)", n, before)
	}
}

func mustMempool(t *testing.T, s *bitcointest.Sim) []bitcoin.MempoolEntry {
	t.Helper()
	m, err := s.Chain().Mempool(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

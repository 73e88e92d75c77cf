package anya_test

import (
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/models"
)

// The fraud vector of a payment tells address reuse from the chain's script index: the first
// payment to bob pays a script never paid before and change back to alice's address (paid by
// her coinbases): one reused output; the second pays bob's script again: two. (Before, the
// Manager reached the chain through a wrapper that hid its index, and every vector said
// "reuse unknown".)
func TestFraudFeaturesLookUpAddressReuse(t *testing.T) {
	e := newEnv(t)
	fraud, err := models.Load(e.ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	sch := fraud.Schema()
	known, reused := sch.Index("reuse_known"), sch.Index("out_reused_count")
	if known < 0 || reused < 0 {
		t.Fatalf("the fraud schema has no reuse features: %v", sch.Names())
	}
	for i, want := range []float32{1, 2} {
		id := []string{"reuse-first", "reuse-second"}[i]
		e.pay(id, e.alice, e.bob, 10_000)
		rec, err := e.m.FeatureStore().Get(e.ctx, "payment:"+id, sch.Name, sch.Version)
		if err != nil {
			t.Fatal(err)
		}
		if v := rec.Vector.Values; v[known] != 1 || v[reused] != want {
			t.Fatalf("payment %s: reuse_known %v, out_reused_count %v; want 1, %v", id, v[known], v[reused], want)
		}
	}
}

// The same on btcd: the Manager reaches the node's address index (rpcchain's ScriptHistory).
func TestNodeFraudFeaturesLookUpAddressReuse(t *testing.T) {
	ctx := t.Context()
	node := bitcointest.StartBtcd(t)
	if err := node.MineTo(ctx, bitcointest.SegwitHeight); err != nil {
		t.Fatal(err)
	}
	chain := node.NewChain(t)
	m, err := anya.New(anya.WithDataDir(t.TempDir()), anya.WithChain(chain), anya.WithHostDID(mustFixedDID(t, "reuse host")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	alice, err := m.AddIdentity(ctx, mustFixedDID(t, "reuse alice"), aliceKey())
	if err != nil {
		t.Fatal(err)
	}
	shop, err := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("reuse shop").PubKey(), bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	funder, err := bitcointest.NewWallet(chain, node.MiningKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := funder.Send(ctx, wire.NewTxOut(1_000_000, alice.Address.PkScript())); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	bitcointest.WaitTip(t, chain, bitcointest.SegwitHeight+1)
	ch, _ := m.Challenge(alice.String(), alice.Address.String())
	sig, _ := alice.SignChallenge(ch)
	if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: alice.String(), Address: alice.Address.String(), Challenge: ch, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	fraud, err := models.Load(ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	sch := fraud.Schema()
	known, reused := sch.Index("reuse_known"), sch.Index("out_reused_count")
	for i, want := range []float32{1, 2} {
		id := []string{"node-reuse-first", "node-reuse-second"}[i]
		res, err := m.Execute(ctx, anya.TriProtocol{PaymentID: id, SenderDID: alice.String(), SenderAddress: alice.Address.String(),
			RecipientAddress: shop.String(), AmountSat: 10_000})
		if p, _ := res.(*anya.Payment); err != nil || p.Outcome != anya.OutcomeSent {
			t.Fatalf("payment %s: %+v %v", id, res, err)
		}
		rec, err := m.FeatureStore().Get(ctx, "payment:"+id, sch.Name, sch.Version)
		if err != nil {
			t.Fatal(err)
		}
		if v := rec.Vector.Values; v[known] != 1 || v[reused] != want {
			t.Fatalf("payment %s: reuse_known %v, out_reused_count %v; want 1, %v", id, v[known], v[reused], want)
		}
	}
}

package monitor_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/security"
)

// On a btcd regtest node: a payment seen in the mempool and mined raises an alert;
// invalidateblock disconnects its block, a replacement (BIP-125) spending the same coin takes
// its place in the mempool and is mined: the payment's alert is retracted.
func TestBtcdReorgRetracts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd")
	}
	ctx := context.Background()
	node := bitcointest.StartBtcd(t)
	if err := node.MineTo(ctx, 432); err != nil { // segwit active
		t.Fatal(err)
	}
	chain := node.NewChain(t)
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ev := record(t, b)
	notifier, err := bitcoin.NewNotifier(ctx, chain, bitcoin.WithBus(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = notifier.Close() })
	model, err := models.Load(ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := security.OpenAuditLog(ctx, filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = audit.Close() })
	bounds, err := security.New(monitor.Boundaries(), security.WithAudit(audit))
	if err != nil {
		t.Fatal(err)
	}

	funds, err := bitcointest.NewWallet(chain, node.MiningKey())
	if err != nil {
		t.Fatal(err)
	}
	alice := bitcointest.KeyFromSeed("alice")
	shop := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("shop"))
	other := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("elsewhere"))
	const coin = btcutil.Amount(20_000_000)
	_, op, err := funds.Fund(ctx, bitcointest.P2WPKHScript(alice), coin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// Every transaction alerts (threshold 0): the test is about the retraction.
	m, err := monitor.New(chain, notifier, b, mltest.NewEngine(t, model, ml.WithFactors(3)), bounds, monitor.WithThreshold(0),
		monitor.WithWatch(shop, other))
	if err != nil {
		t.Fatal(err)
	}
	start(t, m)
	deadline := time.Now().Add(wait)
	for m.Stats().Blocks == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the monitor does not follow btcd")
		}
		if _, err := node.Generate(ctx, 1); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	pay, err := bitcointest.SpendOutput(op, coin, alice, shop, 1_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chain.Broadcast(ctx, pay); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "the payment's alert from the mempool", func(ev *events) bool { return len(ev.alertsFor(pay.TxHash())) == 1 })
	hashes, err := node.Generate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mined := hashes[0]
	deadline = time.Now().Add(wait)
	for m.Checkpoint().Hash != mined {
		if time.Now().After(deadline) {
			t.Fatalf("the monitor is at %v, not at the payment's block %s", m.Checkpoint(), mined)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The block goes; btcd puts the payment back in its mempool, where a replacement paying
	// elsewhere with a higher fee displaces it; the replacement is mined.
	if err := node.Invalidate(ctx, mined); err != nil {
		t.Fatal(err)
	}
	replacement, err := bitcointest.SpendOutput(op, coin, alice, other, 5_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chain.Broadcast(ctx, replacement); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "the retraction", func(ev *events) bool { return len(ev.retract) >= 1 })
	_, alerts, retract := ev.snapshot()
	var alert monitor.Alert
	for _, a := range alerts {
		if a.Txid == pay.TxHash() {
			alert = a
		}
	}
	if len(retract) != 1 || retract[0].Txid != pay.TxHash() || retract[0].AlertID != alert.ID || retract[0].Block.Hash != mined {
		t.Fatalf("retractions %+v, the payment's alert %+v", retract, alert)
	}
	ev.until(t, "the replacement's alert", func(ev *events) bool { return len(ev.alertsFor(replacement.TxHash())) == 1 })
}

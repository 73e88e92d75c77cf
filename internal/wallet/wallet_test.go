package wallet_test

import (
	"context"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/internal/wallet"
)

type reservations map[wire.OutPoint]string

func (r reservations) lookup(_ context.Context, ops []wire.OutPoint) (map[wire.OutPoint]string, error) {
	out := map[wire.OutPoint]string{}
	for _, op := range ops {
		if k, ok := r[op]; ok {
			out[op] = k
		}
	}
	return out, nil
}

func setup(t *testing.T, res reservations) (*simchain.Chain, *wallet.Wallet, bitcoin.Address, bitcoin.Address) {
	t.Helper()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	w, err := wallet.New(sim, 2000, res.lookup)
	if err != nil {
		t.Fatal(err)
	}
	from, err := w.Add(bitcointest.KeyFromSeed("wallet test payer"))
	if err != nil {
		t.Fatal(err)
	}
	to, err := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("wallet test payee").PubKey(), bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	// Three coinbases to the payer, then enough blocks for two of them to mature.
	if _, err := sim.Mine(3, simchain.PayTo(from.PkScript())); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(98); err != nil {
		t.Fatal(err)
	}
	return sim, w, from, to
}

func TestBuildPaysAndChainAccepts(t *testing.T) {
	ctx := t.Context()
	sim, w, from, to := setup(t, reservations{})
	coins, err := w.Coins(ctx, from.String(), "k")
	if err != nil {
		t.Fatal(err)
	}
	// Heights 1..3; the tip is 101, so the next block (102) is 100 above only heights 1 and 2.
	if len(coins) != 2 {
		t.Fatalf("%d spendable coins, want the 2 mature coinbases", len(coins))
	}
	tx, err := w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: 12_345, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Broadcast(ctx, tx); err != nil {
		t.Fatalf("chain refused the wallet's transaction: %v", err)
	}
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	got, err := bitcoin.AddressUTXOs(ctx, sim, mustBtcutil(t, to))
	if err != nil || len(got) != 1 || got[0].Value != 12_345 {
		t.Fatalf("payee UTXOs %+v %v", got, err)
	}
	// The template of the next payment spends the change: same outputs, unsigned.
	tmpl, err := w.Template(ctx, wallet.Payment{From: from.String(), To: to, Amount: 1000, Key: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tmpl.TxIn) == 0 || len(tmpl.TxIn[0].Witness) != 0 {
		t.Fatalf("template %+v is not an unsigned spend", tmpl)
	}
}

func mustBtcutil(t *testing.T, a bitcoin.Address) btcutil.Address {
	t.Helper()
	b, err := a.BtcutilAddress()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReservedCoinsAreLeftAlone(t *testing.T) {
	ctx := t.Context()
	res := reservations{}
	_, w, from, to := setup(t, res)
	coins, err := w.Coins(ctx, from.String(), "a")
	if err != nil || len(coins) != 2 {
		t.Fatal(coins, err)
	}
	res[coins[0].OutPoint] = "a" // recorded for key a, not broadcast
	other, err := w.Coins(ctx, from.String(), "b")
	if err != nil || len(other) != 1 || other[0].OutPoint == coins[0].OutPoint {
		t.Fatalf("key b sees %+v, want only the unreserved coin", other)
	}
	same, _ := w.Coins(ctx, from.String(), "a")
	if len(same) != 2 {
		t.Fatalf("key a's own reservation hid its coin: %+v", same)
	}
	res[coins[1].OutPoint] = "c"
	var insufficient *bitcoin.InsufficientFundsError
	if _, err := w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: 1000, Key: "b"}); !errors.As(err, &insufficient) {
		t.Fatalf("every coin reserved elsewhere: %v, want *InsufficientFundsError", err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := t.Context()
	_, w, from, to := setup(t, reservations{})
	if _, err := w.Build(ctx, wallet.Payment{From: "bcrt1qunknown", To: to, Amount: 1, Key: "k"}); !errors.Is(err, wallet.ErrUnknownAddress) {
		t.Fatalf("unknown sender: %v", err)
	}
	if _, err := w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: 0, Key: "k"}); !errors.Is(err, wallet.ErrInvalidArgument) {
		t.Fatalf("zero amount: %v", err)
	}
	main, _ := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("x").PubKey(), bitcoin.Mainnet)
	if _, err := w.Build(ctx, wallet.Payment{From: from.String(), To: main, Amount: 1000, Key: "k"}); !errors.Is(err, wallet.ErrInvalidArgument) {
		t.Fatalf("mainnet recipient on regtest: %v", err)
	}
	if _, err := w.Add(nil); !errors.Is(err, wallet.ErrInvalidArgument) {
		t.Fatalf("nil key: %v", err)
	}
	if _, err := wallet.New(nil, 2000, reservations{}.lookup); !errors.Is(err, wallet.ErrInvalidArgument) {
		t.Fatalf("nil chain: %v", err)
	}
}

func TestLock(t *testing.T) {
	_, w, from, _ := setup(t, reservations{})
	unlock, err := w.Lock(t.Context(), from.String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := w.Lock(ctx, from.String()); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Lock with a cancelled context: %v", err)
	}
	unlock()
	unlock2, err := w.Lock(t.Context(), from.String())
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}

func TestSignMessage(t *testing.T) {
	_, w, from, _ := setup(t, reservations{})
	sig, err := w.SignMessage(from.String(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	v, err := bitcoin.VerifyMessage(t.Context(), from, "hello", sig)
	if err != nil || v.Result != bitcoin.Valid {
		t.Fatalf("%+v %v", v, err)
	}
}

// The wallet's view of an address's coins follows its own payments (Sent) and is read again
// from the chain after Invalidate.
func TestCoinView(t *testing.T) {
	ctx := t.Context()
	sim, w, from, to := setup(t, reservations{})
	before, err := w.Coins(ctx, from.String(), "k1")
	if err != nil || len(before) != 2 {
		t.Fatal(before, err)
	}
	tx, err := w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: 10_000, Key: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Broadcast(ctx, tx); err != nil {
		t.Fatal(err)
	}
	w.Sent(from.String(), tx)
	after, _ := w.Coins(ctx, from.String(), "k2")
	if len(after) != 2 {
		t.Fatalf("after a payment the view holds %d coins, want the unspent one and the change", len(after))
	}
	for _, u := range after {
		if u.OutPoint == tx.TxIn[0].PreviousOutPoint {
			t.Fatal("the spent coin is still in the view")
		}
	}
	// A payment made elsewhere from the same key is not in the view until it is invalidated.
	other, err := bitcointest.NewWallet(sim, bitcointest.KeyFromSeed("wallet test payer"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Send(ctx, wire.NewTxOut(5_000, to.PkScript())); err != nil {
		t.Fatal(err)
	}
	stale, _ := w.Coins(ctx, from.String(), "k2")
	w.Invalidate(from.String())
	fresh, _ := w.Coins(ctx, from.String(), "k2")
	chain, _ := sim.UTXOs(ctx, from.PkScript())
	if len(fresh) != len(chain)-1 { // the chain also lists the immature coinbase
		t.Fatalf("after Invalidate the view has %d coins, the chain %d spendable", len(fresh), len(chain)-1)
	}
	if len(stale) == len(fresh) {
		same := true
		for i := range stale {
			same = same && stale[i].OutPoint == fresh[i].OutPoint
		}
		if same {
			t.Fatal("the outside payment changed nothing: the test proves nothing")
		}
	}
	w.Invalidate() // all addresses
	if again, _ := w.Coins(ctx, from.String(), "k2"); len(again) != len(fresh) {
		t.Fatalf("after Invalidate() %d coins, want %d", len(again), len(fresh))
	}
}

// Selection looks at the largest MaxCandidates coins, and at every coin when those cannot pay.
func TestManySmallCoins(t *testing.T) {
	ctx := t.Context()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	funder, err := bitcointest.NewWalletFromSeed(sim, "funder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(101, simchain.PayTo(funder.PkScript())); err != nil {
		t.Fatal(err)
	}
	w, err := wallet.New(sim, 1000, reservations{}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := w.Add(bitcointest.KeyFromSeed("many coins"))
	to, _ := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("payee").PubKey(), bitcoin.Regtest)
	n := wallet.MaxCandidates + 8
	outs := make([]*wire.TxOut, n)
	for i := range outs {
		outs[i] = wire.NewTxOut(10_000, from.PkScript())
	}
	if _, err := funder.Send(ctx, outs...); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	amount := btcutil.Amount(10_000 * (wallet.MaxCandidates + 2))
	tx, err := w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: amount, Key: "big"})
	if err != nil {
		t.Fatalf("a payment needing more than %d coins: %v", wallet.MaxCandidates, err)
	}
	if len(tx.TxIn) <= wallet.MaxCandidates {
		t.Fatalf("%d inputs", len(tx.TxIn))
	}
	if _, err := sim.Broadcast(ctx, tx); err != nil {
		t.Fatal(err)
	}
}

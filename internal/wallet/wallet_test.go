package wallet_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
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
	_, err = w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: 1000, Key: "b"})
	if !errors.As(err, &insufficient) {
		t.Fatalf("every coin reserved elsewhere: %v, want *InsufficientFundsError", err)
	}
	// The shortage names who holds the coins.
	var short *wallet.ShortageError
	if !errors.As(err, &short) || short.Address != from.String() || len(short.Reserved) != 2 {
		t.Fatalf("shortage %+v, want both coins listed", err)
	}
	keys := map[string]wire.OutPoint{}
	for _, r := range short.Reserved {
		keys[r.Key] = r.OutPoint
		if r.Value != coins[0].Value {
			t.Errorf("reservation %+v: value %d, want %d", r, r.Value, coins[0].Value)
		}
	}
	if keys["a"] != coins[0].OutPoint || keys["c"] != coins[1].OutPoint {
		t.Fatalf("reservations %+v", short.Reserved)
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

// The wallet's view of an address's coins follows its own payments (Recorded) and is read
// again from the chain after Invalidate.
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
	w.Recorded("k1", tx)
	if _, err := sim.Broadcast(ctx, tx); err != nil {
		t.Fatal(err)
	}
	w.Accepted(tx.TxHash())
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

// A recorded transaction's change is spendable before the transaction is broadcast: the next
// payment spends it, and Unbroadcast names the parent to broadcast first, which the chain then
// needs to accept the child. Confirmed forgets both once a block holds them.
func TestRecordedChangeIsSpendable(t *testing.T) {
	ctx := t.Context()
	sim, w, from, to := setup(t, reservations{})
	first, err := w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: 10_000, Key: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	w.Recorded("p1", first)
	// Spend everything but the first payment's change, so that the second must use it.
	coins, _ := w.Coins(ctx, from.String(), "p2")
	if len(coins) != 2 {
		t.Fatalf("after recording: %d coins, want the untouched coinbase and the change", len(coins))
	}
	var other bitcoin.UTXO
	for _, u := range coins {
		if u.OutPoint.Hash != first.TxHash() {
			other = u
		}
	}
	second, err := w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: other.Value + 1, Key: "p2"})
	if err != nil {
		t.Fatal(err)
	}
	spendsChange := false
	for _, in := range second.TxIn {
		spendsChange = spendsChange || in.PreviousOutPoint.Hash == first.TxHash()
	}
	if !spendsChange {
		t.Fatal("the second payment does not spend the first one's change: the test proves nothing")
	}
	if err := sim.TestAccept(ctx, second); !errors.Is(err, bitcoin.ErrRejected) {
		t.Fatalf("the child before its parent: %v, want a rejection (the chain needs the parent first)", err)
	}
	w.Recorded("p2", second)
	up := w.Unbroadcast(second)
	if len(up) != 1 || up[0].Txid != first.TxHash() || up[0].Key != "p1" || up[0].State != wallet.StateRecorded {
		t.Fatalf("Unbroadcast = %+v, want the parent", up)
	}
	for _, p := range up {
		if _, err := sim.Broadcast(ctx, p.Tx); err != nil {
			t.Fatal(err)
		}
		w.Accepted(p.Txid)
	}
	if _, err := sim.Broadcast(ctx, second); err != nil {
		t.Fatalf("the child after its parent: %v", err)
	}
	w.Accepted(second.TxHash())
	if up := w.Unbroadcast(second); len(up) != 0 {
		t.Fatalf("Unbroadcast after the broadcasts: %+v", up)
	}
	if got := w.PendingTxs(); len(got) != 2 || got[0].Txid != first.TxHash() || got[1].Txid != second.TxHash() {
		t.Fatalf("PendingTxs = %+v, want both in record order", got)
	}
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	w.Confirmed(first.TxHash(), second.TxHash())
	if got := w.PendingTxs(); len(got) != 0 {
		t.Fatalf("PendingTxs after a block: %+v", got)
	}
	after, err := w.Coins(ctx, from.String(), "p3")
	chain, _ := sim.UTXOs(ctx, from.PkScript())
	hasChange := slices.ContainsFunc(after, func(u bitcoin.UTXO) bool { return u.OutPoint.Hash == second.TxHash() && u.Height > 0 })
	if err != nil || len(after) != len(chain) || !hasChange {
		t.Fatalf("after the block: %+v %v, want the chain's coins %+v", after, err, chain)
	}
}

// The change of a transaction the chain refused is not offered, nor that of its children; a
// payment that then cannot be paid says which coins are held and by whom.
func TestRejectedChangeIsNotOffered(t *testing.T) {
	ctx := t.Context()
	_, w, from, to := setup(t, reservations{})
	coins, _ := w.Coins(ctx, from.String(), "p1")
	total := coins[0].Value + coins[1].Value
	first, err := w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: total - 100_000, Key: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	w.Recorded("p1", first)
	child, err := w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: 10_000, Key: "p2"})
	if err != nil {
		t.Fatalf("the first payment's change should pay the second: %v", err)
	}
	w.Recorded("p2", child)
	w.Rejected(first.TxHash())
	_, err = w.Build(ctx, wallet.Payment{From: from.String(), To: to, Amount: 10_000, Key: "p3"})
	var short *wallet.ShortageError
	if !errors.As(err, &short) || !errors.Is(err, bitcoin.ErrInsufficientFunds) {
		t.Fatalf("with the only change refused: %v, want a *ShortageError", err)
	}
	byKey := map[string][]wallet.Reservation{}
	for _, r := range short.Reserved {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	if len(byKey["p1"]) != 2 || len(byKey["p2"]) != 1 {
		t.Fatalf("reservations %+v, want p1's two coinbases and p2's spend of p1's change", short.Reserved)
	}
	for _, r := range byKey["p1"] {
		if r.State != wallet.StateRejected || r.Txid != first.TxHash() || r.Value == 0 {
			t.Errorf("p1 reservation %+v", r)
		}
	}
	for _, want := range []string{"p1", "p2", "refused by the chain", from.String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not mention %q", err, want)
		}
	}
	w.Forget(child.TxHash())
	w.Forget(first.TxHash())
	if got, _ := w.Coins(ctx, from.String(), "p3"); len(got) != 2 {
		t.Fatalf("after Forget: %d coins, want the two coinbases again", len(got))
	}
}

// gatedChain holds UTXOs calls until released, to race a view's load with an invalidation.
type gatedChain struct {
	bitcoin.Chain
	mu      sync.Mutex
	gate    chan struct{} // nil: pass through
	entered chan struct{}
	calls   int
}

func (g *gatedChain) UTXOs(ctx context.Context, script []byte) ([]bitcoin.UTXO, error) {
	us, err := g.Chain.UTXOs(ctx, script) // the chain as it is now
	g.mu.Lock()
	g.calls++
	gate := g.gate
	g.gate = nil
	g.mu.Unlock()
	if gate != nil {
		close(g.entered)
		<-gate // ... returned after the chain changed
	}
	return us, err
}

// A view loaded while an invalidation happens is not kept: it may predate what the invalidation
// reported, and keeping it would hide a change for the rest of the process.
func TestLoadRacingInvalidation(t *testing.T) {
	ctx := t.Context()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	g := &gatedChain{Chain: sim}
	w, err := wallet.New(g, 2000, reservations{}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := w.Add(bitcointest.KeyFromSeed("racing payer"))
	if _, err := sim.Mine(1, simchain.PayTo(from.PkScript())); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(100); err != nil {
		t.Fatal(err)
	}
	g.gate, g.entered = make(chan struct{}), make(chan struct{})
	release := g.gate
	done := make(chan []bitcoin.UTXO)
	go func() {
		coins, _ := w.Coins(ctx, from.String(), "k")
		done <- coins
	}()
	<-g.entered                                                             // the load has read the chain ...
	if _, err := sim.Mine(1, simchain.PayTo(from.PkScript())); err != nil { // ... the chain changes ...
		t.Fatal(err)
	}
	if _, err := sim.Mine(99); err != nil {
		t.Fatal(err)
	}
	w.Invalidate() // ... and a block trigger invalidates, before the load returns
	close(release)
	got := <-done
	if len(got) != 2 {
		t.Fatalf("the racing load returned %d coins, want the 2 mature coinbases", len(got))
	}
	calls := g.calls
	if again, _ := w.Coins(ctx, from.String(), "k"); len(again) != 2 || g.calls != calls {
		t.Fatalf("then %d coins with %d more loads, want 2 from the kept view", len(again), g.calls-calls)
	}
}

// pendingPayment returns a transaction spending a coin the chain does not know (the wallet takes
// recorded transactions as they are) that pays 1,000 sat to to and change to change.
func pendingPayment(seq int, to, change bitcoin.Address) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	var prev [32]byte
	prev[0], prev[1], prev[2] = byte(seq), byte(seq>>8), 0xfe
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint((*chainhash.Hash)(&prev), 0), nil, nil))
	tx.AddTxOut(wire.NewTxOut(1_000, to.PkScript()))
	tx.AddTxOut(wire.NewTxOut(int64(50_000+seq), change.PkScript()))
	return tx
}

// Each address is offered the change of its own pending transactions and nobody else's; a
// refusal hides the change of the refused transaction and of its children only, and the change
// comes back when the chain takes the transaction after all.
func TestPendingChangeByAddress(t *testing.T) {
	ctx := t.Context()
	_, w, from, to := setup(t, reservations{})
	other, err := w.Add(bitcointest.KeyFromSeed("wallet test second payer"))
	if err != nil {
		t.Fatal(err)
	}
	a1, b1 := pendingPayment(1, to, from), pendingPayment(2, to, other)
	w.Recorded("a1", a1)
	w.Recorded("b1", b1)
	// a2 spends a1's change and pays its change to other; a3 spends a2's.
	a2 := wire.NewMsgTx(2)
	a2.AddTxIn(wire.NewTxIn(wire.NewOutPoint(ptr(a1.TxHash()), 1), nil, nil))
	a2.AddTxOut(wire.NewTxOut(40_000, other.PkScript()))
	w.Recorded("a2", a2)
	a3 := wire.NewMsgTx(2)
	a3.AddTxIn(wire.NewTxIn(wire.NewOutPoint(ptr(a2.TxHash()), 0), nil, nil))
	a3.AddTxOut(wire.NewTxOut(30_000, from.PkScript()))
	w.Recorded("a3", a3)

	pendingOf := func(addr bitcoin.Address) []chainhash.Hash {
		t.Helper()
		coins, err := w.Coins(ctx, addr.String(), "x")
		if err != nil {
			t.Fatal(err)
		}
		var out []chainhash.Hash
		for _, u := range coins {
			if u.Height == 0 {
				out = append(out, u.OutPoint.Hash)
			}
		}
		return out
	}
	want := func(what string, got []chainhash.Hash, txs ...*wire.MsgTx) {
		t.Helper()
		var w []chainhash.Hash
		for _, tx := range txs {
			w = append(w, tx.TxHash())
		}
		if !slices.Equal(got, w) {
			t.Fatalf("%s: pending change %v, want %v", what, got, w)
		}
	}
	want("from", pendingOf(from), a3)         // a1's change is spent by a2
	want("other", pendingOf(other), b1)       // a2's output is spent by a3
	w.Rejected(a2.TxHash())                   // a3 spends a2: both dead
	want("from, a2 refused", pendingOf(from)) // a3 hidden
	want("other, a2 refused", pendingOf(other), b1)
	w.Accepted(a2.TxHash()) // the chain took it after all
	want("from, a2 taken", pendingOf(from), a3)
	w.Forget(a3.TxHash())
	want("from, a3 forgotten", pendingOf(from))
	want("other, a3 forgotten", pendingOf(other), b1, a2) // a2's output is free again, in record order
	w.Confirmed(a1.TxHash(), a2.TxHash(), b1.TxHash())
	if got := w.PendingTxs(); len(got) != 0 {
		t.Fatalf("pending after Confirmed: %+v", got)
	}
}

func ptr(h chainhash.Hash) *chainhash.Hash { return &h }

// BenchmarkCoins: the coins of one address while the wallet holds 2,000 pending transactions
// spread over 16 addresses (a busy host between two blocks).
func BenchmarkCoins(b *testing.B) {
	ctx := b.Context()
	sim, err := simchain.New()
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	w, err := wallet.New(sim, 2000, reservations{}.lookup)
	if err != nil {
		b.Fatal(err)
	}
	to, _ := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("payee").PubKey(), bitcoin.Regtest)
	const addresses, pending = 16, 2000
	addrs := make([]bitcoin.Address, addresses)
	for i := range addrs {
		if addrs[i], err = w.Add(bitcointest.KeyFromSeed(fmt.Sprint("payer ", i))); err != nil {
			b.Fatal(err)
		}
	}
	for i := range pending {
		w.Recorded(fmt.Sprint("p", i), pendingPayment(i, to, addrs[i%addresses]))
	}
	b.ReportAllocs()
	for b.Loop() {
		coins, err := w.Coins(ctx, addrs[0].String(), "x")
		if err != nil || len(coins) != pending/addresses {
			b.Fatal(len(coins), err)
		}
	}
}

// A transaction of outputs only — an OP_RETURN anchor, no payee — is built, signed and
// accepted; an output with a negative value is refused.
func TestBuildOutputsOnly(t *testing.T) {
	ctx := t.Context()
	sim, w, from, _ := setup(t, reservations{})
	opReturn := []byte{0x6a, 0x04, 'A', 'N', 'Y', 'A'}
	tx, err := w.Build(ctx, wallet.Payment{From: from.String(), Outputs: []*wire.TxOut{wire.NewTxOut(0, opReturn)}, Key: "anchor"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.TxOut) != 2 || tx.TxOut[0].Value != 0 || string(tx.TxOut[0].PkScript) != string(opReturn) {
		t.Fatalf("outputs %+v, want the OP_RETURN and the change", tx.TxOut)
	}
	if _, err := sim.Broadcast(ctx, tx); err != nil {
		t.Fatalf("chain refused the anchor: %v", err)
	}
	if _, err := w.Build(ctx, wallet.Payment{From: from.String(), Outputs: []*wire.TxOut{wire.NewTxOut(-1, opReturn)}, Key: "bad"}); !errors.Is(err, wallet.ErrInvalidArgument) {
		t.Fatalf("negative output: %v", err)
	}
	if _, err := w.Build(ctx, wallet.Payment{From: from.String(), Key: "none"}); !errors.Is(err, wallet.ErrInvalidArgument) {
		t.Fatalf("nothing to pay: %v", err)
	}
}

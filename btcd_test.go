package anya_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/multisig"
	"github.com/anya-org/anya-go/resilience"
)

// nodeHost is a Manager on a btcd node the test runs, with alice (a did:key, linked) funded with
// one coin, and a recipient address.
type nodeHost struct {
	t     *testing.T
	node  *bitcointest.Btcd
	chain *hookChain
	m     *anya.Manager
	alice *anya.Identity
	shop  bitcoin.Address
}

// newNodeHost starts btcd on params, mines until segwit is active and coinbases mature, and
// funds alice with one coin of coin sat, confirmed.
func newNodeHost(t *testing.T, params *chaincfg.Params, coin int64, opts ...anya.Option) *nodeHost {
	t.Helper()
	ctx := t.Context()
	node := bitcointest.StartBtcd(t, bitcointest.WithNetwork(params))
	if err := node.MineTo(ctx, bitcointest.SegwitHeight); err != nil {
		t.Fatal(err)
	}
	h := &nodeHost{t: t, node: node, chain: newHookChain(node.NewChain(t))}
	net, err := bitcoin.ParseNetwork(map[bool]string{true: "simnet", false: "regtest"}[params.Net == chaincfg.SimNetParams.Net])
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]anya.Option{anya.WithDataDir(t.TempDir()), anya.WithChain(h.chain), anya.WithHostDID(mustFixedDID(t, "node host"))}, opts...)
	if h.m, err = anya.New(opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.m.Close() })
	if h.alice, err = h.m.AddIdentity(ctx, mustFixedDID(t, "node alice"), aliceKey()); err != nil {
		t.Fatal(err)
	}
	if h.shop, err = bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("node shop").PubKey(), net); err != nil {
		t.Fatal(err)
	}
	funder, err := bitcointest.NewWallet(h.chain.Chain, node.MiningKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := funder.Send(ctx, wire.NewTxOut(coin, h.alice.Address.PkScript())); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	bitcointest.WaitTip(t, h.chain, bitcointest.SegwitHeight+1)
	ch, _ := h.m.Challenge(h.alice.String(), h.alice.Address.String())
	sig, _ := h.alice.SignChallenge(ch)
	if _, err := h.m.Execute(ctx, anya.BitcoinToWeb5{DID: h.alice.String(), Address: h.alice.Address.String(), Challenge: ch,
		Signature: sig}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *nodeHost) pay(ctx context.Context, id string, amount int64) (*anya.Payment, error) {
	res, err := h.m.Execute(ctx, anya.TriProtocol{PaymentID: id, SenderDID: h.alice.String(), SenderAddress: h.alice.Address.String(),
		RecipientAddress: h.shop.String(), AmountSat: amount})
	p, _ := res.(*anya.Payment)
	return p, err
}

// settled mines a block and checks that the shop holds exactly one confirmed output of amount
// for each payment, in the payment's transaction: nothing doubled, nothing lost.
func (h *nodeHost) settled(payments map[string]*anya.Payment, amount int64) {
	h.t.Helper()
	ctx := h.t.Context()
	if _, err := h.node.Generate(ctx, 1); err != nil {
		h.t.Fatal(err)
	}
	utxos, err := h.chain.Chain.UTXOs(ctx, h.shop.PkScript())
	if err != nil {
		h.t.Fatal(err)
	}
	byTx := map[string]int{}
	for _, u := range utxos {
		if u.Height == 0 || int64(u.Value) != amount {
			h.t.Errorf("shop output %+v: want confirmed, %d sat", u, amount)
		}
		byTx[u.OutPoint.Hash.String()]++
	}
	for id, p := range payments {
		if n := byTx[p.Txid]; n != 1 {
			h.t.Errorf("payment %s: %d confirmed outputs in its transaction %s, want 1", id, n, p.Txid)
		}
	}
	if len(utxos) != len(payments) {
		h.t.Errorf("the shop holds %d outputs for %d payments", len(utxos), len(payments))
	}
}

// Forty payments at once from one sender holding one coin, on btcd: every one is sent, each
// spending the last one's change, a chain of forty unconfirmed transactions that one block
// confirms; no coin is spent twice.
func TestNodeConcurrentPaymentsFromOneSender(t *testing.T) {
	h := newNodeHost(t, &chaincfg.RegressionNetParams, 100_000_000)
	ctx := t.Context()
	const n = 40
	var wg sync.WaitGroup
	payments := make(map[string]*anya.Payment, n)
	var mu sync.Mutex
	start := time.Now()
	h.chain.counts()
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("node-%02d", i)
			p, err := h.pay(ctx, id, 10_000)
			switch {
			case err != nil:
				t.Errorf("%s: %v", id, err)
			case p.Outcome != anya.OutcomeSent:
				t.Errorf("%s: %s (risk %.2f): %s", id, p.Outcome, p.Risk, p.Error)
			default:
				mu.Lock()
				payments[id] = p
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	calls := h.chain.counts()
	t.Logf("%d payments from one coin in %v; chain calls: %v", n, time.Since(start).Round(time.Millisecond), calls)
	if t.Failed() {
		return
	}
	h.settled(payments, 10_000)
	left, err := h.chain.Chain.UTXOs(ctx, h.alice.Address.PkScript())
	if err != nil || len(left) != 1 {
		t.Fatalf("alice holds %+v, want one coin: the last change", left)
	}
	// The UTXO bridge followed btcd: alice's record in her store holds that one coin.
	tip, err := h.chain.Chain.BestBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.WaitBridges(ctx, tip); err != nil {
		t.Fatal(err)
	}
	if set, ok := h.m.UTXOs().Set(h.alice.String(), h.alice.Address); !ok || len(set.UTXOs) != 1 || set.UTXOs[0].OutPoint != left[0].OutPoint ||
		set.Block != tip {
		t.Fatalf("alice's UTXO record %+v, want the last change as of %v", set, tip)
	}
}

// retryable reports whether a payment's error is the chain being away, which a host retries.
func retryable(err error) bool {
	return errors.Is(err, bitcoin.ErrDisconnected) || errors.Is(err, resilience.ErrCircuitOpen)
}

// Payments flow while btcd is killed (SIGKILL) and started again: the node comes back without
// its mempool, the Manager reconnects, sends again what the node forgot (as recorded, parents
// first), and the payments cut short by the outage continue. Every payment ends sent once, and
// one block confirms them all: nothing doubled, nothing lost. The node runs simnet, whose chain
// survives a restart.
func TestNodeRestartWhilePaying(t *testing.T) {
	breakers, err := resilience.NewBreakerRegistry(resilience.OpenWait(200 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	h := newNodeHost(t, &chaincfg.SimNetParams, 100_000_000, anya.WithBreakers(breakers))
	ctx := t.Context()
	// The setup is on disk before the crash: btcd flushes its chain state lazily, and a crash
	// would take the funding block with it.
	if err := h.node.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := h.node.Start(); err != nil {
		t.Fatal(err)
	}
	const (
		n       = 24
		workers = 4
		killAt  = 8 // payments sent before the node is killed
	)
	var (
		mu       sync.Mutex
		payments = map[string]*anya.Payment{}
		sentN    int
		retries  int
		killed   = make(chan struct{})
		restart  sync.Once
	)
	work := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for id := range work {
				for {
					p, err := h.pay(ctx, id, 20_000)
					if err != nil && retryable(err) && ctx.Err() == nil {
						mu.Lock()
						retries++
						mu.Unlock()
						time.Sleep(50 * time.Millisecond) // the node is away: try again, as a host would
						continue
					}
					if err != nil || p.Outcome != anya.OutcomeSent {
						t.Errorf("%s: %+v %v", id, p, err)
						break
					}
					mu.Lock()
					payments[id] = p
					sentN++
					if sentN == killAt {
						restart.Do(func() { close(killed) })
					}
					mu.Unlock()
					break
				}
			}
		})
	}
	go func() {
		defer close(work)
		for i := range n {
			select {
			case work <- fmt.Sprintf("restart-%02d", i):
			case <-ctx.Done():
				return
			}
		}
	}()
	<-killed
	if err := h.node.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // payments meet the dead node
	if err := h.node.Start(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d payments, %d retried by the host while the node was away", len(payments), retries)
	// The node forgot its mempool; the Manager sends the lost transactions again on its own.
	waitFor(t, func() bool {
		pool, err := h.chain.Chain.Mempool(ctx)
		return err == nil && len(pool) == n
	})
	h.settled(payments, 20_000)
}

// A MuSig2 key-path spend signed across three Managers on btcd regtest: the node accepts the
// aggregated BIP-340 signature and confirms the spend; finishing the round again sends nothing.
func TestNodeMultisigMuSig2KeyPath(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd")
	}
	ctx := t.Context()
	node := bitcointest.StartBtcd(t)
	if err := node.MineTo(ctx, bitcointest.SegwitHeight); err != nil {
		t.Fatal(err)
	}
	chain := newHookChain(node.NewChain(t))
	managers, dids := participants(t, chain, 3)
	var w *multisig.Wallet
	var err error
	for _, m := range managers {
		if w, err = m.Multisig(ctx, 3, dids, multisig.WithKind(bitcoin.MuSig2KeyPath)); err != nil {
			t.Fatal(err)
		}
	}
	funder, err := bitcointest.NewWallet(chain.Chain, node.MiningKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := funder.Send(ctx, wire.NewTxOut(2_000_000, w.Address().PkScript())); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	bitcointest.WaitTip(t, chain, bitcointest.SegwitHeight+1)
	payee := mustParse(t, mustAddr(t, "node musig2 payee"))
	base, err := managers[0].MultisigPSBT(ctx, w, wire.NewTxOut(1_500_000, payee.PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	sent, addr := []byte(base.Base64()), w.Address().String()
	nonces, partials := map[string][][]byte{}, map[string][][]byte{}
	for i, m := range managers {
		if nonces[dids[i]], err = m.MultisigNonces(ctx, dids[i], addr, sent); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range managers {
		if partials[dids[i]], err = m.MultisigPartialSigs(ctx, dids[i], addr, sent, nonces); err != nil {
			t.Fatal(err)
		}
	}
	txid, err := managers[0].FinishMultisigKeyPath(ctx, w, base, nonces, partials)
	if err != nil {
		t.Fatal(err)
	}
	chain.counts()
	if again, err := managers[0].FinishMultisigKeyPath(ctx, w, base, nil, nil); err != nil || again != txid {
		t.Fatalf("finishing again: %s %v, want %s", again, err, txid)
	}
	if n := chain.counts()["Broadcast"]; n != 0 {
		t.Fatalf("finishing again broadcast %d transactions", n)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	bitcointest.WaitTip(t, chain, bitcointest.SegwitHeight+2)
	info, err := chain.Tx(ctx, txid)
	if err != nil || info.Block == nil {
		t.Fatalf("the key-path spend %s is not confirmed: %v", txid, err)
	}
	if wit := info.Tx.TxIn[0].Witness; len(wit) != 1 || len(wit[0]) != 64 {
		t.Fatalf("the witness is not one BIP-340 signature: %x", wit)
	}
}

package bitcointest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// RunChainSuite checks that a [bitcoin.Chain] backend follows the contract documented on the
// interface, and that a [bitcoin.Notifier] on it delivers reorg-safe events. newBackend is
// called once per subtest; the subtests run one after another and only rely on what they
// mine themselves, so a factory may hand out fresh Chain clients of one shared node.
//
// A backend's test is one line:
//
//	func TestChainSuite(t *testing.T) { bitcointest.RunChainSuite(t, newBackend) }
func RunChainSuite(t *testing.T, newBackend func(t *testing.T) Backend) {
	run(t, "Blocks", newBackend, testBlocks)
	run(t, "Updates", newBackend, testUpdates)
	run(t, "Broadcast", newBackend, testBroadcast)
	run(t, "Rejects", newBackend, testRejects)
	run(t, "UTXOs", newBackend, testUTXOs)
	run(t, "Watch", newBackend, testWatch)
	run(t, "Reorg", newBackend, testReorg)
	run(t, "Mempool", newBackend, testMempool)
	run(t, "Notifier", newBackend, testNotifier)
	run(t, "Concurrent", newBackend, testConcurrent)
	run(t, "Context", newBackend, testContext)
	run(t, "Close", newBackend, testClose)
}

// mustFailure carries a failed must up to the subtest, which fails with it.
type mustFailure struct {
	where string
	err   error
}

// must returns v, or aborts the running subtest (see run) if err is not nil.
func must[T any](v T, err error) T {
	if err != nil {
		_, file, line, _ := runtime.Caller(1)
		panic(mustFailure{where: fmt.Sprintf("%s:%d", filepath.Base(file), line), err: err})
	}
	return v
}

func run(t *testing.T, name string, newBackend func(*testing.T) Backend, f func(*testing.T, Backend)) {
	t.Run(name, func(t *testing.T) {
		defer func() {
			if r := recover(); r != nil {
				if m, ok := r.(mustFailure); ok {
					t.Fatalf("%s: %v", m.where, m.err)
				}
				panic(r)
			}
		}()
		f(t, newBackend(t))
	})
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one matching %v", what, err, target)
	}
}

// recorder subscribes to a chain and records updates without ever blocking it.
type recorder struct {
	ch         chan bitcoin.ChainUpdate
	dropped    atomic.Int64
	inside     atomic.Int32
	concurrent atomic.Bool
	unsub      func()
}

func record(t *testing.T, c bitcoin.Chain) *recorder {
	r := &recorder{ch: make(chan bitcoin.ChainUpdate, 100_000)}
	r.unsub = c.Subscribe(func(u bitcoin.ChainUpdate) {
		if r.inside.Add(1) > 1 {
			r.concurrent.Store(true)
		}
		select {
		case r.ch <- u:
		default:
			r.dropped.Add(1)
		}
		r.inside.Add(-1)
	})
	t.Cleanup(r.unsub)
	return r
}

func (r *recorder) waitTip(t *testing.T, hash chainhash.Hash) bitcoin.ChainUpdate {
	t.Helper()
	return WaitFor(t, r.ch, func(u bitcoin.ChainUpdate) bool { return u.Kind == bitcoin.UpdateTip && u.Tip.Hash == hash })
}

func testBlocks(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	hashes := must(b.Mine(ctx, 2))
	best := must(c.BestBlock(ctx))
	if best.Hash != hashes[1] {
		t.Fatalf("BestBlock = %v, want the last mined block %s", best, hashes[1])
	}
	if h := must(c.BlockHash(ctx, best.Height)); h != best.Hash {
		t.Fatalf("BlockHash(%d) = %s, want %s", best.Height, h, best.Hash)
	}
	if h := must(c.BlockHash(ctx, best.Height-1)); h != hashes[0] {
		t.Fatalf("BlockHash(%d) = %s, want %s", best.Height-1, h, hashes[0])
	}
	hdr := must(c.BlockHeader(ctx, best.Hash))
	if hdr.BlockHash() != best.Hash || hdr.PrevBlock != hashes[0] {
		t.Fatalf("BlockHeader(%s) hashes to %s with parent %s", best.Hash, hdr.BlockHash(), hdr.PrevBlock)
	}
	blk := must(c.Block(ctx, best.Hash))
	if blk.BlockHash() != best.Hash || len(blk.Transactions) == 0 {
		t.Fatalf("Block(%s) hashes to %s with %d transactions", best.Hash, blk.BlockHash(), len(blk.Transactions))
	}
	txs := make([]*btcutil.Tx, len(blk.Transactions))
	for i, tx := range blk.Transactions {
		txs[i] = btcutil.NewTx(tx)
	}
	if root := blockchain.CalcMerkleRoot(txs, false); root != hdr.MerkleRoot {
		t.Fatalf("Block(%s) merkle root %s, header says %s", best.Hash, root, hdr.MerkleRoot)
	}
	if g := must(c.BlockHash(ctx, 0)); g != *c.Params().GenesisHash {
		t.Fatalf("BlockHash(0) = %s, want the genesis block %s", g, c.Params().GenesisHash)
	}
	unknown := chainhash.Hash{0x01, 0x02, 0x03}
	_, err := c.BlockHash(ctx, best.Height+1)
	wantErr(t, "BlockHash above the tip", err, bitcoin.ErrNotFound)
	_, err = c.BlockHash(ctx, -1)
	wantErr(t, "BlockHash(-1)", err, bitcoin.ErrNotFound)
	_, err = c.BlockHeader(ctx, unknown)
	wantErr(t, "BlockHeader of an unknown block", err, bitcoin.ErrNotFound)
	_, err = c.Block(ctx, unknown)
	wantErr(t, "Block of an unknown block", err, bitcoin.ErrNotFound)
	_, err = c.Tx(ctx, unknown)
	wantErr(t, "Tx of an unknown transaction", err, bitcoin.ErrNotFound)
	_, err = c.TxOut(ctx, wire.OutPoint{Hash: unknown}, true)
	wantErr(t, "TxOut of an unknown output", err, bitcoin.ErrNotFound)

	// The coinbase of a mined block is a main-chain transaction.
	cb := blk.Transactions[0].TxHash()
	info := must(c.Tx(ctx, cb))
	if info.Block == nil || info.Block.Hash != best.Hash || info.Block.Height != best.Height {
		t.Fatalf("Tx(coinbase) block = %v, want %v", info.Block, best)
	}
	u := must(c.TxOut(ctx, wire.OutPoint{Hash: cb}, false))
	if !u.Coinbase || u.Height != best.Height || u.Value != btcutil.Amount(blk.Transactions[0].TxOut[0].Value) {
		t.Fatalf("TxOut(coinbase) = %+v", u)
	}
}

func testUpdates(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	r := record(t, c)
	hashes := must(b.Mine(ctx, 3))
	u := r.waitTip(t, hashes[2])
	best := must(c.BestBlock(ctx))
	if u.Tip != best {
		t.Fatalf("last tip update %v, BestBlock %v", u.Tip, best)
	}
	if u.Header != nil && u.Header.BlockHash() != u.Tip.Hash {
		t.Fatalf("tip update header hashes to %s, tip is %s", u.Header.BlockHash(), u.Tip.Hash)
	}
	if r.concurrent.Load() {
		t.Fatal("the handler was called concurrently")
	}
	r.unsub()
	r.unsub() // idempotent
}

func testBroadcast(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	dest := P2WPKHScript(KeyFromSeed(t.Name() + "/dest"))
	tx := must(b.Wallet().Build(ctx, wire.NewTxOut(100_000, dest)))
	txid := tx.TxHash()
	if err := c.TestAccept(ctx, tx); err != nil {
		t.Fatalf("TestAccept of a valid transaction: %v", err)
	}
	if _, err := c.Tx(ctx, txid); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("TestAccept added the transaction (Tx error %v)", err)
	}
	if id := must(c.Broadcast(ctx, tx)); id != txid {
		t.Fatalf("Broadcast returned %s, want %s", id, txid)
	}
	if id := must(c.Broadcast(ctx, tx)); id != txid {
		t.Fatalf("second Broadcast returned %s, want %s", id, txid)
	}
	err := c.TestAccept(ctx, tx)
	var rej *bitcoin.RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("TestAccept of a mempool transaction: got %v, want a *RejectError", err)
	}
	info := must(c.Tx(ctx, txid))
	if info.Block != nil || info.Tx.TxHash() != txid {
		t.Fatalf("Tx(%s) of a mempool transaction = block %v, tx %s", txid, info.Block, info.Tx.TxHash())
	}
	entries := must(c.Mempool(ctx))
	i := slices.IndexFunc(entries, func(e bitcoin.MempoolEntry) bool { return e.Txid == txid })
	if i < 0 {
		t.Fatalf("Mempool lacks %s", txid)
	}
	if e := entries[i]; e.VSize <= 0 || e.Fee <= 0 || e.FeeRate() < bitcoin.MinRelayFeeRate {
		t.Fatalf("Mempool entry %+v: want positive vsize and a fee of at least 1 sat/vB", e)
	}
	hashes := must(b.Mine(ctx, 1))
	info = must(c.Tx(ctx, txid))
	if info.Block == nil || info.Block.Hash != hashes[0] {
		t.Fatalf("Tx(%s) after mining: block %v, want %s", txid, info.Block, hashes[0])
	}
	if id := must(c.Broadcast(ctx, tx)); id != txid {
		t.Fatalf("Broadcast of a confirmed transaction returned %s, want %s", id, txid)
	}
	if id := must(bitcoin.Broadcast(ctx, c, tx)); id != txid {
		t.Fatalf("bitcoin.Broadcast of a confirmed transaction returned %s, want %s", id, txid)
	}
}

func wantReject(t *testing.T, c bitcoin.Chain, what string, tx *wire.MsgTx) {
	t.Helper()
	ctx := t.Context()
	err := c.TestAccept(ctx, tx)
	var rej *bitcoin.RejectError
	if !errors.As(err, &rej) || !errors.Is(err, bitcoin.ErrRejected) {
		t.Fatalf("TestAccept(%s): got %v, want a *RejectError", what, err)
	}
	if rej.Reason == "" {
		t.Fatalf("TestAccept(%s): empty reason", what)
	}
	_, err = c.Broadcast(ctx, tx)
	if !errors.As(err, &rej) {
		t.Fatalf("Broadcast(%s): got %v, want a *RejectError", what, err)
	}
	if _, err := c.Tx(ctx, tx.TxHash()); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("%s: the rejected transaction is known to the chain (err %v)", what, err)
	}
}

func testRejects(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	w := b.Wallet()
	dest := P2WPKHScript(KeyFromSeed(t.Name() + "/dest"))

	missing := wire.NewMsgTx(2)
	missing.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: chainhash.Hash{0xee}, Index: 3}, Witness: wire.TxWitness{{1}}})
	missing.AddTxOut(wire.NewTxOut(10_000, dest))
	wantReject(t, c, "spends an unknown output", missing)

	coins := must(w.Spendable(ctx))
	if len(coins) < 2 {
		t.Fatalf("the wallet needs two spendable coins, has %d", len(coins))
	}
	coin := coins[0]
	overspend := must(SpendOutput(coin.OutPoint, coin.Value, w.Key(), dest, -1000))
	wantReject(t, c, "outputs exceed inputs", overspend)

	badSig := must(SpendOutput(coin.OutPoint, coin.Value, w.Key(), dest, 1000))
	sig := badSig.TxIn[0].Witness[0]
	sig[len(sig)/2] ^= 0x55
	wantReject(t, c, "bad signature", badSig)

	wrongKey := must(SpendOutput(coin.OutPoint, coin.Value, KeyFromSeed("not the owner"), dest, 1000))
	wantReject(t, c, "signed by another key", wrongKey)

	// Amounts out of range are refused with the SDK's typed error, whatever the backend.
	for _, v := range []int64{-1, btcutil.MaxSatoshi + 1, math.MaxInt64} {
		tx := must(SpendOutput(coin.OutPoint, coin.Value, w.Key(), dest, 1000))
		tx.TxOut[0].Value = v
		wantReject(t, c, fmt.Sprintf("output of %d sat", v), tx)
		err := c.TestAccept(ctx, tx)
		var ae *bitcoin.AmountError
		if _, berr := c.Broadcast(ctx, tx); !errors.As(err, &ae) || !errors.As(berr, &ae) {
			t.Fatalf("output of %d sat: TestAccept %v, Broadcast %v; want *AmountError", v, err, berr)
		}
	}

	// A conflicting spend that pays less fee than the mempool transaction cannot replace it.
	first := must(SpendOutput(coin.OutPoint, coin.Value, w.Key(), dest, 50_000))
	must(c.Broadcast(ctx, first))
	second := must(SpendOutput(coin.OutPoint, coin.Value, w.Key(), P2WPKHScript(KeyFromSeed("other")), 20_000))
	wantReject(t, c, "double spend", second)
	// Once mined, the same output cannot be spent again either.
	must(b.Mine(ctx, 1))
	wantReject(t, c, "spends a spent output", second)

	// Immature coinbase: the newest block's reward.
	best := must(c.BestBlock(ctx))
	blk := must(c.Block(ctx, best.Hash))
	cb := blk.Transactions[0]
	if bytes.Equal(cb.TxOut[0].PkScript, w.PkScript()) {
		immature := must(SpendOutput(wire.OutPoint{Hash: cb.TxHash()}, btcutil.Amount(cb.TxOut[0].Value), w.Key(), dest, 1000))
		wantReject(t, c, "spends an immature coinbase", immature)
	}
}

func testUTXOs(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	w := b.Wallet()
	key := KeyFromSeed(t.Name())
	script := P2WPKHScript(key)
	dest := P2WPKHScript(KeyFromSeed(t.Name() + "/dest"))
	_, op1 := mustFund(t, w, script, 200_000)
	_, op2 := mustFund(t, w, script, 300_000)

	us := must(c.UTXOs(ctx, script))
	if len(us) != 2 || us[0].Height != 0 || us[1].Height != 0 {
		t.Fatalf("UTXOs of two unconfirmed outputs = %+v", us)
	}
	got := map[wire.OutPoint]btcutil.Amount{us[0].OutPoint: us[0].Value, us[1].OutPoint: us[1].Value}
	if got[op1] != 200_000 || got[op2] != 300_000 || !bytes.Equal(us[0].PkScript, script) {
		t.Fatalf("UTXOs = %+v, want %s=200000 and %s=300000", us, op1, op2)
	}
	if u := must(c.TxOut(ctx, op1, true)); u.Height != 0 || u.Value != 200_000 {
		t.Fatalf("TxOut(mempool output, includeMempool) = %+v", u)
	}
	_, err := c.TxOut(ctx, op1, false)
	wantErr(t, "TxOut(mempool output, confirmed only)", err, bitcoin.ErrNotFound)

	hashes := must(b.Mine(ctx, 1))
	best := must(c.BestBlock(ctx))
	if best.Hash != hashes[0] {
		t.Fatalf("tip %v, mined %s", best, hashes[0])
	}
	us = must(c.UTXOs(ctx, script))
	if len(us) != 2 || us[0].Height != best.Height || us[1].Height != best.Height {
		t.Fatalf("UTXOs after mining = %+v, want both at height %d", us, best.Height)
	}
	if !slices.IsSortedFunc(us, func(a, b bitcoin.UTXO) int { return bytes.Compare(a.OutPoint.Hash[:], b.OutPoint.Hash[:]) }) {
		t.Fatalf("UTXOs of one height are not ordered by outpoint: %+v", us)
	}
	addrUs := must(bitcoin.AddressUTXOs(ctx, c, must(addressOf(key, c))))
	if len(addrUs) != 2 {
		t.Fatalf("AddressUTXOs = %+v", addrUs)
	}

	spend := must(SpendOutput(op1, 200_000, key, dest, 1_000))
	must(c.Broadcast(ctx, spend))
	us = must(c.UTXOs(ctx, script))
	if len(us) != 1 || us[0].OutPoint != op2 {
		t.Fatalf("UTXOs after spending %s in the mempool = %+v, want only %s", op1, us, op2)
	}
	_, err = c.TxOut(ctx, op1, true)
	wantErr(t, "TxOut(spent in mempool, includeMempool)", err, bitcoin.ErrNotFound)
	if u := must(c.TxOut(ctx, op1, false)); u.Value != 200_000 || u.Height != best.Height {
		t.Fatalf("TxOut(spent in mempool, confirmed only) = %+v", u)
	}
	must(b.Mine(ctx, 1))
	_, err = c.TxOut(ctx, op1, false)
	wantErr(t, "TxOut(spent output)", err, bitcoin.ErrNotFound)
}

func mustFund(t *testing.T, w *Wallet, script []byte, amount btcutil.Amount) (*wire.MsgTx, wire.OutPoint) {
	t.Helper()
	tx, op, err := w.Fund(t.Context(), script, amount)
	if err != nil {
		t.Fatal(err)
	}
	return tx, op
}

func addressOf(key *btcec.PrivateKey, c bitcoin.Chain) (btcutil.Address, error) {
	return btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(key.PubKey().SerializeCompressed()), c.Params())
}

func testWatch(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	script := P2WPKHScript(KeyFromSeed(t.Name()))
	r := record(t, c)
	if err := c.Watch(ctx, [][]byte{script}); err != nil {
		t.Fatal(err)
	}
	tx, _ := mustFund(t, b.Wallet(), script, 50_000)
	WaitFor(t, r.ch, func(u bitcoin.ChainUpdate) bool {
		return u.Kind == bitcoin.UpdateMempool && u.Tx != nil && u.Tx.TxHash() == tx.TxHash()
	})
	if err := c.Watch(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

func testReorg(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	r := record(t, c)
	dest := P2WPKHScript(KeyFromSeed(t.Name() + "/dest"))
	tx := must(b.Wallet().Send(ctx, wire.NewTxOut(70_000, dest)))
	old := must(b.Mine(ctx, 2))
	oldTip := must(c.BestBlock(ctx))
	info := must(c.Tx(ctx, tx.TxHash()))
	if info.Block == nil || info.Block.Hash != old[0] {
		t.Fatalf("tx confirmed in %v, want %s", info.Block, old[0])
	}
	fresh := must(b.Reorg(ctx, 2, 3))
	best := must(c.BestBlock(ctx))
	if best.Hash != fresh[2] || best.Height != oldTip.Height+1 {
		t.Fatalf("tip after reorg %v, want %d:%s", best, oldTip.Height+1, fresh[2])
	}
	for i, h := range old {
		height := oldTip.Height - 1 + int32(i)
		if main := must(c.BlockHash(ctx, height)); main == h {
			t.Fatalf("orphaned block %s still on the main chain", h)
		}
		hdr := must(c.BlockHeader(ctx, h))
		if hdr.BlockHash() != h {
			t.Fatalf("BlockHeader(orphan %s) hashes to %s", h, hdr.BlockHash())
		}
		if blk := must(c.Block(ctx, h)); blk.BlockHash() != h {
			t.Fatalf("Block(orphan %s) hashes to %s", h, blk.BlockHash())
		}
	}
	// The transaction went back to the mempool and into the new branch's first block.
	info = must(c.Tx(ctx, tx.TxHash()))
	if info.Block == nil || info.Block.Hash != fresh[0] {
		t.Fatalf("tx after reorg in %v, want %s", info.Block, fresh[0])
	}
	r.waitTip(t, fresh[2])
}

func testMempool(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	dest := P2WPKHScript(KeyFromSeed(t.Name() + "/dest"))
	var sent []chainhash.Hash
	for range 3 {
		tx := must(b.Wallet().Send(ctx, wire.NewTxOut(40_000, dest)))
		sent = append(sent, tx.TxHash())
	}
	entries := must(c.Mempool(ctx))
	s := bitcoin.SummarizeMempool(entries)
	if s.Count < 3 || s.VSize <= 0 || s.Fees <= 0 {
		t.Fatalf("mempool snapshot %+v, want at least our 3 transactions", s)
	}
	for _, id := range sent {
		if !slices.ContainsFunc(entries, func(e bitcoin.MempoolEntry) bool { return e.Txid == id }) {
			t.Fatalf("Mempool lacks %s", id)
		}
	}
	var inHist int
	for _, bk := range s.Histogram {
		inHist += bk.Count
	}
	if inHist != s.Count {
		t.Fatalf("histogram holds %d transactions, snapshot %d", inHist, s.Count)
	}
	est, err := bitcoin.EstimateFee(ctx, c, 6)
	if err != nil || est.Rate < bitcoin.MinRelayFeeRate || est.Source == "" {
		t.Fatalf("EstimateFee = %+v, %v", est, err)
	}
	must(b.Mine(ctx, 1))
	entries = must(c.Mempool(ctx))
	for _, id := range sent {
		if slices.ContainsFunc(entries, func(e bitcoin.MempoolEntry) bool { return e.Txid == id }) {
			t.Fatalf("mined transaction %s still in the mempool", id)
		}
	}
}

func testNotifier(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	w := b.Wallet()
	n := must(bitcoin.NewNotifier(ctx, c))
	t.Cleanup(func() { _ = n.Close() })
	start := n.Tip()
	blocks := must(n.SubscribeBlocks(ctx, bitcoin.BlockStamp{}))

	dest := P2WPKHScript(KeyFromSeed(t.Name() + "/dest"))
	tx := must(w.Send(ctx, wire.NewTxOut(60_000, dest)))
	conf := must(n.RegisterConf(ctx, bitcoin.ConfRequest{Txid: tx.TxHash(), NumConfs: 2, HeightHint: start.Height}))
	byScript := must(n.RegisterConf(ctx, bitcoin.ConfRequest{PkScript: dest, NumConfs: 1, HeightHint: start.Height}))
	spend := must(n.RegisterSpend(ctx, bitcoin.SpendRequest{OutPoint: wire.OutPoint{Hash: tx.TxHash(), Index: 0}, HeightHint: start.Height}))

	h1 := must(b.Mine(ctx, 1))
	wantBlock(t, blocks, bitcoin.BlockConnected{Height: start.Height + 1, Hash: h1[0]})
	if ev, ok := Next(t, conf.Events()).(bitcoin.TxConfUpdate); !ok || ev.Confirmations != 1 || ev.Block.Hash != h1[0] {
		t.Fatalf("first conf event %#v, want TxConfUpdate 1 in %s", ev, h1[0])
	}
	if ev, ok := Next(t, byScript.Events()).(bitcoin.TxConfirmed); !ok || ev.Txid != tx.TxHash() {
		t.Fatalf("script registration event %#v, want TxConfirmed of %s", ev, tx.TxHash())
	}
	h2 := must(b.Mine(ctx, 1))
	wantBlock(t, blocks, bitcoin.BlockConnected{Height: start.Height + 2, Hash: h2[0]})
	if ev, ok := Next(t, conf.Events()).(bitcoin.TxConfirmed); !ok || ev.Confirmations != 2 || ev.Block.Hash != h1[0] || ev.Tx.TxHash() != tx.TxHash() {
		t.Fatalf("second conf event %#v, want TxConfirmed with 2 confirmations", ev)
	}

	// Reorg both blocks away; the transaction confirms again in the new branch.
	fresh := must(b.Reorg(ctx, 2, 3))
	wantBlock(t, blocks, bitcoin.BlockDisconnected{Height: start.Height + 2, Hash: h2[0]})
	wantBlock(t, blocks, bitcoin.BlockDisconnected{Height: start.Height + 1, Hash: h1[0]})
	for i, h := range fresh {
		wantBlock(t, blocks, bitcoin.BlockConnected{Height: start.Height + 1 + int32(i), Hash: h})
	}
	if ev, ok := Next(t, conf.Events()).(bitcoin.TxReorged); !ok || ev.Block.Hash != h1[0] {
		t.Fatalf("conf event after reorg %#v, want TxReorged of %s", ev, h1[0])
	}
	if ev, ok := Next(t, conf.Events()).(bitcoin.TxConfUpdate); !ok || ev.Confirmations != 1 || ev.Block.Hash != fresh[0] {
		t.Fatalf("conf event %#v, want TxConfUpdate 1 in %s", ev, fresh[0])
	}
	if ev, ok := Next(t, conf.Events()).(bitcoin.TxConfirmed); !ok || ev.Confirmations != 2 || ev.Block.Hash != fresh[0] {
		t.Fatalf("conf event %#v, want TxConfirmed 2 in %s", ev, fresh[0])
	}
	if ev, ok := Next(t, byScript.Events()).(bitcoin.TxReorged); !ok || ev.Txid != tx.TxHash() {
		t.Fatalf("script registration event %#v, want TxReorged", ev)
	}
	if ev, ok := Next(t, byScript.Events()).(bitcoin.TxConfirmed); !ok || ev.Block.Hash != fresh[0] {
		t.Fatalf("script registration event %#v, want TxConfirmed in %s", ev, fresh[0])
	}

	// Spend the registered output.
	key := KeyFromSeed(t.Name() + "/dest")
	spender := must(SpendOutput(wire.OutPoint{Hash: tx.TxHash()}, 60_000, key, w.PkScript(), 1_000))
	must(c.Broadcast(ctx, spender))
	h3 := must(b.Mine(ctx, 1))
	ev, ok := Next(t, spend.Events()).(bitcoin.OutpointSpent)
	if !ok || ev.SpenderTxid != spender.TxHash() || ev.Block.Hash != h3[0] || ev.InputIndex != 0 {
		t.Fatalf("spend event %#v, want OutpointSpent by %s in %s", ev, spender.TxHash(), h3[0])
	}

	// A late registration finds the confirmed transaction in history.
	late := must(n.RegisterConf(ctx, bitcoin.ConfRequest{Txid: spender.TxHash(), NumConfs: 1, HeightHint: start.Height}))
	if ev, ok := Next(t, late.Events()).(bitcoin.TxConfirmed); !ok || ev.Block.Hash != h3[0] {
		t.Fatalf("historical conf event %#v, want TxConfirmed in %s", ev, h3[0])
	}
	lateSpend := must(n.RegisterSpend(ctx, bitcoin.SpendRequest{OutPoint: wire.OutPoint{Hash: tx.TxHash()}, HeightHint: start.Height}))
	if ev, ok := Next(t, lateSpend.Events()).(bitcoin.OutpointSpent); !ok || ev.SpenderTxid != spender.TxHash() {
		t.Fatalf("historical spend event %#v", ev)
	}

	// Replay from the start checkpoint yields the main chain as it is now.
	var replay []bitcoin.BlockEvent
	for ev, err := range n.Blocks(ctx, start) {
		if err != nil {
			t.Fatal(err)
		}
		replay = append(replay, ev)
		if len(replay) == 4 {
			break
		}
	}
	want := append(slices.Clone(fresh), h3[0])
	for i, ev := range replay {
		bc, ok := ev.(bitcoin.BlockConnected)
		if !ok || bc.Hash != want[i] || bc.Height != start.Height+1+int32(i) {
			t.Fatalf("replay event %d = %#v, want connect of %s", i, ev, want[i])
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	for range blocks.Events() {
	}
	wantErr(t, "subscription after Close", blocks.Err(), bitcoin.ErrClosed)
}

func wantBlock(t *testing.T, reg *bitcoin.Registration[bitcoin.BlockEvent], want bitcoin.BlockEvent) {
	t.Helper()
	got := Next(t, reg.Events())
	switch w := want.(type) {
	case bitcoin.BlockConnected:
		g, ok := got.(bitcoin.BlockConnected)
		if !ok || g.Hash != w.Hash || g.Height != w.Height || g.Header.BlockHash() != w.Hash {
			t.Fatalf("block event %#v, want connect %d:%s", got, w.Height, w.Hash)
		}
	case bitcoin.BlockDisconnected:
		g, ok := got.(bitcoin.BlockDisconnected)
		if !ok || g.Hash != w.Hash || g.Height != w.Height || g.Header.BlockHash() != w.Hash {
			t.Fatalf("block event %#v, want disconnect %d:%s", got, w.Height, w.Hash)
		}
	}
}

func testConcurrent(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 4 {
		wg.Go(func() {
			for range 20 {
				best, err := c.BestBlock(ctx)
				if err != nil {
					errs <- err
					return
				}
				if _, err := c.BlockHeader(ctx, best.Hash); err != nil && !errors.Is(err, bitcoin.ErrNotFound) {
					errs <- err
					return
				}
				if _, err := c.Mempool(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		if _, err := b.Mine(ctx, 5); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testContext(t *testing.T, b Backend) {
	c := b.Chain()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.BestBlock(ctx)
	wantErr(t, "BestBlock with a cancelled context", err, context.Canceled)
	_, err = c.Block(ctx, *c.Params().GenesisHash)
	wantErr(t, "Block with a cancelled context", err, context.Canceled)
	_, err = c.UTXOs(ctx, b.Wallet().PkScript())
	wantErr(t, "UTXOs with a cancelled context", err, context.Canceled)
}

func testClose(t *testing.T, b Backend) {
	ctx := t.Context()
	c := b.Chain()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := c.BestBlock(ctx)
	wantErr(t, "BestBlock after Close", err, bitcoin.ErrClosed)
	_, err = c.Broadcast(ctx, wire.NewMsgTx(2))
	wantErr(t, "Broadcast after Close", err, bitcoin.ErrClosed)
	unsub := c.Subscribe(func(bitcoin.ChainUpdate) {})
	unsub()
}

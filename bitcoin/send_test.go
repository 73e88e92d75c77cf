package bitcoin_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
)

func TestMemSendStoreSuite(t *testing.T) {
	bitcointest.RunSendStoreSuite(t, func(*testing.T) bitcoin.SendStore { return bitcoin.NewMemSendStore() })
}

func newSender(t *testing.T, c bitcoin.Chain, opts ...bitcoin.Option) (*bitcoin.Sender, *bitcoin.MemSendStore) {
	t.Helper()
	store := bitcoin.NewMemSendStore()
	s, err := bitcoin.NewSender(c, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, store
}

func build(t *testing.T, s *bitcointest.Sim, seed string, amount int64) *wire.MsgTx {
	t.Helper()
	tx, err := s.Wallet().Build(t.Context(), wire.NewTxOut(amount, bitcointest.P2WPKHScript(bitcointest.KeyFromSeed(seed))))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func mempoolIDs(t *testing.T, c bitcoin.Chain) []chainhash.Hash {
	t.Helper()
	entries, err := c.Mempool(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]chainhash.Hash, len(entries))
	for i, e := range entries {
		ids[i] = e.Txid
	}
	return ids
}

func TestSendIdempotent(t *testing.T) {
	s := bitcointest.NewSim(t)
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	sent := bustest.Record[bitcoin.TxBroadcast](t, b, bitcoin.TopicTxBroadcast)
	snd, _ := newSender(t, s.SimChain(), bitcoin.WithBus(b))
	tx := build(t, s, "pay", 40_000)
	for range 3 {
		id, err := snd.Send(t.Context(), "payment-1", tx)
		if err != nil || id != tx.TxHash() {
			t.Fatalf("Send = %s, %v", id, err)
		}
	}
	if ids := mempoolIDs(t, s.SimChain()); len(ids) != 1 || ids[0] != tx.TxHash() {
		t.Fatalf("mempool %v, want just %s", ids, tx.TxHash())
	}
	// Broadcast (no key) is idempotent too, before and after confirmation.
	if id, err := bitcoin.Broadcast(t.Context(), s.SimChain(), tx); err != nil || id != tx.TxHash() {
		t.Fatalf("Broadcast = %s, %v", id, err)
	}
	mine(t, s, 1)
	if id, err := snd.Send(t.Context(), "payment-1", tx); err != nil || id != tx.TxHash() {
		t.Fatalf("Send after confirmation = %s, %v", id, err)
	}
	envs := sent.WaitFor(t, 1)
	if e := envs[0].Payload; e.Txid != tx.TxHash() || e.Key != "payment-1" {
		t.Fatalf("bus TxBroadcast %+v", e)
	}
}

func TestSendRefusesSecondTransaction(t *testing.T) {
	s := bitcointest.NewSim(t)
	snd, _ := newSender(t, s.SimChain())
	first := build(t, s, "a", 40_000)
	if _, err := snd.Send(t.Context(), "k", first); err != nil {
		t.Fatal(err)
	}
	second := build(t, s, "b", 41_000)
	_, err := snd.Send(t.Context(), "k", second)
	if !errors.Is(err, bitcoin.ErrKeyConflict) {
		t.Fatalf("second transaction under the same key: %v, want ErrKeyConflict", err)
	}
	if _, err := s.SimChain().Tx(t.Context(), second.TxHash()); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("the refused transaction reached the chain (%v)", err)
	}
	rec, err := snd.Record(t.Context(), "k")
	if err != nil || rec.Txid != first.TxHash() {
		t.Fatalf("record %+v, %v", rec, err)
	}
}

func TestSendFuncBuildsOnce(t *testing.T) {
	s := bitcointest.NewSim(t)
	snd, _ := newSender(t, s.SimChain())
	var builds atomic.Int32
	buildFn := func(ctx context.Context) (*wire.MsgTx, error) {
		builds.Add(1)
		// Each call would build a different transaction (new destination).
		return s.Wallet().Build(ctx, wire.NewTxOut(30_000+int64(builds.Load()), bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("x"))))
	}
	id1, err := snd.SendFunc(t.Context(), "order-7", buildFn)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := snd.SendFunc(t.Context(), "order-7", buildFn)
	if err != nil || id2 != id1 {
		t.Fatalf("second SendFunc = %s, %v; want %s", id2, err, id1)
	}
	if builds.Load() != 1 {
		t.Fatalf("build called %d times, want 1", builds.Load())
	}
	boom := errors.New("boom")
	if _, err := snd.SendFunc(t.Context(), "order-8", func(context.Context) (*wire.MsgTx, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("build error: %v", err)
	}
	if _, err := snd.SendFunc(t.Context(), "order-9", func(context.Context) (*wire.MsgTx, error) { return nil, nil }); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("nil transaction from build: %v", err)
	}
}

func TestSendRejectedLeavesKeyFree(t *testing.T) {
	s := bitcointest.NewSim(t)
	snd, _ := newSender(t, s.SimChain())
	bad := build(t, s, "bad", 40_000)
	bad.TxIn[0].Witness[0][5] ^= 1
	_, err := snd.Send(t.Context(), "k", bad)
	var rej *bitcoin.RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("invalid transaction: %v, want a *RejectError", err)
	}
	if _, err := snd.Record(t.Context(), "k"); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("a rejected transaction took the key: %v", err)
	}
	good := build(t, s, "good", 40_000)
	if id, err := snd.Send(t.Context(), "k", good); err != nil || id != good.TxHash() {
		t.Fatalf("Send after a rejection = %s, %v", id, err)
	}
}

// A host that crashed after recording the key but before broadcasting resumes by calling
// SendFunc again: the recorded transaction goes out, and build is not called.
func TestSendResumesRecordedTransaction(t *testing.T) {
	s := bitcointest.NewSim(t)
	snd, store := newSender(t, s.SimChain())
	tx := build(t, s, "resume", 40_000)
	var raw bytes.Buffer
	if err := tx.Serialize(&raw); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.PutIfAbsent(t.Context(), bitcoin.SendRecord{Key: "k", Txid: tx.TxHash(), RawTx: raw.Bytes()}); err != nil {
		t.Fatal(err)
	}
	id, err := snd.SendFunc(t.Context(), "k", func(context.Context) (*wire.MsgTx, error) {
		t.Error("build called for a recorded key")
		return nil, nil
	})
	if err != nil || id != tx.TxHash() {
		t.Fatalf("SendFunc = %s, %v", id, err)
	}
	if ids := mempoolIDs(t, s.SimChain()); len(ids) != 1 || ids[0] != tx.TxHash() {
		t.Fatalf("mempool %v", ids)
	}
}

func TestSendConcurrentSameKey(t *testing.T) {
	s := bitcointest.NewSim(t)
	snd, _ := newSender(t, s.SimChain())
	const n = 8
	txs := make([]*wire.MsgTx, n)
	for i := range txs {
		txs[i] = build(t, s, "race", 20_000+int64(i)) // all spend the same coin
	}
	var wg sync.WaitGroup
	ids := make([]chainhash.Hash, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = snd.Send(context.Background(), "k", txs[i]) })
	}
	wg.Wait()
	winners := 0
	var winner chainhash.Hash
	for i := range n {
		switch {
		case errs[i] == nil:
			winners++
			winner = ids[i]
		case errors.Is(errs[i], bitcoin.ErrKeyConflict), errors.Is(errs[i], bitcoin.ErrRejected):
		default:
			t.Fatalf("Send %d: %v", i, errs[i])
		}
	}
	if winners != 1 {
		t.Fatalf("%d sends succeeded, want 1", winners)
	}
	if got := mempoolIDs(t, s.SimChain()); len(got) != 1 || got[0] != winner {
		t.Fatalf("mempool %v, want only %s", got, winner)
	}
}

func TestSendValidation(t *testing.T) {
	s := bitcointest.NewSim(t)
	snd, _ := newSender(t, s.SimChain())
	tx := build(t, s, "v", 10_000)
	for _, c := range []struct {
		name string
		err  error
	}{
		{"empty key", func() error { _, err := snd.Send(t.Context(), "", tx); return err }()},
		{"long key", func() error {
			_, err := snd.Send(t.Context(), strings.Repeat("k", bitcoin.MaxSendKeyLen+1), tx)
			return err
		}()},
		{"nil tx", func() error { _, err := snd.Send(t.Context(), "k", nil); return err }()},
		{"nil tx broadcast", func() error { _, err := bitcoin.Broadcast(t.Context(), s.SimChain(), nil); return err }()},
		{"nil chain", func() error { _, err := bitcoin.NewSender(nil, bitcoin.NewMemSendStore()); return err }()},
		{"nil store", func() error { _, err := bitcoin.NewSender(s.SimChain(), nil); return err }()},
		{"nil clock", func() error {
			_, err := bitcoin.NewSender(s.SimChain(), bitcoin.NewMemSendStore(), bitcoin.WithClock(nil))
			return err
		}()},
	} {
		if !errors.Is(c.err, bitcoin.ErrInvalidArgument) {
			t.Errorf("%s: %v", c.name, c.err)
		}
	}
}

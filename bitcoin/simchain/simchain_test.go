package simchain_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
)

// Mined blocks pass btcd's own consensus checks: sanity (proof of work, merkle root, sizes),
// BIP-34 height in the coinbase and the BIP-141 witness commitment.
func TestMinedBlocksAreValid(t *testing.T) {
	s := bitcointest.NewSim(t)
	ctx := t.Context()
	// A block with a witness transaction needs a witness commitment.
	tx, err := s.Wallet().Send(ctx, wire.NewTxOut(10_000, bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("v"))))
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := s.SimChain().Mine(2)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hashes {
		blk, err := s.SimChain().Block(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		b := btcutil.NewBlock(blk)
		if err := blockchain.CheckBlockSanity(b, s.SimChain().Params().PowLimit, blockchain.NewMedianTime()); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if err := blockchain.ValidateWitnessCommitment(b); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		height := s.SimChain().Tip().Height - int32(len(hashes)-1-i)
		if err := blockchain.CheckSerializedHeight(b.Transactions()[0], height); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if i == 0 && (len(blk.Transactions) != 2 || blk.Transactions[1].TxHash() != tx.TxHash()) {
			t.Fatalf("first block does not hold the mempool transaction")
		}
		if _, has := blockchain.ExtractWitnessCommitment(b.Transactions()[0]); has != (i == 0) {
			t.Fatalf("block %d: witness commitment present = %v", i, has)
		}
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []chainhash.Hash {
		c, err := simchain.New()
		if err != nil {
			t.Fatal(err)
		}
		w, err := bitcointest.NewWalletFromSeed(c, "det")
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.Mine(101, simchain.PayTo(w.PkScript()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Send(t.Context(), wire.NewTxOut(5_000, simchain.AnyoneCanSpendScript())); err != nil {
			t.Fatal(err)
		}
		b, err := c.Reorg(1, 2)
		if err != nil {
			t.Fatal(err)
		}
		return append(a, b...)
	}
	first, second := run(), run()
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("block %d differs between runs: %s vs %s", i, first[i], second[i])
		}
	}
}

func TestTaprootKeySpend(t *testing.T) {
	s := bitcointest.NewSim(t)
	ctx := t.Context()
	key := bitcointest.KeyFromSeed("taproot")
	script, err := txscript.PayToTaprootScript(txscript.ComputeTaprootKeyNoScript(key.PubKey()))
	if err != nil {
		t.Fatal(err)
	}
	_, op, err := s.Wallet().Fund(ctx, script, 80_000)
	if err != nil {
		t.Fatal(err)
	}
	prev := wire.NewTxOut(80_000, script)
	spend := func(key2 func(*wire.MsgTx) wire.TxWitness) *wire.MsgTx {
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: op, Sequence: wire.MaxTxInSequenceNum})
		tx.AddTxOut(wire.NewTxOut(79_000, s.Wallet().PkScript()))
		tx.TxIn[0].Witness = key2(tx)
		return tx
	}
	sign := func(tx *wire.MsgTx) wire.TxWitness {
		fetcher := txscript.NewCannedPrevOutputFetcher(prev.PkScript, prev.Value)
		w, err := txscript.TaprootWitnessSignature(tx, txscript.NewTxSigHashes(tx, fetcher), 0, prev.Value, prev.PkScript, txscript.SigHashDefault, key)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	bad := spend(func(tx *wire.MsgTx) wire.TxWitness {
		w := sign(tx)
		w[0][10] ^= 1
		return w
	})
	var rej *bitcoin.RejectError
	if err := s.SimChain().TestAccept(ctx, bad); !errors.As(err, &rej) {
		t.Fatalf("bad schnorr signature: %v", err)
	}
	good := spend(sign)
	if err := s.SimChain().TestAccept(ctx, good); err != nil {
		t.Fatalf("taproot key-path spend: %v", err)
	}
}

func TestLockTimes(t *testing.T) {
	s := bitcointest.NewSim(t)
	ctx := t.Context()
	key := bitcointest.KeyFromSeed("locks")
	_, op, err := s.Wallet().Fund(ctx, bitcointest.P2WPKHScript(key), 60_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SimChain().Mine(1); err != nil {
		t.Fatal(err)
	}
	tip := s.SimChain().Tip().Height
	mk := func(lockTime, sequence uint32) *wire.MsgTx {
		tx, err := bitcointest.SpendOutput(op, 60_000, key, s.Wallet().PkScript(), 1_000)
		if err != nil {
			t.Fatal(err)
		}
		tx.LockTime, tx.TxIn[0].Sequence = lockTime, sequence
		if err := bitcointest.SignP2WPKH(tx, map[wire.OutPoint]*wire.TxOut{op: wire.NewTxOut(60_000, bitcointest.P2WPKHScript(key))}, key); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	wantReason := func(tx *wire.MsgTx, reason string) {
		t.Helper()
		var rej *bitcoin.RejectError
		if err := s.SimChain().TestAccept(ctx, tx); !errors.As(err, &rej) || rej.Reason != reason {
			t.Fatalf("got %v, want reject %q", err, reason)
		}
	}
	// Absolute lock time: a transaction locked to height H can go in block H+1.
	wantReason(mk(uint32(tip+1), 0), "non-final")
	if err := s.SimChain().TestAccept(ctx, mk(uint32(tip), 0)); err != nil {
		t.Fatalf("lock time of the tip: %v", err)
	}
	// BIP-68 relative lock of 3 blocks on an output confirmed at height tip: the spend can go
	// in block tip+3 at the earliest.
	wantReason(mk(0, 3), "non-BIP68-final")
	if _, err := s.SimChain().Mine(1); err != nil {
		t.Fatal(err)
	}
	wantReason(mk(0, 3), "non-BIP68-final")
	if _, err := s.SimChain().Mine(1); err != nil {
		t.Fatal(err)
	}
	if err := s.SimChain().TestAccept(ctx, mk(0, 3)); err != nil {
		t.Fatalf("relative lock met: %v", err)
	}
	// Time-based relative lock: 512 s units against median time past, blocks 10 min apart.
	wantReason(mk(0, wire.SequenceLockTimeIsSeconds|5), "non-BIP68-final")
	if _, err := s.SimChain().Mine(6); err != nil {
		t.Fatal(err)
	}
	if err := s.SimChain().TestAccept(ctx, mk(0, wire.SequenceLockTimeIsSeconds|5)); err != nil {
		t.Fatalf("time lock met: %v", err)
	}
}

func TestArgumentsAndErrors(t *testing.T) {
	for _, c := range []struct {
		opt  simchain.Option
		name string
	}{
		{simchain.WithParams(&chaincfg.MainNetParams), "simchain.WithParams"},
		{simchain.WithParams(nil), "simchain.WithParams"},
		{simchain.WithBlockInterval(time.Millisecond), "simchain.WithBlockInterval"},
		{simchain.WithParams(&chaincfg.SimNetParams), "simchain.WithParams"}, // retargets
		{simchain.WithCoinbaseScript(make([]byte, txscript.MaxScriptSize+1)), "simchain.WithCoinbaseScript"},
	} {
		_, err := simchain.New(c.opt)
		var oe *bitcoin.OptionError
		if !errors.As(err, &oe) || oe.Option != c.name || !errors.Is(err, simchain.ErrInvalidOption) || !errors.Is(err, bitcoin.ErrInvalidArgument) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	c, err := simchain.New(simchain.WithParams(&chaincfg.RegressionNetParams), simchain.WithBlockInterval(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Mine(-1); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("Mine(-1): %v", err)
	}
	if _, err := c.Mine(1, simchain.PayTo(make([]byte, txscript.MaxScriptSize+1))); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("long PayTo: %v", err)
	}
	if _, err := c.Reorg(1, 1); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("reorg of the genesis block: %v", err)
	}
	if err := c.Evict(chainhash.Hash{1}); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("Evict unknown: %v", err)
	}
	if err := c.TestAccept(t.Context(), nil); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("nil tx: %v", err)
	}
	if est, err := c.EstimateFee(t.Context(), 2); !errors.Is(err, bitcoin.ErrNoFeeEstimate) {
		t.Fatalf("EstimateFee = %v, %v", est, err)
	}
	hashes, err := c.Mine(3)
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := c.BlockHeader(t.Context(), hashes[2])
	prev, _ := c.BlockHeader(t.Context(), hashes[1])
	if hdr.Timestamp.Sub(prev.Timestamp) != time.Minute {
		t.Fatalf("block interval %v", hdr.Timestamp.Sub(prev.Timestamp))
	}
	// Anyone can spend the default coinbase script once it is mature.
	if _, err := c.Mine(100); err != nil {
		t.Fatal(err)
	}
	blk, _ := c.Block(t.Context(), hashes[0])
	cb := blk.Transactions[0]
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: cb.TxHash()}, Witness: simchain.AnyoneCanSpendWitness()})
	tx.AddTxOut(wire.NewTxOut(cb.TxOut[0].Value-1000, simchain.AnyoneCanSpendScript()))
	if _, err := c.Broadcast(t.Context(), tx); err != nil {
		t.Fatalf("anyone-can-spend: %v", err)
	}
	if !bytes.Equal(cb.TxOut[0].PkScript, simchain.AnyoneCanSpendScript()) {
		t.Fatal("default coinbase script")
	}
}

// FuzzBroadcast hands arbitrary bytes, decoded as a transaction, to a funded chain: the chain
// must reject them with a typed error (or accept a valid one), never panic, and stay usable.
func FuzzBroadcast(f *testing.F) {
	s, err := simchain.New()
	if err != nil {
		f.Fatal(err)
	}
	w, err := bitcointest.NewWalletFromSeed(s, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.Mine(101, simchain.PayTo(w.PkScript())); err != nil {
		f.Fatal(err)
	}
	valid, err := w.Build(f.Context(), wire.NewTxOut(1_000, simchain.AnyoneCanSpendScript()))
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	_ = valid.Serialize(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var tx wire.MsgTx
		if tx.Deserialize(bytes.NewReader(data)) != nil {
			return
		}
		err := s.TestAccept(t.Context(), &tx)
		var rej *bitcoin.RejectError
		var fe *bitcoin.FieldError
		if err != nil && !errors.As(err, &rej) && !errors.As(err, &fe) {
			t.Fatalf("untyped error %v", err)
		}
		if _, err := s.BestBlock(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

package rpcchain

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// What a node answers is outside input too: transactions with amounts out of range, trailing
// bytes, and BTC values outside 0..21e6 are refused with the SDK's typed errors.
func TestNodeAnswersAreChecked(t *testing.T) {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: chainhash.Hash{1}}, nil, nil))
	tx.AddTxOut(wire.NewTxOut(math.MaxInt64, []byte{0x51}))
	tx.AddTxOut(wire.NewTxOut(math.MaxInt64, []byte{0x51}))
	var b bytes.Buffer
	_ = tx.Serialize(&b)
	var ae *bitcoin.AmountError
	if _, err := decodeTx(hex.EncodeToString(b.Bytes())); !errors.As(err, &ae) {
		t.Errorf("two outputs of 2^63-1: %v, want an *AmountError", err)
	}
	if _, err := decodeTx(hex.EncodeToString(b.Bytes()) + "00"); !errors.Is(err, bitcoin.ErrInvalidTransaction) {
		t.Errorf("trailing byte: %v", err)
	}
	if _, err := decodeTx("zz"); !errors.Is(err, bitcoin.ErrInvalidTransaction) {
		t.Errorf("bad hex: %v", err)
	}
	for _, v := range []float64{-0.00000001, 21_000_000.00000001, math.Inf(1), math.NaN(), 1e300} {
		if _, err := amount(v); !errors.Is(err, bitcoin.ErrAmountOutOfRange) {
			t.Errorf("amount(%v): %v, want ErrAmountOutOfRange", v, err)
		}
	}
	for _, v := range []float64{0, 0.00000001, 21_000_000} {
		if a, err := amount(v); err != nil || a != btcutil.Amount(math.Round(v*1e8)) {
			t.Errorf("amount(%v) = %v, %v", v, a, err)
		}
	}
}

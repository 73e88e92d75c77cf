package bitcoin

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
)

// Amounts are int64 satoshis on the wire, so a transaction from outside can carry any of
// them: -1, or 2^63-1 twice, which wraps a naive sum to a negative total. Consensus allows
// 0..btcutil.MaxSatoshi (21,000,000 BTC) for every output and for the sum of a
// transaction's outputs. Everything that takes a transaction, a PSBT, a coin or a spent
// output from outside checks its amounts here and refuses the rest with an *AmountError.

// CheckAmount returns an *AmountError unless a is within 0..btcutil.MaxSatoshi.
func CheckAmount(a btcutil.Amount) error {
	if a < 0 || a > btcutil.MaxSatoshi {
		return &AmountError{What: "amount", Index: -1, Value: int64(a)}
	}
	return nil
}

// CheckTxAmounts returns an *AmountError unless every output of tx, and the sum of all of
// them, is within 0..btcutil.MaxSatoshi — the consensus rule. It does not allocate.
func CheckTxAmounts(tx *wire.MsgTx) error {
	if tx == nil {
		return fmt.Errorf("%w: nil transaction", ErrInvalidTransaction)
	}
	return checkOutputs(tx.TxOut, nil)
}

// checkOutputs checks each output's value and their running total; ctx is the sentinel the
// error also matches (ErrInvalidTransaction, ErrInvalidPSBT, …), nil for none.
func checkOutputs(outs []*wire.TxOut, ctx error) error {
	var sum amountSum
	for i, o := range outs {
		if o == nil {
			return fmt.Errorf("%w: output %d is nil", ErrInvalidTransaction, i)
		}
		if err := sum.add("output", i, o.Value, ctx); err != nil {
			return err
		}
	}
	return nil
}

// amountSum adds amounts that are each checked to be within range, and checks the total
// after every addition, so it never overflows: the total is at most 2×MaxSatoshi when it
// first goes out of range.
type amountSum struct{ total int64 }

// add checks v, the amount of the what at index i, and adds it. The error names the item,
// or, for a total out of range, "<what> total".
func (s *amountSum) add(what string, i int, v int64, ctx error) error {
	if v < 0 || v > btcutil.MaxSatoshi {
		return &AmountError{What: what, Index: i, Value: v, Err: ctx}
	}
	s.total += v
	if s.total > btcutil.MaxSatoshi {
		return &AmountError{What: what + " total", Index: -1, Value: s.total, Err: ctx}
	}
	return nil
}

// DecodeTx decodes a transaction serialized with or without witness data. It refuses, with
// an error matching ErrInvalidTransaction, bytes that are not exactly one transaction
// (truncated, trailing bytes, impossible counts), and with an *AmountError outputs outside
// 0..btcutil.MaxSatoshi or summing above it.
func DecodeTx(raw []byte) (*wire.MsgTx, error) {
	tx := new(wire.MsgTx)
	r := bytes.NewReader(raw)
	if err := tx.Deserialize(r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTransaction, err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrInvalidTransaction, r.Len())
	}
	if err := checkOutputs(tx.TxOut, ErrInvalidTransaction); err != nil {
		return nil, err
	}
	return tx, nil
}

// CheckBlockAmounts returns an *AmountError unless every transaction of b passes
// CheckTxAmounts.
func CheckBlockAmounts(b *wire.MsgBlock) error {
	if b == nil {
		return fmt.Errorf("%w: nil block", ErrInvalidTransaction)
	}
	for i, tx := range b.Transactions {
		if err := checkOutputs(tx.TxOut, ErrInvalidTransaction); err != nil {
			return fmt.Errorf("bitcoin: block transaction %d: %w", i, err)
		}
	}
	return nil
}

// duplicateInput returns the index of the first input of tx that spends the same output as
// an earlier one, or -1. Such a transaction is invalid (consensus), and the outputs its
// inputs spend cannot be told apart by outpoint.
func duplicateInput(tx *wire.MsgTx) int {
	if len(tx.TxIn) < 2 {
		return -1
	}
	seen := make(map[wire.OutPoint]struct{}, len(tx.TxIn))
	for i, in := range tx.TxIn {
		if _, dup := seen[in.PreviousOutPoint]; dup {
			return i
		}
		seen[in.PreviousOutPoint] = struct{}{}
	}
	return -1
}

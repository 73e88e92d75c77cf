package bitcoin

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// UTXO is an unspent transaction output.
type UTXO struct {
	OutPoint wire.OutPoint  `json:"outpoint"`
	Value    btcutil.Amount `json:"value"`
	PkScript []byte         `json:"pkScript"`
	// Height is the height of the block that created the output, 0 while its transaction is
	// unconfirmed.
	Height   int32 `json:"height"`
	Coinbase bool  `json:"coinbase"`
}

// TxOut returns u as a wire output.
func (u UTXO) TxOut() *wire.TxOut { return wire.NewTxOut(int64(u.Value), u.PkScript) }

// AddressUTXOs returns the unspent outputs paying addr, as [Chain.UTXOs] does for its
// script. An address of another network fails with a [*FieldError].
func AddressUTXOs(ctx context.Context, c Chain, addr btcutil.Address) ([]UTXO, error) {
	if addr == nil {
		return nil, &FieldError{Field: "addr", Reason: "nil address"}
	}
	if !addr.IsForNet(c.Params()) {
		return nil, &FieldError{Field: "addr", Reason: fmt.Sprintf("%s is not a %s address", addr, c.Params().Name)}
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, &FieldError{Field: "addr", Reason: err.Error()}
	}
	return c.UTXOs(ctx, script)
}

// Balance sums the values of utxos: confirmed ones (Height > 0) and unconfirmed ones.
func Balance(utxos []UTXO) (confirmed, unconfirmed btcutil.Amount) {
	for _, u := range utxos {
		if u.Height > 0 {
			confirmed += u.Value
		} else {
			unconfirmed += u.Value
		}
	}
	return confirmed, unconfirmed
}

// PrevOutLookup returns a function that fetches an unspent output of c's UTXO set (mempool
// included), the shape message proof-of-funds checks and PSBT input completion take.
func PrevOutLookup(c Chain) func(ctx context.Context, op wire.OutPoint) (*wire.TxOut, error) {
	return func(ctx context.Context, op wire.OutPoint) (*wire.TxOut, error) {
		u, err := c.TxOut(ctx, op, true)
		if err != nil {
			return nil, err
		}
		return u.TxOut(), nil
	}
}

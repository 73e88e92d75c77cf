package bitcoin

import (
	"context"
	"errors"
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

// Coin returns u as a coin for [CreatePSBT]; add PrevTx and scripts where the output kind
// needs them.
func (u UTXO) Coin() Coin {
	return Coin{OutPoint: u.OutPoint, Value: u.Value, PkScript: append([]byte(nil), u.PkScript...)}
}

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

// ChainFeatureLookup returns a [FeatureLookup] backed by c, so that feature vectors get the
// values and ages of their inputs. PrevOutput reads the previous transaction through
// [Chain.Tx] (mempool or main chain; spent outputs too, given a transaction index); the
// height is -1 for a mempool transaction. ScriptUses asks the chain's [ScriptHistory] when it
// has one (simchain and rpcchain on a btcd with --addrindex do) and reports unknown otherwise,
// leaving address reuse out of the vector ("reuse_known" 0).
func ChainFeatureLookup(c Chain) FeatureLookup { return chainLookup{c} }

type chainLookup struct{ c Chain }

func (l chainLookup) PrevOutput(ctx context.Context, op wire.OutPoint) (*wire.TxOut, int32, bool, error) {
	info, err := l.c.Tx(ctx, op.Hash)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	if int(op.Index) >= len(info.Tx.TxOut) {
		return nil, 0, false, nil
	}
	height := int32(-1)
	if info.Block != nil {
		height = info.Block.Height
	}
	return info.Tx.TxOut[op.Index], height, true, nil
}

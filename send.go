package anya

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/wallet"
)

// sendKeyPrefix namespaces the Manager's idempotency keys in the send store.
const sendKeyPrefix = "anya/payment/"

// SendKey returns the idempotency key under which the Manager records and sends payment id:
// one payment ID is one transaction, whichever operation sends it.
func SendKey(paymentID string) string { return sendKeyPrefix + paymentID }

// sent is the outcome of send.
type sent struct {
	Txid chainhash.Hash
	// Reused reports that the transaction was recorded by an earlier attempt: it was found on
	// the chain (Rebroadcast false) or sent again, byte for byte (Rebroadcast true).
	Reused, Rebroadcast bool
}

// send pays amount from a wallet address to another address, exactly once per payment ID:
//
//  1. If a transaction is recorded under the payment's key, it is looked up on the chain by
//     txid; if the chain has it, that is the payment; if not, the recorded bytes are broadcast
//     again. A new transaction is never built for a payment that has one.
//  2. Otherwise, holding the sending address's lock, the wallet builds and signs the
//     transaction from unreserved coins, the chain's test-accept checks it, the send store
//     records it (key → txid and raw bytes, reserving its coins) durably, and only then is it
//     broadcast.
//
// A crash anywhere leaves either nothing recorded (nothing was broadcast) or a recorded
// transaction that the next attempt completes.
func (m *Manager) send(ctx context.Context, paymentID, from, to string, amount int64) (sent, error) {
	key := SendKey(paymentID)
	rec, err := m.sender.Record(ctx, key)
	switch {
	case err == nil:
		return m.complete(ctx, rec)
	case !errors.Is(err, bitcoin.ErrNotFound):
		return sent{}, err
	}
	toAddr, err := bitcoin.ParseAddress(to, m.net)
	if err != nil {
		return sent{}, &OpError{Op: "send", Field: "to_address", Reason: "not a " + m.net.String() + " address", Err: err}
	}
	if !m.wallet.Owns(from) {
		return sent{}, fmt.Errorf("%w %s", ErrNoKey, from)
	}
	unlock, err := m.wallet.Lock(ctx, from)
	if err != nil {
		return sent{}, err
	}
	defer unlock()
	var built *wire.MsgTx
	txid, err := m.sender.SendFunc(ctx, key, func(ctx context.Context) (*wire.MsgTx, error) {
		tx, err := m.wallet.Build(ctx, wallet.Payment{From: from, To: toAddr, Amount: btcutil.Amount(amount), Key: key})
		built = tx
		return tx, err
	})
	m.invalidateUTXOs(from, to)
	if err != nil || built == nil || built.TxHash() != txid {
		m.wallet.Invalidate(from) // refused (perhaps a coin the wallet's view still had), or not ours to account
	} else {
		m.wallet.Sent(from, built)
	}
	if err != nil {
		return sent{}, err
	}
	return sent{Txid: txid}, nil
}

// complete finishes a recorded send: the txid is looked up first; only a transaction the chain
// does not know is broadcast again, as recorded.
func (m *Manager) complete(ctx context.Context, rec bitcoin.SendRecord) (sent, error) {
	_, err := m.chain.Tx(ctx, rec.Txid)
	if err == nil {
		return sent{Txid: rec.Txid, Reused: true}, nil
	}
	if !errors.Is(err, bitcoin.ErrNotFound) {
		return sent{}, err
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(rec.RawTx)); err != nil {
		return sent{}, fmt.Errorf("anya: recorded transaction of %q: %w", rec.Key, err)
	}
	txid, err := m.sender.Send(ctx, rec.Key, &tx)
	m.wallet.Invalidate() // the recorded transaction's coins were spent before the wallet's view began
	if err != nil {
		return sent{}, err
	}
	return sent{Txid: txid, Reused: true, Rebroadcast: true}, nil
}

// txStatus reports where a transaction is: PaymentBroadcast (mempool), "included" (in a block,
// fewer confirmations than required) or PaymentConfirmed, with its block.
func (m *Manager) txStatus(ctx context.Context, txid chainhash.Hash) (string, bitcoin.BlockStamp, error) {
	info, err := m.chain.Tx(ctx, txid)
	if err != nil {
		return "", bitcoin.BlockStamp{}, err
	}
	if info.Block == nil {
		return PaymentBroadcast, bitcoin.BlockStamp{}, nil
	}
	tip, err := m.chain.BestBlock(ctx)
	if err != nil {
		return "", bitcoin.BlockStamp{}, err
	}
	if tip.Height-info.Block.Height+1 >= int32(m.cfg.confirmations) {
		return PaymentConfirmed, *info.Block, nil
	}
	return paymentIncluded, *info.Block, nil
}

// paymentIncluded is a payment in a block that has fewer confirmations than required.
const paymentIncluded = "included"

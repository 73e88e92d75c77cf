package anya

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

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

// maxRebuilds bounds how often one send builds its transaction again because a pending parent
// whose change it spent was refused by the chain.
const maxRebuilds = 8

// send pays amount from a wallet address to another address, exactly once per payment ID:
//
//  1. If a transaction is recorded under the payment's key, it is completed (complete): looked
//     up on the chain by txid and, only if the chain does not know it, broadcast again as
//     recorded. A new transaction is never built for a payment that has one.
//  2. Otherwise, holding the sending address's lock — payments from one address queue, each
//     built on the last one's change — the wallet builds and signs the transaction from
//     unreserved coins; the pending transactions it spends from (recorded by earlier payments,
//     not yet known to the chain's mempool) are broadcast first, as recorded; the chain's
//     test-accept checks it; the send store records it (key → txid and raw bytes, reserving its
//     coins) durably, the wallet's view taking its change at once; and only then is it
//     broadcast. The lock is released when the broadcast returns.
//
// A crash anywhere leaves either nothing recorded (nothing was broadcast) or a recorded
// transaction that the next attempt completes. On the chain this is two calls for a new
// payment: test-accept and broadcast.
func (m *Manager) sendOnce(ctx context.Context, paymentID, from, to string, amount int64) (sent, error) {
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
	// Another operation with the same payment ID may have recorded it while this one waited.
	if rec, err := m.sender.Record(ctx, key); err == nil {
		return m.complete(ctx, rec)
	} else if !errors.Is(err, bitcoin.ErrNotFound) {
		return sent{}, err
	}
	tx, err := m.buildSpending(ctx, wallet.Payment{From: from, To: toAddr, Amount: btcutil.Amount(amount), Key: key})
	if err != nil {
		return sent{}, err
	}
	return m.recordAndBroadcast(ctx, key, tx, from, to)
}

// buildSpending has the wallet build and sign the transaction of p, holding p.From's lock,
// after broadcasting the pending transactions it spends from; it builds again without the
// change of one the chain refuses.
func (m *Manager) buildSpending(ctx context.Context, p wallet.Payment) (*wire.MsgTx, error) {
	for n := 0; ; n++ {
		tx, err := m.wallet.Build(ctx, p)
		if err != nil {
			return nil, m.walletErr(err)
		}
		refused, err := m.broadcastAncestors(ctx, tx)
		if err != nil {
			return nil, err
		}
		if !refused {
			return tx, nil
		}
		if n >= maxRebuilds {
			return nil, fmt.Errorf("anya: %s: the pending transactions it would spend from keep being refused", p.Key)
		}
	}
}

// recordAndBroadcast has the chain test-accept tx, built by buildSpending under the lock of
// its sending address from, records it under key in the send store and only then broadcasts
// it. A transaction another attempt recorded under key meanwhile stands instead of tx and is
// completed. touched are the addresses whose UTXO caches the transaction changes.
func (m *Manager) recordAndBroadcast(ctx context.Context, key string, tx *wire.MsgTx, from string, touched ...string) (sent, error) {
	txid := tx.TxHash()
	err := m.chain.TestAccept(ctx, tx)
	if errors.Is(err, bitcoin.ErrRejected) && m.resendAncestors(ctx, tx) {
		err = m.chain.TestAccept(ctx, tx) // the node had forgotten a parent
	}
	if err != nil {
		m.wallet.Invalidate(from) // perhaps a coin the wallet's view still had
		return sent{}, err
	}
	var raw bytes.Buffer
	if err := tx.Serialize(&raw); err != nil {
		return sent{}, fmt.Errorf("anya: serialize %s: %w", txid, err)
	}
	// The view takes the transaction before the store reserves its coins, so that no template
	// computed meanwhile sees the coins reserved and the change missing.
	m.wallet.Recorded(key, tx)
	stored, loaded, err := m.sends.PutIfAbsent(ctx, bitcoin.SendRecord{Key: key, Txid: txid, RawTx: raw.Bytes(), Created: m.now()})
	if err != nil || loaded {
		m.wallet.Forget(txid)
		if err != nil {
			return sent{}, fmt.Errorf("anya: record %s: %w", key, err)
		}
		return m.complete(ctx, stored) // recorded meanwhile by another attempt: that one stands
	}
	m.invalidateUTXOs(append([]string{from}, touched...)...)
	if _, err := m.broadcast(ctx, key, tx); err != nil {
		return sent{}, err // recorded: the next attempt completes it
	}
	return sent{Txid: txid}, nil
}

// broadcast sends a recorded transaction through the Sender (which publishes
// bitcoin.tx.broadcast) and notes the chain's verdict in the wallet. A transaction the chain
// refuses is sent once more after its pending ancestors, in case the node forgot them.
func (m *Manager) broadcast(ctx context.Context, key string, tx *wire.MsgTx) (chainhash.Hash, error) {
	txid, err := m.sender.Send(ctx, key, tx)
	if errors.Is(err, bitcoin.ErrRejected) && m.resendAncestors(ctx, tx) {
		txid, err = m.sender.Send(ctx, key, tx)
	}
	switch {
	case err == nil:
		m.wallet.Accepted(txid)
	case errors.Is(err, bitcoin.ErrRejected):
		m.wallet.Rejected(tx.TxHash())
	}
	return txid, err
}

// resendAncestors broadcasts again, parents first, every pending transaction tx spends from,
// whatever the wallet believed of them — a node that lost its mempool (btcd keeps none across a
// restart) refuses tx for inputs it no longer knows. It reports whether there were any and the
// chain took them all.
func (m *Manager) resendAncestors(ctx context.Context, tx *wire.MsgTx) bool {
	anc := m.wallet.Ancestors(tx)
	for _, p := range anc {
		txid, err := m.sender.Send(ctx, p.Key, p.Tx)
		if err != nil {
			if errors.Is(err, bitcoin.ErrRejected) {
				m.wallet.Rejected(p.Txid)
			}
			return false
		}
		m.wallet.Accepted(txid)
	}
	return len(anc) > 0
}

// broadcastAncestors broadcasts, parents first, the pending transactions tx spends from that
// the chain's mempool is not known to hold: their recorded bytes, under their own keys. It
// reports refused when the chain refused one of them: tx must be built again without it.
func (m *Manager) broadcastAncestors(ctx context.Context, tx *wire.MsgTx) (refused bool, err error) {
	for _, p := range m.wallet.Unbroadcast(tx) {
		if _, err := m.broadcast(ctx, p.Key, p.Tx); err != nil {
			if errors.Is(err, bitcoin.ErrRejected) {
				m.log.Warn("anya: a pending transaction was refused; building without its change", "key", p.Key, "txid", p.Txid, "err", err)
				return true, nil
			}
			return false, fmt.Errorf("anya: broadcast %s (recorded for %s) first, as this payment spends from it: %w", p.Txid, p.Key, err)
		}
	}
	return false, nil
}

// complete finishes a recorded send: the txid is looked up first; only a transaction the chain
// does not know is broadcast again, as recorded (after the pending transactions it spends from).
func (m *Manager) complete(ctx context.Context, rec bitcoin.SendRecord) (sent, error) {
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(rec.RawTx)); err != nil {
		return sent{}, fmt.Errorf("anya: recorded transaction of %q: %w", rec.Key, err)
	}
	// Pending first, then the lookup: a block processed after this point takes it out of the
	// pending ones again; one processed before shows in the lookup.
	wasPending := m.wallet.IsPending(rec.Txid)
	m.wallet.Recorded(rec.Key, &tx)
	info, err := m.chain.Tx(ctx, rec.Txid)
	switch {
	case err == nil && info.Block != nil:
		if !wasPending {
			m.wallet.Forget(rec.Txid)
		}
		return sent{Txid: rec.Txid, Reused: true}, nil
	case err == nil: // in the mempool: the wallet's view counts its change
		m.wallet.Accepted(rec.Txid)
		return sent{Txid: rec.Txid, Reused: true}, nil
	case !errors.Is(err, bitcoin.ErrNotFound):
		return sent{}, err
	}
	if _, err := m.broadcastAncestors(ctx, &tx); err != nil {
		return sent{}, err
	}
	txid, err := m.broadcast(ctx, rec.Key, &tx)
	if err != nil {
		return sent{}, err
	}
	return sent{Txid: txid, Reused: true, Rebroadcast: true}, nil
}

// walletErr turns the wallet's errors into the Manager's.
func (m *Manager) walletErr(err error) error {
	var short *wallet.ShortageError
	switch {
	case errors.As(err, &short):
		return insufficientFunds(short)
	case errors.Is(err, wallet.ErrUnknownAddress):
		return fmt.Errorf("%w: %w", ErrNoKey, err)
	}
	return err
}

// InsufficientFundsError reports a payment that its sender's coins cannot pay, and the coins
// of the sender's address that other payments hold: those recorded and not yet confirmed, in
// the order they were recorded. It matches bitcoin.ErrInsufficientFunds (and
// errors.As finds the *bitcoin.InsufficientFundsError of coin selection).
type InsufficientFundsError struct {
	Address string
	// NeededSat is what the payment needs with its fee; SpendableSat what the address's
	// spendable coins hold after paying for their own inputs.
	NeededSat, SpendableSat int64
	Reserved                []ReservedCoin
	err                     *bitcoin.InsufficientFundsError
}

// ReservedCoin is a coin of a sender's address that a recorded transaction spends.
type ReservedCoin struct {
	// PaymentID is the payment whose transaction holds the coin; empty when the transaction was
	// recorded under a key that is not a payment's (Key says which).
	PaymentID string
	Key       string
	OutPoint  string // txid:index
	AmountSat int64  // 0 when the Manager did not see the coin itself
	// Txid is the transaction holding the coin; empty when it was recorded before the last
	// start and not sent again since (Resume sends it).
	Txid string
	// State is where that transaction is: "recorded", "in the mempool", "refused by the chain",
	// or "recorded before the last start".
	State string
}

func insufficientFunds(s *wallet.ShortageError) *InsufficientFundsError {
	e := &InsufficientFundsError{Address: s.Address, NeededSat: int64(s.Err.Needed), SpendableSat: int64(s.Err.Available), err: s.Err}
	for _, r := range s.Reserved {
		c := ReservedCoin{Key: r.Key, OutPoint: r.OutPoint.String(), AmountSat: int64(r.Value), State: "recorded before the last start"}
		c.PaymentID, _ = strings.CutPrefix(r.Key, sendKeyPrefix)
		if c.PaymentID == r.Key {
			c.PaymentID = ""
		}
		if r.State != 0 {
			c.Txid, c.State = r.Txid.String(), r.State.String()
		}
		e.Reserved = append(e.Reserved, c)
	}
	return e
}

func (e *InsufficientFundsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s needs %d sat, has %d sat spendable", bitcoin.ErrInsufficientFunds, e.Address, e.NeededSat, e.SpendableSat)
	if len(e.Reserved) == 0 {
		b.WriteString("; no coin of the address is held by another payment")
		return b.String()
	}
	fmt.Fprintf(&b, "; %d coins held by other payments:", len(e.Reserved))
	for i, r := range e.Reserved {
		if i > 0 {
			b.WriteString(",")
		}
		who := "payment " + r.PaymentID
		if r.PaymentID == "" {
			who = "key " + r.Key
		}
		fmt.Fprintf(&b, " %s (%d sat) by %s", r.OutPoint, r.AmountSat, who)
		if r.Txid != "" {
			fmt.Fprintf(&b, " in %s", r.Txid)
		}
		b.WriteString(", " + r.State)
	}
	return b.String()
}

// Unwrap returns coin selection's *bitcoin.InsufficientFundsError (which matches
// bitcoin.ErrInsufficientFunds).
func (e *InsufficientFundsError) Unwrap() error {
	if e.err == nil {
		return bitcoin.ErrInsufficientFunds
	}
	return e.err
}

// txStatus reports where a transaction is: PaymentBroadcast (mempool), PaymentIncluded (in a
// block, fewer confirmations than required) or PaymentConfirmed, with its block.
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
	return PaymentIncluded, *info.Block, nil
}

// walletLookup answers the fraud features' questions about coins from the wallet when it knows
// them (the sender's own coins and pending change), and from the chain otherwise.
type walletLookup struct {
	w     *wallet.Wallet
	chain bitcoin.FeatureLookup
}

func (l walletLookup) PrevOutput(ctx context.Context, op wire.OutPoint) (*wire.TxOut, int32, bool, error) {
	if u, ok := l.w.Output(op); ok {
		h := u.Height
		if h == 0 {
			h = -1
		}
		return u.TxOut(), h, true, nil
	}
	return l.chain.PrevOutput(ctx, op)
}

func (l walletLookup) ScriptUses(ctx context.Context, script []byte) (int, bool, error) {
	return l.chain.ScriptUses(ctx, script)
}

package bitcointest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// Wallet defaults.
const (
	// DefaultWalletFeeRate is the fee rate of the transactions a Wallet builds: 2 sat/vB.
	DefaultWalletFeeRate bitcoin.FeeRate = 2000
	// DustLimit is the smallest change output a Wallet creates; smaller change goes to fees.
	DustLimit btcutil.Amount = 546
)

// Sentinels of the package. ErrInvalidOption and ErrNotConstructed are the bitcoin
// package's, so that errors.Is works with either name.
var (
	// ErrInsufficientFunds is returned when a Wallet cannot cover the outputs and fee.
	ErrInsufficientFunds = errors.New("bitcointest: insufficient funds")
	// ErrInvalidOption is [bitcoin.ErrInvalidOption], matched by the [*bitcoin.OptionError]
	// StartBtcd fails a test with for an invalid option.
	ErrInvalidOption = bitcoin.ErrInvalidOption
	// ErrNotConstructed is [bitcoin.ErrNotConstructed], matched by the
	// [*bitcoin.NotConstructedError] of a zero [Sim], [Wallet] or [Btcd].
	ErrNotConstructed = bitcoin.ErrNotConstructed
)

// Wallet is a one-key P2WPKH test wallet on a [bitcoin.Chain]: it finds its coins with
// Chain.UTXOs, selects them oldest first (skipping immature coinbases), adds change and signs
// with txscript. It is safe for concurrent use; Send serializes coin selection and broadcast
// so concurrent sends never pick the same coin. Create it with [NewWallet] or
// [NewWalletFromSeed]: a zero Wallet has no key (its accessors return nil) and its other
// methods return a [*bitcoin.NotConstructedError].
type Wallet struct {
	chain    bitcoin.Chain
	key      *btcec.PrivateKey
	addr     *btcutil.AddressWitnessPubKeyHash
	pkScript []byte
	feeRate  bitcoin.FeeRate
	mu       sync.Mutex
}

// NewWallet returns a wallet for key on c.
func NewWallet(c bitcoin.Chain, key *btcec.PrivateKey) (*Wallet, error) {
	if c == nil || key == nil {
		return nil, &bitcoin.FieldError{Field: "NewWallet", Reason: "nil chain or key"}
	}
	hash := btcutil.Hash160(key.PubKey().SerializeCompressed())
	addr, err := btcutil.NewAddressWitnessPubKeyHash(hash, c.Params())
	if err != nil {
		return nil, err
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, err
	}
	return &Wallet{chain: c, key: key, addr: addr, pkScript: script, feeRate: DefaultWalletFeeRate}, nil
}

// NewWalletFromSeed returns a wallet whose key is derived from seed (SHA-256), so tests get
// the same addresses on every run.
func NewWalletFromSeed(c bitcoin.Chain, seed string) (*Wallet, error) {
	return NewWallet(c, KeyFromSeed(seed))
}

// KeyFromSeed returns the private key SHA-256(seed), for reproducible test keys.
func KeyFromSeed(seed string) *btcec.PrivateKey {
	sum := sha256.Sum256([]byte(seed))
	key, _ := btcec.PrivKeyFromBytes(sum[:])
	return key
}

// P2WPKHScript returns the P2WPKH output script of key.
func P2WPKHScript(key *btcec.PrivateKey) []byte {
	s, _ := txscript.NewScriptBuilder().AddOp(txscript.OP_0).AddData(btcutil.Hash160(key.PubKey().SerializeCompressed())).Script()
	return s
}

// constructed returns a [*bitcoin.NotConstructedError] for a zero Wallet.
func (w *Wallet) constructed() error {
	if w == nil || w.chain == nil {
		return &bitcoin.NotConstructedError{Type: "bitcointest.Wallet", Constructor: "bitcointest.NewWallet or NewWalletFromSeed"}
	}
	return nil
}

// Key returns the wallet's private key.
func (w *Wallet) Key() *btcec.PrivateKey {
	if w.constructed() != nil {
		return nil
	}
	return w.key
}

// Address returns the wallet's P2WPKH address.
func (w *Wallet) Address() btcutil.Address {
	if w.constructed() != nil {
		return nil
	}
	return w.addr
}

// PkScript returns the wallet's output script.
func (w *Wallet) PkScript() []byte {
	if w.constructed() != nil {
		return nil
	}
	return append([]byte(nil), w.pkScript...)
}

// Chain returns the wallet's chain.
func (w *Wallet) Chain() bitcoin.Chain {
	if w.constructed() != nil {
		return nil
	}
	return w.chain
}

// Spendable returns the wallet's coins that can be spent in the next block.
func (w *Wallet) Spendable(ctx context.Context) ([]bitcoin.UTXO, error) {
	if err := w.constructed(); err != nil {
		return nil, err
	}
	best, err := w.chain.BestBlock(ctx)
	if err != nil {
		return nil, err
	}
	utxos, err := w.chain.UTXOs(ctx, w.pkScript)
	if err != nil {
		return nil, err
	}
	maturity := int32(w.chain.Params().CoinbaseMaturity)
	out := utxos[:0]
	for _, u := range utxos {
		if u.Coinbase && best.Height+1-u.Height < maturity {
			continue
		}
		out = append(out, u)
	}
	return out, nil
}

// Balance returns the value of the wallet's spendable coins.
func (w *Wallet) Balance(ctx context.Context) (btcutil.Amount, error) {
	utxos, err := w.Spendable(ctx)
	if err != nil {
		return 0, err
	}
	c, u := bitcoin.Balance(utxos)
	return c + u, nil
}

// Build returns a signed transaction paying outs, with change back to the wallet, without
// broadcasting it. Coins are not reserved: two Builds may pick the same coins (handy for
// double-spend tests).
func (w *Wallet) Build(ctx context.Context, outs ...*wire.TxOut) (*wire.MsgTx, error) {
	coins, err := w.Spendable(ctx)
	if err != nil {
		return nil, err
	}
	return w.build(coins, outs)
}

// Send builds and broadcasts a transaction paying outs.
func (w *Wallet) Send(ctx context.Context, outs ...*wire.TxOut) (*wire.MsgTx, error) {
	if err := w.constructed(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	tx, err := w.Build(ctx, outs...)
	if err != nil {
		return nil, err
	}
	if _, err := w.chain.Broadcast(ctx, tx); err != nil {
		return nil, err
	}
	return tx, nil
}

// Fund sends amount to pkScript and returns the transaction and the funded outpoint.
func (w *Wallet) Fund(ctx context.Context, pkScript []byte, amount btcutil.Amount) (*wire.MsgTx, wire.OutPoint, error) {
	tx, err := w.Send(ctx, wire.NewTxOut(int64(amount), pkScript))
	if err != nil {
		return nil, wire.OutPoint{}, err
	}
	return tx, wire.OutPoint{Hash: tx.TxHash(), Index: 0}, nil
}

// p2wpkh sizes in vbytes: version+locktime+counts+marker ~ 11, input 68, output 8+1+script.
func estimateVSize(inputs int, outs []*wire.TxOut, change bool) int64 {
	v := int64(11 + 68*inputs)
	for _, o := range outs {
		v += int64(9 + len(o.PkScript))
	}
	if change {
		v += 31
	}
	return v
}

func (w *Wallet) build(coins []bitcoin.UTXO, outs []*wire.TxOut) (*wire.MsgTx, error) {
	if len(outs) == 0 {
		return nil, &bitcoin.FieldError{Field: "outs", Reason: "no outputs"}
	}
	var want btcutil.Amount
	for _, o := range outs {
		want += btcutil.Amount(o.Value)
	}
	var picked []bitcoin.UTXO
	var have btcutil.Amount
	for _, c := range coins {
		picked = append(picked, c)
		have += c.Value
		if have >= want+w.feeRate.FeeFor(estimateVSize(len(picked), outs, true)) {
			break
		}
	}
	fee := w.feeRate.FeeFor(estimateVSize(len(picked), outs, true))
	if have < want+fee {
		feeNoChange := w.feeRate.FeeFor(estimateVSize(len(picked), outs, false))
		if have < want+feeNoChange {
			return nil, fmt.Errorf("%w: have %v, need %v", ErrInsufficientFunds, have, want+feeNoChange)
		}
		fee = have - want
	}
	tx := wire.NewMsgTx(2)
	prevOuts := make(map[wire.OutPoint]*wire.TxOut, len(picked))
	for _, c := range picked {
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: c.OutPoint, Sequence: wire.MaxTxInSequenceNum - 2})
		prevOuts[c.OutPoint] = c.TxOut()
	}
	for _, o := range outs {
		tx.AddTxOut(wire.NewTxOut(o.Value, append([]byte(nil), o.PkScript...)))
	}
	if change := have - want - fee; change >= DustLimit {
		tx.AddTxOut(wire.NewTxOut(int64(change), w.PkScript()))
	}
	if err := SignP2WPKH(tx, prevOuts, w.key); err != nil {
		return nil, err
	}
	return tx, nil
}

// SignP2WPKH signs every input of tx that spends a P2WPKH output of key; prevOuts must hold
// every input's previous output (taproot-style sighashes need them all).
func SignP2WPKH(tx *wire.MsgTx, prevOuts map[wire.OutPoint]*wire.TxOut, key *btcec.PrivateKey) error {
	fetcher := txscript.NewMultiPrevOutFetcher(prevOuts)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	own := P2WPKHScript(key)
	for i, in := range tx.TxIn {
		prev, ok := prevOuts[in.PreviousOutPoint]
		if !ok {
			return fmt.Errorf("bitcointest: no previous output for input %d (%s)", i, in.PreviousOutPoint)
		}
		if string(prev.PkScript) != string(own) {
			continue
		}
		wit, err := txscript.WitnessSignature(tx, hashes, i, prev.Value, own, txscript.SigHashAll, key, true)
		if err != nil {
			return fmt.Errorf("bitcointest: sign input %d: %w", i, err)
		}
		in.Witness = wit
	}
	return nil
}

// SpendOutput returns a signed transaction spending one P2WPKH output of key (worth value)
// to pkScript, paying fee.
func SpendOutput(op wire.OutPoint, value btcutil.Amount, key *btcec.PrivateKey, pkScript []byte, fee btcutil.Amount) (*wire.MsgTx, error) {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: op, Sequence: wire.MaxTxInSequenceNum - 2})
	tx.AddTxOut(wire.NewTxOut(int64(value-fee), append([]byte(nil), pkScript...)))
	err := SignP2WPKH(tx, map[wire.OutPoint]*wire.TxOut{op: wire.NewTxOut(int64(value), P2WPKHScript(key))}, key)
	return tx, err
}

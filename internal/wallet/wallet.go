package wallet

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

var (
	// ErrUnknownAddress is returned for an address whose key the wallet does not hold.
	ErrUnknownAddress = errors.New("wallet: no key for address")
	// ErrInvalidArgument is returned for a nil chain, key or lookup, and bad amounts.
	ErrInvalidArgument = errors.New("wallet: invalid argument")
)

// ReservedFunc reports which of ops are spent by recorded transactions, with the idempotency
// key each was recorded under.
type ReservedFunc func(ctx context.Context, ops []wire.OutPoint) (map[wire.OutPoint]string, error)

// Wallet holds P2WPKH keys on one chain. It is safe for concurrent use.
type Wallet struct {
	chain    bitcoin.Chain
	net      bitcoin.Network
	feeRate  bitcoin.FeeRate
	reserved ReservedFunc
	maturity int32

	mu   sync.RWMutex
	keys map[string]*account // by address string
}

type account struct {
	key    *btcec.PrivateKey
	addr   bitcoin.Address
	script []byte
	lock   chan struct{} // one slot: held while a payment from the address is built and recorded

	mu    sync.Mutex
	coins []bitcoin.UTXO // the spendable coins as last seen, nil when unknown
}

// NetworkOf returns the bitcoin.Network of chain c.
func NetworkOf(c bitcoin.Chain) (bitcoin.Network, error) {
	name := c.Params().Name
	for _, n := range bitcoin.Networks() {
		if n.Params().Name == name {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: chain network %q", bitcoin.ErrInvalidNetwork, name)
}

// New returns an empty wallet paying fees at feeRate on chain, leaving alone the coins reserved
// reports.
func New(chain bitcoin.Chain, feeRate bitcoin.FeeRate, reserved ReservedFunc) (*Wallet, error) {
	if chain == nil || reserved == nil {
		return nil, fmt.Errorf("%w: nil chain or reserved lookup", ErrInvalidArgument)
	}
	if feeRate < bitcoin.MinRelayFeeRate {
		return nil, fmt.Errorf("%w: fee rate %d sat/kvB is below the minimum relay fee rate", ErrInvalidArgument, feeRate)
	}
	net, err := NetworkOf(chain)
	if err != nil {
		return nil, err
	}
	return &Wallet{chain: chain, net: net, feeRate: feeRate, reserved: reserved,
		maturity: int32(chain.Params().CoinbaseMaturity), keys: map[string]*account{}}, nil
}

// Network returns the wallet's network.
func (w *Wallet) Network() bitcoin.Network { return w.net }

// Add adds key and returns its P2WPKH address. Adding a key twice is a no-op.
func (w *Wallet) Add(key *btcec.PrivateKey) (bitcoin.Address, error) {
	if key == nil {
		return bitcoin.Address{}, fmt.Errorf("%w: nil key", ErrInvalidArgument)
	}
	addr, err := bitcoin.NewP2WPKH(key.PubKey(), w.net)
	if err != nil {
		return bitcoin.Address{}, err
	}
	script := addr.PkScript()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.keys[addr.String()]; !ok {
		w.keys[addr.String()] = &account{key: key, addr: addr, script: script, lock: make(chan struct{}, 1)}
	}
	return addr, nil
}

// Owns reports whether the wallet holds the key of address.
func (w *Wallet) Owns(address string) bool {
	_, err := w.account(address)
	return err == nil
}

func (w *Wallet) account(address string) (*account, error) {
	w.mu.RLock()
	a := w.keys[address]
	w.mu.RUnlock()
	if a == nil {
		return nil, fmt.Errorf("%w %s", ErrUnknownAddress, address)
	}
	return a, nil
}

// Lock takes the payment lock of address, waiting for ctx. Call unlock when the payment is
// recorded (or given up).
func (w *Wallet) Lock(ctx context.Context, address string) (unlock func(), err error) {
	a, err := w.account(address)
	if err != nil {
		return nil, err
	}
	select {
	case a.lock <- struct{}{}:
		return func() { <-a.lock }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// SignMessage signs msg for address with BIP-322 (simple format), proving control of the address.
func (w *Wallet) SignMessage(address, msg string) (string, error) {
	a, err := w.account(address)
	if err != nil {
		return "", err
	}
	return bitcoin.SignMessage(a.key, a.addr, msg)
}

// Coins returns the coins of address that a payment recorded under key may spend: unspent
// (mempool included), mature, and not reserved by the transaction of another key.
func (w *Wallet) Coins(ctx context.Context, address, key string) ([]bitcoin.UTXO, error) {
	a, err := w.account(address)
	if err != nil {
		return nil, err
	}
	utxos, err := w.spendable(ctx, a)
	if err != nil {
		return nil, err
	}
	ops := make([]wire.OutPoint, len(utxos))
	for i, u := range utxos {
		ops[i] = u.OutPoint
	}
	reserved, err := w.reserved(ctx, ops)
	if err != nil {
		return nil, err
	}
	out := utxos[:0]
	for _, u := range utxos {
		if k, ok := reserved[u.OutPoint]; !ok || k == key {
			out = append(out, u)
		}
	}
	return out, nil
}

// spendable returns the unspent (mempool included), mature coins of a: the wallet's view, read
// from the chain when it is unknown.
func (w *Wallet) spendable(ctx context.Context, a *account) ([]bitcoin.UTXO, error) {
	a.mu.Lock()
	view := a.coins
	a.mu.Unlock()
	if view != nil {
		return slices.Clone(view), nil
	}
	utxos, err := w.chain.UTXOs(ctx, a.script)
	if err != nil {
		return nil, err
	}
	tip, err := w.chain.BestBlock(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]bitcoin.UTXO, 0, len(utxos))
	for _, u := range utxos {
		if u.Coinbase && (u.Height == 0 || tip.Height+1-u.Height < w.maturity) {
			continue // immature: spendable once the next block is maturity blocks above it
		}
		out = append(out, u)
	}
	a.mu.Lock()
	a.coins = slices.Clone(out)
	a.mu.Unlock()
	return out, nil
}

// Sent updates the wallet's view of address after tx, built by Build, was recorded or broadcast:
// the coins it spends are gone, its outputs paying the address (the change) are new, unconfirmed
// coins.
func (w *Wallet) Sent(address string, tx *wire.MsgTx) {
	a, err := w.account(address)
	if err != nil || tx == nil {
		return
	}
	spent := make(map[wire.OutPoint]bool, len(tx.TxIn))
	for _, in := range tx.TxIn {
		spent[in.PreviousOutPoint] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.coins == nil {
		return
	}
	a.coins = slices.DeleteFunc(a.coins, func(u bitcoin.UTXO) bool { return spent[u.OutPoint] })
	txid := tx.TxHash()
	for i, out := range tx.TxOut {
		if bytes.Equal(out.PkScript, a.script) {
			a.coins = append(a.coins, bitcoin.UTXO{OutPoint: wire.OutPoint{Hash: txid, Index: uint32(i)}, Value: btcutil.Amount(out.Value),
				PkScript: bytes.Clone(out.PkScript)})
		}
	}
}

// Invalidate forgets the wallet's view of the coins of addresses (all of them with none), so
// that the next payment reads them from the chain: after a block, a reorg, or a transaction the
// chain refused.
func (w *Wallet) Invalidate(addresses ...string) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if len(addresses) == 0 {
		for _, a := range w.keys {
			a.mu.Lock()
			a.coins = nil
			a.mu.Unlock()
		}
		return
	}
	for _, addr := range addresses {
		if a := w.keys[addr]; a != nil {
			a.mu.Lock()
			a.coins = nil
			a.mu.Unlock()
		}
	}
}

// Payment is what Build pays.
type Payment struct {
	From   string // an address of the wallet
	To     bitcoin.Address
	Amount btcutil.Amount
	// Key is the idempotency key the transaction will be recorded under: coins reserved by an
	// earlier build for the same key may be used again.
	Key string
}

// MaxCandidates is how many coins (the largest) coin selection considers before it considers
// them all: enough for any payment a handful of coins can make, without searching a wallet's
// every coin each time.
const MaxCandidates = 32

func createPSBT(outs []*wire.TxOut, utxos []bitcoin.UTXO, rate bitcoin.FeeRate, change bitcoin.Address) (*bitcoin.PSBT, error) {
	coins := make([]bitcoin.Coin, len(utxos))
	for i, u := range utxos {
		coins[i] = u.Coin()
	}
	return bitcoin.CreatePSBT(outs, coins, rate, change)
}

// psbt selects coins for p and returns the unsigned PSBT. Coins reserved by another key's
// recorded transaction are rare (a crash between recording and broadcasting), so only the coins
// a selection chose are checked, and a selection that chose reserved ones is made again without
// them.
func (w *Wallet) psbt(ctx context.Context, p Payment) (*bitcoin.PSBT, *account, []bitcoin.UTXO, error) {
	if p.Amount <= 0 {
		return nil, nil, nil, fmt.Errorf("%w: amount %d", ErrInvalidArgument, p.Amount)
	}
	a, err := w.account(p.From)
	if err != nil {
		return nil, nil, nil, err
	}
	if p.To.IsZero() || p.To.Network() != w.net {
		return nil, nil, nil, fmt.Errorf("%w: recipient %q is not a %s address", ErrInvalidArgument, p.To, w.net)
	}
	utxos, err := w.spendable(ctx, a)
	if err != nil {
		return nil, nil, nil, err
	}
	outs := []*wire.TxOut{wire.NewTxOut(int64(p.Amount), p.To.PkScript())}
	for {
		// Selection looks at the MaxCandidates largest coins first, and at all of them only when
		// those cannot pay.
		cands := utxos
		if len(cands) > MaxCandidates {
			cands = slices.Clone(utxos)
			slices.SortStableFunc(cands, func(x, y bitcoin.UTXO) int { return cmp.Compare(y.Value, x.Value) })
			cands = cands[:MaxCandidates]
		}
		pkt, err := createPSBT(outs, cands, w.feeRate, a.addr)
		if errors.Is(err, bitcoin.ErrInsufficientFunds) && len(cands) < len(utxos) {
			pkt, err = createPSBT(outs, utxos, w.feeRate, a.addr)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		chosen := make([]wire.OutPoint, 0, 2)
		for _, in := range pkt.UnsignedTx().TxIn {
			chosen = append(chosen, in.PreviousOutPoint)
		}
		reserved, err := w.reserved(ctx, chosen)
		if err != nil {
			return nil, nil, nil, err
		}
		kept := utxos[:0]
		for _, u := range utxos {
			if k, ok := reserved[u.OutPoint]; !ok || k == p.Key {
				kept = append(kept, u)
			}
		}
		if len(kept) == len(utxos) {
			return pkt, a, utxos, nil
		}
		utxos = kept // each round removes at least one coin, so this ends
	}
}

// Template returns the unsigned transaction Build would make for p now: the same coins,
// outputs and fee. It is what fraud scoring looks at before anything is signed.
func (w *Wallet) Template(ctx context.Context, p Payment) (*wire.MsgTx, error) {
	pkt, _, _, err := w.psbt(ctx, p)
	if err != nil {
		return nil, err
	}
	return pkt.UnsignedTx(), nil
}

// Build returns a signed transaction paying p from the coins of p.From, with change back to
// it. Hold Lock for p.From until the transaction is recorded, so that two payments never pick
// the same coins.
//
// Coins, change and fee come from bitcoin.CreatePSBT; the P2WPKH inputs are signed directly
// (BIP-143, SIGHASH_ALL) rather than through the PSBT's finalizer and extractor, whose full
// script check the chain's test-accept repeats before the transaction is recorded or sent.
func (w *Wallet) Build(ctx context.Context, p Payment) (*wire.MsgTx, error) {
	pkt, a, utxos, err := w.psbt(ctx, p)
	if err != nil {
		return nil, err
	}
	tx := pkt.UnsignedTx()
	prevs := make(map[wire.OutPoint]*wire.TxOut, len(utxos))
	for _, u := range utxos {
		prevs[u.OutPoint] = u.TxOut()
	}
	fetcher := txscript.NewMultiPrevOutFetcher(prevs)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, in := range tx.TxIn {
		prev, ok := prevs[in.PreviousOutPoint]
		if !ok {
			return nil, fmt.Errorf("wallet: input %d spends %s, not one of the candidate coins", i, in.PreviousOutPoint)
		}
		wit, err := txscript.WitnessSignature(tx, hashes, i, prev.Value, prev.PkScript, txscript.SigHashAll, a.key, true)
		if err != nil {
			return nil, fmt.Errorf("wallet: sign input %d: %w", i, err)
		}
		in.Witness = wit
	}
	return tx, nil
}

package wallet

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

var (
	// ErrUnknownAddress is returned for an address whose key the wallet does not hold.
	ErrUnknownAddress = errors.New("wallet: no key for address")
	// ErrInvalidArgument is returned for a nil chain, key or lookup, and bad amounts.
	ErrInvalidArgument = errors.New("wallet: invalid argument")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Wallet.
	ErrNotConstructed = errors.New("wallet: not constructed")
)

// NotConstructedError is returned by the methods of a zero Wallet that need its chain: it names
// the constructor. It matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "Wallet"
	Constructor string // "New"
}

func (e *NotConstructedError) Error() string {
	return "wallet: a zero " + e.Type + " is not usable: create it with wallet." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// ReservedFunc reports which of ops are spent by recorded transactions, with the idempotency
// key each was recorded under.
type ReservedFunc func(ctx context.Context, ops []wire.OutPoint) (map[wire.OutPoint]string, error)

// Wallet holds P2WPKH keys on one chain. It is safe for concurrent use.
//
// Create it with New. The zero Wallet has no chain: Add, Lock, SignMessage, Coins, Template and
// Build return a *NotConstructedError naming New; the other methods act on an empty wallet
// (Recorded keeps the transaction, as New's wallet would).
type Wallet struct {
	chain    bitcoin.Chain
	net      bitcoin.Network
	feeRate  bitcoin.FeeRate
	reserved ReservedFunc
	maturity int32

	mu   sync.RWMutex
	keys map[string]*account // by address string

	pmu     sync.Mutex
	pending map[chainhash.Hash]*pendingTx // recorded transactions not yet seen in a block
	seq     uint64
	// Indexes of pending, kept as transactions come and go, so that a payment's coin view
	// costs what its own address holds rather than what every address has pending.
	spentBy  map[wire.OutPoint]int                    // how many pending transactions spend each coin
	payTo    map[string]map[chainhash.Hash]*pendingTx // by output script: the pending transactions paying it
	rejected int                                      // pending transactions in StateRejected
}

type account struct {
	key    *btcec.PrivateKey
	addr   bitcoin.Address
	script []byte
	lock   chan struct{} // one slot: held while a payment from the address is built, recorded and broadcast
	loads  chan struct{} // one slot: held while the view is loaded, so that concurrent readers share one load

	mu    sync.Mutex
	gen   uint64         // bumped by every invalidation, so that a load that raced one is not kept
	coins []bitcoin.UTXO // the chain's spendable coins as last loaded, nil when unknown
}

// State is where a pending transaction is, as far as the wallet knows.
type State uint8

// States of a pending transaction.
const (
	// StateRecorded: recorded for sending, not (yet) known to be in the chain's mempool. Its
	// change is spendable: a payment spending it broadcasts it first (see Unbroadcast).
	StateRecorded State = iota + 1
	// StateAccepted: the chain's mempool took it.
	StateAccepted
	// StateRejected: the chain refused it; its change is not offered.
	StateRejected
)

func (s State) String() string {
	switch s {
	case StateRecorded:
		return "recorded"
	case StateAccepted:
		return "in the mempool"
	case StateRejected:
		return "refused by the chain"
	}
	return "unknown"
}

// pendingTx is a recorded transaction of the wallet that no block holds yet, as far as the
// wallet knows.
type pendingTx struct {
	Pending
	seq    uint64
	spends []spent // its inputs, with what the wallet knew of them when it was recorded
}

type spent struct {
	op     wire.OutPoint
	script []byte // the output script it spent, when the wallet could tell (P2WPKH witness)
	value  btcutil.Amount
}

// Pending is a transaction recorded for sending under an idempotency key and not yet seen in a
// block.
type Pending struct {
	Key   string
	Txid  chainhash.Hash
	Tx    *wire.MsgTx
	State State
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
		maturity: int32(chain.Params().CoinbaseMaturity), keys: map[string]*account{}, pending: map[chainhash.Hash]*pendingTx{},
		spentBy: map[wire.OutPoint]int{}, payTo: map[string]map[chainhash.Hash]*pendingTx{}}, nil
}

// check returns a *NotConstructedError for the zero Wallet.
func (w *Wallet) check() error {
	if w.chain == nil {
		return &NotConstructedError{Type: "Wallet", Constructor: "New"}
	}
	return nil
}

// Network returns the wallet's network.
func (w *Wallet) Network() bitcoin.Network { return w.net }

// Add adds key and returns its P2WPKH address. Adding a key twice is a no-op.
func (w *Wallet) Add(key *btcec.PrivateKey) (bitcoin.Address, error) {
	if err := w.check(); err != nil {
		return bitcoin.Address{}, err
	}
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
		w.keys[addr.String()] = &account{key: key, addr: addr, script: script, lock: make(chan struct{}, 1), loads: make(chan struct{}, 1)}
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

// accounts returns every account.
func (w *Wallet) accounts() []*account {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]*account, 0, len(w.keys))
	for _, a := range w.keys {
		out = append(out, a)
	}
	return out
}

// Lock takes the payment lock of address, waiting for ctx. Call unlock when the payment is
// recorded and broadcast (or given up): payments from one address then run one after the other,
// each seeing the last one's change.
func (w *Wallet) Lock(ctx context.Context, address string) (unlock func(), err error) {
	if err := w.check(); err != nil {
		return nil, err
	}
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
	if err := w.check(); err != nil {
		return "", err
	}
	a, err := w.account(address)
	if err != nil {
		return "", err
	}
	return bitcoin.SignMessage(a.key, a.addr, msg)
}

// Coins returns the coins of address that a payment recorded under key may spend: unspent
// (mempool included), mature, the outputs of the wallet's pending transactions that pay the
// address, and none reserved by the transaction of another key.
func (w *Wallet) Coins(ctx context.Context, address, key string) ([]bitcoin.UTXO, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
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

// maxLoads bounds how often spendable loads a view that an invalidation overtook before it
// uses the last one without keeping it.
const maxLoads = 3

// spendable returns the coins of a a payment may spend: the chain's unspent (mempool included),
// mature coins — the view, loaded when unknown — with the wallet's pending transactions applied:
// the coins they spend removed, their outputs paying a added (unless the chain refused them or
// one of their ancestors).
func (w *Wallet) spendable(ctx context.Context, a *account) ([]bitcoin.UTXO, error) {
	view, err := w.view(ctx, a)
	if err != nil {
		return nil, err
	}
	w.pmu.Lock()
	defer w.pmu.Unlock()
	return w.overlay(a, view), nil
}

// view returns a's chain view, loading it when unknown (one load at a time: concurrent readers
// wait for it). A view loaded while an invalidation happened is not kept (it may predate what
// the invalidation reported) and is loaded again.
func (w *Wallet) view(ctx context.Context, a *account) ([]bitcoin.UTXO, error) {
	a.mu.Lock()
	view := a.coins
	a.mu.Unlock()
	if view != nil {
		return view, nil
	}
	select {
	case a.loads <- struct{}{}:
		defer func() { <-a.loads }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for n := 1; ; n++ {
		a.mu.Lock()
		view, gen := a.coins, a.gen
		a.mu.Unlock()
		if view != nil {
			return view, nil // loaded by the reader this one waited for
		}
		loaded, err := w.load(ctx, a)
		if err != nil {
			return nil, err
		}
		a.mu.Lock()
		kept := a.gen == gen
		if kept {
			a.coins = loaded
		}
		a.mu.Unlock()
		if kept || n >= maxLoads {
			return loaded, nil
		}
	}
}

func (w *Wallet) load(ctx context.Context, a *account) ([]bitcoin.UTXO, error) {
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
	return out, nil
}

// overlay applies the pending transactions to view (a's chain view); w.pmu is held. It costs
// what a holds (its view and the pending transactions paying it), not what every address of the
// wallet has pending.
func (w *Wallet) overlay(a *account, view []bitcoin.UTXO) []bitcoin.UTXO {
	mine := w.payTo[string(a.script)]
	out := make([]bitcoin.UTXO, 0, len(view)+len(mine))
	var have map[wire.OutPoint]bool // pending outputs the view holds already (the chain's mempool took them)
	for _, u := range view {
		if w.spentBy[u.OutPoint] > 0 {
			continue
		}
		out = append(out, u)
		if _, ok := mine[u.OutPoint.Hash]; ok {
			if have == nil {
				have = map[wire.OutPoint]bool{}
			}
			have[u.OutPoint] = true
		}
	}
	if len(mine) == 0 {
		return out
	}
	var dead map[chainhash.Hash]bool
	if w.rejected > 0 {
		dead = w.dead()
	}
	txs := make([]*pendingTx, 0, len(mine))
	for _, p := range mine {
		if !dead[p.Txid] {
			txs = append(txs, p)
		}
	}
	slices.SortFunc(txs, func(x, y *pendingTx) int { return cmp.Compare(x.seq, y.seq) })
	for _, p := range txs {
		for i, o := range p.Tx.TxOut {
			op := wire.OutPoint{Hash: p.Txid, Index: uint32(i)}
			if bytes.Equal(o.PkScript, a.script) && w.spentBy[op] == 0 && !have[op] {
				out = append(out, bitcoin.UTXO{OutPoint: op, Value: btcutil.Amount(o.Value), PkScript: bytes.Clone(o.PkScript)})
			}
		}
	}
	return out
}

// dead returns the pending transactions whose outputs are not offered: those the chain refused
// and those spending, directly or through others, from one of them; w.pmu is held.
func (w *Wallet) dead() map[chainhash.Hash]bool {
	dead := map[chainhash.Hash]bool{}
	for _, p := range w.ordered() {
		if p.State == StateRejected || slices.ContainsFunc(p.spends, func(s spent) bool { return dead[s.op.Hash] }) {
			dead[p.Txid] = true
		}
	}
	return dead
}

// add puts p among the pending transactions and in the indexes; w.pmu is held.
func (w *Wallet) add(p *pendingTx) {
	if w.pending == nil { // the zero Wallet tracks pending transactions too
		w.pending = map[chainhash.Hash]*pendingTx{}
	}
	if w.spentBy == nil {
		w.spentBy = map[wire.OutPoint]int{}
	}
	if w.payTo == nil {
		w.payTo = map[string]map[chainhash.Hash]*pendingTx{}
	}
	w.pending[p.Txid] = p
	for _, s := range p.spends {
		w.spentBy[s.op]++
	}
	for _, o := range p.Tx.TxOut {
		m := w.payTo[string(o.PkScript)]
		if m == nil {
			m = map[chainhash.Hash]*pendingTx{}
			w.payTo[string(o.PkScript)] = m
		}
		m[p.Txid] = p
	}
	if p.State == StateRejected {
		w.rejected++
	}
}

// remove takes the pending transaction txid out of the pending transactions and the indexes;
// w.pmu is held.
func (w *Wallet) remove(txid chainhash.Hash) {
	p, ok := w.pending[txid]
	if !ok {
		return
	}
	delete(w.pending, txid)
	for _, s := range p.spends {
		if w.spentBy[s.op]--; w.spentBy[s.op] <= 0 {
			delete(w.spentBy, s.op)
		}
	}
	for _, o := range p.Tx.TxOut {
		if m := w.payTo[string(o.PkScript)]; m != nil {
			delete(m, txid)
			if len(m) == 0 {
				delete(w.payTo, string(o.PkScript))
			}
		}
	}
	if p.State == StateRejected {
		w.rejected--
	}
}

// ordered returns the pending transactions in the order they were recorded (parents before
// children); w.pmu is held.
func (w *Wallet) ordered() []*pendingTx {
	out := make([]*pendingTx, 0, len(w.pending))
	for _, p := range w.pending {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y *pendingTx) int { return cmp.Compare(x.seq, y.seq) })
	return out
}

// Recorded tells the wallet that tx was recorded for sending under key (before it is
// broadcast): the coins it spends are gone, and its outputs paying the wallet's addresses are
// spendable at once — a payment spending them broadcasts tx first (Unbroadcast). Recording a
// pending transaction again changes nothing.
func (w *Wallet) Recorded(key string, tx *wire.MsgTx) {
	if tx == nil {
		return
	}
	txid := tx.TxHash()
	w.pmu.Lock()
	defer w.pmu.Unlock()
	if _, ok := w.pending[txid]; ok {
		return
	}
	if w.pending == nil { // the zero Wallet
		w.pending = map[chainhash.Hash]*pendingTx{}
	}
	p := &pendingTx{Pending: Pending{Key: key, Txid: txid, Tx: tx.Copy(), State: StateRecorded}}
	w.seq++
	p.seq = w.seq
	for _, in := range tx.TxIn {
		s := spent{op: in.PreviousOutPoint}
		if len(in.Witness) == 2 && len(in.Witness[1]) == btcec.PubKeyBytesLenCompressed { // P2WPKH: the pubkey names the script
			s.script = append([]byte{txscript.OP_0, txscript.OP_DATA_20}, btcutil.Hash160(in.Witness[1])...)
		}
		s.value = w.valueOf(s.op)
		p.spends = append(p.spends, s)
	}
	w.add(p)
}

// valueOf returns the value of op as the wallet's views and pending transactions know it (0 if
// they do not); w.pmu is held.
func (w *Wallet) valueOf(op wire.OutPoint) btcutil.Amount {
	if p, ok := w.pending[op.Hash]; ok && int(op.Index) < len(p.Tx.TxOut) {
		return btcutil.Amount(p.Tx.TxOut[op.Index].Value)
	}
	for _, a := range w.accounts() {
		a.mu.Lock()
		for _, u := range a.coins {
			if u.OutPoint == op {
				a.mu.Unlock()
				return u.Value
			}
		}
		a.mu.Unlock()
	}
	return 0
}

// Output returns the coin op of one of the wallet's addresses if its view or a pending
// transaction holds it: what a feature lookup would otherwise ask the chain. Height is 0 while
// the coin is unconfirmed.
func (w *Wallet) Output(op wire.OutPoint) (bitcoin.UTXO, bool) {
	w.pmu.Lock()
	if p, ok := w.pending[op.Hash]; ok && int(op.Index) < len(p.Tx.TxOut) {
		o := p.Tx.TxOut[op.Index]
		w.pmu.Unlock()
		return bitcoin.UTXO{OutPoint: op, Value: btcutil.Amount(o.Value), PkScript: bytes.Clone(o.PkScript)}, true
	}
	w.pmu.Unlock()
	for _, a := range w.accounts() {
		a.mu.Lock()
		for _, u := range a.coins {
			if u.OutPoint == op {
				a.mu.Unlock()
				u.PkScript = bytes.Clone(u.PkScript)
				return u, true
			}
		}
		a.mu.Unlock()
	}
	return bitcoin.UTXO{}, false
}

// IsPending reports whether txid is one of the wallet's pending transactions: recorded and
// not seen in a block (Confirmed) since.
func (w *Wallet) IsPending(txid chainhash.Hash) bool {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	_, ok := w.pending[txid]
	return ok
}

// Forget drops a pending transaction that was not recorded after all.
func (w *Wallet) Forget(txid chainhash.Hash) {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	w.remove(txid)
}

// Accepted notes that the chain's mempool took the pending transaction txid.
func (w *Wallet) Accepted(txid chainhash.Hash) { w.setState(txid, StateAccepted) }

// Rejected notes that the chain refused the pending transaction txid: its outputs, and those
// of the pending transactions spending them, are no longer offered.
func (w *Wallet) Rejected(txid chainhash.Hash) { w.setState(txid, StateRejected) }

func (w *Wallet) setState(txid chainhash.Hash, s State) {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	if p, ok := w.pending[txid]; ok {
		switch {
		case p.State != StateRejected && s == StateRejected:
			w.rejected++
		case p.State == StateRejected && s != StateRejected:
			w.rejected--
		}
		p.State = s
	}
}

// Confirmed tells the wallet that a block holds txids: those pending transactions are the
// chain's now, and every view is forgotten (the block changed the chain's coins).
func (w *Wallet) Confirmed(txids ...chainhash.Hash) {
	w.pmu.Lock()
	for _, t := range txids {
		w.remove(t)
	}
	w.pmu.Unlock()
	w.Invalidate()
}

// PendingTxs returns the pending transactions, in the order they were recorded.
func (w *Wallet) PendingTxs() []Pending {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	ps := w.ordered()
	out := make([]Pending, len(ps))
	for i, p := range ps {
		out[i] = p.Pending
	}
	return out
}

// Unbroadcast returns the pending transactions tx spends from, directly or through others,
// that the chain's mempool is not known to hold, parents first: what must be broadcast before
// tx can be.
func (w *Wallet) Unbroadcast(tx *wire.MsgTx) []Pending { return w.ancestors(tx, false) }

// Ancestors returns every pending transaction tx spends from, directly or through others,
// parents first, whatever the wallet believes of them: what to broadcast again when the chain
// refuses tx for inputs it does not know (a node that lost its mempool).
func (w *Wallet) Ancestors(tx *wire.MsgTx) []Pending { return w.ancestors(tx, true) }

func (w *Wallet) ancestors(tx *wire.MsgTx, all bool) []Pending {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	need := map[chainhash.Hash]*pendingTx{}
	var visit func(ins []wire.OutPoint)
	visit = func(ins []wire.OutPoint) {
		for _, op := range ins {
			p, ok := w.pending[op.Hash]
			if !ok || (!all && p.State == StateAccepted) || need[p.Txid] != nil {
				continue
			}
			need[p.Txid] = p
			parents := make([]wire.OutPoint, len(p.spends))
			for i, s := range p.spends {
				parents[i] = s.op
			}
			visit(parents)
		}
	}
	ins := make([]wire.OutPoint, len(tx.TxIn))
	for i, in := range tx.TxIn {
		ins[i] = in.PreviousOutPoint
	}
	visit(ins)
	ps := make([]*pendingTx, 0, len(need))
	for _, p := range need {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(x, y *pendingTx) int { return cmp.Compare(x.seq, y.seq) })
	out := make([]Pending, len(ps))
	for i, p := range ps {
		out[i] = p.Pending
	}
	return out
}

// Invalidate forgets the wallet's view of the coins of addresses (all of them with none), so
// that the next payment reads them from the chain: after a block, a reorg, or a transaction the
// chain refused. A view being loaded meanwhile is not kept.
func (w *Wallet) Invalidate(addresses ...string) {
	var accts []*account
	if len(addresses) == 0 {
		accts = w.accounts()
	} else {
		for _, addr := range addresses {
			if a, err := w.account(addr); err == nil {
				accts = append(accts, a)
			}
		}
	}
	for _, a := range accts {
		a.mu.Lock()
		a.coins = nil
		a.gen++
		a.mu.Unlock()
	}
}

// Reservation is a coin of an address that a recorded transaction spends.
type Reservation struct {
	// Key is the idempotency key the spending transaction was recorded under.
	Key      string
	OutPoint wire.OutPoint
	// Value is the coin's value, 0 when the wallet did not see it.
	Value btcutil.Amount
	// Txid is the spending transaction; zero when only the send store knows of it (recorded by
	// an earlier process and not sent again since).
	Txid chainhash.Hash
	// State is the spending transaction's state; 0 when only the send store knows of it.
	State State
}

// ShortageError reports a payment the coins of its address cannot pay, with the coins that
// recorded transactions hold. It unwraps to the *bitcoin.InsufficientFundsError of coin
// selection, so it matches bitcoin.ErrInsufficientFunds.
type ShortageError struct {
	Address  string
	Err      *bitcoin.InsufficientFundsError
	Reserved []Reservation
}

func (e *ShortageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wallet: %s: %v", e.Address, e.Err)
	if len(e.Reserved) == 0 {
		b.WriteString("; no coin of the address is reserved")
		return b.String()
	}
	fmt.Fprintf(&b, "; %d coins reserved:", len(e.Reserved))
	for i, r := range e.Reserved {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s (%d sat) by %q", r.OutPoint, int64(r.Value), r.Key)
		if r.State != 0 {
			fmt.Fprintf(&b, " in %s, %s", r.Txid, r.State)
		}
	}
	return b.String()
}

// Unwrap returns the coin selection's error.
func (e *ShortageError) Unwrap() error { return e.Err }

// reservations returns the coins of a that recorded transactions of other keys than key
// spend: the wallet's pending ones, and those only the send store knows of.
func (w *Wallet) reservations(ctx context.Context, a *account, key string) ([]Reservation, error) {
	view, err := w.view(ctx, a)
	if err != nil {
		return nil, err
	}
	values := make(map[wire.OutPoint]btcutil.Amount, len(view))
	for _, u := range view {
		values[u.OutPoint] = u.Value
	}
	var out []Reservation
	seen := map[wire.OutPoint]bool{}
	w.pmu.Lock()
	for _, p := range w.ordered() {
		if p.Key == key {
			continue
		}
		for _, s := range p.spends {
			if !bytes.Equal(s.script, a.script) {
				continue
			}
			v := s.value
			if v == 0 {
				v = values[s.op]
			}
			out = append(out, Reservation{Key: p.Key, OutPoint: s.op, Value: v, Txid: p.Txid, State: p.State})
			seen[s.op] = true
		}
	}
	w.pmu.Unlock()
	ops := make([]wire.OutPoint, 0, len(view))
	for _, u := range view {
		if !seen[u.OutPoint] {
			ops = append(ops, u.OutPoint)
		}
	}
	reserved, err := w.reserved(ctx, ops)
	if err != nil {
		return nil, err
	}
	for _, op := range ops {
		if k, ok := reserved[op]; ok && k != key {
			out = append(out, Reservation{Key: k, OutPoint: op, Value: values[op]})
		}
	}
	return out, nil
}

// Payment is what Build pays.
type Payment struct {
	From   string // an address of the wallet
	To     bitcoin.Address
	Amount btcutil.Amount
	// Key is the idempotency key the transaction will be recorded under: coins reserved by an
	// earlier build for the same key may be used again.
	Key string
	// Outputs are paid besides To (an OP_RETURN carrying an anchor, say); with them, To may
	// be zero and Amount 0.
	Outputs []*wire.TxOut
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
	if err := w.check(); err != nil {
		return nil, nil, nil, err
	}
	onlyOutputs := p.To.IsZero() && p.Amount == 0 && len(p.Outputs) > 0
	if p.Amount <= 0 && !onlyOutputs {
		return nil, nil, nil, fmt.Errorf("%w: amount %d", ErrInvalidArgument, p.Amount)
	}
	a, err := w.account(p.From)
	if err != nil {
		return nil, nil, nil, err
	}
	if !onlyOutputs && (p.To.IsZero() || p.To.Network() != w.net) {
		return nil, nil, nil, fmt.Errorf("%w: recipient %q is not a %s address", ErrInvalidArgument, p.To, w.net)
	}
	for i, o := range p.Outputs {
		if o == nil || o.Value < 0 {
			return nil, nil, nil, fmt.Errorf("%w: output %d", ErrInvalidArgument, i)
		}
	}
	utxos, err := w.spendable(ctx, a)
	if err != nil {
		return nil, nil, nil, err
	}
	var outs []*wire.TxOut
	if !onlyOutputs {
		outs = append(outs, wire.NewTxOut(int64(p.Amount), p.To.PkScript()))
	}
	for _, o := range p.Outputs {
		outs = append(outs, wire.NewTxOut(o.Value, o.PkScript))
	}
	excluded := map[wire.OutPoint]bool{} // coins found reserved by another key's transaction
	for refreshes := 0; ; {
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
		var short *bitcoin.InsufficientFundsError
		if errors.As(err, &short) {
			res, rerr := w.reservations(ctx, a, p.Key)
			if rerr != nil {
				return nil, nil, nil, errors.Join(err, rerr)
			}
			return nil, nil, nil, &ShortageError{Address: p.From, Err: short, Reserved: res}
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
		clean := true
		for op, k := range reserved {
			if k != p.Key {
				excluded[op], clean = true, false
			}
		}
		if clean {
			return pkt, a, utxos, nil
		}
		// A chosen coin is reserved by another key. Usually another payment from this address
		// recorded its transaction after the coins were read (a template is computed without the
		// address's lock): read them again, so that its transaction's change, pending now, is
		// offered in place of the coin it spends. A coin only the send store knows to be reserved
		// (a crash between recording and broadcasting) stays excluded.
		if refreshes < maxRefreshes {
			refreshes++
			if utxos, err = w.spendable(ctx, a); err != nil {
				return nil, nil, nil, err
			}
		}
		utxos = slices.DeleteFunc(utxos, func(u bitcoin.UTXO) bool { return excluded[u.OutPoint] })
	}
}

// maxRefreshes bounds how often a coin selection reads the coins again after finding a chosen
// one reserved; after that each round drops the reserved coins it chose, so selection ends.
const maxRefreshes = 3

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
// it. Hold Lock for p.From until the transaction is recorded (Recorded) and broadcast, so that
// two payments never pick the same coins. A payment the coins cannot pay fails with a
// *ShortageError.
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

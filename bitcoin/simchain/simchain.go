package simchain

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/internal/updates"
)

// DefaultBlockInterval is the timestamp step between consecutive blocks.
const DefaultBlockInterval = 10 * time.Minute

// Sentinels of the package: the bitcoin package's, so that errors.Is works with either name.
var (
	// ErrInvalidOption is [bitcoin.ErrInvalidOption], matched by the [*bitcoin.OptionError]
	// New returns for an invalid option.
	ErrInvalidOption = bitcoin.ErrInvalidOption
	// ErrNotConstructed is [bitcoin.ErrNotConstructed], matched by the
	// [*bitcoin.NotConstructedError] every method of a zero [Chain] returns.
	ErrNotConstructed = bitcoin.ErrNotConstructed
)

// Option configures [New]. [Chain.Mine] and [Chain.Reorg] take their own per-call options,
// [MineOption].
type Option func(*config)

type config struct {
	params   *chaincfg.Params
	payTo    []byte
	interval time.Duration
	invalid  *bitcoin.OptionError // the first option with a value out of range
}

func (c *config) reject(option string, value any, reason string) {
	if c.invalid == nil {
		c.invalid = &bitcoin.OptionError{Option: "simchain." + option, Value: value, Reason: reason}
	}
}

// WithParams sets the network. Only networks without difficulty retargeting (regtest) are
// accepted. Defaults to &chaincfg.RegressionNetParams.
func WithParams(p *chaincfg.Params) Option {
	return func(c *config) {
		switch {
		case p == nil:
			c.reject("WithParams", nil, "nil params")
		case !p.PoWNoRetargeting || p.GenesisBlock == nil:
			c.reject("WithParams", p.Name, "the network retargets difficulty; use regtest")
		default:
			c.params = p
		}
	}
}

// WithCoinbaseScript sets the script block rewards pay to when [Chain.Mine] is not given
// [PayTo]; it is at most txscript.MaxScriptSize bytes. Defaults to [AnyoneCanSpendScript].
func WithCoinbaseScript(pkScript []byte) Option {
	return func(c *config) {
		if len(pkScript) > txscript.MaxScriptSize {
			c.reject("WithCoinbaseScript", len(pkScript), "script longer than txscript.MaxScriptSize")
			return
		}
		c.payTo = bytes.Clone(pkScript)
	}
}

// WithBlockInterval sets the timestamp step between blocks, at least one second. Defaults to
// [DefaultBlockInterval].
func WithBlockInterval(d time.Duration) Option {
	return func(c *config) {
		if d < time.Second {
			c.reject("WithBlockInterval", d, "must be at least one second")
			return
		}
		c.interval = d
	}
}

// AnyoneCanSpendScript returns a P2WSH output script whose witness script is OP_TRUE: anyone
// can spend it with the witness [AnyoneCanSpendWitness].
func AnyoneCanSpendScript() []byte {
	h := chainhash.HashB([]byte{txscript.OP_TRUE})
	s, _ := txscript.NewScriptBuilder().AddOp(txscript.OP_0).AddData(h).Script()
	return s
}

// AnyoneCanSpendWitness returns the witness that spends an [AnyoneCanSpendScript] output.
func AnyoneCanSpendWitness() wire.TxWitness {
	return wire.TxWitness{{txscript.OP_TRUE}}
}

type utxoEntry struct {
	out      wire.TxOut
	height   int32
	coinbase bool
}

type spent struct {
	op    wire.OutPoint
	entry utxoEntry
}

type node struct {
	hash   chainhash.Hash
	height int32
	parent *node
	block  *wire.MsgBlock
	txids  []chainhash.Hash
	undo   []spent // outputs the block spent, in order, while it is on the main chain
}

type poolTx struct {
	tx    *wire.MsgTx
	txid  chainhash.Hash
	fee   btcutil.Amount
	vsize int64
}

type txLoc struct {
	node  *node
	index int
}

// Chain is an in-process chain. It implements bitcoin.Chain; all methods are safe for
// concurrent use. Create it with [New]: every method of a zero Chain that can fail returns a
// [*bitcoin.NotConstructedError] naming New (Params returns nil, Tip the zero BlockStamp,
// Subscribe registers nothing, Close does nothing).
type Chain struct {
	params   *chaincfg.Params
	payTo    []byte
	interval time.Duration
	sigCache *txscript.SigCache

	mu         sync.Mutex
	closed     bool
	nodes      map[chainhash.Hash]*node
	main       []*node
	utxos      map[wire.OutPoint]utxoEntry
	byScript   map[string]map[wire.OutPoint]struct{}
	scriptUses map[string]int // outputs of the main chain per script, spent or not (scripts.go)
	txIndex    map[chainhash.Hash]txLoc
	pool       []*poolTx
	poolByID   map[chainhash.Hash]*poolTx
	poolSpends map[wire.OutPoint]chainhash.Hash
	watch      map[string]struct{}
	subs       updates.Handlers
	queue      []bitcoin.ChainUpdate
	mined      int64

	deliverMu sync.Mutex
}

var _ bitcoin.Chain = (*Chain)(nil)

// New returns a chain holding only the network's genesis block.
func New(opts ...Option) (*Chain, error) {
	cfg := config{params: &chaincfg.RegressionNetParams, interval: DefaultBlockInterval}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.invalid != nil {
		return nil, cfg.invalid
	}
	if cfg.payTo == nil {
		cfg.payTo = AnyoneCanSpendScript()
	}
	c := &Chain{
		params:     cfg.params,
		payTo:      cfg.payTo,
		interval:   cfg.interval,
		sigCache:   txscript.NewSigCache(10_000),
		nodes:      make(map[chainhash.Hash]*node),
		utxos:      make(map[wire.OutPoint]utxoEntry),
		byScript:   make(map[string]map[wire.OutPoint]struct{}),
		txIndex:    make(map[chainhash.Hash]txLoc),
		poolByID:   make(map[chainhash.Hash]*poolTx),
		poolSpends: make(map[wire.OutPoint]chainhash.Hash),
		watch:      make(map[string]struct{}),
	}
	genesis := copyBlock(cfg.params.GenesisBlock)
	g := &node{hash: genesis.BlockHash(), block: genesis, txids: []chainhash.Hash{genesis.Transactions[0].TxHash()}}
	c.nodes[g.hash] = g
	// Like Bitcoin Core and btcd, the genesis coinbase is not spendable: it never enters the
	// UTXO set or the transaction index.
	c.main = append(c.main, g)
	return c, nil
}

// notConstructed is the error of every method of a zero Chain.
func notConstructed() error {
	return &bitcoin.NotConstructedError{Type: "simchain.Chain", Constructor: "simchain.New"}
}

// constructed reports whether c was made by New (the genesis block is always there).
func (c *Chain) constructed() bool { return c != nil && c.params != nil }

// Params returns the chain's network.
func (c *Chain) Params() *chaincfg.Params {
	if c == nil {
		return nil
	}
	return c.params
}

// Tip returns the best block.
func (c *Chain) Tip() bitcoin.BlockStamp {
	if !c.constructed() {
		return bitcoin.BlockStamp{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tip()
	return bitcoin.BlockStamp{Height: t.height, Hash: t.hash}
}

func (c *Chain) tip() *node { return c.main[len(c.main)-1] }

// lock takes the state lock and checks ctx and closure.
func (c *Chain) lock(ctx context.Context) error {
	if !c.constructed() {
		return notConstructed()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return bitcoin.ErrClosed
	}
	return nil
}

// BestBlock returns the tip of the main chain.
func (c *Chain) BestBlock(ctx context.Context) (bitcoin.BlockStamp, error) {
	if err := c.lock(ctx); err != nil {
		return bitcoin.BlockStamp{}, err
	}
	defer c.mu.Unlock()
	t := c.tip()
	return bitcoin.BlockStamp{Height: t.height, Hash: t.hash}, nil
}

// BlockHash returns the hash of the main-chain block at height.
func (c *Chain) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	if err := c.lock(ctx); err != nil {
		return chainhash.Hash{}, err
	}
	defer c.mu.Unlock()
	if height < 0 || int(height) >= len(c.main) {
		return chainhash.Hash{}, fmt.Errorf("simchain: no block at height %d: %w", height, bitcoin.ErrNotFound)
	}
	return c.main[height].hash, nil
}

// BlockHeader returns the header of any block the chain has seen, main chain or not.
func (c *Chain) BlockHeader(ctx context.Context, hash chainhash.Hash) (wire.BlockHeader, error) {
	if err := c.lock(ctx); err != nil {
		return wire.BlockHeader{}, err
	}
	defer c.mu.Unlock()
	n, ok := c.nodes[hash]
	if !ok {
		return wire.BlockHeader{}, fmt.Errorf("simchain: block %s: %w", hash, bitcoin.ErrNotFound)
	}
	return n.block.Header, nil
}

// Block returns a copy of any block the chain has seen, main chain or not.
func (c *Chain) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	n, ok := c.nodes[hash]
	if !ok {
		return nil, fmt.Errorf("simchain: block %s: %w", hash, bitcoin.ErrNotFound)
	}
	return copyBlock(n.block), nil
}

// Tx returns a copy of a mempool or main-chain transaction.
func (c *Chain) Tx(ctx context.Context, txid chainhash.Hash) (bitcoin.TxInfo, error) {
	if err := c.lock(ctx); err != nil {
		return bitcoin.TxInfo{}, err
	}
	defer c.mu.Unlock()
	if p, ok := c.poolByID[txid]; ok {
		return bitcoin.TxInfo{Tx: p.tx.Copy()}, nil
	}
	if loc, ok := c.txIndex[txid]; ok {
		return bitcoin.TxInfo{
			Tx:    loc.node.block.Transactions[loc.index].Copy(),
			Block: &bitcoin.BlockStamp{Height: loc.node.height, Hash: loc.node.hash},
		}, nil
	}
	return bitcoin.TxInfo{}, fmt.Errorf("simchain: transaction %s: %w", txid, bitcoin.ErrNotFound)
}

// TxOut returns an unspent output; see bitcoin.Chain.
func (c *Chain) TxOut(ctx context.Context, op wire.OutPoint, includeMempool bool) (bitcoin.UTXO, error) {
	if err := c.lock(ctx); err != nil {
		return bitcoin.UTXO{}, err
	}
	defer c.mu.Unlock()
	if includeMempool {
		if _, spent := c.poolSpends[op]; spent {
			return bitcoin.UTXO{}, fmt.Errorf("simchain: output %s spent in mempool: %w", op, bitcoin.ErrNotFound)
		}
		if p, ok := c.poolByID[op.Hash]; ok {
			if int(op.Index) >= len(p.tx.TxOut) {
				return bitcoin.UTXO{}, fmt.Errorf("simchain: output %s: %w", op, bitcoin.ErrNotFound)
			}
			o := p.tx.TxOut[op.Index]
			return bitcoin.UTXO{OutPoint: op, Value: btcutil.Amount(o.Value), PkScript: bytes.Clone(o.PkScript)}, nil
		}
	}
	e, ok := c.utxos[op]
	if !ok {
		return bitcoin.UTXO{}, fmt.Errorf("simchain: output %s: %w", op, bitcoin.ErrNotFound)
	}
	return utxoOf(op, e), nil
}

func utxoOf(op wire.OutPoint, e utxoEntry) bitcoin.UTXO {
	return bitcoin.UTXO{OutPoint: op, Value: btcutil.Amount(e.out.Value), PkScript: bytes.Clone(e.out.PkScript), Height: e.height, Coinbase: e.coinbase}
}

// UTXOs returns the unspent outputs paying pkScript: confirmed ones by height, then
// unconfirmed ones, each group ordered by outpoint; outputs spent in the mempool are left out.
func (c *Chain) UTXOs(ctx context.Context, pkScript []byte) ([]bitcoin.UTXO, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	var out []bitcoin.UTXO
	for op := range c.byScript[string(pkScript)] {
		if _, spent := c.poolSpends[op]; spent {
			continue
		}
		out = append(out, utxoOf(op, c.utxos[op]))
	}
	for _, p := range c.pool {
		for i, o := range p.tx.TxOut {
			op := wire.OutPoint{Hash: p.txid, Index: uint32(i)}
			if _, spent := c.poolSpends[op]; spent || !bytes.Equal(o.PkScript, pkScript) {
				continue
			}
			out = append(out, bitcoin.UTXO{OutPoint: op, Value: btcutil.Amount(o.Value), PkScript: bytes.Clone(o.PkScript)})
		}
	}
	slices.SortFunc(out, compareUTXO)
	return out, nil
}

// compareUTXO orders confirmed outputs by height, then unconfirmed ones, then by outpoint.
func compareUTXO(a, b bitcoin.UTXO) int {
	ha, hb := a.Height, b.Height
	if ha == 0 {
		ha = 1<<31 - 1
	}
	if hb == 0 {
		hb = 1<<31 - 1
	}
	if r := cmp.Compare(ha, hb); r != 0 {
		return r
	}
	if r := bytes.Compare(a.OutPoint.Hash[:], b.OutPoint.Hash[:]); r != 0 {
		return r
	}
	return cmp.Compare(a.OutPoint.Index, b.OutPoint.Index)
}

// Mempool returns the mempool in acceptance order.
func (c *Chain) Mempool(ctx context.Context) ([]bitcoin.MempoolEntry, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	out := make([]bitcoin.MempoolEntry, 0, len(c.pool))
	for _, p := range c.pool {
		out = append(out, bitcoin.MempoolEntry{Txid: p.txid, VSize: p.vsize, Fee: p.fee})
	}
	return out, nil
}

// EstimateFee always reports bitcoin.ErrNoFeeEstimate: the chain keeps no fee history, so
// bitcoin.EstimateFee falls back to its mempool-based estimate.
func (c *Chain) EstimateFee(ctx context.Context, target int) (bitcoin.FeeRate, error) {
	if err := c.lock(ctx); err != nil {
		return 0, err
	}
	c.mu.Unlock()
	return 0, fmt.Errorf("simchain: no fee history: %w", bitcoin.ErrNoFeeEstimate)
}

// TestAccept checks tx against the mempool and UTXO set without adding it.
func (c *Chain) TestAccept(ctx context.Context, tx *wire.MsgTx) error {
	if err := c.lock(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	_, err := c.check(tx)
	if errors.Is(err, errKnown) {
		return &bitcoin.RejectError{Txid: tx.TxHash(), Reason: "txn-already-known"}
	}
	return err
}

// Broadcast validates tx and adds it to the mempool. A transaction already in the mempool or
// the main chain is accepted again as a no-op.
func (c *Chain) Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	if err := c.lock(ctx); err != nil {
		return chainhash.Hash{}, err
	}
	p, err := c.check(tx)
	if errors.Is(err, errKnown) {
		c.mu.Unlock()
		return tx.TxHash(), nil
	}
	if err != nil {
		c.mu.Unlock()
		return chainhash.Hash{}, err
	}
	c.addToPool(p, true)
	c.mu.Unlock()
	c.flush()
	return p.txid, nil
}

// Watch replaces the set of scripts whose mempool transactions are pushed to subscribers.
func (c *Chain) Watch(ctx context.Context, pkScripts [][]byte) error {
	if err := c.lock(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	clear(c.watch)
	for _, s := range pkScripts {
		c.watch[string(s)] = struct{}{}
	}
	return nil
}

// Subscribe registers h. Updates are delivered synchronously by the goroutine that caused
// them (Mine, Reorg, Broadcast), in order, after the chain's lock is released; h must not
// block.
func (c *Chain) Subscribe(h func(bitcoin.ChainUpdate)) func() {
	if !c.constructed() || h == nil {
		return func() {}
	}
	return c.subs.Add(h)
}

// Close makes every later call fail with bitcoin.ErrClosed. It is idempotent.
func (c *Chain) Close() error {
	if !c.constructed() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.subs.Close()
	c.queue = nil
	return nil
}

// flush delivers queued updates in order. Callers must not hold mu.
func (c *Chain) flush() {
	c.deliverMu.Lock()
	defer c.deliverMu.Unlock()
	for {
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		hs := c.subs.Snapshot()
		c.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, u := range q {
			for _, h := range hs {
				h(u)
			}
		}
	}
}

// queueTip records a tip update for the subscribers. Callers hold mu.
func (c *Chain) queueTip() {
	t := c.tip()
	hdr := t.block.Header
	c.queue = append(c.queue, bitcoin.ChainUpdate{Kind: bitcoin.UpdateTip, Tip: bitcoin.BlockStamp{Height: t.height, Hash: t.hash}, Header: &hdr})
}

func copyBlock(b *wire.MsgBlock) *wire.MsgBlock {
	out := &wire.MsgBlock{Header: b.Header, Transactions: make([]*wire.MsgTx, len(b.Transactions))}
	for i, tx := range b.Transactions {
		out.Transactions[i] = tx.Copy()
	}
	return out
}

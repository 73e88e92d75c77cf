package simchain

import (
	"bytes"
	"fmt"
	"math"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// MaxBlocksPerCall bounds n in [Chain.Mine] and [Chain.Reorg].
const MaxBlocksPerCall = 10_000

// MineOption configures [Chain.Mine] and [Chain.Reorg].
type MineOption func(*mineConfig)

type mineConfig struct {
	payTo   []byte
	exclude map[chainhash.Hash]struct{}
}

// PayTo makes the mined blocks pay their reward to pkScript. Defaults to the chain's
// coinbase script ([WithCoinbaseScript]).
func PayTo(pkScript []byte) MineOption {
	return func(c *mineConfig) { c.payTo = bytes.Clone(pkScript) }
}

// Exclude keeps the given mempool transactions, and their descendants, out of the mined
// blocks; they stay in the mempool. Defaults to none.
func Exclude(txids ...chainhash.Hash) MineOption {
	return func(c *mineConfig) {
		for _, id := range txids {
			c.exclude[id] = struct{}{}
		}
	}
}

func (c *Chain) mineConfig(opts []MineOption) (mineConfig, error) {
	cfg := mineConfig{payTo: c.payTo, exclude: map[chainhash.Hash]struct{}{}}
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.payTo) > txscript.MaxScriptSize {
		return cfg, &bitcoin.OptionError{Option: "simchain.PayTo", Value: len(cfg.payTo), Reason: "script longer than txscript.MaxScriptSize"}
	}
	return cfg, nil
}

// Mine mines n blocks on the tip, each taking the mempool's transactions in acceptance order
// until the block is full, and returns their hashes. Subscribers get one tip update per block
// before Mine returns.
func (c *Chain) Mine(n int, opts ...MineOption) ([]chainhash.Hash, error) {
	if !c.constructed() {
		return nil, notConstructed()
	}
	if n < 0 || n > MaxBlocksPerCall {
		return nil, &bitcoin.FieldError{Field: "n", Reason: fmt.Sprintf("%d is outside 0..%d", n, MaxBlocksPerCall)}
	}
	cfg, err := c.mineConfig(opts)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, bitcoin.ErrClosed
	}
	hashes := c.mine(n, cfg)
	c.mu.Unlock()
	c.flush()
	return hashes, nil
}

// Reorg disconnects the top depth blocks, returns their transactions to the mempool (those
// still valid), then mines n blocks on the new tip and returns their hashes. With n > depth
// the new branch is longer than the old one, as in a natural reorg; n = 0 only disconnects,
// like bitcoind's invalidateblock. The orphaned blocks stay known to BlockHeader and Block.
// Subscribers get a tip update for every disconnect and every new block.
func (c *Chain) Reorg(depth, n int, opts ...MineOption) ([]chainhash.Hash, error) {
	if !c.constructed() {
		return nil, notConstructed()
	}
	if n < 0 || n > MaxBlocksPerCall {
		return nil, &bitcoin.FieldError{Field: "n", Reason: fmt.Sprintf("%d is outside 0..%d", n, MaxBlocksPerCall)}
	}
	cfg, err := c.mineConfig(opts)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, bitcoin.ErrClosed
	}
	if depth < 1 || depth > int(c.tip().height) {
		h := c.tip().height
		c.mu.Unlock()
		return nil, &bitcoin.FieldError{Field: "depth", Reason: fmt.Sprintf("%d is outside 1..%d (the genesis block stays)", depth, h)}
	}
	var orphaned [][]*wire.MsgTx
	for range depth {
		orphaned = append(orphaned, c.disconnectTip())
		c.queueTip()
	}
	var candidates []*wire.MsgTx
	for i := len(orphaned) - 1; i >= 0; i-- { // oldest block first
		candidates = append(candidates, orphaned[i]...)
	}
	c.rebuildPool(append(candidates, c.poolTxs()...))
	hashes := c.mine(n, cfg)
	c.mu.Unlock()
	c.flush()
	return hashes, nil
}

// Evict removes a transaction and its descendants from the mempool, so that a conflicting
// transaction can be accepted. It fails with bitcoin.ErrNotFound if txid is not in the
// mempool.
func (c *Chain) Evict(txid chainhash.Hash) error {
	if !c.constructed() {
		return notConstructed()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return bitcoin.ErrClosed
	}
	if _, ok := c.poolByID[txid]; !ok {
		return fmt.Errorf("simchain: mempool transaction %s: %w", txid, bitcoin.ErrNotFound)
	}
	var keep []*wire.MsgTx
	for _, p := range c.pool {
		if p.txid != txid {
			keep = append(keep, p.tx)
		}
	}
	c.rebuildPool(keep)
	return nil
}

// mine mines n blocks. Callers hold mu.
func (c *Chain) mine(n int, cfg mineConfig) []chainhash.Hash {
	hashes := make([]chainhash.Hash, 0, n)
	for range n {
		hashes = append(hashes, c.mineBlock(cfg))
		c.queueTip()
	}
	return hashes
}

// mineBlock builds, solves and connects one block. Callers hold mu.
func (c *Chain) mineBlock(cfg mineConfig) chainhash.Hash {
	tip := c.tip()
	height := tip.height + 1

	// Coinbase weight is reserved up front; mempool transactions are taken in acceptance
	// order, which is topological, skipping the excluded ones and their descendants.
	weight := int64(4000)
	skipped := map[chainhash.Hash]struct{}{}
	var txs []*wire.MsgTx
	var fees int64
	witness := false
	for _, p := range c.pool {
		skip := false
		if _, ok := cfg.exclude[p.txid]; ok {
			skip = true
		}
		for _, in := range p.tx.TxIn {
			if _, ok := skipped[in.PreviousOutPoint.Hash]; ok {
				skip = true
			}
		}
		w := p.vsize * 4
		if skip || weight+w > blockchain.MaxBlockWeight {
			skipped[p.txid] = struct{}{}
			continue
		}
		weight += w
		fees += int64(p.fee)
		txs = append(txs, p.tx)
		witness = witness || p.tx.HasWitness()
	}

	cb := wire.NewMsgTx(1)
	sig, _ := txscript.NewScriptBuilder().AddInt64(int64(height)).AddInt64(c.mined).Script()
	c.mined++
	cb.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex},
		SignatureScript:  sig,
		Sequence:         wire.MaxTxInSequenceNum,
	})
	cb.AddTxOut(wire.NewTxOut(blockchain.CalcBlockSubsidy(height, c.params)+fees, bytes.Clone(cfg.payTo)))
	btxs := make([]*btcutil.Tx, 0, len(txs)+1)
	btxs = append(btxs, btcutil.NewTx(cb))
	for _, tx := range txs {
		btxs = append(btxs, btcutil.NewTx(tx))
	}
	if witness {
		// BIP-141: the coinbase commits to the witness merkle root with a zero nonce.
		var nonce [blockchain.CoinbaseWitnessDataLen]byte
		cb.TxIn[0].Witness = wire.TxWitness{nonce[:]}
		root := blockchain.CalcMerkleRoot(btxs, true)
		commitment := chainhash.DoubleHashB(append(root[:], nonce[:]...))
		pk := append(bytes.Clone(blockchain.WitnessMagicBytes), commitment...)
		cb.AddTxOut(wire.NewTxOut(0, pk))
		btxs[0] = btcutil.NewTx(cb)
	}

	block := &wire.MsgBlock{Header: wire.BlockHeader{
		Version:    0x20000000,
		PrevBlock:  tip.hash,
		MerkleRoot: blockchain.CalcMerkleRoot(btxs, false),
		Timestamp:  tip.block.Header.Timestamp.Add(c.interval),
		Bits:       c.params.PowLimitBits,
	}}
	solve(&block.Header)
	block.Transactions = make([]*wire.MsgTx, len(btxs))
	txids := make([]chainhash.Hash, len(btxs))
	for i, t := range btxs {
		block.Transactions[i] = t.MsgTx().Copy()
		txids[i] = *t.Hash()
	}
	n := &node{hash: block.BlockHash(), height: height, parent: tip, block: block, txids: txids}
	c.nodes[n.hash] = n
	c.connect(n)

	// The mined transactions leave the mempool; the others stay valid (a longer chain only
	// matures coinbases and unlocks time locks).
	rest := make([]*wire.MsgTx, 0, len(c.pool))
	for _, p := range c.pool {
		if _, mined := c.txIndex[p.txid]; !mined {
			rest = append(rest, p.tx)
		}
	}
	if len(rest) != len(c.pool) {
		c.rebuildPool(rest)
	}
	return n.hash
}

// solve finds a nonce (bumping the timestamp if the nonces run out) that meets the header's
// target.
func solve(h *wire.BlockHeader) {
	target := blockchain.CompactToBig(h.Bits)
	for {
		for nonce := uint32(0); ; nonce++ {
			h.Nonce = nonce
			hash := h.BlockHash()
			if blockchain.HashToBig(&hash).Cmp(target) <= 0 {
				return
			}
			if nonce == math.MaxUint32 {
				break
			}
		}
		h.Timestamp = h.Timestamp.Add(1e9)
	}
}

// connect applies a block to the UTXO set and indexes. Callers hold mu.
func (c *Chain) connect(n *node) {
	n.undo = n.undo[:0]
	for i, tx := range n.block.Transactions {
		if i > 0 {
			for _, in := range tx.TxIn {
				op := in.PreviousOutPoint
				n.undo = append(n.undo, spent{op: op, entry: c.utxos[op]})
				c.removeUTXO(op)
			}
		}
		for j, o := range tx.TxOut {
			if txscript.IsUnspendable(o.PkScript) {
				continue
			}
			c.addUTXO(wire.OutPoint{Hash: n.txids[i], Index: uint32(j)}, utxoEntry{out: *o, height: n.height, coinbase: i == 0})
		}
		c.txIndex[n.txids[i]] = txLoc{node: n, index: i}
	}
	c.indexScripts(n, 1)
	c.main = append(c.main, n)
}

// disconnectTip undoes the tip block and returns its non-coinbase transactions. Callers
// hold mu.
func (c *Chain) disconnectTip() []*wire.MsgTx {
	n := c.tip()
	for i := len(n.block.Transactions) - 1; i >= 0; i-- {
		for j := range n.block.Transactions[i].TxOut {
			c.removeUTXO(wire.OutPoint{Hash: n.txids[i], Index: uint32(j)})
		}
		delete(c.txIndex, n.txids[i])
	}
	for i := len(n.undo) - 1; i >= 0; i-- {
		c.addUTXO(n.undo[i].op, n.undo[i].entry)
	}
	n.undo = nil
	c.indexScripts(n, -1)
	c.main = c.main[:len(c.main)-1]
	txs := make([]*wire.MsgTx, 0, len(n.block.Transactions)-1)
	for _, tx := range n.block.Transactions[1:] {
		txs = append(txs, tx.Copy())
	}
	return txs
}

func (c *Chain) addUTXO(op wire.OutPoint, e utxoEntry) {
	c.utxos[op] = e
	k := string(e.out.PkScript)
	set := c.byScript[k]
	if set == nil {
		set = make(map[wire.OutPoint]struct{})
		c.byScript[k] = set
	}
	set[op] = struct{}{}
}

func (c *Chain) removeUTXO(op wire.OutPoint) {
	e, ok := c.utxos[op]
	if !ok {
		return
	}
	delete(c.utxos, op)
	k := string(e.out.PkScript)
	if set := c.byScript[k]; set != nil {
		delete(set, op)
		if len(set) == 0 {
			delete(c.byScript, k)
		}
	}
}

package simchain

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// errKnown reports a transaction already in the mempool or the main chain.
var errKnown = errors.New("simchain: transaction already known")

// maxTxWeight is Bitcoin Core's MAX_STANDARD_TX_WEIGHT; it also guarantees that every
// mempool transaction fits in a block.
const maxTxWeight = 400_000

func reject(txid chainhash.Hash, reason string, err error) error {
	return &bitcoin.RejectError{Txid: txid, Reason: reason, Err: err}
}

// check validates tx for the mempool on top of the current tip: consensus sanity, no
// conflict with the mempool, inputs present and mature, lock time and BIP-68 sequence locks,
// fee >= 0 and every input's script under the standard verification flags. Callers hold mu.
func (c *Chain) check(tx *wire.MsgTx) (*poolTx, error) {
	if tx == nil {
		return nil, &bitcoin.FieldError{Field: "tx", Reason: "nil transaction"}
	}
	txid := tx.TxHash()
	if _, ok := c.poolByID[txid]; ok {
		return nil, errKnown
	}
	if _, ok := c.txIndex[txid]; ok {
		return nil, errKnown
	}
	// Amounts first, so a refusal for them carries the SDK's typed error (btcd's sanity check
	// below would refuse them too, with its own).
	if err := bitcoin.CheckTxAmounts(tx); err != nil {
		return nil, reject(txid, "bad-txns-vout-outofrange", err)
	}
	btx := btcutil.NewTx(tx)
	if err := blockchain.CheckTransactionSanity(btx); err != nil {
		return nil, reject(txid, "bad-txns-sanity: "+err.Error(), err)
	}
	if blockchain.IsCoinBaseTx(tx) {
		return nil, reject(txid, "coinbase", nil)
	}
	weight := blockchain.GetTransactionWeight(btx)
	if weight > maxTxWeight {
		return nil, reject(txid, "tx-size", nil)
	}
	tip := c.tip()
	next := tip.height + 1
	mtp := c.medianTime(tip)
	if !blockchain.IsFinalizedTransaction(btx, next, mtp) {
		return nil, reject(txid, "non-final", nil)
	}

	prevOuts := make(map[wire.OutPoint]*wire.TxOut, len(tx.TxIn))
	var in int64
	for i, txIn := range tx.TxIn {
		op := txIn.PreviousOutPoint
		if spender, ok := c.poolSpends[op]; ok {
			return nil, reject(txid, "txn-mempool-conflict", fmt.Errorf("input %s already spent by %s", op, spender))
		}
		var out *wire.TxOut
		var height int32
		if p, ok := c.poolByID[op.Hash]; ok {
			if int(op.Index) >= len(p.tx.TxOut) {
				return nil, reject(txid, "bad-txns-inputs-missingorspent", fmt.Errorf("input %s does not exist", op))
			}
			out, height = p.tx.TxOut[op.Index], next
		} else if e, ok := c.utxos[op]; ok {
			if e.coinbase && next-e.height < int32(c.params.CoinbaseMaturity) {
				return nil, reject(txid, "bad-txns-premature-spend-of-coinbase", fmt.Errorf("input %s has %d confirmations, needs %d", op, next-e.height, c.params.CoinbaseMaturity))
			}
			o := e.out
			out, height = &o, e.height
		} else {
			return nil, reject(txid, "missing-inputs", fmt.Errorf("input %s is unknown or spent", op))
		}
		if out.Value < 0 || out.Value > btcutil.MaxSatoshi {
			return nil, reject(txid, "bad-txns-inputvalues-outofrange",
				&bitcoin.AmountError{What: "input", Index: i, Value: out.Value, Err: bitcoin.ErrInvalidTransaction})
		}
		if in += out.Value; in > btcutil.MaxSatoshi {
			return nil, reject(txid, "bad-txns-inputvalues-outofrange",
				&bitcoin.AmountError{What: "input total", Index: -1, Value: in, Err: bitcoin.ErrInvalidTransaction})
		}
		prevOuts[op] = out
		if tx.Version >= 2 && txIn.Sequence&wire.SequenceLockTimeDisabled == 0 && !c.sequenceLockMet(txIn.Sequence, height, next, mtp) {
			return nil, reject(txid, "non-BIP68-final", fmt.Errorf("input %s is locked by sequence %#x", op, txIn.Sequence))
		}
	}
	var outSum int64
	for _, o := range tx.TxOut {
		outSum += o.Value
	}
	fee := in - outSum
	if fee < 0 {
		return nil, reject(txid, "bad-txns-in-belowout", fmt.Errorf("inputs %d < outputs %d", in, outSum))
	}

	fetcher := txscript.NewMultiPrevOutFetcher(prevOuts)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, txIn := range tx.TxIn {
		prev := prevOuts[txIn.PreviousOutPoint]
		vm, err := txscript.NewEngine(prev.PkScript, tx, i, txscript.StandardVerifyFlags, c.sigCache, hashes, prev.Value, fetcher)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			return nil, reject(txid, fmt.Sprintf("mandatory-script-verify-flag-failed (input %d: %v)", i, err), err)
		}
	}
	return &poolTx{tx: tx.Copy(), txid: txid, fee: btcutil.Amount(fee), vsize: (weight + 3) / 4}, nil
}

// sequenceLockMet reports whether a BIP-68 relative lock of an input created at inputHeight
// is met by a transaction in block next whose tip has median time past tipMTP.
func (c *Chain) sequenceLockMet(seq uint32, inputHeight, next int32, tipMTP time.Time) bool {
	lock := int64(seq & wire.SequenceLockTimeMask)
	if seq&wire.SequenceLockTimeIsSeconds != 0 {
		// The lock counts from the median time past of the block before the input's block.
		prev := min(max(inputHeight-1, 0), c.tip().height)
		minTime := c.medianTime(c.main[prev]).Unix() + lock<<wire.SequenceLockTimeGranularity - 1
		return minTime < tipMTP.Unix()
	}
	return int64(inputHeight)+lock-1 < int64(next)
}

// medianTime is the median timestamp of the 11 blocks ending at n (BIP-113).
func (c *Chain) medianTime(n *node) time.Time {
	ts := make([]int64, 0, 11)
	for p := n; p != nil && len(ts) < 11; p = p.parent {
		ts = append(ts, p.block.Header.Timestamp.Unix())
	}
	slices.Sort(ts)
	return time.Unix(ts[len(ts)/2], 0)
}

// addToPool adds a checked transaction. Callers hold mu.
func (c *Chain) addToPool(p *poolTx, notify bool) {
	c.pool = append(c.pool, p)
	c.poolByID[p.txid] = p
	for _, in := range p.tx.TxIn {
		c.poolSpends[in.PreviousOutPoint] = p.txid
	}
	if c.poolScripts == nil {
		c.poolScripts = make(map[string]int)
	}
	for _, o := range p.tx.TxOut {
		c.poolScripts[string(o.PkScript)]++
	}
	if !notify || len(c.watch) == 0 {
		return
	}
	for _, o := range p.tx.TxOut {
		if _, ok := c.watch[string(o.PkScript)]; ok {
			c.queue = append(c.queue, bitcoin.ChainUpdate{Kind: bitcoin.UpdateMempool, Tx: p.tx.Copy()})
			return
		}
	}
}

// rebuildPool empties the mempool and re-admits candidates in order, dropping the ones that
// are no longer valid (and so their descendants). Callers hold mu.
func (c *Chain) rebuildPool(candidates []*wire.MsgTx) {
	c.pool = nil
	clear(c.poolByID)
	clear(c.poolSpends)
	clear(c.poolScripts)
	for _, tx := range candidates {
		if p, err := c.check(tx); err == nil {
			c.addToPool(p, false)
		}
	}
}

func (c *Chain) poolTxs() []*wire.MsgTx {
	out := make([]*wire.MsgTx, len(c.pool))
	for i, p := range c.pool {
		out[i] = p.tx
	}
	return out
}

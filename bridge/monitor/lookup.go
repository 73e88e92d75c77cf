package monitor

import (
	"context"
	"errors"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// BlockLookup returns a bitcoin.FeatureLookup for the transactions of block b at height: the
// outputs created by a transaction of b are found in b (at height), the others are asked of base
// (none when base is nil: unknown). Script reuse is asked of base. Feature vectors of a block's
// transactions then know the inputs that spend outputs of the same block without a chain.
func BlockLookup(b *wire.MsgBlock, height int32, base bitcoin.FeatureLookup) bitcoin.FeatureLookup {
	byID := make(map[chainhash.Hash]*wire.MsgTx, len(b.Transactions))
	for _, tx := range b.Transactions {
		byID[tx.TxHash()] = tx
	}
	return &prevOuts{base: base, block: byID, height: height}
}

// prevOuts is a FeatureLookup that finds outputs in a block first, then through base, and
// records the spent outputs it returns, in the order asked (the order of a transaction's
// inputs): the monitor reads the sender's addresses from them. A worker owns one; it is not
// safe for concurrent use unless record is off (BlockLookup's).
type prevOuts struct {
	base   bitcoin.FeatureLookup
	block  map[chainhash.Hash]*wire.MsgTx
	height int32
	record bool
	outs   []*wire.TxOut
}

// reset prepares r for the next transaction.
func (r *prevOuts) reset(block map[chainhash.Hash]*wire.MsgTx, height int32) {
	r.block, r.height, r.record = block, height, true
	clear(r.outs)
	r.outs = r.outs[:0]
}

func (r *prevOuts) PrevOutput(ctx context.Context, op wire.OutPoint) (*wire.TxOut, int32, bool, error) {
	if tx, ok := r.block[op.Hash]; ok && int(op.Index) < len(tx.TxOut) {
		out := tx.TxOut[op.Index]
		if r.record {
			r.outs = append(r.outs, out)
		}
		return out, r.height, true, nil
	}
	if r.base == nil {
		return nil, 0, false, nil
	}
	out, h, found, err := r.base.PrevOutput(ctx, op)
	if err == nil && found && out != nil && r.record {
		r.outs = append(r.outs, out)
	}
	return out, h, found, err
}

func (r *prevOuts) ScriptUses(ctx context.Context, pkScript []byte) (int, bool, error) {
	if r.base == nil {
		return 0, false, nil
	}
	return r.base.ScriptUses(ctx, pkScript)
}

// chainLookup is the default FeatureLookup: spent outputs through Chain.Tx (mempool or main
// chain), script reuse through the chain's bitcoin.ScriptHistory when it has one.
type chainLookup struct{ c Chain }

func (l chainLookup) PrevOutput(ctx context.Context, op wire.OutPoint) (*wire.TxOut, int32, bool, error) {
	info, err := l.c.Tx(ctx, op.Hash)
	if errors.Is(err, bitcoin.ErrNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	if info.Tx == nil || int(op.Index) >= len(info.Tx.TxOut) {
		return nil, 0, false, nil
	}
	height := int32(-1)
	if info.Block != nil {
		height = info.Block.Height
	}
	return info.Tx.TxOut[op.Index], height, true, nil
}

func (l chainLookup) ScriptUses(ctx context.Context, pkScript []byte) (int, bool, error) {
	if h, ok := l.c.(bitcoin.ScriptHistory); ok {
		return h.ScriptUses(ctx, pkScript)
	}
	return 0, false, nil
}

package bitcoin

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// FieldError reports an invalid argument or request field (an invalid option is an
// [*OptionError]). It matches [ErrInvalidArgument].
type FieldError struct {
	Field  string // the argument or field, e.g. "ConfRequest.NumConfs"
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("bitcoin: invalid %s: %s", e.Field, e.Reason)
}

// Is reports whether target is [ErrInvalidArgument].
func (e *FieldError) Is(target error) bool { return target == ErrInvalidArgument }

// RejectError reports a transaction refused by a backend's mempool or test-accept check.
// It matches [ErrRejected]; Reason is the backend's reason ("missing-inputs",
// "txn-mempool-conflict", "bad-txns-in-belowout", a script error, ...).
type RejectError struct {
	Txid   chainhash.Hash
	Reason string
	Err    error // underlying error, if any
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("bitcoin: transaction %s rejected: %s", e.Txid, e.Reason)
}

// Is reports whether target is [ErrRejected].
func (e *RejectError) Is(target error) bool { return target == ErrRejected }

// Unwrap returns the underlying error.
func (e *RejectError) Unwrap() error { return e.Err }

// BlockStamp names a block by height and hash. It is also the checkpoint type: the last
// block a host processed. The zero BlockStamp (zero hash) means "none".
type BlockStamp struct {
	Height int32          `json:"height"`
	Hash   chainhash.Hash `json:"hash"`
}

// IsZero reports whether b is the zero BlockStamp.
func (b BlockStamp) IsZero() bool { return b.Hash == chainhash.Hash{} }

func (b BlockStamp) String() string { return fmt.Sprintf("%d:%s", b.Height, b.Hash) }

// TxInfo is a transaction and where it is.
type TxInfo struct {
	Tx *wire.MsgTx
	// Block is the main-chain block holding Tx, nil while Tx is only in the mempool.
	Block *BlockStamp
}

// MempoolEntry is one transaction in a backend's mempool.
type MempoolEntry struct {
	Txid  chainhash.Hash `json:"txid"`
	VSize int64          `json:"vsize"` // virtual size in vbytes
	Fee   btcutil.Amount `json:"fee"`
}

// FeeRate returns the entry's fee rate.
func (e MempoolEntry) FeeRate() FeeRate { return NewFeeRate(e.Fee, e.VSize) }

// UpdateKind says what a [ChainUpdate] reports.
type UpdateKind uint8

// Kinds of [ChainUpdate].
const (
	// UpdateTip reports that the best chain changed (a block connected or disconnected, or the
	// backend (re)connected); Tip is the backend's best block after the change.
	UpdateTip UpdateKind = iota + 1
	// UpdateMempool reports a transaction accepted to the mempool that pays one of the watched
	// scripts (see [Chain.Watch]).
	UpdateMempool
)

// ChainUpdate is one change pushed by a [Chain] to its subscribers.
type ChainUpdate struct {
	Kind UpdateKind
	// Tip is the new best block (UpdateTip).
	Tip BlockStamp
	// Header is Tip's header when the backend had it at hand, else nil (UpdateTip).
	Header *wire.BlockHeader
	// Tx is the mempool transaction (UpdateMempool).
	Tx *wire.MsgTx
}

// Chain is a backend's view of one Bitcoin chain.
//
// Contract (every implementation MUST follow it; bitcointest.RunChainSuite checks it):
//
//   - Concurrency: all methods MUST be safe for concurrent use by multiple goroutines.
//   - Context: blocking methods MUST return ctx.Err() (possibly wrapped) once ctx is done and
//     MUST NOT retain ctx after returning.
//   - Errors: unknown blocks, transactions and spent or unknown outputs MUST match
//     [ErrNotFound]; a transaction refused by TestAccept or Broadcast MUST be a [*RejectError];
//     a remote backend that is not connected MUST return an error matching [ErrDisconnected].
//   - Main chain: BestBlock, BlockHash, Tx and TxOut answer for the backend's current main
//     chain; BlockHeader and Block MUST also answer for known blocks that are no longer on it
//     (reorged out), so that disconnected blocks can be described.
//   - Idempotent broadcast: Broadcast of a transaction already in the mempool or the main
//     chain MUST succeed and return its txid without side effects.
//   - Updates: Subscribe registers a handler that the Chain MUST call serially (never two
//     calls at once for one handler) in the order the changes happened. A Chain MAY coalesce
//     tip updates but MUST eventually deliver an UpdateTip carrying its latest best block
//     after every change of the best chain, and MUST deliver one after every (re)connection
//     to a remote node. Handlers MUST NOT block; a Chain MUST NOT hold locks that its other
//     methods need while calling them.
//   - Watch replaces the set of output scripts whose mempool transactions are pushed as
//     UpdateMempool; a Chain MAY push extra transactions (callers filter again).
//   - Lifecycle: Close MUST be idempotent, MUST release every goroutine the Chain started
//     before returning, and afterwards every method MUST return an error matching
//     [ErrClosed]; unsubscribe functions MUST be idempotent and safe after Close.
type Chain interface {
	// Params returns the network the chain belongs to.
	Params() *chaincfg.Params
	// BestBlock returns the tip of the main chain.
	BestBlock(ctx context.Context) (BlockStamp, error)
	// BlockHash returns the hash of the main-chain block at height.
	BlockHash(ctx context.Context, height int32) (chainhash.Hash, error)
	// BlockHeader returns the header of any known block.
	BlockHeader(ctx context.Context, hash chainhash.Hash) (wire.BlockHeader, error)
	// Block returns any known block.
	Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error)
	// Tx returns a transaction from the mempool or the main chain.
	Tx(ctx context.Context, txid chainhash.Hash) (TxInfo, error)
	// TxOut returns an unspent output of the main chain's UTXO set. With includeMempool,
	// outputs of mempool transactions are included and outputs spent by mempool
	// transactions are reported as not found.
	TxOut(ctx context.Context, op wire.OutPoint, includeMempool bool) (UTXO, error)
	// UTXOs returns the unspent outputs paying pkScript, mempool included (Height 0), minus
	// outputs spent by mempool transactions: confirmed ones by height, then unconfirmed ones,
	// each group ordered by outpoint (txid bytes, then index).
	UTXOs(ctx context.Context, pkScript []byte) ([]UTXO, error)
	// Mempool returns the mempool's transactions.
	Mempool(ctx context.Context) ([]MempoolEntry, error)
	// EstimateFee returns the backend's fee-rate estimate for confirmation within target
	// blocks, or an error matching [ErrNoFeeEstimate]. See [EstimateFee] for the fallbacks.
	EstimateFee(ctx context.Context, target int) (FeeRate, error)
	// TestAccept checks tx against the mempool without adding it (testmempoolaccept).
	TestAccept(ctx context.Context, tx *wire.MsgTx) error
	// Broadcast submits tx to the mempool (and the network) and returns its txid.
	Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error)
	// Watch replaces the set of output scripts whose mempool transactions are pushed.
	Watch(ctx context.Context, pkScripts [][]byte) error
	// Subscribe registers h for updates and returns a function that removes it.
	Subscribe(h func(ChainUpdate)) (unsubscribe func())
	// Close releases the chain's resources.
	Close() error
}

// # Chain access and notifications
//
// (Package prose for doc.go; the lead merges this block into the package documentation.)
//
// A [Chain] is the SDK's hand on a Bitcoin chain: best block, blocks and headers by hash,
// transactions, the UTXO set, the mempool, fee estimates, a testmempoolaccept-style check and
// broadcast, and a push feed of tip changes and watched mempool transactions. Two backends
// implement it: package rpcchain talks to a btcd node over JSON-RPC and websocket
// notifications and reconnects on its own; package simchain is an embedded, deterministic
// chain with a real UTXO set and script validation, for demos and downstream unit tests.
// Package bitcointest holds the conformance suite every backend passes (RunChainSuite), a
// regtest btcd launcher and funded wallets.
//
// A [Notifier] turns a Chain into the guarantees of lnd's chainntnfs:
//
//   - Block epochs ([BlockConnected], [BlockDisconnected]) in chain order, replayed from a
//     caller's checkpoint (height and hash) so a restarted host misses nothing; a reorg
//     produces a disconnect for every orphaned block, tip first, before the new connects;
//     a reorg deeper than the safety limit ([DefaultSafetyLimit] = 144) is reported first as
//     a [DeepReorg].
//   - Confirmation registrations ([Notifier.RegisterConf]) by txid and/or output script, for
//     N confirmations, with a height hint for the historical rescan: [TxConfUpdate] as
//     confirmations accrue, [TxConfirmed] at N, [TxReorged] (the negative confirmation) when
//     the confirming block is disconnected, and [TxFinal] once the transaction is buried
//     deeper than the safety limit.
//   - Spend registrations ([Notifier.RegisterSpend]) for outpoints, with [OutpointSpent],
//     [SpendReorged] and [SpendFinal].
//   - Mempool-seen events ([MempoolTx]) for watched output scripts ([Notifier.WatchMempool]).
//
// Every stream is available as a Go channel ([Registration]) and, for blocks, as an
// iterator ([Notifier.Blocks]); with [WithBus] the Notifier also publishes its own stream, in
// order, on these topics (typed payloads, key = block hash, txid or outpoint, source
// [BusSource]):
//
//	bitcoin.block.connected     BlockConnected
//	bitcoin.block.disconnected  BlockDisconnected
//	bitcoin.chain.deepreorg     DeepReorg
//	bitcoin.tx.confupdate       TxConfUpdate
//	bitcoin.tx.confirmed        TxConfirmed
//	bitcoin.tx.reorged          TxReorged
//	bitcoin.tx.final            TxFinal
//	bitcoin.spend.detected      OutpointSpent
//	bitcoin.spend.reorged       SpendReorged
//	bitcoin.spend.final         SpendFinal
//	bitcoin.mempool.tx          MempoolTx
//	bitcoin.tx.broadcast        TxBroadcast (published by a Sender with WithSenderBus)
//
// # Block subscribers and checkpoints
//
// The Notifier keeps the last SafetyLimit+1 blocks it processed. Each block subscriber keeps
// its own cursor and walks from it to the Notifier's tip, reading older blocks from the Chain
// when it is behind that window, so a subscriber can start from any checkpoint and a slow one
// costs no memory and never holds up the others: it simply sees the chain as it is when it
// catches up (blocks that came and went while it was not reading are not replayed). A
// DeepReorg is reported once the blocks disconnected since the last connect exceed the
// safety limit: before all the disconnects when the whole reorg is seen at once, before the
// batch that crosses the limit when a backend is caught in the middle of a reorg.
//
// # Faults
//
// A Chain that fails (a node that went away) makes the Notifier retry with a doubling
// backoff ([WithRetryBackoff]); every tip update, such as the one rpcchain sends after it
// reconnects, retries at once. The Notifier always resumes from the last block it
// processed, so the stream has no gap and no duplicate.

// Sending goes through [Broadcast] (idempotent: the same signed transaction twice is a no-op
// returning the same txid) and [Sender], which takes an idempotency key and refuses to build
// or broadcast a second, different transaction for the same key; the key→txid records live in
// a [SendStore] ([NewMemSendStore] in memory).

package bitcoin

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Errors of the chain half of the package. Backends wrap them with %w so callers can test
// with errors.Is whatever the backend.
var (
	// ErrClosed is returned by every method of a closed Chain, Notifier, subscription or Sender.
	ErrClosed = errors.New("bitcoin: closed")
	// ErrNotFound reports an unknown block, transaction or (unspent) output.
	ErrNotFound = errors.New("bitcoin: not found")
	// ErrDisconnected reports that a remote backend is not connected right now; it reconnects
	// on its own and the call can be retried.
	ErrDisconnected = errors.New("bitcoin: backend disconnected")
	// ErrUnsupported reports a query the backend cannot answer (for example UTXOs of a script
	// that has no address form on a node without a script index).
	ErrUnsupported = errors.New("bitcoin: unsupported by backend")
	// ErrNoFeeEstimate reports that the backend has no data for a fee estimate.
	ErrNoFeeEstimate = errors.New("bitcoin: no fee estimate")
	// ErrRejected is matched by every [*RejectError].
	ErrRejected = errors.New("bitcoin: transaction rejected")
	// ErrKeyConflict is returned by [Sender] when an idempotency key already names a
	// different transaction.
	ErrKeyConflict = errors.New("bitcoin: idempotency key already used for another transaction")
	// ErrInvalidArgument is matched by every [*FieldError].
	ErrInvalidArgument = errors.New("bitcoin: invalid argument")
)

// FieldError reports an invalid option or request field. It matches [ErrInvalidArgument].
type FieldError struct {
	Field  string // the option or field, e.g. "ConfRequest.NumConfs"
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

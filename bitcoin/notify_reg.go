package bitcoin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// ConfRequest asks a [Notifier] for the confirmations of a transaction.
type ConfRequest struct {
	// Txid is the transaction to follow. Optional when PkScript is set.
	Txid chainhash.Hash
	// PkScript is an output script the transaction pays. With a zero Txid the registration
	// follows the first main-chain transaction at or above HeightHint that pays it (lowest
	// height, then position in the block). Optional when Txid is set; with both, both must
	// match.
	PkScript []byte
	// NumConfs is the number of confirmations to wait for, 1..SafetyLimit.
	NumConfs int32
	// HeightHint is the lowest height the transaction can confirm at: the historical rescan
	// starts there. Give the height at which the transaction was created to keep the rescan
	// short; a transaction found through the chain's transaction index is reported whatever
	// the hint.
	HeightHint int32
}

// SpendRequest asks a [Notifier] for the spend of an output.
type SpendRequest struct {
	OutPoint wire.OutPoint
	// HeightHint is the lowest height the spend can be at: the historical rescan starts
	// there, unless the chain reports the output unspent.
	HeightHint int32
}

type confAt struct {
	txid  chainhash.Hash
	tx    *wire.MsgTx
	block BlockStamp
	index uint32
}

type confReg struct {
	id            uint64
	req           ConfRequest
	box           *mailbox[ConfEvent]
	cancelled     *atomic.Bool
	conf          *confAt
	lastCount     int32
	confirmedSent bool
}

type spendAt struct {
	txid  chainhash.Hash
	tx    *wire.MsgTx
	input uint32
	block BlockStamp
}

type spendReg struct {
	id        uint64
	req       SpendRequest
	box       *mailbox[SpendEvent]
	cancelled *atomic.Bool
	spend     *spendAt
}

type mempoolWatch struct {
	id        uint64
	scripts   map[string]struct{}
	box       *mailbox[MempoolTx]
	cancelled *atomic.Bool
}

type trackedTx struct {
	ev  MempoolTx
	seq uint64
}

// newRegistration opens a mailbox-backed registration. Loop goroutine only.
func newRegistration[E any](n *Notifier) (*Registration[E], *mailbox[E], *atomic.Bool) {
	n.nextID++
	id := n.nextID
	box := newMailbox[E](&n.wg, func() {
		n.boxMu.Lock()
		delete(n.boxes, id)
		n.boxMu.Unlock()
	})
	cancelled := new(atomic.Bool)
	reg := &Registration[E]{ID: id, events: box.out}
	reg.cancel = func() {
		cancelled.Store(true)
		box.abort()
	}
	n.boxMu.Lock()
	n.boxes[id] = func() {
		reg.setErr(ErrClosed)
		box.abort()
	}
	n.boxMu.Unlock()
	return reg, box, cancelled
}

// RegisterConf registers for the confirmations of a transaction. The historical rescan runs
// before RegisterConf returns, so a transaction that already has confirmations gets its
// events right away (a TxConfirmed, and a TxFinal if it is already buried past the safety
// limit). Events then follow the chain: [TxConfUpdate] while the count is below NumConfs,
// [TxConfirmed] when it reaches it, [TxReorged] when the confirming block is disconnected,
// [TxFinal] (the last event) once the count exceeds the safety limit.
func (n *Notifier) RegisterConf(ctx context.Context, req ConfRequest) (*Registration[ConfEvent], error) {
	if err := n.constructed(); err != nil {
		return nil, err
	}
	if req.Txid == (chainhash.Hash{}) && len(req.PkScript) == 0 {
		return nil, &FieldError{Field: "ConfRequest.Txid", Reason: "need a Txid or a PkScript"}
	}
	if req.NumConfs < 1 || req.NumConfs > n.limit {
		return nil, &FieldError{Field: "ConfRequest.NumConfs", Reason: fmt.Sprintf("%d is outside 1..%d (the safety limit)", req.NumConfs, n.limit)}
	}
	if req.HeightHint < 0 {
		return nil, &FieldError{Field: "ConfRequest.HeightHint", Reason: "negative"}
	}
	req.PkScript = bytes.Clone(req.PkScript)
	var reg *Registration[ConfEvent]
	err := n.do(ctx, func(ctx context.Context) error {
		tip := n.tip()
		var at *confAt
		if req.HeightHint <= tip.Height {
			var err error
			if at, err = n.historicalConf(ctx, req, tip.Height); err != nil {
				return err
			}
		}
		r, box, cancelled := newRegistration[ConfEvent](n)
		reg = r
		cr := &confReg{id: r.ID, req: req, box: box, cancelled: cancelled, conf: at}
		n.confs[r.ID] = cr
		if at != nil {
			n.advanceConf(ctx, cr, tip.Height)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// RegisterSpend registers for the spend of an outpoint. The historical rescan runs before
// RegisterSpend returns. Events: [OutpointSpent] when a main-chain transaction spends it,
// [SpendReorged] when that block is disconnected, [SpendFinal] (the last event) once the
// spend is buried deeper than the safety limit.
func (n *Notifier) RegisterSpend(ctx context.Context, req SpendRequest) (*Registration[SpendEvent], error) {
	if err := n.constructed(); err != nil {
		return nil, err
	}
	if req.HeightHint < 0 {
		return nil, &FieldError{Field: "SpendRequest.HeightHint", Reason: "negative"}
	}
	var reg *Registration[SpendEvent]
	err := n.do(ctx, func(ctx context.Context) error {
		tip := n.tip()
		var at *spendAt
		if req.HeightHint <= tip.Height {
			var err error
			if at, err = n.historicalSpend(ctx, req, tip.Height); err != nil {
				return err
			}
		}
		r, box, cancelled := newRegistration[SpendEvent](n)
		reg = r
		sr := &spendReg{id: r.ID, req: req, box: box, cancelled: cancelled}
		n.spends[r.ID] = sr
		if at != nil {
			n.setSpend(ctx, sr, at)
			n.advanceSpend(ctx, sr, tip.Height)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// WatchMempool reports mempool transactions that pay any of pkScripts as [MempoolTx] events,
// and lists them in [Notifier.Mempool] snapshots while they stay in the mempool. Delivery is
// best effort in one respect: a transaction that enters the mempool while the backend is
// disconnected is not reported (it is still seen when it confirms).
func (n *Notifier) WatchMempool(ctx context.Context, pkScripts [][]byte) (*Registration[MempoolTx], error) {
	if err := n.constructed(); err != nil {
		return nil, err
	}
	if len(pkScripts) == 0 {
		return nil, &FieldError{Field: "pkScripts", Reason: "empty"}
	}
	scripts := make(map[string]struct{}, len(pkScripts))
	for i, s := range pkScripts {
		if len(s) == 0 {
			return nil, &FieldError{Field: fmt.Sprintf("pkScripts[%d]", i), Reason: "empty script"}
		}
		scripts[string(s)] = struct{}{}
	}
	var reg *Registration[MempoolTx]
	err := n.do(ctx, func(ctx context.Context) error {
		r, box, cancelled := newRegistration[MempoolTx](n)
		w := &mempoolWatch{id: r.ID, scripts: scripts, box: box, cancelled: cancelled}
		n.watches[r.ID] = w
		if err := n.rewatch(ctx); err != nil {
			delete(n.watches, r.ID)
			r.Cancel()
			return err
		}
		reg = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// Mempool returns a snapshot of the chain's mempool with the watched transactions
// ([Notifier.WatchMempool]) that are still in it.
func (n *Notifier) Mempool(ctx context.Context) (MempoolSnapshot, error) {
	if err := n.constructed(); err != nil {
		return MempoolSnapshot{}, err
	}
	var seq uint64
	if err := n.do(ctx, func(context.Context) error { seq = n.trackSeq; return nil }); err != nil {
		return MempoolSnapshot{}, err
	}
	entries, err := n.chain.Mempool(ctx)
	if err != nil {
		return MempoolSnapshot{}, err
	}
	s := SummarizeMempool(entries)
	present := make(map[chainhash.Hash]struct{}, len(entries))
	for _, e := range entries {
		present[e.Txid] = struct{}{}
	}
	err = n.do(ctx, func(context.Context) error {
		for txid, t := range n.tracked {
			if _, ok := present[txid]; ok {
				s.Watched = append(s.Watched, t.ev)
			} else if t.seq <= seq {
				delete(n.tracked, txid) // left the mempool without confirming (evicted, replaced)
			}
		}
		return nil
	})
	slices.SortFunc(s.Watched, func(a, b MempoolTx) int { return bytes.Compare(a.Txid[:], b.Txid[:]) })
	return s, err
}

// rewatch hands the union of the watched scripts to the chain. Loop goroutine only.
func (n *Notifier) rewatch(ctx context.Context) error {
	set := map[string]struct{}{}
	for id, w := range n.watches {
		if w.cancelled.Load() {
			delete(n.watches, id)
			continue
		}
		for s := range w.scripts {
			set[s] = struct{}{}
		}
	}
	scripts := make([][]byte, 0, len(set))
	for s := range set {
		scripts = append(scripts, []byte(s))
	}
	slices.SortFunc(scripts, bytes.Compare)
	return n.chain.Watch(ctx, scripts)
}

// drainMempool dispatches the mempool transactions pushed by the chain. Loop goroutine only.
func (n *Notifier) drainMempool(ctx context.Context) {
	n.pendMu.Lock()
	txs := n.pendTxs
	n.pendTxs = nil
	n.pendMu.Unlock()
	if len(txs) == 0 {
		return
	}
	ids := sortedKeys(n.watches)
	stale := false
	for _, tx := range txs {
		txid := tx.TxHash()
		if _, seen := n.tracked[txid]; seen {
			continue
		}
		var union []uint32
		for _, id := range ids {
			w := n.watches[id]
			if w.cancelled.Load() {
				stale = true
				continue
			}
			var outs []uint32
			for i, o := range tx.TxOut {
				if _, ok := w.scripts[string(o.PkScript)]; ok {
					outs = append(outs, uint32(i))
				}
			}
			if len(outs) > 0 {
				w.box.push(MempoolTx{Txid: txid, Tx: tx, Outputs: outs})
				union = mergeSorted(union, outs)
			}
		}
		if len(union) == 0 {
			continue
		}
		ev := MempoolTx{Txid: txid, Tx: tx, Outputs: union}
		n.trackSeq++
		n.tracked[txid] = trackedTx{ev: ev, seq: n.trackSeq}
		n.publish(ctx, TopicMempoolTx, txid.String(), ev)
	}
	if stale {
		if err := n.rewatch(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("bitcoin: updating the chain's watch set failed", "err", err)
		}
	}
}

func mergeSorted(a, b []uint32) []uint32 {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// needBlocks reports whether connecting a block needs its transactions. Loop goroutine only.
func (n *Notifier) needBlocks() bool {
	return len(n.confs) > 0 || len(n.spends) > 0 || len(n.tracked) > 0
}

// blockConnected updates the registrations for a block that joined the view. block is nil
// when no registration needs it. Loop goroutine only.
func (n *Notifier) blockConnected(ctx context.Context, b BlockStamp, block *wire.MsgBlock) {
	var txids []chainhash.Hash
	if block != nil {
		txids = make([]chainhash.Hash, len(block.Transactions))
		for i, tx := range block.Transactions {
			txids[i] = tx.TxHash()
			delete(n.tracked, txids[i])
		}
	}
	for _, id := range sortedKeys(n.confs) {
		r := n.confs[id]
		if r.cancelled.Load() {
			n.dropConf(r)
			continue
		}
		if r.conf == nil && block != nil {
			for i, tx := range block.Transactions {
				if confMatches(r.req, txids[i], tx) {
					r.conf = &confAt{txid: txids[i], tx: tx, block: b, index: uint32(i)}
					break
				}
			}
		}
		if r.conf != nil {
			n.advanceConf(ctx, r, b.Height)
		}
	}
	for _, id := range sortedKeys(n.spends) {
		r := n.spends[id]
		if r.cancelled.Load() {
			n.dropSpend(r)
			continue
		}
		if r.spend == nil && block != nil {
			if at := findSpend(r.req.OutPoint, block, txids, b); at != nil {
				n.setSpend(ctx, r, at)
			}
		}
		if r.spend != nil {
			n.advanceSpend(ctx, r, b.Height)
		}
	}
}

// blockDisconnected updates the registrations for a block that left the view; the new tip
// is its parent. Loop goroutine only.
func (n *Notifier) blockDisconnected(ctx context.Context, b BlockStamp) {
	for _, id := range sortedKeys(n.confs) {
		r := n.confs[id]
		if r.cancelled.Load() {
			n.dropConf(r)
			continue
		}
		if r.conf == nil {
			continue
		}
		if r.conf.block.Hash == b.Hash {
			ev := TxReorged{RegistrationID: r.id, Txid: r.conf.txid, Block: b}
			r.conf, r.lastCount, r.confirmedSent = nil, 0, false
			r.box.push(ev)
			n.publish(ctx, TopicTxReorged, ev.Txid.String(), ev)
			continue
		}
		if count := b.Height - r.conf.block.Height; !r.confirmedSent && count > 0 && count != r.lastCount {
			r.lastCount = count
			ev := TxConfUpdate{RegistrationID: r.id, Txid: r.conf.txid, Block: r.conf.block, Confirmations: count, Required: r.req.NumConfs}
			r.box.push(ev)
			n.publish(ctx, TopicTxConfUpdate, ev.Txid.String(), ev)
		}
	}
	for _, id := range sortedKeys(n.spends) {
		r := n.spends[id]
		if r.cancelled.Load() {
			n.dropSpend(r)
			continue
		}
		if r.spend != nil && r.spend.block.Hash == b.Hash {
			ev := SpendReorged{RegistrationID: r.id, OutPoint: r.req.OutPoint, SpenderTxid: r.spend.txid, Block: b}
			r.spend = nil
			r.box.push(ev)
			n.publish(ctx, TopicSpendReorged, ev.OutPoint.String(), ev)
		}
	}
}

func confMatches(req ConfRequest, txid chainhash.Hash, tx *wire.MsgTx) bool {
	if req.Txid != (chainhash.Hash{}) && req.Txid != txid {
		return false
	}
	if len(req.PkScript) == 0 {
		return true
	}
	for _, o := range tx.TxOut {
		if bytes.Equal(o.PkScript, req.PkScript) {
			return true
		}
	}
	return false
}

func findSpend(op wire.OutPoint, block *wire.MsgBlock, txids []chainhash.Hash, b BlockStamp) *spendAt {
	for i, tx := range block.Transactions[1:] {
		for j, in := range tx.TxIn {
			if in.PreviousOutPoint == op {
				return &spendAt{txid: txids[i+1], tx: tx, input: uint32(j), block: b}
			}
		}
	}
	return nil
}

// advanceConf emits what a confirmed registration's count calls for at tip height h.
func (n *Notifier) advanceConf(ctx context.Context, r *confReg, h int32) {
	count := h - r.conf.block.Height + 1
	if count < 1 {
		return
	}
	if !r.confirmedSent {
		if count >= r.req.NumConfs {
			r.confirmedSent = true
			ev := TxConfirmed{RegistrationID: r.id, Txid: r.conf.txid, Tx: r.conf.tx, Block: r.conf.block, TxIndex: r.conf.index, Confirmations: count, Required: r.req.NumConfs}
			r.box.push(ev)
			n.publish(ctx, TopicTxConfirmed, ev.Txid.String(), ev)
		} else if count != r.lastCount {
			r.lastCount = count
			ev := TxConfUpdate{RegistrationID: r.id, Txid: r.conf.txid, Block: r.conf.block, Confirmations: count, Required: r.req.NumConfs}
			r.box.push(ev)
			n.publish(ctx, TopicTxConfUpdate, ev.Txid.String(), ev)
		}
	}
	if r.confirmedSent && count > n.limit {
		ev := TxFinal{RegistrationID: r.id, Txid: r.conf.txid, Block: r.conf.block, Confirmations: count}
		r.box.push(ev)
		n.publish(ctx, TopicTxFinal, ev.Txid.String(), ev)
		r.box.end()
		delete(n.confs, r.id)
	}
}

func (n *Notifier) setSpend(ctx context.Context, r *spendReg, at *spendAt) {
	r.spend = at
	ev := OutpointSpent{RegistrationID: r.id, OutPoint: r.req.OutPoint, SpenderTxid: at.txid, SpendingTx: at.tx, InputIndex: at.input, Block: at.block}
	r.box.push(ev)
	n.publish(ctx, TopicOutpointSpent, ev.OutPoint.String(), ev)
}

func (n *Notifier) advanceSpend(ctx context.Context, r *spendReg, h int32) {
	if depth := h - r.spend.block.Height + 1; depth > n.limit {
		ev := SpendFinal{RegistrationID: r.id, OutPoint: r.req.OutPoint, SpenderTxid: r.spend.txid, Block: r.spend.block}
		r.box.push(ev)
		n.publish(ctx, TopicSpendFinal, ev.OutPoint.String(), ev)
		r.box.end()
		delete(n.spends, r.id)
	}
}

func (n *Notifier) dropConf(r *confReg) {
	delete(n.confs, r.id)
}

func (n *Notifier) dropSpend(r *spendReg) {
	delete(n.spends, r.id)
}

// historicalConf looks for a confirmation at or below tip height: through the chain's
// transaction index when the request names a txid, else (or when the index does not know
// the transaction) by scanning the blocks from the height hint.
func (n *Notifier) historicalConf(ctx context.Context, req ConfRequest, tipHeight int32) (*confAt, error) {
	if req.Txid != (chainhash.Hash{}) {
		info, err := n.chain.Tx(ctx, req.Txid)
		switch {
		case err == nil && info.Block == nil:
			return nil, nil // in the mempool, so not in the main chain
		case err == nil && info.Block.Height <= tipHeight:
			b := *info.Block
			main, err := n.mainHash(ctx, b.Height)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			if err == nil && main == b.Hash {
				block, err := n.chain.Block(ctx, b.Hash)
				if err != nil {
					return nil, err
				}
				for i, tx := range block.Transactions {
					if txid := tx.TxHash(); txid == req.Txid {
						if !confMatches(req, txid, tx) {
							return nil, nil // pays none of PkScript: never matches
						}
						return &confAt{txid: txid, tx: tx, block: b, index: uint32(i)}, nil
					}
				}
			}
		case err == nil:
			return nil, nil // confirmed above the view: found when the block connects
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	for h := req.HeightHint; h <= tipHeight; h++ {
		b, block, err := n.mainBlock(ctx, h)
		if err != nil {
			return nil, err
		}
		for i, tx := range block.Transactions {
			if txid := tx.TxHash(); confMatches(req, txid, tx) {
				return &confAt{txid: txid, tx: tx, block: b, index: uint32(i)}, nil
			}
		}
	}
	return nil, nil
}

// historicalSpend looks for a spend at or below tip height by scanning from the height hint,
// unless the chain reports the output unspent.
func (n *Notifier) historicalSpend(ctx context.Context, req SpendRequest, tipHeight int32) (*spendAt, error) {
	_, err := n.chain.TxOut(ctx, req.OutPoint, false)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	for h := req.HeightHint; h <= tipHeight; h++ {
		b, block, err := n.mainBlock(ctx, h)
		if err != nil {
			return nil, err
		}
		txids := make([]chainhash.Hash, len(block.Transactions))
		for i, tx := range block.Transactions {
			txids[i] = tx.TxHash()
		}
		if at := findSpend(req.OutPoint, block, txids, b); at != nil {
			return at, nil
		}
	}
	return nil, nil
}

func (n *Notifier) mainBlock(ctx context.Context, h int32) (BlockStamp, *wire.MsgBlock, error) {
	hash, err := n.mainHash(ctx, h)
	if err != nil {
		return BlockStamp{}, nil, err
	}
	block, err := n.chain.Block(ctx, hash)
	if err != nil {
		return BlockStamp{}, nil, err
	}
	return BlockStamp{Height: h, Hash: hash}, block, nil
}

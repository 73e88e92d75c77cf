package monitor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"golang.org/x/sync/errgroup"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/security"
)

// Run follows the chain from the checkpoint and scores the transaction stream until ctx is
// done, then returns ctx.Err(): the transactions of every block the Notifier connects, and
// the mempool transactions published on the bus (WithMempoolTopic) and of the watched scripts
// (WithWatch). It returns early with an error when the Notifier ends (bitcoin.ErrClosed) or
// the checkpoint cannot be loaded or saved. One Run at a time (ErrRunning); a later Run
// resumes after the last block the previous one processed.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer m.running.Store(false)
	from := m.Checkpoint()
	if m.cfg.checkpoints != nil {
		cp, err := m.cfg.checkpoints.Load(ctx)
		if err != nil {
			return fmt.Errorf("monitor: load the checkpoint: %w", err)
		}
		from = cp
	}
	start := from
	if start.IsZero() {
		start = m.notifier.Tip()
	}
	m.tip.Store(&start)

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan *wire.MsgTx, m.cfg.queue)
	m.queue.Store(&in)
	defer m.queue.Store(nil)
	var wg sync.WaitGroup
	for range m.cfg.workers {
		wg.Go(func() { m.mempoolLoop(rctx, in) })
	}
	stop := func() {
		cancel()
		wg.Wait()
	}
	if m.cfg.mempool != "" {
		sub, err := bus.Subscribe(m.bus, m.cfg.mempool, func(_ context.Context, e bus.Envelope[bitcoin.MempoolTx]) error {
			m.enqueue(rctx, in, e.Payload.Tx)
			return nil
		}, bus.Named("monitor.mempool"))
		if err != nil {
			stop()
			return fmt.Errorf("monitor: subscribe to %s: %w", m.cfg.mempool, err)
		}
		defer func() {
			_ = sub.Unsubscribe()
			<-sub.Done()
		}()
	}
	if len(m.cfg.watch) > 0 {
		reg, err := m.notifier.WatchMempool(rctx, m.cfg.watch)
		if err != nil {
			stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("monitor: watch the mempool: %w", err)
		}
		defer reg.Cancel()
		wg.Go(func() {
			for {
				select {
				case ev, ok := <-reg.Events():
					if !ok {
						return
					}
					m.enqueue(rctx, in, ev.Tx)
				case <-rctx.Done():
					return
				}
			}
		})
	}
	err := m.follow(rctx, from)
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// enqueue hands a mempool transaction to the workers, waiting while the queue is full.
func (m *Monitor) enqueue(ctx context.Context, in chan<- *wire.MsgTx, tx *wire.MsgTx) {
	if tx == nil {
		return
	}
	select {
	case in <- tx:
	case <-ctx.Done():
	}
}

// mempoolLoop takes micro-batches of mempool transactions and scores them.
func (m *Monitor) mempoolLoop(ctx context.Context, in <-chan *wire.MsgTx) {
	batch := make([]*wire.MsgTx, 0, m.cfg.maxBatch)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case tx := <-in:
			batch = append(batch[:0], tx)
		case <-ctx.Done():
			return
		}
	fill:
		for len(batch) < m.cfg.maxBatch {
			select {
			case tx := <-in:
				batch = append(batch, tx)
				continue
			default:
			}
			if m.cfg.maxWait <= 0 {
				break
			}
			if timer == nil {
				timer = time.NewTimer(m.cfg.maxWait)
			} else {
				timer.Reset(m.cfg.maxWait)
			}
			for len(batch) < m.cfg.maxBatch {
				select {
				case tx := <-in:
					batch = append(batch, tx)
				case <-timer.C:
					break fill
				case <-ctx.Done():
					return
				}
			}
			timer.Stop()
			break
		}
		m.scoreMempool(ctx, batch)
		clear(batch)
	}
}

// scoreMempool scores the batch's transactions not scored before, dated at the next block.
func (m *Monitor) scoreMempool(ctx context.Context, batch []*wire.MsgTx) {
	txs := make([]txIn, 0, len(batch))
	for _, tx := range batch {
		txs = append(txs, txIn{tx: tx, txid: tx.TxHash()})
	}
	m.mu.Lock()
	claimed := txs[:0]
	for _, t := range txs {
		e := m.st.txs[t.txid]
		if e != nil && (e.inflight || e.scored) {
			m.stats.duplicates.Add(1)
			continue
		}
		if e == nil {
			e = &entry{}
			m.st.txs[t.txid] = e
			m.st.enqueue(t.txid, e)
		}
		e.inflight = true
		claimed = append(claimed, t)
	}
	m.st.trim(m.cfg.maxTracked)
	m.mu.Unlock()
	if len(claimed) == 0 {
		return
	}
	height := m.Checkpoint().Height + 1
	res, err := m.scoreBatch(ctx, claimed, height, nil)
	m.finish(ctx, claimed, res, err, SourceMempool)
}

// finish records a batch's outcome and publishes its scores and alerts, in the batch's order.
func (m *Monitor) finish(ctx context.Context, txs []txIn, res []result, err error, source string) {
	now := m.cfg.now()
	m.mu.Lock()
	if err != nil {
		for _, t := range txs {
			if e := m.st.txs[t.txid]; e != nil {
				e.inflight = false
				if !e.scored && e.retractions == 0 && e.block.IsZero() {
					delete(m.st.txs, t.txid) // nothing to remember: it is scored when seen again
				}
			}
		}
		m.mu.Unlock()
		m.countBatchErr(ctx, len(txs), err)
		return
	}
	type event struct {
		scored Scored
		alert  *Alert
	}
	events := make([]event, 0, len(txs))
	for i, t := range txs {
		r := &res[i]
		e := m.st.txs[t.txid]
		if e == nil {
			e = &entry{}
			m.st.txs[t.txid] = e
		}
		e.inflight = false
		if r.err != nil {
			m.stats.failed.Add(1)
			m.cfg.log.Warn("monitor: transaction not scored", "txid", t.txid, "err", r.err)
			if e.block.IsZero() && e.retractions == 0 {
				delete(m.st.txs, t.txid)
			}
			continue
		}
		e.scored = true
		sc := Scored{Txid: t.txid, Risk: r.risk, Model: r.model, Threshold: m.cfg.threshold, Source: source,
			DID: r.did, Address: r.address, Factors: r.factors, Clamped: r.clamped, Time: now}
		if !e.block.IsZero() {
			b := e.block
			sc.Block = &b
		}
		ev := event{}
		if r.risk >= m.cfg.threshold {
			sc.Alert = true
			a := &Alert{ID: AlertID(t.txid, r.model, e.retractions), Scored: sc}
			e.alertID, e.alert = a.ID, a
			ev.alert = a
		}
		ev.scored = sc
		if !e.block.IsZero() {
			if e.alertID != "" {
				m.st.alerted[e.block.Hash] = append(m.st.alerted[e.block.Hash], t.txid)
			} else if e.retractions == 0 {
				delete(m.st.txs, t.txid) // confirmed without an alert: nothing to remember
			}
		}
		events = append(events, ev)
	}
	m.mu.Unlock()
	m.stats.batches.Add(1)
	for _, ev := range events {
		m.stats.scored.Add(1)
		m.publish(ctx, TopicScored, ev.scored.Txid, ev.scored)
		if ev.alert != nil {
			m.stats.alerts.Add(1)
			m.publish(ctx, TopicAlert, ev.alert.Txid, *ev.alert)
		}
	}
}

func (m *Monitor) countBatchErr(ctx context.Context, n int, err error) {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return // cancelled, not failed
	}
	if errors.Is(err, security.ErrDenied) {
		m.stats.denied.Add(uint64(n))
		m.cfg.log.Warn("monitor: batch refused by a boundary", "transactions", n, "err", err)
		return
	}
	m.stats.failed.Add(uint64(n))
	m.cfg.log.Error("monitor: batch not scored", "transactions", n, "err", err)
}

// publish puts an event on the bus; a failure is logged (the bus is the host's to watch).
func publishOn[T any](ctx context.Context, m *Monitor, topic string, txid chainhash.Hash, v T) {
	if err := bus.Publish(ctx, m.bus, topic, v, bus.WithKey(txid.String()), bus.WithSource(BusSource)); err != nil && ctx.Err() == nil {
		m.cfg.log.Error("monitor: publish failed", "topic", topic, "txid", txid, "err", err)
	}
}

func (m *Monitor) publish(ctx context.Context, topic string, txid chainhash.Hash, v any) {
	switch e := v.(type) {
	case Scored:
		publishOn(ctx, m, topic, txid, e)
	case Alert:
		publishOn(ctx, m, topic, txid, e)
	case Retraction:
		publishOn(ctx, m, topic, txid, e)
	}
}

// follow processes the Notifier's block events from the checkpoint.
func (m *Monitor) follow(ctx context.Context, from bitcoin.BlockStamp) error {
	for ev, err := range m.notifier.Blocks(ctx, from) {
		if err != nil {
			return err
		}
		switch e := ev.(type) {
		case bitcoin.BlockConnected:
			err = m.connected(ctx, e)
		case bitcoin.BlockDisconnected:
			err = m.disconnected(ctx, e)
		case bitcoin.DeepReorg:
			m.cfg.log.Warn("monitor: reorg deeper than the safety limit; alerts in the blocks beyond it are not retracted",
				"depth", e.Depth, "fork", e.Fork, "safety_limit", e.SafetyLimit)
		}
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// connected scores the transactions of a connected block that were not scored in the mempool,
// settles the alerts a reorg put in doubt, and moves the checkpoint.
func (m *Monitor) connected(ctx context.Context, ev bitcoin.BlockConnected) error {
	stamp := ev.Stamp()
	blk, err := m.fetchBlock(ctx, stamp.Hash)
	if err != nil {
		return err
	}
	var todo []txIn
	m.mu.Lock()
	m.st.heights[stamp.Hash] = stamp.Height
	for i, tx := range blk.Transactions {
		if i == 0 {
			continue // the coinbase
		}
		txid := tx.TxHash()
		delete(m.st.pending, txid) // back in the new chain: its alert stands
		e := m.st.txs[txid]
		switch {
		case e == nil:
			e = &entry{}
			m.st.txs[txid] = e
		case e.inflight:
			e.block = stamp // the mempool batch scoring it records the block
			m.stats.duplicates.Add(1)
			continue
		case e.scored:
			e.block = stamp
			m.stats.duplicates.Add(1)
			if e.alertID != "" {
				m.st.alerted[stamp.Hash] = append(m.st.alerted[stamp.Hash], txid)
			} else if e.retractions == 0 {
				delete(m.st.txs, txid)
			}
			continue
		}
		e.inflight, e.block = true, stamp
		todo = append(todo, txIn{tx: tx, txid: txid})
	}
	m.tip.Store(&stamp)
	m.mu.Unlock()

	if len(todo) > 0 {
		results, errs, err := m.scoreAll(ctx, todo, stamp.Height, blockTxs(blk))
		if err != nil {
			return err
		}
		for b := range errs {
			lo, hi := b*m.cfg.maxBatch, min((b+1)*m.cfg.maxBatch, len(todo))
			m.finish(ctx, todo[lo:hi], results[lo:hi], errs[b], SourceBlock)
		}
	}
	if err := m.settle(ctx, true); err != nil {
		return err
	}
	m.mu.Lock()
	m.st.expire(stamp.Height, m.cfg.safety)
	m.mu.Unlock()
	m.stats.blocks.Add(1)
	return m.save(ctx, stamp)
}

// disconnected puts the alerts of a disconnected block in doubt and retracts those whose
// transaction is in neither the mempool nor the chain. The block's other transactions are
// remembered as scored, unconfirmed: mined again, they are not scored again.
func (m *Monitor) disconnected(ctx context.Context, ev bitcoin.BlockDisconnected) error {
	stamp := ev.Stamp()
	parent := bitcoin.BlockStamp{Height: ev.Height - 1, Hash: ev.Header.PrevBlock}
	blk, err := m.fetchBlock(ctx, stamp.Hash)
	if err != nil {
		return err
	}
	m.mu.Lock()
	_, known := m.st.heights[stamp.Hash]
	for _, txid := range m.st.alerted[stamp.Hash] {
		e := m.st.txs[txid]
		if e == nil || e.alert == nil || e.block.Hash != stamp.Hash {
			continue
		}
		e.block = bitcoin.BlockStamp{}
		m.st.enqueue(txid, e)
		m.st.pending[txid] = &pending{alert: e.alert, block: stamp, left: m.cfg.safety}
	}
	for i, tx := range blk.Transactions {
		if i == 0 {
			continue
		}
		txid := tx.TxHash()
		if e := m.st.txs[txid]; e == nil {
			e = &entry{scored: true}
			m.st.txs[txid] = e
			m.st.enqueue(txid, e)
		} else if e.block.Hash == stamp.Hash {
			e.block = bitcoin.BlockStamp{}
			m.st.enqueue(txid, e)
		}
	}
	m.st.trim(m.cfg.maxTracked)
	delete(m.st.alerted, stamp.Hash)
	delete(m.st.heights, stamp.Hash)
	m.tip.Store(&parent)
	m.mu.Unlock()
	if !known {
		// A block processed before this monitor started: score it again to know its alerts.
		if err := m.doubt(ctx, stamp, blk); err != nil {
			return err
		}
	}
	if err := m.settle(ctx, false); err != nil {
		return err
	}
	m.stats.disconnected.Add(1)
	return m.save(ctx, parent)
}

// doubt scores the transactions of a disconnected block this monitor did not process, without
// publishing, and puts the alerts they would have raised in doubt.
func (m *Monitor) doubt(ctx context.Context, stamp bitcoin.BlockStamp, blk *wire.MsgBlock) error {
	if len(blk.Transactions) < 2 {
		return nil
	}
	txs := make([]txIn, 0, len(blk.Transactions)-1)
	for _, tx := range blk.Transactions[1:] {
		txs = append(txs, txIn{tx: tx, txid: tx.TxHash()})
	}
	results, errs, err := m.scoreAll(ctx, txs, stamp.Height, blockTxs(blk))
	if err != nil {
		return err
	}
	now := m.cfg.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, t := range txs {
		r := results[i]
		if errs[i/m.cfg.maxBatch] != nil || r.err != nil || r.risk < m.cfg.threshold {
			continue
		}
		e := m.st.txs[t.txid]
		if e == nil {
			e = &entry{scored: true}
			m.st.txs[t.txid] = e
			m.st.enqueue(t.txid, e)
		}
		if e.alert != nil || m.st.pending[t.txid] != nil {
			continue
		}
		b := stamp
		a := &Alert{ID: AlertID(t.txid, r.model, e.retractions), Scored: Scored{Txid: t.txid, Risk: r.risk, Model: r.model,
			Threshold: m.cfg.threshold, Alert: true, Source: SourceBlock, Block: &b, Time: now}}
		e.alertID, e.alert = a.ID, a
		m.st.pending[t.txid] = &pending{alert: a, block: stamp, left: m.cfg.safety}
	}
	return nil
}

// settle decides the alerts in doubt: a transaction that is in neither the mempool nor the
// chain has its alert retracted; one that is still there keeps it, and after the safety limit
// of connected blocks (onConnect) stops being watched.
func (m *Monitor) settle(ctx context.Context, onConnect bool) error {
	m.mu.Lock()
	if len(m.st.pending) == 0 {
		m.mu.Unlock()
		return nil
	}
	txids := make([]chainhash.Hash, 0, len(m.st.pending))
	for txid := range m.st.pending {
		txids = append(txids, txid)
	}
	m.mu.Unlock()
	for _, txid := range txids {
		_, err := m.chain.Tx(ctx, txid)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		gone := errors.Is(err, bitcoin.ErrNotFound)
		if err != nil && !gone {
			m.cfg.log.Warn("monitor: cannot tell whether a reorged transaction is still there; asking again at the next block", "txid", txid, "err", err)
			continue
		}
		m.mu.Lock()
		p := m.st.pending[txid]
		if p == nil {
			m.mu.Unlock()
			continue
		}
		if !gone {
			if onConnect {
				if p.left--; p.left <= 0 {
					delete(m.st.pending, txid)
				}
			}
			m.mu.Unlock()
			continue
		}
		delete(m.st.pending, txid)
		e := m.st.txs[txid]
		if e == nil {
			e = &entry{}
			m.st.txs[txid] = e
			m.st.enqueue(txid, e)
		}
		if e.alertID == p.alert.ID {
			e.alertID, e.alert, e.scored = "", nil, false
		}
		e.retractions++
		r := Retraction{ID: RetractionID(p.alert.ID, p.block.Hash), AlertID: p.alert.ID, Txid: txid, Block: p.block, Time: m.cfg.now()}
		m.mu.Unlock()
		m.stats.retracted.Add(1)
		m.publish(ctx, TopicRetracted, txid, r)
	}
	return nil
}

// save moves the checkpoint.
func (m *Monitor) save(ctx context.Context, b bitcoin.BlockStamp) error {
	if m.cfg.checkpoints == nil {
		return nil
	}
	if err := m.cfg.checkpoints.Save(ctx, b); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("monitor: save the checkpoint %s: %w", b, err)
	}
	return nil
}

// fetchBlock reads a block, retrying with a doubling backoff while the chain fails.
func (m *Monitor) fetchBlock(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	d := m.cfg.retryMin
	for {
		blk, err := m.chain.Block(ctx, hash)
		if err == nil {
			return blk, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, bitcoin.ErrClosed) {
			return nil, fmt.Errorf("monitor: block %s: %w", hash, err)
		}
		m.cfg.log.Warn("monitor: reading a block failed; retrying", "block", hash, "err", err, "in", d)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		d = min(2*d, m.cfg.retryMax)
	}
}

func blockTxs(b *wire.MsgBlock) map[chainhash.Hash]*wire.MsgTx {
	m := make(map[chainhash.Hash]*wire.MsgTx, len(b.Transactions))
	for _, tx := range b.Transactions {
		m[tx.TxHash()] = tx
	}
	return m
}

// scoreAll scores txs in micro-batches, as many at once as there are workers. It returns the
// results in order, each batch's error (a *BatchError; the batch's results are then empty), or
// ctx's error.
func (m *Monitor) scoreAll(ctx context.Context, txs []txIn, height int32, block map[chainhash.Hash]*wire.MsgTx) ([]result, []error, error) {
	n := (len(txs) + m.cfg.maxBatch - 1) / m.cfg.maxBatch
	results := make([]result, len(txs))
	errs := make([]error, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.workers)
	for b := range n {
		lo, hi := b*m.cfg.maxBatch, min((b+1)*m.cfg.maxBatch, len(txs))
		g.Go(func() error {
			res, err := m.scoreBatch(gctx, txs[lo:hi], height, block)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				errs[b] = err
				return nil
			}
			copy(results[lo:hi], res)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, err
	}
	return results, errs, nil
}

// ScoreBlock scores the transactions of blk (coinbase excepted) as those of a block at height,
// through the boundaries and the engine, in micro-batches on as many goroutines as the monitor
// has workers, and returns their scores in block order. It publishes nothing and remembers
// nothing: Run scores the blocks the Notifier connects itself. A batch that was not scored
// fails the call with its *BatchError; an invalid transaction with its error.
func (m *Monitor) ScoreBlock(ctx context.Context, blk *wire.MsgBlock, height int32) ([]Scored, error) {
	if blk == nil {
		return nil, fmt.Errorf("%w: nil block", ErrInvalidArgument)
	}
	if len(blk.Transactions) < 2 {
		return nil, nil
	}
	txs := make([]txIn, 0, len(blk.Transactions)-1)
	for _, tx := range blk.Transactions[1:] {
		txs = append(txs, txIn{tx: tx, txid: tx.TxHash()})
	}
	results, errs, err := m.scoreAll(ctx, txs, height, blockTxs(blk))
	if err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	at := &bitcoin.BlockStamp{Height: height, Hash: blk.BlockHash()}
	now := m.cfg.now()
	out := make([]Scored, len(txs))
	for i, r := range results {
		if r.err != nil {
			return nil, fmt.Errorf("monitor: transaction %s: %w", txs[i].txid, r.err)
		}
		out[i] = Scored{Txid: txs[i].txid, Risk: r.risk, Model: r.model, Threshold: m.cfg.threshold, Alert: r.risk >= m.cfg.threshold,
			Source: SourceBlock, Block: at, DID: r.did, Address: r.address, Factors: r.factors, Clamped: r.clamped, Time: now}
	}
	return out, nil
}

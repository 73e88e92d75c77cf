package anya

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// DefaultRebroadcastInterval is how often the Manager checks, besides after every reconnection
// to the chain, that the chain still holds its unconfirmed transactions.
const DefaultRebroadcastInterval = 10 * time.Minute

// The rebroadcaster keeps the Manager's unconfirmed transactions — the wallet's pending ones:
// recorded by this process, found unconfirmed at start, or put back by a reorg — in the chain's
// mempool. A node can forget them: btcd keeps no mempool across a restart, and a reorg may drop
// a transaction. After each (re)connection to the chain (an UpdateTip that does not move the
// tip forward), at start, after a reorg and every DefaultRebroadcastInterval, it compares them
// with the mempool and sends the recorded bytes of those the chain no longer knows, parents
// first. A payment's transaction is only ever broadcast as recorded: this never builds one.

// startRebroadcaster starts the rebroadcaster's goroutine, stopped by Close.
func (m *Manager) startRebroadcaster(context.Context) error {
	m.kick = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	unsubscribe := m.chain.Subscribe(func(u bitcoin.ChainUpdate) {
		if u.Kind != bitcoin.UpdateTip {
			return
		}
		m.tipMu.Lock()
		prev := m.lastTip
		m.lastTip = u.Tip
		m.tipMu.Unlock()
		// The same tip again is a (re)connection; a lower one, a node that came back behind.
		if prev.IsZero() || u.Tip.Hash == prev.Hash || u.Tip.Height < prev.Height {
			m.kickRebroadcast()
		}
	})
	go func() {
		defer close(done)
		t := time.NewTicker(m.cfg.rebroadcastEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.kick:
			case <-t.C:
			}
			m.rebroadcast(ctx)
		}
	}()
	m.onClose(func() error {
		unsubscribe()
		cancel()
		<-done
		return nil
	})
	m.kickRebroadcast()
	return nil
}

// kickRebroadcast asks the rebroadcaster for a check; it never blocks.
func (m *Manager) kickRebroadcast() {
	if m.kick == nil {
		return
	}
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// loadPending puts the transactions recorded for the payments a crash or Close left unfinished
// among the wallet's pending ones, before anything else runs: their change is spendable (a
// payment from the same sender started before Resume builds on it, broadcasting it first, as
// recorded), and the rebroadcaster sends them again if the chain does not have them.
func (m *Manager) loadPending(ctx context.Context) error {
	ids, err := m.store.Unfinished(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		rec, err := m.sender.Record(ctx, SendKey(id))
		if errors.Is(err, bitcoin.ErrNotFound) {
			continue // nothing recorded yet: the payment builds its transaction when it resumes
		}
		if err != nil {
			return err
		}
		var tx wire.MsgTx
		if err := tx.Deserialize(bytes.NewReader(rec.RawTx)); err != nil {
			return fmt.Errorf("anya: recorded transaction of %q: %w", rec.Key, err)
		}
		m.wallet.Recorded(rec.Key, &tx)
	}
	return nil
}

// watch puts the recorded transaction of payment p back among the wallet's pending ones, for
// the rebroadcaster to check.
func (m *Manager) watch(ctx context.Context, p paymentRow) {
	rec, err := m.sender.Record(ctx, SendKey(p.PaymentID))
	if err != nil {
		m.log.Warn("anya: no recorded transaction to watch", "payment", p.PaymentID, "err", err)
		return
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(rec.RawTx)); err != nil {
		m.log.Error("anya: recorded transaction", "payment", p.PaymentID, "err", err)
		return
	}
	m.wallet.Recorded(rec.Key, &tx)
}

// rebroadcast checks the wallet's pending transactions against the chain once.
func (m *Manager) rebroadcast(ctx context.Context) {
	pending := m.wallet.PendingTxs()
	if len(pending) == 0 {
		return
	}
	pool, err := m.chain.Mempool(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("anya: rebroadcast: mempool", "err", err) // the next reconnection tries again
		}
		return
	}
	in := make(map[chainhash.Hash]bool, len(pool))
	for _, e := range pool {
		in[e.Txid] = true
	}
	sent := 0
	for _, p := range pending {
		if in[p.Txid] {
			m.wallet.Accepted(p.Txid)
			continue
		}
		if _, err := m.sender.Record(ctx, p.Key); err != nil {
			continue // being recorded right now by its send, which broadcasts it
		}
		info, err := m.chain.Tx(ctx, p.Txid)
		switch {
		case err == nil && info.Block != nil:
			m.wallet.Confirmed(p.Txid) // mined in a block the triggers may have processed before it was pending
			continue
		case err == nil:
			m.wallet.Accepted(p.Txid)
			continue
		case !errors.Is(err, bitcoin.ErrNotFound):
			if ctx.Err() == nil {
				m.log.Warn("anya: rebroadcast: lookup", "txid", p.Txid, "err", err)
			}
			return
		}
		if _, err := m.broadcast(ctx, p.Key, p.Tx); err != nil {
			if ctx.Err() != nil {
				return
			}
			m.log.Warn("anya: rebroadcast refused", "key", p.Key, "txid", p.Txid, "err", err)
			if !errors.Is(err, bitcoin.ErrRejected) {
				return // the chain is away: the next reconnection tries again
			}
			continue
		}
		sent++
	}
	if sent > 0 {
		m.log.Info("anya: rebroadcast transactions the chain had forgotten", "count", sent)
	}
}

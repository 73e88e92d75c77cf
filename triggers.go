package anya

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"golang.org/x/sync/errgroup"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Topics the Manager publishes on (source EventSource, key the payment ID). Each state change of
// a sent payment is published once, in order, whichever path made it (the record step, a block,
// a reorg, the reconciliation at start): TopicPaymentSent first, then TopicPaymentConfirmed and
// TopicPaymentReorged alternate. See PaymentEvent.
const (
	// TopicPaymentSent: a verified payment's transaction was sent and its record written
	// (status broadcast).
	TopicPaymentSent = "anya.payment.sent"
	// TopicPaymentConfirmed: a verified payment's transaction reached the required
	// confirmations, and its record's status says so.
	TopicPaymentConfirmed = "anya.payment.confirmed"
	// TopicPaymentReorged: the block confirming a payment left the main chain; its record is
	// back to broadcast until it confirms again.
	TopicPaymentReorged = "anya.payment.reorged"
	// TopicPaymentUnverified: a verified payment ended unsent because its sender did not verify;
	// the event's Refusal says why.
	TopicPaymentUnverified = "anya.payment.unverified"
	// TopicPaymentBlocked: a verified payment ended unsent because its fraud risk reached the
	// threshold (Refusal.Risk, Refusal.Threshold).
	TopicPaymentBlocked = "anya.payment.blocked"
	// TopicPaymentFailed: a verified payment's run failed (Refusal says which step and why). One
	// whose Txid is set was sent, and its record is missing.
	TopicPaymentFailed = "anya.payment.failed"
)

// outcomeTopics are the topics of the payments that ended unsent.
var outcomeTopics = map[Outcome]string{OutcomeUnverified: TopicPaymentUnverified, OutcomeBlocked: TopicPaymentBlocked,
	OutcomeFailed: TopicPaymentFailed}

// PaymentEvent is the payload of the payment topics (anya.payment.>). A sent payment's events
// are TopicPaymentSent, then TopicPaymentConfirmed and TopicPaymentReorged in turn; a payment
// that ended unsent has one event, TopicPaymentUnverified, TopicPaymentBlocked or
// TopicPaymentFailed, published once the Manager sees its run end (in Pay, Execute, Resume, or
// at the next start after a crash) and carrying its Refusal. Manager.Payment returns them all,
// in order, as the payment's Events.
//
// The events of a payment are written to the state database in the transaction that changes
// the payment, and published from there in order: a restart publishes what a crash left
// unpublished, so none is lost. Seq numbers a payment's events 1, 2, 3, ...: an event published
// just before a crash, whose publication was not yet noted, is published again after the
// restart with the same Seq — a subscriber of a bus that outlives the process drops a Seq it has
// seen (an in-process bus dies with the process, so its subscribers never see one twice).
type PaymentEvent struct {
	PaymentID string
	DID       string // the sender
	Txid      string
	RecordID  string // the payment's record in the sender's records store
	// Outcome is OutcomeSent for the events of a sent payment, the outcome of one that ended
	// unsent otherwise.
	Outcome Outcome
	// Refusal is why the payment was not sent; nil for a sent payment.
	Refusal *Refusal `json:",omitempty"`
	// Status is PaymentConfirmed, or PaymentBroadcast (sent, or after a reorg); "" for a payment
	// that was not sent.
	Status string
	Block  bitcoin.BlockStamp
	Seq    int // the event's number among the payment's events, from 1
}

// subscribeBlocks wires the block triggers: every block connected or disconnected (in chain
// order, from the Manager's checkpoint on) invalidates the cached UTXOs of the addresses it
// touches and moves the payments it confirms or unconfirms, then advances the checkpoint.
func (m *Manager) subscribeBlocks() error {
	sub, err := bus.Subscribe(m.bus, "bitcoin.block.*", m.onBlock, bus.Named("anya.blocks"))
	if err != nil {
		return err
	}
	m.subs = append(m.subs, sub)
	return nil
}

// subscribe wires the Web5 trigger: a record written to or deleted from a tenant's store
// invalidates the cached identity of that tenant (its links), unless it is one of the payment
// records the Manager writes itself, which change only counters it keeps up to date.
func (m *Manager) subscribe(context.Context) error {
	for _, pat := range []string{dwn.TopicPrefix + ".*." + dwn.EventRecordWritten, dwn.TopicPrefix + ".*." + dwn.EventRecordDeleted} {
		sub, err := bus.Subscribe(m.bus, pat, func(_ context.Context, e bus.Envelope[dwn.Event]) error {
			m.invalidateIdentity(e.Payload.Tenant)
			return nil
		}, bus.Named("anya.identities"), bus.Filter(func(e bus.Envelope[dwn.Event]) bool {
			r := e.Payload.Record
			switch {
			case r == nil:
				return true
			case r.Protocol == ProtocolURI:
				return r.ProtocolPath != PathPayment
			case r.Protocol == bridge.ProtocolURI:
				return r.ProtocolPath == bridge.PathLink // not the UTXO, transaction or score records the bridges keep
			}
			return true
		}))
		if err != nil {
			return err
		}
		m.subs = append(m.subs, sub)
	}
	return nil
}

func (m *Manager) onBlock(ctx context.Context, e bus.Envelope[bitcoin.BlockEvent]) error {
	m.blocks.Lock()
	defer m.blocks.Unlock()
	defer m.publishOutbox(ctx)
	m.wallet.Invalidate() // coins confirmed, matured, spent elsewhere or reorged out
	switch ev := e.Payload.(type) {
	case bitcoin.BlockConnected:
		return m.blockConnected(ctx, ev)
	case bitcoin.BlockDisconnected:
		return m.blockDisconnected(ctx, ev)
	}
	return nil
}

func (m *Manager) blockConnected(ctx context.Context, ev bitcoin.BlockConnected) error {
	blk, err := m.chain.Block(ctx, ev.Hash)
	if err != nil {
		return fmt.Errorf("anya: block %s: %w", ev.Hash, err)
	}
	m.invalidateBlock(blk)
	txids := make([]chainhash.Hash, len(blk.Transactions))
	for i, tx := range blk.Transactions {
		txids[i] = tx.TxHash()
	}
	m.wallet.Confirmed(txids...) // the wallet's pending transactions among them are the chain's now
	pending, err := m.state.pendingIn(ctx, txids)
	if err != nil {
		return err
	}
	// Payments included far enough below this block are confirmed. (None of the block's own is
	// among them: those are still broadcast, or confirmed at once with one confirmation.)
	included, err := m.state.includedBelow(ctx, ev.Height-int32(m.cfg.confirmations)+1)
	if err != nil {
		return err
	}
	var errs []error
	moves := make([]paymentMove, 0, len(pending)+len(included))
	for _, p := range pending {
		moves = append(moves, paymentMove{Row: p, Status: PaymentIncluded, At: ev.Stamp()})
	}
	for _, p := range included {
		h, err := chainhash.NewHashFromStr(p.Block)
		if err != nil {
			errs = append(errs, fmt.Errorf("anya: payment %s block %q: %w", p.PaymentID, p.Block, err))
			continue
		}
		moves = append(moves, paymentMove{Row: p, Status: PaymentConfirmed, At: bitcoin.BlockStamp{Height: p.Height, Hash: *h}})
	}
	if err := m.movePayments(ctx, moves); err != nil {
		errs = append(errs, err)
	}
	// A payment that could not be moved is moved by the reconciliation of the next start: its
	// record and its state are each written whole, the record first, and the reconciliation
	// rewrites what the chain says of every payment whose state is not confirmed.
	if err := m.state.setCheckpoint(ctx, ev.Stamp()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m *Manager) blockDisconnected(ctx context.Context, ev bitcoin.BlockDisconnected) error {
	if blk, err := m.chain.Block(ctx, ev.Hash); err == nil {
		m.invalidateBlock(blk)
	}
	in, err := m.state.inBlock(ctx, ev.Hash)
	if err != nil {
		return err
	}
	moves := make([]paymentMove, len(in))
	for i, p := range in {
		moves[i] = paymentMove{Row: p, Status: PaymentBroadcast}
	}
	err = m.movePayments(ctx, moves)
	for _, p := range in {
		m.watch(ctx, p) // back to the mempool, or lost with the block: rebroadcast if the chain forgets it
	}
	if len(in) > 0 {
		m.kickRebroadcast()
	}
	if err != nil {
		return err // the checkpoint stays: the next start's reconciliation moves what is left
	}
	return m.state.setCheckpoint(ctx, bitcoin.BlockStamp{Height: ev.Height - 1, Hash: ev.Header.PrevBlock})
}

// reconcile brings every payment that is not confirmed up to date with the chain: a trigger
// that failed, or a block processed by no one, leaves nothing behind after a restart.
func (m *Manager) reconcile(ctx context.Context) error {
	m.blocks.Lock()
	defer m.blocks.Unlock()
	defer m.publishOutbox(ctx) // and what a crash left unpublished
	open, err := m.state.unconfirmed(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range open {
		txid, err := chainhash.NewHashFromStr(p.Txid)
		if err != nil {
			errs = append(errs, fmt.Errorf("anya: payment %s txid %q: %w", p.PaymentID, p.Txid, err))
			continue
		}
		status, at, err := m.txStatus(ctx, *txid)
		if errors.Is(err, bitcoin.ErrNotFound) {
			status, at, err = PaymentBroadcast, bitcoin.BlockStamp{}, nil // dropped from the mempool: still ours to watch
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if status == PaymentBroadcast {
			m.watch(ctx, p) // the rebroadcaster sends it again if the chain forgot it
		}
		if status != p.Status || blockHash(at) != p.Block {
			if err := m.setPayment(ctx, p, status, at); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// setPayment moves a payment to status at block at, updates its record when the status it
// shows changes, and queues the change's events (published by publishOutbox).
func (m *Manager) setPayment(ctx context.Context, p paymentRow, status string, at bitcoin.BlockStamp) error {
	return m.movePayments(ctx, []paymentMove{{Row: p, Status: status, At: at}})
}

// recordRewriters is how many payment records movePayments rewrites at once.
const recordRewriters = 16

// movePayments makes moves (as setPayment would make each) as one batch: first the records
// whose shown status changes are rewritten, up to recordRewriters at once, then the state of
// every payment whose record was rewritten (or needed none) moves, with its events, in one
// write of the state backend. A payment whose record could not be rewritten keeps its state,
// and its error is returned (joined with the others'); so does every payment of a state write
// that failed. Either way the payment's record and state are each whole, and a state that is
// not confirmed is brought up to the chain by the reconciliation of the next start.
func (m *Manager) movePayments(ctx context.Context, moves []paymentMove) error {
	if len(moves) == 0 {
		return nil
	}
	errs := make([]error, len(moves))
	var g errgroup.Group
	g.SetLimit(recordRewriters)
	for i := range moves {
		mv := &moves[i]
		if mv.Status == PaymentIncluded && m.cfg.confirmations == 1 {
			mv.Status = PaymentConfirmed
		}
		shown := shownStatus(mv.Status)
		if shown == shownStatus(mv.Row.Status) || mv.Row.RecordID == "" {
			continue
		}
		recAt := mv.At
		if shown != PaymentConfirmed {
			recAt = bitcoin.BlockStamp{}
		}
		if len(moves) == 1 {
			errs[i] = m.rewritePaymentRecord(ctx, mv.Row, shown, recAt)
			continue
		}
		g.Go(func() error {
			errs[i] = m.rewritePaymentRecord(ctx, mv.Row, shown, recAt)
			return nil
		})
	}
	_ = g.Wait() // every error is in errs
	ready := make([]paymentMove, 0, len(moves))
	for i, mv := range moves {
		if errs[i] == nil {
			ready = append(ready, mv)
		}
	}
	errs = append(errs, m.state.movePayments(ctx, ready))
	return errors.Join(errs...)
}

// publishOutbox publishes the payment events waiting in the outbox, in order, noting each as
// published once the bus took it. It stops at the first the bus refuses (closed, or a full
// queue of a subscriber that fails publishers), which waits for the next call: the next change,
// the next block, or the next start.
func (m *Manager) publishOutbox(ctx context.Context) {
	m.outboxMu.Lock()
	defer m.outboxMu.Unlock()
	for {
		evs, err := m.state.outbox(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Error("anya: payment events", "err", err)
			}
			return
		}
		// The events published are dequeued together, in one write: a crash in between
		// publishes them again (each with its ID, as before), never loses one.
		published := 0
		for _, e := range evs {
			if err := bus.Publish(ctx, m.bus, e.Topic, e.Event, bus.WithKey(e.Event.PaymentID), bus.WithSource(EventSource),
				bus.WithID(paymentEventID(e.Event))); err != nil {
				if !errors.Is(err, bus.ErrClosed) && ctx.Err() == nil {
					m.log.Error("anya: publish", "topic", e.Topic, "payment", e.Event.PaymentID, "err", err)
				}
				break
			}
			published++
		}
		if err := m.state.dequeue(ctx, evs[:published]...); err != nil {
			if ctx.Err() == nil {
				m.log.Error("anya: payment events", "err", err)
			}
			return
		}
		if published < len(evs) || len(evs) == 0 {
			return
		}
	}
}

// utxoIndex maps the outpoints of cached UTXO lists to their address, so that a block spending
// one invalidates the right entry.
type utxoIndex struct {
	mu  sync.Mutex
	ops map[wire.OutPoint]string
}

func (x *utxoIndex) add(address string, utxos []bitcoin.UTXO) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ops == nil {
		x.ops = map[wire.OutPoint]string{}
	}
	for _, u := range utxos {
		x.ops[u.OutPoint] = address
	}
}

// spent removes the outpoints and returns the addresses whose coins they were.
func (x *utxoIndex) spent(ops []wire.OutPoint) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for _, op := range ops {
		if a, ok := x.ops[op]; ok {
			out = append(out, a)
			delete(x.ops, op)
		}
	}
	return out
}

// invalidateBlock invalidates the cached UTXOs of every address blk pays or spends from.
func (m *Manager) invalidateBlock(blk *wire.MsgBlock) {
	var (
		spent []wire.OutPoint
		addrs []string
	)
	for _, tx := range blk.Transactions {
		for _, in := range tx.TxIn {
			spent = append(spent, in.PreviousOutPoint)
		}
		for _, out := range tx.TxOut {
			if a, err := bitcoin.AddressFromScript(out.PkScript, m.net); err == nil {
				addrs = append(addrs, a.String())
			}
		}
	}
	m.invalidateUTXOs(append(addrs, m.utxoIdx.spent(spent)...)...)
}

// Balance returns the confirmed and unconfirmed value of the unspent outputs paying address,
// cached until a block or a payment of the Manager touches the address.
func (m *Manager) Balance(ctx context.Context, address string) (confirmed, unconfirmed btcutil.Amount, err error) {
	if err := m.enter(); err != nil {
		return 0, 0, err
	}
	defer m.mu.RUnlock()
	a, err := bitcoin.ParseAddress(address, m.net)
	if err != nil {
		return 0, 0, &OpError{Op: "Balance", Field: "address", Reason: "not a " + m.net.String() + " address", Err: err}
	}
	utxos, err := m.tiers.utxos.GetOrLoad(ctx, address, func(ctx context.Context, key string) ([]bitcoin.UTXO, error) {
		us, err := m.chain.UTXOs(ctx, a.PkScript())
		if err != nil {
			return nil, err
		}
		m.utxoIdx.add(key, us)
		return us, nil
	})
	if err != nil {
		return 0, 0, err
	}
	c, u := bitcoin.Balance(utxos)
	return c, u, nil
}

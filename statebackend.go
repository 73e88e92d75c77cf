package anya

import (
	"context"
	"database/sql"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/internal/sqlitex"
)

// stateBackend is the Manager's own state: the identities it met and the grants they gave the
// host (for its own records and for the bridges'), per-DID counters, the rows of sent payments with the outbox of their events, the fraud
// features of payments in progress, and the checkpoint of the block triggers. *stateStore keeps
// it in SQLite, next to the send records (the default); *natsState on a NATS JetStream KV
// bucket that several hosts share (WithJetStream). Every method is safe for concurrent use.
// The payments the Manager started have an outcome entry from their start until their end.
//
// The contract both keep (state_conformance_test.go proves it for each):
//   - insertPayment stores a payment row unless one is stored under its ID, and, in the same
//     atomic step, counts it in its sender's stats and queues its first events; it reports
//     whether the row was new. movePayments moves stored payments (a block's, or one), in
//     order, each to its status, queueing the events of the state it shows; a payment's events
//     are numbered 1, 2, 3, ... and queued once each. It makes the moves in as few atomic
//     writes as the store can: SQLite one transaction,
//     JetStream one atomic batch per movesPerBatch moves. Each move is atomic on its own; a
//     move of a payment that is not stored is left out with an error wrapping
//     errPaymentNotStored, and the others are made.
//   - outbox returns queued events, each payment's in order; dequeue removes events that were
//     published (all of them, at once where the store can). An event queued by a process that died is returned by some later outbox call
//     (of any handle on the data).
//   - pendingIn, inBlock, unconfirmed and includedBelow answer from the rows as stored;
//     payment returns one row; history returns every event a payment ever queued, in order.
//   - start notes a payment's open outcome (and its fraud features) unless noted before; the
//     first features stand. putRefusal notes why an open payment's step failed. settle ends an
//     open (or unnoted) payment unsent and, the first time only, queues its event numbered after
//     its earlier ones; markSent ends an open payment sent, as insertPayment does; dropOutcome
//     forgets an open one. A payment ended stays ended: later settle, putRefusal and start
//     change nothing. openOutcomes lists the open payments.
//   - putBridgeGrant stores the bridges' grants of a DID unless grants are stored for it, and
//     returns the grants that stand: the first stored, whichever handle stored them (on a shared
//     store, two hosts setting up one identity at once end with one set, which both use).
//     bridgeGrant returns a DID's grants; bridgeGrants every DID's.
//   - noteBridgeWrites notes that the bridges' triggers write transaction records for a block in
//     the stores of some DIDs (before they write them); bridgeWrites returns every DID noted for
//     the block, by any handle on the data, once each; dropBridgeWrites forgets the block's
//     notes (a reorg undid them).
//   - linkEntry returns an entry of the links' revocation list, at least floor, that it never
//     returned before, to any handle on the data (WithJetStream's hosts take their links'
//     entries from it: link.WithEntries).
//   - blocksFence returns a value that differs from an earlier one, or reports a block trigger
//     running, whenever a block trigger (blocksBegin … blocksEnd) ran or runs in between, on any
//     host; a store with one process per data (SQLite) may return a constant, its triggers being
//     ordered by the Manager's lock.
type stateBackend interface {
	identity(ctx context.Context, d string) (identityRow, bool, error)
	seen(ctx context.Context, d string, now time.Time) (identityRow, error)
	register(ctx context.Context, d string, now time.Time, writeGrant, queryGrant string) error
	stats(ctx context.Context, d string) (stats, error)
	bridgeGrant(ctx context.Context, d string) (bridge.Grants, bool, error)
	bridgeGrants(ctx context.Context) (map[string]bridge.Grants, error)
	putBridgeGrant(ctx context.Context, d string, g bridge.Grants) (bridge.Grants, error)
	linkEntry(ctx context.Context, floor int) (int, error)
	noteBridgeWrites(ctx context.Context, block string, dids []string) error
	bridgeWrites(ctx context.Context, block string) ([]string, error)
	dropBridgeWrites(ctx context.Context, block string) error
	addStats(ctx context.Context, d string, st stats) error

	insertPayment(ctx context.Context, p paymentRow) (bool, error)
	movePayments(ctx context.Context, moves []paymentMove) error
	pendingIn(ctx context.Context, txids []chainhash.Hash) ([]paymentRow, error)
	inBlock(ctx context.Context, block chainhash.Hash) ([]paymentRow, error)
	unconfirmed(ctx context.Context) ([]paymentRow, error)
	includedBelow(ctx context.Context, height int32) ([]paymentRow, error)

	outbox(ctx context.Context) ([]outboxEvent, error)
	dequeue(ctx context.Context, evs ...outboxEvent) error

	payment(ctx context.Context, paymentID string) (paymentRow, bool, error)
	history(ctx context.Context, paymentID string) ([]PaymentEvent, error)

	start(ctx context.Context, id string, features []float32) error
	features(ctx context.Context, paymentID string) ([]float32, bool, error)
	putRefusal(ctx context.Context, id string, r *Refusal) error
	outcome(ctx context.Context, id string) (Outcome, *Refusal, error)
	settle(ctx context.Context, topic string, ev PaymentEvent) (bool, error)
	markSent(ctx context.Context, id string) error
	openOutcomes(ctx context.Context) ([]string, error)
	dropOutcome(ctx context.Context, id string) error

	checkpoint(ctx context.Context) (bitcoin.BlockStamp, error)
	setCheckpoint(ctx context.Context, cp bitcoin.BlockStamp) error
	blocksBegin(ctx context.Context) error
	blocksEnd(ctx context.Context) error
	blocksFence(ctx context.Context) (blockFence, error)

	close() error
}

// paymentMove is one move of a batch (movePayments): payment Row to Status at block At.
type paymentMove struct {
	Row    paymentRow
	Status string
	At     bitcoin.BlockStamp
}

// blockFence is what blocksFence returns.
type blockFence struct {
	Gen    uint64 // changes whenever a block trigger begins or ends
	Active bool   // a block trigger is running
}

// sqliteState is the SQLite stateBackend: the stateStore, whose block triggers the Manager's
// lock orders (one process per data directory).
type sqliteState struct{ *stateStore }

var (
	_ stateBackend = sqliteState{}
	_ stateBackend = (*natsState)(nil)
)

func (s sqliteState) dequeue(ctx context.Context, evs ...outboxEvent) error {
	return s.stateStore.dequeue(ctx, evs)
}

func (s sqliteState) noteBridgeWrites(ctx context.Context, block string, dids []string) error {
	return sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO anya_bridge_writes (block, did) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, d := range dids {
			if _, err := st.ExecContext(ctx, block, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s sqliteState) bridgeWrites(ctx context.Context, block string) ([]string, error) {
	return sqlitex.Strings(ctx, s.db, `SELECT did FROM anya_bridge_writes WHERE block = ? ORDER BY did`, block)
}

func (s sqliteState) dropBridgeWrites(ctx context.Context, block string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM anya_bridge_writes WHERE block = ?`, block)
	return err
}

func (sqliteState) blocksBegin(context.Context) error               { return nil }
func (sqliteState) blocksEnd(context.Context) error                 { return nil }
func (sqliteState) blocksFence(context.Context) (blockFence, error) { return blockFence{}, nil }

// eventsOf returns the events that move payment p's published state from shown (after n events)
// to the one status shows, numbered from n+1, and the new shown state: a payment's first state
// is sent, then confirmed and reorged alternate. Every store's moves follow it.
func eventsOf(p paymentRow, shown string, n int, status string, at bitcoin.BlockStamp) ([]outboxEvent, string) {
	to, topics := transitionTopics(shown, status)
	out := make([]outboxEvent, 0, len(topics))
	for _, topic := range topics {
		n++
		ev := PaymentEvent{PaymentID: p.PaymentID, DID: p.DID, Txid: p.Txid, RecordID: p.RecordID, Outcome: OutcomeSent,
			Status: PaymentBroadcast, Seq: n}
		if topic == TopicPaymentConfirmed {
			ev.Status, ev.Block = PaymentConfirmed, at
		}
		out = append(out, outboxEvent{Topic: topic, Event: ev})
	}
	return out, to
}

// transitionTopics is the rule of a payment's published states: the state status shows, and the
// topics of the events that move it there from shown (a payment's first state is sent, then
// confirmed and reorged alternate; none when it already shows it).
func transitionTopics(shown, status string) (string, []string) {
	to := shownStatus(status)
	switch {
	case shown == "" && to == PaymentConfirmed:
		return to, []string{TopicPaymentSent, TopicPaymentConfirmed}
	case shown == "":
		return to, []string{TopicPaymentSent}
	case shown == to:
		return to, nil
	case to == PaymentConfirmed:
		return to, []string{TopicPaymentConfirmed}
	default:
		return to, []string{TopicPaymentReorged}
	}
}

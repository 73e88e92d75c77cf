package anya

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/internal/natsx"
)

// natsState is the stateBackend on a NATS JetStream KV bucket, shared by the hosts of one
// JetStream (WithJetStream). Every change that spans keys — a payment row, its sender's
// counters, its events, its index entries — is one optimistic transaction committed as a
// JetStream atomic batch (natsx.Txn), so a host that dies leaves each change whole or absent.
//
// Keys (names escaped with natsx.EscapeKey): "id.<did>" and "st.<did>" (identities and their
// counters), "bg.<did>" (the grants a DID gave the hosts for the bridges' protocol), "pay.<id>"
// (a sent payment: its row, the state it shows and how many events it had), "open.<id>" (a
// payment not yet confirmed), "blk.<hash>.<id>" (a payment in that block), "out.<id>.<seq>" (an
// event waiting to be published), "hist.<id>" (every event a payment queued), "oc.<id>" (the
// outcome of a payment the Manager started), "started.<id>" (a payment whose outcome is still
// open), "feat.<id>" (fraud features), "linkentry" (the next entry of the links' revocation
// list), and "cp" (the block checkpoint, with the generation and count of running block
// triggers).
type natsState struct {
	kv     jetstream.KeyValue
	bucket *natsx.Bucket
	now    func() time.Time

	mu        sync.Mutex
	queued    []outboxEvent // events this handle queued, not yet dequeued, in order
	lastSweep time.Time     // when outbox last read every queued event in the bucket
}

// Tuning of natsState.
const (
	// stateSweepEvery is how often outbox also reads the events other hosts queued (and a host
	// that died left unpublished), beyond those this one queued.
	stateSweepEvery = 5 * time.Second
	// stateMarkerTTL is how long the marker of a deleted index or outbox key stays.
	stateMarkerTTL = time.Minute
	// staleTrigger is how long a block trigger that began and never ended (its host died) counts
	// as running.
	staleTrigger = time.Minute
)

// openNATSState opens (creating) the state bucket on js.
func openNATSState(ctx context.Context, js jetstream.JetStream, bucket string, replicas int, now func() time.Time) (*natsState, error) {
	kv, err := natsx.OpenKV(ctx, js, natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{Bucket: bucket,
		Description: "anya Manager state: payments, their events, identities, checkpoint",
		History:     1, Replicas: replicas, Storage: jetstream.FileStorage, LimitMarkerTTL: time.Second}, Batch: true})
	if err != nil {
		return nil, fmt.Errorf("anya: state bucket %s: %w", bucket, err)
	}
	b, err := natsx.OpenBucket(ctx, js, bucket)
	if err != nil {
		return nil, err
	}
	b.MarkerTTL = stateMarkerTTL
	return &natsState{kv: kv, bucket: b, now: now}, nil
}

func (s *natsState) close() error { return nil }

func esc(s string) string { return natsx.EscapeKey(s) }

type identityJSON struct {
	First int64  `json:"f"`
	Write string `json:"w,omitempty"`
	Query string `json:"q,omitempty"`
}

// getJSON reads key into v; found is false when the key does not exist.
func (s *natsState) getJSON(ctx context.Context, key string, v any) (found bool, err error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("anya: state %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return false, fmt.Errorf("anya: state %s: %w", key, err)
	}
	return true, nil
}

// txGet reads key into v within tx.
func txGet(ctx context.Context, tx *natsx.Txn, key string, v any) (bool, error) {
	b, ok, err := tx.Get(ctx, key)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("anya: state %s: %w", key, err)
	}
	return true, nil
}

func txPut(tx *natsx.Txn, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx.Put(key, b)
	return nil
}

func (s *natsState) identity(ctx context.Context, d string) (identityRow, bool, error) {
	var j identityJSON
	ok, err := s.getJSON(ctx, "id."+esc(d), &j)
	if err != nil || !ok {
		return identityRow{}, false, err
	}
	return identityRow{FirstSeen: time.Unix(0, j.First), WriteGrant: j.Write, QueryGrant: j.Query}, true, nil
}

func (s *natsState) seen(ctx context.Context, d string, now time.Time) (identityRow, error) {
	row, ok, err := s.identity(ctx, d)
	if err != nil || ok {
		return row, err
	}
	b, _ := json.Marshal(identityJSON{First: now.UnixNano()})
	if _, err := s.kv.Create(ctx, "id."+esc(d), b); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return identityRow{}, fmt.Errorf("anya: state identity: %w", err)
	}
	row, _, err = s.identity(ctx, d)
	return row, err
}

func (s *natsState) register(ctx context.Context, d string, now time.Time, writeGrant, queryGrant string) error {
	return s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		j := identityJSON{First: now.UnixNano()}
		if _, err := txGet(ctx, tx, "id."+esc(d), &j); err != nil {
			return err
		}
		j.Write, j.Query = writeGrant, queryGrant
		return txPut(tx, "id."+esc(d), j)
	})
}

func bridgeGrantKey(d string) string { return "bg." + esc(d) }

func (s *natsState) bridgeGrant(ctx context.Context, d string) (bridge.Grants, bool, error) {
	var g bridge.Grants
	ok, err := s.getJSON(ctx, bridgeGrantKey(d), &g)
	return g, ok, err
}

func (s *natsState) bridgeGrants(ctx context.Context) (map[string]bridge.Grants, error) {
	w, err := s.kv.Watch(ctx, "bg.>", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("anya: state bridge grants: %w", err)
	}
	defer w.Stop()
	out := map[string]bridge.Grants{}
	for {
		select {
		case e := <-w.Updates():
			if e == nil { // the current keys are all in
				return out, nil
			}
			d, err := natsx.UnescapeKey(strings.TrimPrefix(e.Key(), "bg."))
			if err != nil {
				return nil, fmt.Errorf("anya: state %s: %w", e.Key(), err)
			}
			var g bridge.Grants
			if err := json.Unmarshal(e.Value(), &g); err != nil {
				return nil, fmt.Errorf("anya: state %s: %w", e.Key(), err)
			}
			out[d] = g
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// putBridgeGrant creates d's entry: of two hosts storing grants for one DID at once, the first
// create wins and the other reads its grants back.
func (s *natsState) putBridgeGrant(ctx context.Context, d string, g bridge.Grants) (bridge.Grants, error) {
	b, err := json.Marshal(g)
	if err != nil {
		return bridge.Grants{}, err
	}
	if _, err := s.kv.Create(ctx, bridgeGrantKey(d), b); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return bridge.Grants{}, fmt.Errorf("anya: state bridge grants of %s: %w", d, err)
	}
	got, ok, err := s.bridgeGrant(ctx, d)
	if err == nil && !ok {
		err = fmt.Errorf("anya: state bridge grants of %s: not stored", d)
	}
	return got, err
}

func bridgeWritesKey(block string) string { return "bw." + esc(block) }

// noteBridgeWrites adds dids to the block's entry (a set, one key per block).
func (s *natsState) noteBridgeWrites(ctx context.Context, block string, dids []string) error {
	return s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		var noted []string
		if _, err := txGet(ctx, tx, bridgeWritesKey(block), &noted); err != nil {
			return err
		}
		for _, d := range dids {
			if !slices.Contains(noted, d) {
				noted = append(noted, d)
			}
		}
		slices.Sort(noted)
		return txPut(tx, bridgeWritesKey(block), noted)
	})
}

func (s *natsState) bridgeWrites(ctx context.Context, block string) ([]string, error) {
	var noted []string
	_, err := s.getJSON(ctx, bridgeWritesKey(block), &noted)
	return noted, err
}

func (s *natsState) dropBridgeWrites(ctx context.Context, block string) error {
	if err := s.kv.Delete(ctx, bridgeWritesKey(block)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("anya: state %s: %w", bridgeWritesKey(block), err)
	}
	return nil
}

func (s *natsState) linkEntry(ctx context.Context, floor int) (int, error) {
	var e int
	err := s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		var next int
		if _, err := txGet(ctx, tx, "linkentry", &next); err != nil {
			return err
		}
		e = max(next, floor)
		return txPut(tx, "linkentry", e+1)
	})
	return e, err
}

func (s *natsState) stats(ctx context.Context, d string) (stats, error) {
	var st stats
	_, err := s.getJSON(ctx, "st."+esc(d), &st)
	return st, err
}

func addTo(st *stats, add stats) {
	st.Payments += add.Payments
	st.VolumeSat += add.VolumeSat
	st.Links += add.Links
	st.Credentials += add.Credentials
	st.KYC = max(st.KYC, add.KYC)
	st.Reports += add.Reports
	st.Disputes += add.Disputes
	st.Records += add.Records
}

func txAddStats(ctx context.Context, tx *natsx.Txn, d string, add stats) error {
	var st stats
	if _, err := txGet(ctx, tx, "st."+esc(d), &st); err != nil {
		return err
	}
	addTo(&st, add)
	return txPut(tx, "st."+esc(d), st)
}

func (s *natsState) addStats(ctx context.Context, d string, st stats) error {
	return s.bucket.Update(ctx, func(tx *natsx.Txn) error { return txAddStats(ctx, tx, d, st) })
}

// payJSON is a sent payment's entry.
type payJSON struct {
	Row    paymentRow `json:"row"`
	Shown  string     `json:"shown"`
	Events int        `json:"events"`
}

type outJSON struct {
	Topic string       `json:"topic"`
	Event PaymentEvent `json:"event"`
}

func outKey(paymentID string, seq int) string {
	return fmt.Sprintf("out.%s.%010d", esc(paymentID), seq)
}

func blockKey(block, paymentID string) string { return "blk." + block + "." + esc(paymentID) }

// txMove applies status at to payment entry p within tx: its row, the events of the state it
// shows, and its index keys. It returns the events queued.
func txMove(ctx context.Context, tx *natsx.Txn, p *payJSON, status string, at bitcoin.BlockStamp) ([]outboxEvent, error) {
	oldBlock := p.Row.Block
	p.Row.Status, p.Row.Height, p.Row.Block = status, at.Height, ""
	if !at.IsZero() {
		p.Row.Block = at.Hash.String()
	}
	evs, to := eventsOf(p.Row, p.Shown, p.Events, status, at)
	if err := txEnqueue(ctx, tx, evs); err != nil {
		return nil, err
	}
	p.Shown, p.Events = to, p.Events+len(evs)
	if status == PaymentConfirmed {
		tx.Delete("open." + esc(p.Row.PaymentID))
	} else {
		tx.Put("open."+esc(p.Row.PaymentID), nil)
	}
	if oldBlock != "" && oldBlock != p.Row.Block {
		tx.Delete(blockKey(oldBlock, p.Row.PaymentID))
	}
	if p.Row.Block != "" {
		tx.Put(blockKey(p.Row.Block, p.Row.PaymentID), nil)
	}
	return evs, txPut(tx, "pay."+esc(p.Row.PaymentID), p)
}

// txEnqueue queues evs (of one payment) in the outbox and adds them to its history, within tx.
func txEnqueue(ctx context.Context, tx *natsx.Txn, evs []outboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	id := evs[0].Event.PaymentID
	var hist []PaymentEvent
	if _, err := txGet(ctx, tx, "hist."+esc(id), &hist); err != nil {
		return err
	}
	for _, e := range evs {
		if err := txPutCreate(ctx, tx, outKey(id, e.Event.Seq), outJSON{Topic: e.Topic, Event: e.Event}); err != nil {
			return err
		}
		if !slices.ContainsFunc(hist, func(h PaymentEvent) bool { return h.Seq == e.Event.Seq }) {
			hist = append(hist, e.Event)
		}
	}
	return txPut(tx, "hist."+esc(id), hist)
}

// txPutCreate stages v under key, which must not hold a value at the commit.
func txPutCreate(ctx context.Context, tx *natsx.Txn, key string, v any) error {
	if _, _, err := tx.Get(ctx, key); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx.Create(key, b)
	return nil
}

// remember notes events this handle queued, for its next outbox.
func (s *natsState) remember(evs []outboxEvent) {
	if len(evs) == 0 {
		return
	}
	s.mu.Lock()
	s.queued = append(s.queued, evs...)
	s.mu.Unlock()
}

func (s *natsState) insertPayment(ctx context.Context, p paymentRow) (bool, error) {
	var (
		added bool
		evs   []outboxEvent
	)
	err := s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		added, evs = false, nil
		var old payJSON
		ok, err := txGet(ctx, tx, "pay."+esc(p.PaymentID), &old)
		if err != nil || ok {
			return err
		}
		added = true
		if err := txAddStats(ctx, tx, p.DID, stats{Payments: 1, VolumeSat: p.AmountSat, Records: 1}); err != nil {
			return err
		}
		if _, err := txSettle(ctx, tx, p.PaymentID, OutcomeSent, nil, false); err != nil {
			return err
		}
		entry := payJSON{Row: p}
		evs, err = txMove(ctx, tx, &entry, p.Status, blockStamp(p))
		return err
	})
	if err != nil {
		return false, err
	}
	s.remember(evs)
	return added, nil
}

// moveWrites is the most writes txMove stages for one move: two outbox entries, the history,
// the open marker, the old and the new block's index keys, the entry.
const moveWrites = 7

// movesPerBatch is how many moves movePayments commits in one atomic batch.
const movesPerBatch = natsx.MaxBatch / moveWrites

// movePayments commits moves in order, movesPerBatch at a time, each batch one transaction. A
// batch that fails leaves its moves unmade and the next ones are tried.
func (s *natsState) movePayments(ctx context.Context, moves []paymentMove) error {
	var errs []error
	for chunk := range slices.Chunk(moves, movesPerBatch) {
		var (
			evs     []outboxEvent
			missing []error
		)
		err := s.bucket.Update(ctx, func(tx *natsx.Txn) error {
			evs, missing = evs[:0], missing[:0]
			for _, mv := range chunk {
				var entry payJSON
				ok, err := txGet(ctx, tx, "pay."+esc(mv.Row.PaymentID), &entry)
				if err != nil {
					return err
				}
				if !ok {
					missing = append(missing, fmt.Errorf("anya: state payment %s: %w", mv.Row.PaymentID, errPaymentNotStored))
					continue
				}
				moved, err := txMove(ctx, tx, &entry, mv.Status, mv.At)
				if err != nil {
					return err
				}
				evs = append(evs, moved...)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
			continue
		}
		s.remember(evs)
		errs = append(errs, missing...)
	}
	return errors.Join(errs...)
}

// keys lists the keys matching filter (a KV filter such as "open.>").
func (s *natsState) keys(ctx context.Context, filter string) ([]string, error) {
	w, err := s.kv.Watch(ctx, filter, jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return nil, fmt.Errorf("anya: state %s: %w", filter, err)
	}
	defer w.Stop()
	var out []string
	for {
		select {
		case e := <-w.Updates():
			if e == nil { // the current keys are all in
				return out, nil
			}
			out = append(out, e.Key())
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// payments returns the payments whose IDs are the last token of keys, as stored.
func (s *natsState) payments(ctx context.Context, keys []string) ([]paymentRow, error) {
	var out []paymentRow
	for _, k := range keys {
		var p payJSON
		ok, err := s.getJSON(ctx, "pay."+k[strings.LastIndexByte(k, '.')+1:], &p)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, p.Row)
		}
	}
	return out, nil
}

// open returns the payments not yet confirmed.
func (s *natsState) open(ctx context.Context) ([]paymentRow, error) {
	keys, err := s.keys(ctx, "open.>")
	if err != nil {
		return nil, err
	}
	return s.payments(ctx, keys)
}

func (s *natsState) pendingIn(ctx context.Context, txids []chainhash.Hash) ([]paymentRow, error) {
	open, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	in := make(map[string]bool, len(txids))
	for _, t := range txids {
		in[t.String()] = true
	}
	return slices.DeleteFunc(open, func(p paymentRow) bool { return p.Status != PaymentBroadcast || !in[p.Txid] }), nil
}

func (s *natsState) inBlock(ctx context.Context, block chainhash.Hash) ([]paymentRow, error) {
	keys, err := s.keys(ctx, "blk."+block.String()+".>")
	if err != nil {
		return nil, err
	}
	ps, err := s.payments(ctx, keys)
	return slices.DeleteFunc(ps, func(p paymentRow) bool { return p.Status == PaymentBroadcast || p.Block != block.String() }), err
}

func (s *natsState) unconfirmed(ctx context.Context) ([]paymentRow, error) {
	open, err := s.open(ctx)
	return slices.DeleteFunc(open, func(p paymentRow) bool { return p.Status == PaymentConfirmed }), err
}

func (s *natsState) includedBelow(ctx context.Context, height int32) ([]paymentRow, error) {
	open, err := s.open(ctx)
	return slices.DeleteFunc(open, func(p paymentRow) bool { return p.Status != PaymentIncluded || p.Height > height }), err
}

// outbox returns the events this handle queued and, every stateSweepEvery, those queued by any
// host (a host that died leaves its unpublished ones to the others).
func (s *natsState) outbox(ctx context.Context) ([]outboxEvent, error) {
	s.mu.Lock()
	if len(s.queued) > 0 {
		out := slices.Clone(s.queued[:min(len(s.queued), 256)])
		s.mu.Unlock()
		return out, nil
	}
	due := s.now().Sub(s.lastSweep) >= stateSweepEvery
	if due {
		s.lastSweep = s.now()
	}
	s.mu.Unlock()
	if !due {
		return nil, nil
	}
	keys, err := s.keys(ctx, "out.>")
	if err != nil {
		return nil, err
	}
	slices.Sort(keys) // "out.<id>.<zero-padded seq>": each payment's in order
	var out []outboxEvent
	for _, k := range keys {
		var j outJSON
		ok, err := s.getJSON(ctx, k, &j)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, outboxEvent{Topic: j.Topic, Event: j.Event})
		}
		if len(out) == 256 {
			break
		}
	}
	if len(out) > 0 {
		s.mu.Lock()
		s.lastSweep = time.Time{} // more may wait: read again at once
		s.mu.Unlock()
	}
	return out, nil
}

func (s *natsState) dequeue(ctx context.Context, evs ...outboxEvent) error {
	for _, e := range evs {
		if err := s.kv.Purge(ctx, outKey(e.Event.PaymentID, e.Event.Seq), jetstream.PurgeTTL(stateMarkerTTL)); err != nil {
			return fmt.Errorf("anya: state outbox: %w", err)
		}
		s.mu.Lock()
		s.queued = slices.DeleteFunc(s.queued, func(q outboxEvent) bool {
			return q.Event.PaymentID == e.Event.PaymentID && q.Event.Seq == e.Event.Seq
		})
		s.mu.Unlock()
	}
	return nil
}

// ocJSON is the outcome entry of a payment the Manager started.
type ocJSON struct {
	Outcome Outcome  `json:"outcome,omitempty"` // "" while open
	Refusal *Refusal `json:"refusal,omitempty"`
}

func ocKey(id string) string      { return "oc." + esc(id) }
func startedKey(id string) string { return "started." + esc(id) }

// txOpenOutcome notes payment id's outcome open, unless an outcome is noted, within tx; it
// returns the entry as it stands.
func txOpenOutcome(ctx context.Context, tx *natsx.Txn, id string) (ocJSON, error) {
	var oc ocJSON
	ok, err := txGet(ctx, tx, ocKey(id), &oc)
	if err != nil || ok {
		return oc, err
	}
	tx.Put(startedKey(id), nil)
	return oc, txPut(tx, ocKey(id), oc)
}

// txSettle ends payment id's open outcome with out and r, within tx (create: also when it was
// never noted), and reports whether it did: an ended outcome stands. Ended sent, it keeps the
// refusal noted, as the SQLite store does.
func txSettle(ctx context.Context, tx *natsx.Txn, id string, out Outcome, r *Refusal, create bool) (bool, error) {
	var oc ocJSON
	ok, err := txGet(ctx, tx, ocKey(id), &oc)
	if err != nil || oc.Outcome != "" || (!ok && !create) {
		return false, err
	}
	if ok {
		tx.Delete(startedKey(id))
	}
	if out == OutcomeSent {
		r = oc.Refusal
	}
	return true, txPut(tx, ocKey(id), ocJSON{Outcome: out, Refusal: r})
}

func (s *natsState) start(ctx context.Context, id string, features []float32) error {
	return s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		if _, err := txOpenOutcome(ctx, tx, id); err != nil {
			return err
		}
		if features == nil {
			return nil
		}
		var old []float32
		ok, err := txGet(ctx, tx, "feat."+esc(id), &old)
		if err != nil || ok {
			return err
		}
		return txPut(tx, "feat."+esc(id), features)
	})
}

func (s *natsState) putRefusal(ctx context.Context, id string, r *Refusal) error {
	return s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		oc, err := txOpenOutcome(ctx, tx, id)
		if err != nil || oc.Outcome != "" {
			return err
		}
		oc.Refusal = r
		return txPut(tx, ocKey(id), oc)
	})
}

func (s *natsState) outcome(ctx context.Context, id string) (Outcome, *Refusal, error) {
	var oc ocJSON
	_, err := s.getJSON(ctx, ocKey(id), &oc)
	return oc.Outcome, oc.Refusal, err
}

func (s *natsState) settle(ctx context.Context, topic string, ev PaymentEvent) (bool, error) {
	var evs []outboxEvent
	err := s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		evs = nil
		ended, err := txSettle(ctx, tx, ev.PaymentID, ev.Outcome, ev.Refusal, true)
		if err != nil || !ended {
			return err
		}
		var hist []PaymentEvent
		if _, err := txGet(ctx, tx, "hist."+esc(ev.PaymentID), &hist); err != nil {
			return err
		}
		e := ev
		e.Seq = 1
		for _, h := range hist {
			e.Seq = max(e.Seq, h.Seq+1)
		}
		evs = []outboxEvent{{Topic: topic, Event: e}}
		return txEnqueue(ctx, tx, evs)
	})
	if err != nil {
		return false, err
	}
	s.remember(evs)
	return len(evs) > 0, nil
}

func (s *natsState) markSent(ctx context.Context, id string) error {
	return s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		_, err := txSettle(ctx, tx, id, OutcomeSent, nil, false)
		return err
	})
}

func (s *natsState) openOutcomes(ctx context.Context) ([]string, error) {
	keys, err := s.keys(ctx, "started.>")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		id, err := natsx.UnescapeKey(strings.TrimPrefix(k, "started."))
		if err != nil {
			return nil, fmt.Errorf("anya: state %s: %w", k, err)
		}
		out = append(out, id)
	}
	return out, nil
}

func (s *natsState) dropOutcome(ctx context.Context, id string) error {
	return s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		var oc ocJSON
		ok, err := txGet(ctx, tx, ocKey(id), &oc)
		if err != nil || !ok || oc.Outcome != "" {
			return err
		}
		tx.Delete(startedKey(id))
		tx.Delete(ocKey(id))
		return nil
	})
}

func (s *natsState) payment(ctx context.Context, paymentID string) (paymentRow, bool, error) {
	var p payJSON
	ok, err := s.getJSON(ctx, "pay."+esc(paymentID), &p)
	return p.Row, ok, err
}

func (s *natsState) history(ctx context.Context, paymentID string) ([]PaymentEvent, error) {
	var hist []PaymentEvent
	_, err := s.getJSON(ctx, "hist."+esc(paymentID), &hist)
	return hist, err
}

func (s *natsState) features(ctx context.Context, paymentID string) ([]float32, bool, error) {
	var v []float32
	ok, err := s.getJSON(ctx, "feat."+esc(paymentID), &v)
	return v, ok, err
}

// cpJSON is the checkpoint entry.
type cpJSON struct {
	Height int32  `json:"h"`
	Hash   string `json:"hash,omitempty"`
	Gen    uint64 `json:"gen"`
	Active int    `json:"active"`
	Since  int64  `json:"since,omitempty"` // when the running triggers last began
}

func (s *natsState) checkpoint(ctx context.Context) (bitcoin.BlockStamp, error) {
	var j cpJSON
	ok, err := s.getJSON(ctx, "cp", &j)
	if err != nil || !ok || j.Hash == "" {
		return bitcoin.BlockStamp{}, err
	}
	h, err := chainhash.NewHashFromStr(j.Hash)
	if err != nil {
		return bitcoin.BlockStamp{}, fmt.Errorf("anya: state checkpoint: %w", err)
	}
	return bitcoin.BlockStamp{Height: j.Height, Hash: *h}, nil
}

func (s *natsState) updateCP(ctx context.Context, fn func(j *cpJSON)) error {
	return s.bucket.Update(ctx, func(tx *natsx.Txn) error {
		var j cpJSON
		if _, err := txGet(ctx, tx, "cp", &j); err != nil {
			return err
		}
		fn(&j)
		return txPut(tx, "cp", j)
	})
}

func (s *natsState) setCheckpoint(ctx context.Context, cp bitcoin.BlockStamp) error {
	return s.updateCP(ctx, func(j *cpJSON) { j.Height, j.Hash = cp.Height, cp.Hash.String() })
}

func (s *natsState) blocksBegin(ctx context.Context) error {
	return s.updateCP(ctx, func(j *cpJSON) { j.Gen++; j.Active++; j.Since = s.now().UnixNano() })
}

func (s *natsState) blocksEnd(ctx context.Context) error {
	return s.updateCP(ctx, func(j *cpJSON) { j.Gen++; j.Active = max(j.Active-1, 0) })
}

func (s *natsState) blocksFence(ctx context.Context) (blockFence, error) {
	var j cpJSON
	if _, err := s.getJSON(ctx, "cp", &j); err != nil {
		return blockFence{}, err
	}
	active := j.Active > 0 && s.now().Sub(time.Unix(0, j.Since)) < staleTrigger
	return blockFence{Gen: j.Gen, Active: active}, nil
}

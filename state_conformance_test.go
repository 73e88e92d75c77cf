package anya

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/internal/sqlitex"
)

// stateOpener returns a new handle on one backend's data; shared reports whether handles open
// at once are hosts sharing it.
type stateOpener struct {
	open   func(t *testing.T) stateBackend
	shared bool
	clock  *fakeClock
}

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

var stateBuckets atomic.Int64

func TestStateBackendSQLite(t *testing.T) {
	runStateSuite(t, func(t *testing.T) stateOpener {
		db, err := sqlitex.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return stateOpener{open: func(t *testing.T) stateBackend {
			st, err := openState(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.close() })
			return sqliteState{st}
		}}
	})
}

func TestStateBackendJetStream(t *testing.T) {
	srv := natstest.Start(t)
	runStateSuite(t, func(t *testing.T) stateOpener {
		bucket := fmt.Sprint("state", stateBuckets.Add(1))
		clock := &fakeClock{}
		clock.ns.Store(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC).UnixNano())
		return stateOpener{shared: true, clock: clock, open: func(t *testing.T) stateBackend {
			st, err := openNATSState(t.Context(), srv.JetStream(t), bucket, 1, clock.now)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}}
	})
}

func row(id string, status string) paymentRow {
	return paymentRow{PaymentID: id, DID: "did:example:alice", Txid: chainhash.HashH([]byte(id)).String(), RecordID: "rec-" + id,
		ToAddress: "bcrt1qexample", AmountSat: 1000, Risk: 0.1, Status: status}
}

func stamp(height int32, name string) bitcoin.BlockStamp {
	return bitcoin.BlockStamp{Height: height, Hash: chainhash.HashH([]byte(name))}
}

// drain publishes nothing: it takes the outbox's events in order, dequeuing each, until empty.
func drain(t *testing.T, s stateBackend) []outboxEvent {
	t.Helper()
	var all []outboxEvent
	for {
		evs, err := s.outbox(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return all
		}
		for _, e := range evs {
			if err := s.dequeue(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, evs...)
	}
}

func topics(evs []outboxEvent, id string) []string {
	var out []string
	for _, e := range evs {
		if e.Event.PaymentID == id {
			out = append(out, fmt.Sprintf("%s#%d", e.Topic, e.Event.Seq))
		}
	}
	return out
}

func ids(ps []paymentRow) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.PaymentID
	}
	slices.Sort(out)
	return out
}

// runStateSuite checks the stateBackend contract.
func runStateSuite(t *testing.T, newBackend func(t *testing.T) stateOpener) {
	t.Run("Identities", func(t *testing.T) {
		ctx := t.Context()
		s := newBackend(t).open(t)
		first := time.Unix(1_800_000_000, 0)
		r, err := s.seen(ctx, "did:example:a", first)
		if err != nil || !r.FirstSeen.Equal(first) || r.WriteGrant != "" {
			t.Fatalf("seen: %+v %v", r, err)
		}
		if r, err := s.seen(ctx, "did:example:a", first.Add(time.Hour)); err != nil || !r.FirstSeen.Equal(first) {
			t.Fatalf("seen again: %+v %v", r, err)
		}
		if err := s.register(ctx, "did:example:a", first.Add(time.Hour), "w1", "q1"); err != nil {
			t.Fatal(err)
		}
		if r, ok, err := s.identity(ctx, "did:example:a"); err != nil || !ok || r.WriteGrant != "w1" || r.QueryGrant != "q1" || !r.FirstSeen.Equal(first) {
			t.Fatalf("identity after register: %+v %v %v", r, ok, err)
		}
		if _, ok, err := s.identity(ctx, "did:example:nobody"); err != nil || ok {
			t.Fatalf("unknown identity: %v %v", ok, err)
		}
		if err := s.register(ctx, "did:example:b", first, "w2", "q2"); err != nil {
			t.Fatal(err)
		}
		if r, ok, _ := s.identity(ctx, "did:example:b"); !ok || r.WriteGrant != "w2" {
			t.Fatalf("registered without seen: %+v", r)
		}
	})
	t.Run("BridgeGrants", func(t *testing.T) {
		ctx := t.Context()
		o := newBackend(t)
		a := o.open(t)
		b := a
		if o.shared {
			b = o.open(t) // another host on the same data
		}
		odd := "did:example:odd.did/with space" // no KV key as it is
		if _, ok, err := b.bridgeGrant(ctx, odd); err != nil || ok {
			t.Fatalf("grants of nobody: %v %v", ok, err)
		}
		if all, err := b.bridgeGrants(ctx); err != nil || len(all) != 0 {
			t.Fatalf("grants at first: %v %v", all, err)
		}
		first := bridge.Grants{Write: "w1", Read: "r1", Query: "q1", Delete: "d1"}
		if got, err := a.putBridgeGrant(ctx, odd, first); err != nil || got != first {
			t.Fatalf("put: %+v %v", got, err)
		}
		if got, ok, err := b.bridgeGrant(ctx, odd); err != nil || !ok || got != first {
			t.Fatalf("the other handle's grants: %+v %v %v, want %+v", got, ok, err, first)
		}
		// A second set for the same DID does not replace the first: the first stands, for both.
		second := bridge.Grants{Write: "w2", Read: "r2", Query: "q2", Delete: "d2"}
		if got, err := b.putBridgeGrant(ctx, odd, second); err != nil || got != first {
			t.Fatalf("second put: %+v %v, want the first %+v", got, err, first)
		}
		if got, _, _ := a.bridgeGrant(ctx, odd); got != first {
			t.Fatalf("after a second put: %+v, want the first %+v", got, first)
		}
		other := bridge.Grants{Write: "w3", Read: "r3", Query: "q3", Delete: "d3"}
		if _, err := a.putBridgeGrant(ctx, "did:example:other", other); err != nil {
			t.Fatal(err)
		}
		all, err := b.bridgeGrants(ctx)
		if err != nil || len(all) != 2 || all[odd] != first || all["did:example:other"] != other {
			t.Fatalf("every DID's grants: %+v %v", all, err)
		}
		// Hosts setting up one identity at once end with one set, which each is told.
		const racers = 8
		hosts := []stateBackend{a, b}
		got := make([]bridge.Grants, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				g := bridge.Grants{Write: fmt.Sprint("w-", i), Read: fmt.Sprint("r-", i), Query: fmt.Sprint("q-", i), Delete: fmt.Sprint("d-", i)}
				var err error
				if got[i], err = hosts[i%2].putBridgeGrant(ctx, "did:example:raced", g); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		stored, ok, err := a.bridgeGrant(ctx, "did:example:raced")
		if err != nil || !ok || stored.Write == "" {
			t.Fatalf("raced grants: %+v %v %v", stored, ok, err)
		}
		for i, g := range got {
			if g != stored {
				t.Fatalf("racer %d was told %+v, the store holds %+v", i, g, stored)
			}
		}
		// A cancelled put stores nothing.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := a.putBridgeGrant(cctx, "did:example:cancelled", first); err == nil {
			t.Fatal("put with a cancelled context")
		}
		if _, ok, err := b.bridgeGrant(ctx, "did:example:cancelled"); err != nil || ok {
			t.Fatalf("a cancelled put stored grants: %v %v", ok, err)
		}
	})
	t.Run("LinkEntries", func(t *testing.T) {
		ctx := t.Context()
		o := newBackend(t)
		hosts := []stateBackend{o.open(t)}
		if o.shared {
			hosts = append(hosts, o.open(t))
		}
		if e, err := hosts[0].linkEntry(ctx, 0); err != nil || e != 0 {
			t.Fatalf("first entry: %d %v", e, err)
		}
		// The floor (the list's own counter) lifts the next entry; a lower one does not lower it.
		if e, err := hosts[len(hosts)-1].linkEntry(ctx, 5); err != nil || e != 5 {
			t.Fatalf("entry at floor 5: %d %v", e, err)
		}
		if e, err := hosts[0].linkEntry(ctx, 2); err != nil || e != 6 {
			t.Fatalf("entry at floor 2 after 5: %d %v", e, err)
		}
		// Entries taken at once by every handle are each given once.
		const n = 20
		got := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var err error
				if got[i], err = hosts[i%len(hosts)].linkEntry(ctx, 0); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		slices.Sort(got)
		for i, e := range got {
			if e != 7+i {
				t.Fatalf("entries taken at once: %v, want 7 to %d each once", got, 7+n-1)
			}
		}
	})
	t.Run("BridgeWrites", func(t *testing.T) {
		ctx := t.Context()
		o := newBackend(t)
		hosts := []stateBackend{o.open(t)}
		if o.shared {
			hosts = append(hosts, o.open(t)) // the host that handles the reorg may not be the one that wrote
		}
		last := hosts[len(hosts)-1]
		const block, other = "00000000000000000000000000000000000000000000000000000000000000b1", "b2"
		if got, err := last.bridgeWrites(ctx, block); err != nil || len(got) != 0 {
			t.Fatalf("writes of a block nothing noted: %v %v", got, err)
		}
		odd := "did:example:odd.did/with space"
		if err := hosts[0].noteBridgeWrites(ctx, block, []string{"did:example:b", odd}); err != nil {
			t.Fatal(err)
		}
		if err := hosts[0].noteBridgeWrites(ctx, other, []string{"did:example:c"}); err != nil {
			t.Fatal(err)
		}
		// Noted at once by every handle, some twice: each DID once.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if err := hosts[i%len(hosts)].noteBridgeWrites(ctx, block, []string{fmt.Sprintf("did:example:n%d", i%4), "did:example:b"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := last.bridgeWrites(ctx, block)
		slices.Sort(got)
		want := []string{"did:example:b", "did:example:n0", "did:example:n1", "did:example:n2", "did:example:n3", odd}
		slices.Sort(want)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("writes noted for the block: %v %v, want %v", got, err, want)
		}
		if err := last.dropBridgeWrites(ctx, block); err != nil {
			t.Fatal(err)
		}
		if got, err := hosts[0].bridgeWrites(ctx, block); err != nil || len(got) != 0 {
			t.Fatalf("writes of a dropped block: %v %v", got, err)
		}
		if got, err := hosts[0].bridgeWrites(ctx, other); err != nil || !slices.Equal(got, []string{"did:example:c"}) {
			t.Fatalf("another block's writes after the drop: %v %v", got, err)
		}
		if err := last.dropBridgeWrites(ctx, block); err != nil {
			t.Fatalf("dropping a block again: %v", err)
		}
	})
	t.Run("Stats", func(t *testing.T) {
		ctx := t.Context()
		o := newBackend(t)
		hosts := []stateBackend{o.open(t)}
		if o.shared {
			hosts = append(hosts, o.open(t))
		}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				if err := hosts[i%len(hosts)].addStats(ctx, "did:example:a", stats{Payments: 1, VolumeSat: 5, KYC: int64(i % 3)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		st, err := hosts[0].stats(ctx, "did:example:a")
		if err != nil || st.Payments != 10 || st.VolumeSat != 50 || st.KYC != 2 {
			t.Fatalf("stats: %+v %v", st, err)
		}
		if st, err := hosts[0].stats(ctx, "did:example:none"); err != nil || st != (stats{}) {
			t.Fatalf("stats of nobody: %+v %v", st, err)
		}
	})
	t.Run("PaymentLifecycle", func(t *testing.T) {
		ctx := t.Context()
		s := newBackend(t).open(t)
		p := row("p1", PaymentBroadcast)
		if added, err := s.insertPayment(ctx, p); err != nil || !added {
			t.Fatalf("insert: %v %v", added, err)
		}
		if added, err := s.insertPayment(ctx, p); err != nil || added {
			t.Fatalf("insert again: %v %v", added, err)
		}
		if st, _ := s.stats(ctx, p.DID); st.Payments != 1 || st.VolumeSat != 1000 || st.Records != 1 {
			t.Fatalf("stats counted %+v, want the payment once", st)
		}
		b1 := stamp(101, "b1")
		if err := moveOne(ctx, s, p, PaymentIncluded, b1); err != nil {
			t.Fatal(err)
		}
		if err := moveOne(ctx, s, p, PaymentConfirmed, b1); err != nil {
			t.Fatal(err)
		}
		if err := moveOne(ctx, s, p, PaymentConfirmed, b1); err != nil {
			t.Fatal(err)
		}
		if err := moveOne(ctx, s, p, PaymentBroadcast, bitcoin.BlockStamp{}); err != nil {
			t.Fatal(err)
		}
		b2 := stamp(102, "b2")
		if err := moveOne(ctx, s, p, PaymentConfirmed, b2); err != nil {
			t.Fatal(err)
		}
		evs := drain(t, s)
		want := []string{TopicPaymentSent + "#1", TopicPaymentConfirmed + "#2", TopicPaymentReorged + "#3", TopicPaymentConfirmed + "#4"}
		if got := topics(evs, "p1"); !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
		if last := evs[len(evs)-1].Event; last.Block != b2 || last.Status != PaymentConfirmed || last.Txid != p.Txid || last.RecordID != p.RecordID {
			t.Fatalf("confirmed event %+v", last)
		}
		if again := drain(t, s); len(again) != 0 {
			t.Fatalf("dequeued events came back: %v", again)
		}
		hist, err := s.history(ctx, "p1")
		if err != nil || len(hist) != len(want) {
			t.Fatalf("history: %+v %v, want the %d events", hist, err, len(want))
		}
		for i, h := range hist {
			if h != evs[i].Event || h.Outcome != OutcomeSent {
				t.Fatalf("history[%d] = %+v, want the event published %+v", i, h, evs[i].Event)
			}
		}
		// A payment recorded confirmed already has both events at once.
		q := row("p2", PaymentConfirmed)
		q.Height, q.Block = b2.Height, b2.Hash.String()
		if _, err := s.insertPayment(ctx, q); err != nil {
			t.Fatal(err)
		}
		if got := topics(drain(t, s), "p2"); !slices.Equal(got, []string{TopicPaymentSent + "#1", TopicPaymentConfirmed + "#2"}) {
			t.Fatalf("events of a payment recorded confirmed: %v", got)
		}
	})
	t.Run("PaymentBatch", func(t *testing.T) {
		ctx := t.Context()
		o := newBackend(t)
		s := o.open(t)
		// More moves than one atomic write of a store that splits a batch (JetStream's
		// movesPerBatch), a payment that is not stored among them, and one payment moved twice.
		const n = movesPerBatch + 8
		b1, b2 := stamp(201, "b1"), stamp(202, "b2")
		var moves []paymentMove
		for i := range n {
			p := row(fmt.Sprintf("m%03d", i), PaymentBroadcast)
			if _, err := s.insertPayment(ctx, p); err != nil {
				t.Fatal(err)
			}
			moves = append(moves, paymentMove{Row: p, Status: PaymentConfirmed, At: b1})
			if i == n/2 {
				moves = append(moves, paymentMove{Row: row("ghost", PaymentBroadcast), Status: PaymentConfirmed, At: b1})
			}
		}
		twice := moves[3].Row
		moves = append(moves, paymentMove{Row: twice, Status: PaymentIncluded, At: b2})
		drain(t, s) // the sent events
		if err := s.movePayments(ctx, nil); err != nil {
			t.Fatalf("an empty batch: %v", err)
		}
		err := s.movePayments(ctx, moves)
		if !errors.Is(err, errPaymentNotStored) || !strings.Contains(err.Error(), "ghost") {
			t.Fatalf("a batch with a payment not stored: %v, want an error naming it", err)
		}
		if _, ok, _ := s.payment(ctx, "ghost"); ok {
			t.Fatal("the batch stored a payment that was not stored")
		}
		evs := drain(t, s)
		for i := range n {
			id := fmt.Sprintf("m%03d", i)
			want := []string{TopicPaymentConfirmed + "#2"}
			if id == twice.PaymentID {
				want = append(want, TopicPaymentReorged+"#3")
			}
			if got := topics(evs, id); !slices.Equal(got, want) {
				t.Fatalf("events of %s: %v, want %v", id, got, want)
			}
			hist, err := s.history(ctx, id)
			if err != nil || len(hist) != len(want)+1 {
				t.Fatalf("history of %s: %+v %v", id, hist, err)
			}
		}
		if len(evs) != n+1 {
			t.Fatalf("%d events queued, want %d", len(evs), n+1)
		}
		for _, e := range evs {
			if e.Topic == TopicPaymentConfirmed && (e.Event.Block != b1 || e.Event.Status != PaymentConfirmed) {
				t.Fatalf("confirmed event %+v", e.Event)
			}
		}
		// What the batch stored is what every handle reads.
		r := o.open(t)
		in1, err := r.inBlock(ctx, b1.Hash)
		if err != nil || len(in1) != n-1 {
			t.Fatalf("inBlock b1: %d payments %v, want %d", len(in1), err, n-1)
		}
		in2, err := r.inBlock(ctx, b2.Hash)
		if err != nil || !slices.Equal(ids(in2), []string{twice.PaymentID}) || in2[0].Status != PaymentIncluded {
			t.Fatalf("inBlock b2: %+v %v, want %s included", in2, err, twice.PaymentID)
		}
		if un, err := r.unconfirmed(ctx); err != nil || !slices.Equal(ids(un), []string{twice.PaymentID}) {
			t.Fatalf("unconfirmed: %v %v", ids(un), err)
		}
		// A batch moving them back queues one reorged event each, numbered after the others.
		back := make([]paymentMove, 0, n)
		for _, p := range in1 {
			back = append(back, paymentMove{Row: p, Status: PaymentBroadcast})
		}
		if err := r.movePayments(ctx, back); err != nil {
			t.Fatal(err)
		}
		// Dequeued together, the events leave the outbox together.
		evs = nil
		for {
			batch, err := r.outbox(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(batch) == 0 {
				break
			}
			if err := r.dequeue(ctx, batch...); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, batch...)
		}
		if len(evs) != len(back) {
			t.Fatalf("%d events for %d payments moved back", len(evs), len(back))
		}
		if got := topics(evs, in1[0].PaymentID); !slices.Equal(got, []string{TopicPaymentReorged + "#3"}) {
			t.Fatalf("events of a payment moved back: %v", got)
		}
		if pend, err := s.pendingIn(ctx, []chainhash.Hash{chainhash.HashH([]byte(in1[0].PaymentID))}); err != nil || len(pend) != 1 {
			t.Fatalf("a payment moved back is not pending: %v %v", ids(pend), err)
		}
	})
	t.Run("Queries", func(t *testing.T) {
		ctx := t.Context()
		s := newBackend(t).open(t)
		b1, b2 := stamp(10, "b1"), stamp(11, "b2")
		for _, id := range []string{"a", "b", "c", "d"} {
			if _, err := s.insertPayment(ctx, row(id, PaymentBroadcast)); err != nil {
				t.Fatal(err)
			}
		}
		in, err := s.pendingIn(ctx, []chainhash.Hash{chainhash.HashH([]byte("a")), chainhash.HashH([]byte("b")), chainhash.HashH([]byte("x"))})
		if err != nil || !slices.Equal(ids(in), []string{"a", "b"}) {
			t.Fatalf("pendingIn: %v %v", ids(in), err)
		}
		_ = moveOne(ctx, s, row("a", PaymentBroadcast), PaymentIncluded, b1)
		_ = moveOne(ctx, s, row("b", PaymentBroadcast), PaymentIncluded, b2)
		_ = moveOne(ctx, s, row("c", PaymentBroadcast), PaymentConfirmed, b1)
		for name, c := range map[string]struct {
			got  func() ([]paymentRow, error)
			want []string
		}{
			"inBlock b1":      {func() ([]paymentRow, error) { return s.inBlock(ctx, b1.Hash) }, []string{"a", "c"}},
			"inBlock b2":      {func() ([]paymentRow, error) { return s.inBlock(ctx, b2.Hash) }, []string{"b"}},
			"unconfirmed":     {func() ([]paymentRow, error) { return s.unconfirmed(ctx) }, []string{"a", "b", "d"}},
			"includedBelow10": {func() ([]paymentRow, error) { return s.includedBelow(ctx, 10) }, []string{"a"}},
			"includedBelow11": {func() ([]paymentRow, error) { return s.includedBelow(ctx, 11) }, []string{"a", "b"}},
			"pendingIn a, d": {func() ([]paymentRow, error) {
				return s.pendingIn(ctx, []chainhash.Hash{chainhash.HashH([]byte("a")), chainhash.HashH([]byte("d"))})
			}, []string{"d"}},
		} {
			got, err := c.got()
			if err != nil || !slices.Equal(ids(got), c.want) {
				t.Errorf("%s: %v %v, want %v", name, ids(got), err, c.want)
			}
		}
		// Moved to another block, a payment leaves the first block's list.
		_ = moveOne(ctx, s, row("a", PaymentBroadcast), PaymentConfirmed, b2)
		if got, _ := s.inBlock(ctx, b1.Hash); !slices.Equal(ids(got), []string{"c"}) {
			t.Fatalf("inBlock b1 after a moved: %v", ids(got))
		}
		if got, _ := s.inBlock(ctx, b2.Hash); !slices.Equal(ids(got), []string{"a", "b"}) {
			t.Fatalf("inBlock b2 after a moved: %v", ids(got))
		}
	})
	t.Run("FeaturesAndCheckpoint", func(t *testing.T) {
		ctx := t.Context()
		s := newBackend(t).open(t)
		if _, ok, err := s.features(ctx, "p"); err != nil || ok {
			t.Fatalf("features of nothing: %v %v", ok, err)
		}
		if err := s.start(ctx, "p", []float32{1, 2.5}); err != nil {
			t.Fatal(err)
		}
		if err := s.start(ctx, "p", []float32{9}); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := s.features(ctx, "p"); err != nil || !ok || !slices.Equal(v, []float32{1, 2.5}) {
			t.Fatalf("features: %v %v %v (the first start's stand)", v, ok, err)
		}
		if err := s.start(ctx, "q", nil); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.features(ctx, "q"); err != nil || ok {
			t.Fatalf("features of a payment started without: %v %v", ok, err)
		}
		if cp, err := s.checkpoint(ctx); err != nil || !cp.IsZero() {
			t.Fatalf("checkpoint of nothing: %v %v", cp, err)
		}
		want := stamp(500, "tip")
		if err := s.setCheckpoint(ctx, want); err != nil {
			t.Fatal(err)
		}
		if cp, err := s.checkpoint(ctx); err != nil || cp != want {
			t.Fatalf("checkpoint: %v %v", cp, err)
		}
	})
	t.Run("Outcomes", func(t *testing.T) {
		ctx := t.Context()
		s := newBackend(t).open(t)
		open := func() []string {
			t.Helper()
			ids, err := s.openOutcomes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(ids)
			return ids
		}
		check := func(id string, want Outcome, wantRefusal *Refusal) {
			t.Helper()
			out, r, err := s.outcome(ctx, id)
			if err != nil || out != want || (r == nil) != (wantRefusal == nil) || (r != nil && *r != *wantRefusal) {
				t.Fatalf("outcome of %s: %q %+v %v, want %q %+v", id, out, r, err, want, wantRefusal)
			}
		}
		// An ID that is no KV key as it is (a slash, a space, a dot).
		odd := "pay/ment 1.x"
		for _, id := range []string{"failed", "sent", odd, "dropped"} {
			if err := s.start(ctx, id, nil); err != nil {
				t.Fatal(err)
			}
			check(id, "", nil)
		}
		if got := open(); !slices.Equal(got, []string{"dropped", "failed", odd, "sent"}) {
			t.Fatalf("open outcomes: %q", got)
		}
		check("never", "", nil)

		// A failed step's refusal, then the run's end unsent: its event once, numbered 1.
		stepRefusal := &Refusal{Reason: ReasonStepFailed, Message: "node down", Step: StepSendPayment}
		if err := s.putRefusal(ctx, "failed", stepRefusal); err != nil {
			t.Fatal(err)
		}
		check("failed", "", stepRefusal)
		ended := &Refusal{Reason: ReasonStepFailed, Message: "gave up", Step: StepSendPayment}
		ev := PaymentEvent{PaymentID: "failed", DID: "did:example:alice", Outcome: OutcomeFailed, Refusal: ended}
		if queued, err := s.settle(ctx, TopicPaymentFailed, ev); err != nil || !queued {
			t.Fatalf("settle: %v %v", queued, err)
		}
		check("failed", OutcomeFailed, ended)
		// Ended, it stays as it ended: no second event, no new refusal, no reopening.
		again := ev
		again.Outcome, again.Refusal = OutcomeBlocked, &Refusal{Reason: ReasonRiskAboveThreshold}
		if queued, err := s.settle(ctx, TopicPaymentBlocked, again); err != nil || queued {
			t.Fatalf("settle again: %v %v", queued, err)
		}
		if err := s.putRefusal(ctx, "failed", stepRefusal); err != nil {
			t.Fatal(err)
		}
		if err := s.start(ctx, "failed", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.dropOutcome(ctx, "failed"); err != nil {
			t.Fatal(err)
		}
		if err := s.markSent(ctx, "failed"); err != nil {
			t.Fatal(err)
		}
		check("failed", OutcomeFailed, ended)
		if got := topics(drain(t, s), "failed"); !slices.Equal(got, []string{TopicPaymentFailed + "#1"}) {
			t.Fatalf("events of the failed payment: %v", got)
		}
		hist, err := s.history(ctx, "failed")
		if err != nil || len(hist) != 1 || hist[0].Seq != 1 || hist[0].Outcome != OutcomeFailed || *hist[0].Refusal != *ended {
			t.Fatalf("history of the failed payment: %+v %v", hist, err)
		}

		// A payment never noted (started before the outcomes were kept) is settled all the same.
		blocked := PaymentEvent{PaymentID: "unnoted", Outcome: OutcomeBlocked, Refusal: &Refusal{Reason: ReasonRiskAboveThreshold, Risk: 0.9}}
		if queued, err := s.settle(ctx, TopicPaymentBlocked, blocked); err != nil || !queued {
			t.Fatalf("settle of an unnoted payment: %v %v", queued, err)
		}
		check("unnoted", OutcomeBlocked, blocked.Refusal)
		// Settled without a refusal, it reports none.
		if _, err := s.settle(ctx, TopicPaymentUnverified, PaymentEvent{PaymentID: odd, Outcome: OutcomeUnverified}); err != nil {
			t.Fatal(err)
		}
		check(odd, OutcomeUnverified, nil)

		// Recording the payment ends it sent, keeping the refusal of a step tried again.
		retried := &Refusal{Reason: ReasonStepFailed, Message: "timeout", Step: StepSendPayment}
		if err := s.putRefusal(ctx, "sent", retried); err != nil {
			t.Fatal(err)
		}
		p := row("sent", PaymentBroadcast)
		if _, err := s.insertPayment(ctx, p); err != nil {
			t.Fatal(err)
		}
		check("sent", OutcomeSent, retried)
		if got, ok, err := s.payment(ctx, "sent"); err != nil || !ok || got != p {
			t.Fatalf("payment: %+v %v %v, want %+v", got, ok, err, p)
		}
		if _, ok, err := s.payment(ctx, "failed"); err != nil || ok {
			t.Fatalf("payment of one never sent: %v %v", ok, err)
		}
		if hist, err := s.history(ctx, "sent"); err != nil || len(hist) != 1 || hist[0].Outcome != OutcomeSent || hist[0].Txid != p.Txid {
			t.Fatalf("history of the sent payment: %+v %v", hist, err)
		}
		// markSent ends an open payment sent and notes none that was not started.
		if err := s.start(ctx, "sent elsewhere", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.markSent(ctx, "sent elsewhere"); err != nil {
			t.Fatal(err)
		}
		check("sent elsewhere", OutcomeSent, nil)
		if err := s.markSent(ctx, "never"); err != nil {
			t.Fatal(err)
		}
		check("never", "", nil)

		// dropOutcome forgets an open payment; a refusal noted of none open opens it.
		if err := s.dropOutcome(ctx, "dropped"); err != nil {
			t.Fatal(err)
		}
		check("dropped", "", nil)
		if err := s.putRefusal(ctx, "refused", retried); err != nil {
			t.Fatal(err)
		}
		if got := open(); !slices.Equal(got, []string{"refused"}) {
			t.Fatalf("open outcomes at the end: %q", got)
		}
		if hist, err := s.history(ctx, "never"); err != nil || len(hist) != 0 {
			t.Fatalf("history of nothing: %+v %v", hist, err)
		}
	})
	t.Run("Shared", func(t *testing.T) {
		o := newBackend(t)
		if !o.shared {
			t.Skip("one process per data")
		}
		ctx := t.Context()
		a, b := o.open(t), o.open(t)
		// A block trigger on one host moves the fence the other reads.
		f0, err := b.blocksFence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.blocksBegin(ctx); err != nil {
			t.Fatal(err)
		}
		if f, _ := b.blocksFence(ctx); !f.Active || f == f0 {
			t.Fatalf("fence while a trigger runs: %+v (before %+v)", f, f0)
		}
		if err := a.blocksEnd(ctx); err != nil {
			t.Fatal(err)
		}
		f1, _ := b.blocksFence(ctx)
		if f1.Active || f1 == f0 {
			t.Fatalf("fence after a trigger: %+v (before %+v)", f1, f0)
		}
		// A trigger whose host died stops counting as running after a while.
		_ = a.blocksBegin(ctx)
		o.clock.advance(2 * staleTrigger)
		if f, _ := b.blocksFence(ctx); f.Active {
			t.Fatalf("a trigger begun %v ago still runs: %+v", 2*staleTrigger, f)
		}
		// Events one host queued and did not publish (it died), another host's outbox returns.
		if _, err := a.insertPayment(ctx, row("orphan", PaymentBroadcast)); err != nil {
			t.Fatal(err)
		}
		o.clock.advance(2 * stateSweepEvery)
		if got := topics(drain(t, b), "orphan"); !slices.Equal(got, []string{TopicPaymentSent + "#1"}) {
			t.Fatalf("the other host's outbox: %v", got)
		}
		// Concurrent moves of one payment by two hosts queue each event once.
		p := row("race", PaymentBroadcast)
		if _, err := a.insertPayment(ctx, p); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, h := range []stateBackend{a, b} {
			wg.Go(func() {
				if err := moveOne(ctx, h, p, PaymentConfirmed, stamp(7, "b7")); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		o.clock.advance(2 * stateSweepEvery)
		evs := append(drain(t, a), drain(t, b)...)
		seqs := map[int]int{}
		for _, e := range evs {
			if e.Event.PaymentID == "race" {
				seqs[e.Event.Seq]++
			}
		}
		if len(seqs) != 2 || seqs[2] == 0 {
			t.Fatalf("events of a payment two hosts moved at once: %v", topics(evs, "race"))
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		s := newBackend(t).open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.insertPayment(ctx, row("x", PaymentBroadcast)); err == nil {
			t.Fatal("insertPayment with a cancelled context")
		}
		if added, err := s.insertPayment(t.Context(), row("x", PaymentBroadcast)); err != nil || !added {
			t.Fatalf("a cancelled insert stored the payment: %v %v", added, err)
		}
	})
}

// moveOne moves payment p to status at block at, a batch of one.
func moveOne(ctx context.Context, s stateBackend, p paymentRow, status string, at bitcoin.BlockStamp) error {
	return s.movePayments(ctx, []paymentMove{{Row: p, Status: status, At: at}})
}

// Package sendstoretest is the conformance suite of sendstore.Store: every implementation (the
// SQLite one, the NATS JetStream one) runs it with a one-line test.
//
//	func TestConformance(t *testing.T) { sendstoretest.Run(t, newBackend) }
//
// # Backends and handles
//
// The suite asks for a backend per subtest (new, empty data) and opens handles on it: again
// after Close, to check durability, and — for a backend declared Shared — several at once, as
// hosts sharing the store would, to check that each sees the others' records and reservations
// and that of racing hosts only one reserves a coin. Spending builds the records it uses.
package sendstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/internal/sendstore"
)

// Opener returns a new handle on one backend's data: every call opens the same records and
// reservations again (a process restarting, or, for a Shared backend, another host).
type Opener func(t *testing.T) sendstore.Store

// Feature declares what a backend can do beyond the contract every store meets.
type Feature func(*features)

type features struct{ shared bool }

// Shared declares that handles open at the same time on one backend's data see each other's
// records and reservations at once: the backend is shared by hosts.
func Shared() Feature { return func(f *features) { f.shared = true } }

// Run checks the store contract documented on sendstore.Store. newBackend returns, for each
// subtest, an Opener on new, empty data; handles it opens are closed when the subtest ends.
func Run(t *testing.T, newBackend func(t *testing.T) Opener, fs ...Feature) {
	var f features
	for _, o := range fs {
		o(&f)
	}
	t.Run("SendStore", func(t *testing.T) {
		bitcointest.RunSendStoreSuite(t, func(t *testing.T) bitcoin.SendStore { return newBackend(t)(t) })
	})
	t.Run("Reservations", func(t *testing.T) { testReservations(t, newBackend(t)(t)) })
	t.Run("ManyOutpoints", func(t *testing.T) { testManyOutpoints(t, newBackend(t)(t)) })
	t.Run("NotATransaction", func(t *testing.T) { testNotATransaction(t, newBackend(t)(t)) })
	t.Run("ConcurrentReservations", func(t *testing.T) {
		s := newBackend(t)(t)
		testRace(t, func(int) sendstore.Store { return s })
	})
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newBackend(t)) })
	t.Run("Context", func(t *testing.T) { testContext(t, newBackend(t)(t)) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, newBackend(t)(t)) })
	t.Run("Shared", func(t *testing.T) {
		if !f.shared {
			t.Skip("the backend is not declared Shared")
		}
		open := newBackend(t)
		hosts := []sendstore.Store{open(t), open(t), open(t)}
		testShared(t, hosts)
		testRace(t, func(i int) sendstore.Store { return hosts[i%len(hosts)] })
	})
}

// Spending returns a record under key of a transaction spending ops (unsigned: a store only
// reads its inputs).
func Spending(key string, ops ...wire.OutPoint) bitcoin.SendRecord {
	tx := wire.NewMsgTx(2)
	for _, op := range ops {
		tx.AddTxIn(wire.NewTxIn(&op, nil, nil))
	}
	tx.AddTxOut(wire.NewTxOut(1000, []byte{0x51}))
	var b bytes.Buffer
	_ = tx.Serialize(&b) // writing to a buffer does not fail
	return bitcoin.SendRecord{Key: key, Txid: tx.TxHash(), RawTx: b.Bytes(), Created: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func op(tx byte, index uint32) wire.OutPoint {
	return wire.OutPoint{Hash: chainhash.Hash{tx, 0xaa}, Index: index}
}

func testReservations(t *testing.T, s sendstore.Store) {
	ctx := t.Context()
	a, b, c := op(1, 0), op(1, 1), op(2, 7)
	first := Spending("pay-1", a, b)
	if _, loaded, err := s.PutIfAbsent(ctx, first); err != nil || loaded {
		t.Fatalf("PutIfAbsent: loaded %v, %v", loaded, err)
	}
	got, err := s.Reserved(ctx, []wire.OutPoint{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a] != "pay-1" || got[b] != "pay-1" {
		t.Fatalf("Reserved = %v, want a and b under pay-1", got)
	}
	// Another key's transaction spending b is refused, and stores nothing.
	_, _, err = s.PutIfAbsent(ctx, Spending("pay-2", c, b))
	if !errors.Is(err, sendstore.ErrCoinReserved) {
		t.Fatalf("double reservation: %v, want ErrCoinReserved", err)
	}
	if _, err := s.Get(ctx, "pay-2"); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("refused record was stored: %v", err)
	}
	if got, err := s.Reserved(ctx, []wire.OutPoint{c}); err != nil || len(got) != 0 {
		t.Fatalf("refused record reserved %v (%v)", got, err)
	}
	// The same key again returns the first record and reserves nothing new.
	rec, loaded, err := s.PutIfAbsent(ctx, Spending("pay-1", c))
	if err != nil || !loaded || rec.Txid != first.Txid {
		t.Fatalf("second put of pay-1 = %v %v %v", rec.Txid, loaded, err)
	}
	if got, _ := s.Reserved(ctx, []wire.OutPoint{c}); len(got) != 0 {
		t.Fatalf("a loaded put reserved %v", got)
	}
	// c is free: another key takes it.
	if _, loaded, err := s.PutIfAbsent(ctx, Spending("pay-3", c)); err != nil || loaded {
		t.Fatalf("put of a free coin: %v %v", loaded, err)
	}
	if got, _ := s.Reserved(ctx, []wire.OutPoint{a, c}); got[a] != "pay-1" || got[c] != "pay-3" {
		t.Fatalf("Reserved = %v", got)
	}
}

func testManyOutpoints(t *testing.T, s sendstore.Store) {
	ctx := t.Context()
	var ops []wire.OutPoint
	for i := range 1200 {
		ops = append(ops, wire.OutPoint{Hash: chainhash.Hash{byte(i), byte(i >> 8)}, Index: uint32(i)})
	}
	if _, _, err := s.PutIfAbsent(ctx, Spending("k", ops[0], ops[777], ops[1199])); err != nil {
		t.Fatal(err)
	}
	got, err := s.Reserved(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[ops[0]] != "k" || got[ops[777]] != "k" || got[ops[1199]] != "k" {
		t.Fatalf("Reserved over %d outpoints = %v", len(ops), got)
	}
}

func testNotATransaction(t *testing.T, s sendstore.Store) {
	ctx := t.Context()
	rec := bitcoin.SendRecord{Key: "opaque", Txid: chainhash.Hash{7}, RawTx: []byte{1, 2, 3}, Created: time.Now()}
	if _, loaded, err := s.PutIfAbsent(ctx, rec); err != nil || loaded {
		t.Fatalf("PutIfAbsent of opaque bytes: %v %v", loaded, err)
	}
	if got, err := s.Get(ctx, "opaque"); err != nil || !bytes.Equal(got.RawTx, rec.RawTx) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

// testRace: goroutines put records of distinct keys, in pairs spending a shared coin (and a
// coin of their own each): of each pair exactly one is stored, and the loser reserves nothing.
func testRace(t *testing.T, store func(i int) sendstore.Store) {
	ctx := t.Context()
	const pairs, per = 6, 4
	type result struct {
		loaded bool
		err    error
	}
	res := make([][per]result, pairs)
	var wg sync.WaitGroup
	for p := range pairs {
		for i := range per {
			wg.Go(func() {
				rec := Spending(fmt.Sprintf("race-%d-%d", p, i), op(100+byte(p), 0), op(200+byte(p), uint32(i)))
				_, res[p][i].loaded, res[p][i].err = store(p*per+i).PutIfAbsent(ctx, rec)
			})
		}
	}
	wg.Wait()
	s := store(0)
	for p := range pairs {
		winner := -1
		for i, r := range res[p] {
			switch {
			case r.err == nil && !r.loaded && winner >= 0:
				t.Fatalf("pair %d: keys %d and %d both reserved the shared coin", p, winner, i)
			case r.err == nil && !r.loaded:
				winner = i
			case r.err != nil && !errors.Is(r.err, sendstore.ErrCoinReserved):
				t.Fatalf("pair %d, key %d: %v", p, i, r.err)
			case r.err == nil:
				t.Fatalf("pair %d, key %d: loaded a record that nobody stored", p, i)
			}
		}
		if winner < 0 {
			t.Fatalf("pair %d: no key reserved the shared coin", p)
		}
		own := make([]wire.OutPoint, per)
		for i := range per {
			own[i] = op(200+byte(p), uint32(i))
		}
		got, err := s.Reserved(ctx, append(own, op(100+byte(p), 0)))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("race-%d-%d", p, winner)
		if len(got) != 2 || got[op(100+byte(p), 0)] != want || got[own[winner]] != want {
			t.Fatalf("pair %d: reservations %v, want the shared coin and its own under %s only", p, got, want)
		}
	}
}

func testReopen(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t)
	rec := Spending("k", op(3, 3))
	if _, _, err := s.PutIfAbsent(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := open(t)
	got, err := again.Get(ctx, "k")
	if err != nil || got.Txid != rec.Txid || !bytes.Equal(got.RawTx, rec.RawTx) {
		t.Fatalf("after reopening: %+v %v", got, err)
	}
	if r, err := again.Reserved(ctx, []wire.OutPoint{op(3, 3)}); err != nil || r[op(3, 3)] != "k" {
		t.Fatalf("reservation after reopening: %v %v", r, err)
	}
	if _, _, err := again.PutIfAbsent(ctx, Spending("k2", op(3, 3))); !errors.Is(err, sendstore.ErrCoinReserved) {
		t.Fatalf("reserved coin after reopening: %v", err)
	}
}

func testContext(t *testing.T, s sendstore.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Reserved(ctx, []wire.OutPoint{op(4, 0)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reserved with a cancelled context: %v", err)
	}
	if _, _, err := s.PutIfAbsent(ctx, Spending("k", op(4, 0))); !errors.Is(err, context.Canceled) {
		t.Fatalf("PutIfAbsent with a cancelled context: %v", err)
	}
	if got, err := s.Reserved(t.Context(), []wire.OutPoint{op(4, 0)}); err != nil || len(got) != 0 {
		t.Fatalf("a cancelled PutIfAbsent reserved %v (%v)", got, err)
	}
}

func testClosed(t *testing.T, s sendstore.Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := t.Context()
	if _, err := s.Get(ctx, "k"); !errors.Is(err, sendstore.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if _, _, err := s.PutIfAbsent(ctx, Spending("k", op(5, 0))); !errors.Is(err, sendstore.ErrClosed) {
		t.Fatalf("PutIfAbsent after Close: %v", err)
	}
	if _, err := s.Reserved(ctx, nil); !errors.Is(err, sendstore.ErrClosed) {
		t.Fatalf("Reserved after Close: %v", err)
	}
}

// testShared: what one host records, another sees at once — including a coin it had just found
// free, and a key it had just found without a record.
func testShared(t *testing.T, hosts []sendstore.Store) {
	ctx := t.Context()
	a, b := hosts[0], hosts[1]
	coin := op(6, 0)
	if got, err := b.Reserved(ctx, []wire.OutPoint{coin}); err != nil || len(got) != 0 {
		t.Fatalf("fresh coin reserved: %v %v", got, err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("Get of an unknown key: %v", err)
	}
	rec := Spending("k", coin)
	if _, _, err := a.PutIfAbsent(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Reserved(ctx, []wire.OutPoint{coin}); err != nil || got[coin] != "k" {
		t.Fatalf("another host does not see the reservation: %v %v", got, err)
	}
	if got, err := b.Get(ctx, "k"); err != nil || got.Txid != rec.Txid {
		t.Fatalf("another host does not see the record: %+v %v", got, err)
	}
	if _, _, err := b.PutIfAbsent(ctx, Spending("k-other", coin)); !errors.Is(err, sendstore.ErrCoinReserved) {
		t.Fatalf("another host reserved a reserved coin: %v", err)
	}
	if got, loaded, err := b.PutIfAbsent(ctx, Spending("k", op(6, 1))); err != nil || !loaded || got.Txid != rec.Txid {
		t.Fatalf("another host's put of a recorded key: %+v %v %v", got, loaded, err)
	}
}

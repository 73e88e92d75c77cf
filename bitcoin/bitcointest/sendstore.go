package bitcointest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
)

// RunSendStoreSuite checks that a [bitcoin.SendStore] follows the contract documented on the
// interface. newStore is called once per subtest and must return an empty store.
//
//	func TestSendStoreSuite(t *testing.T) { bitcointest.RunSendStoreSuite(t, newStore) }
func RunSendStoreSuite(t *testing.T, newStore func(t *testing.T) bitcoin.SendStore) {
	rec := func(key string, id byte) bitcoin.SendRecord {
		return bitcoin.SendRecord{Key: key, Txid: chainhash.Hash{id}, RawTx: []byte{id, 1, 2, 3}, Created: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)}
	}
	same := func(a, b bitcoin.SendRecord) bool {
		return a.Key == b.Key && a.Txid == b.Txid && bytes.Equal(a.RawTx, b.RawTx) &&
			a.Created.Truncate(time.Millisecond).Equal(b.Created.Truncate(time.Millisecond))
	}
	t.Run("GetUnknown", func(t *testing.T) {
		_, err := newStore(t).Get(t.Context(), "nope")
		if !errors.Is(err, bitcoin.ErrNotFound) {
			t.Fatalf("Get of an unknown key: %v, want ErrNotFound", err)
		}
	})
	t.Run("PutGet", func(t *testing.T) {
		s := newStore(t)
		r := rec("k", 1)
		got, loaded, err := s.PutIfAbsent(t.Context(), r)
		if err != nil || loaded || !same(got, r) {
			t.Fatalf("PutIfAbsent = %+v, %v, %v", got, loaded, err)
		}
		back, err := s.Get(t.Context(), "k")
		if err != nil || !same(back, r) {
			t.Fatalf("Get = %+v, %v; stored %+v", back, err, r)
		}
	})
	t.Run("FirstWins", func(t *testing.T) {
		s := newStore(t)
		first := rec("k", 1)
		if _, _, err := s.PutIfAbsent(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		got, loaded, err := s.PutIfAbsent(t.Context(), rec("k", 2))
		if err != nil || !loaded || !same(got, first) {
			t.Fatalf("second PutIfAbsent = %+v, %v, %v; want the first record, loaded", got, loaded, err)
		}
		if back, _ := s.Get(t.Context(), "k"); !same(back, first) {
			t.Fatalf("record changed to %+v", back)
		}
		if _, loaded, _ := s.PutIfAbsent(t.Context(), rec("other", 3)); loaded {
			t.Fatal("another key was reported present")
		}
	})
	t.Run("Immutable", func(t *testing.T) {
		s := newStore(t)
		r := rec("k", 1)
		if _, _, err := s.PutIfAbsent(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		r.RawTx[0] = 0xff
		got, err := s.Get(t.Context(), "k")
		if err != nil {
			t.Fatal(err)
		}
		got.RawTx[1] = 0xff
		again, _ := s.Get(t.Context(), "k")
		if !same(again, rec("k", 1)) {
			t.Fatalf("stored record changed through a caller's slice: %+v", again)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		const n = 16
		var wg sync.WaitGroup
		results := make([]bitcoin.SendRecord, n)
		loadedCount := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i], loadedCount[i], errs[i] = s.PutIfAbsent(context.Background(), rec("k", byte(i+1)))
			})
		}
		wg.Wait()
		winners := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !loadedCount[i] {
				winners++
			}
			if !same(results[i], results[0]) {
				t.Fatalf("call %d saw %+v, call 0 saw %+v", i, results[i], results[0])
			}
		}
		if winners != 1 {
			t.Fatalf("%d calls stored a record, want exactly 1", winners)
		}
	})
	t.Run("Context", func(t *testing.T) {
		s := newStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, _, err := s.PutIfAbsent(ctx, rec("k", 1)); !errors.Is(err, context.Canceled) {
			t.Fatalf("PutIfAbsent with a cancelled context: %v", err)
		}
		if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with a cancelled context: %v", err)
		}
		if _, err := s.Get(t.Context(), "k"); !errors.Is(err, bitcoin.ErrNotFound) {
			t.Fatal(fmt.Errorf("a cancelled PutIfAbsent stored a record: %w", err))
		}
	})
}

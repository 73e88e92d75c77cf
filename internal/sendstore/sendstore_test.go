package sendstore_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/internal/sendstore"
	"github.com/anya-org/anya-go/internal/sqlitex"
)

func open(t *testing.T, path string) *sendstore.Store {
	t.Helper()
	db, err := sqlitex.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s, err := sendstore.New(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSendStoreSuite(t *testing.T) {
	bitcointest.RunSendStoreSuite(t, func(t *testing.T) bitcoin.SendStore { return open(t, filepath.Join(t.TempDir(), "s.db")) })
}

// spending returns a serialized transaction spending ops, and its txid.
func spending(t *testing.T, ops ...wire.OutPoint) ([]byte, chainhash.Hash) {
	t.Helper()
	tx := wire.NewMsgTx(2)
	for _, op := range ops {
		tx.AddTxIn(wire.NewTxIn(&op, nil, nil))
	}
	tx.AddTxOut(wire.NewTxOut(1000, []byte{0x51}))
	var b bytes.Buffer
	if err := tx.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), tx.TxHash()
}

func TestReservations(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	a := wire.OutPoint{Hash: chainhash.Hash{1}, Index: 0}
	b := wire.OutPoint{Hash: chainhash.Hash{1}, Index: 1}
	c := wire.OutPoint{Hash: chainhash.Hash{2}, Index: 7}
	raw, txid := spending(t, a, b)
	if _, loaded, err := s.PutIfAbsent(ctx, bitcoin.SendRecord{Key: "pay-1", Txid: txid, RawTx: raw, Created: time.Now()}); err != nil || loaded {
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
	raw2, txid2 := spending(t, c, b)
	_, _, err = s.PutIfAbsent(ctx, bitcoin.SendRecord{Key: "pay-2", Txid: txid2, RawTx: raw2, Created: time.Now()})
	if !errors.Is(err, sendstore.ErrCoinReserved) {
		t.Fatalf("double reservation: %v, want ErrCoinReserved", err)
	}
	if _, err := s.Get(ctx, "pay-2"); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("refused record was stored: %v", err)
	}
	if got, _ := s.Reserved(ctx, []wire.OutPoint{c}); len(got) != 0 {
		t.Fatalf("refused record reserved %v", got)
	}

	// The same key again returns the first record and reserves nothing new.
	rec, loaded, err := s.PutIfAbsent(ctx, bitcoin.SendRecord{Key: "pay-1", Txid: txid2, RawTx: raw2, Created: time.Now()})
	if err != nil || !loaded || rec.Txid != txid {
		t.Fatalf("second put of pay-1 = %v %v %v", rec.Txid, loaded, err)
	}
}

func TestReservedManyOutpoints(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	var ops []wire.OutPoint
	for i := range 1200 {
		ops = append(ops, wire.OutPoint{Hash: chainhash.Hash{byte(i), byte(i >> 8)}, Index: uint32(i)})
	}
	raw, txid := spending(t, ops[0], ops[777], ops[1199])
	if _, _, err := s.PutIfAbsent(ctx, bitcoin.SendRecord{Key: "k", Txid: txid, RawTx: raw}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Reserved(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[ops[777]] != "k" {
		t.Fatalf("Reserved over %d outpoints = %v", len(ops), got)
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	raw, txid := spending(t, wire.OutPoint{Index: 3})
	{
		db, err := sqlitex.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sendstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PutIfAbsent(ctx, bitcoin.SendRecord{Key: "k", Txid: txid, RawTx: raw}); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		_ = db.Close()
	}
	s := open(t, path)
	rec, err := s.Get(ctx, "k")
	if err != nil || rec.Txid != txid || !bytes.Equal(rec.RawTx, raw) {
		t.Fatalf("after reopen: %+v %v", rec, err)
	}
}

func TestClosed(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, sendstore.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if _, _, err := s.PutIfAbsent(t.Context(), bitcoin.SendRecord{Key: "k"}); !errors.Is(err, sendstore.ErrClosed) {
		t.Fatalf("PutIfAbsent after Close: %v", err)
	}
	if _, err := s.Reserved(t.Context(), nil); !errors.Is(err, sendstore.ErrClosed) {
		t.Fatalf("Reserved after Close: %v", err)
	}
}

// The store's memory of absent keys and free coins follows its own writes.
func TestMemoryFollowsWrites(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	op := wire.OutPoint{Hash: chainhash.Hash{9}, Index: 1}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatal(err)
	}
	if got, _ := s.Reserved(ctx, []wire.OutPoint{op}); len(got) != 0 {
		t.Fatalf("free coin reported reserved: %v", got)
	}
	raw, txid := spending(t, op)
	if _, _, err := s.PutIfAbsent(ctx, bitcoin.SendRecord{Key: "k", Txid: txid, RawTx: raw}); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Get(ctx, "k"); err != nil || rec.Txid != txid {
		t.Fatalf("Get after a put remembered as absent: %v %v", rec, err)
	}
	if got, _ := s.Reserved(ctx, []wire.OutPoint{op}); got[op] != "k" {
		t.Fatalf("reservation not seen after a put remembered as free: %v", got)
	}
}

package sendstore_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/sendstore"
	"github.com/anya-org/anya-go/internal/sendstore/sendstoretest"
	"github.com/anya-org/anya-go/internal/sqlitex"
)

func open(t *testing.T, path string) *sendstore.SQLite {
	t.Helper()
	db, err := sqlitex.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s, err := sendstore.NewSQLite(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	sendstoretest.Run(t, func(t *testing.T) sendstoretest.Opener {
		path := filepath.Join(t.TempDir(), "s.db")
		return func(t *testing.T) sendstore.Store { return open(t, path) }
	})
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
	rec := sendstoretest.Spending("k", op)
	txid := rec.Txid
	if _, _, err := s.PutIfAbsent(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Get(ctx, "k"); err != nil || rec.Txid != txid {
		t.Fatalf("Get after a put remembered as absent: %v %v", rec, err)
	}
	if got, _ := s.Reserved(ctx, []wire.OutPoint{op}); got[op] != "k" {
		t.Fatalf("reservation not seen after a put remembered as free: %v", got)
	}
}

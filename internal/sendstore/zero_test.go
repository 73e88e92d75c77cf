package sendstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/sendstore"
)

// The methods of a zero SQLite return a *NotConstructedError naming NewSQLite, and Close returns
// nil: nothing panics. NewSQLite refuses a nil database.
func TestZeroStore(t *testing.T) {
	ctx := context.Background()
	var s sendstore.SQLite
	_, getErr := s.Get(ctx, "k")
	_, _, putErr := s.PutIfAbsent(ctx, bitcoin.SendRecord{Key: "k"})
	_, resErr := s.Reserved(ctx, []wire.OutPoint{{Index: 1}})
	for what, err := range map[string]error{"Get": getErr, "PutIfAbsent": putErr, "Reserved": resErr} {
		var nc *sendstore.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, sendstore.ErrNotConstructed) || nc.Constructor != "NewSQLite" {
			t.Errorf("%s: err = %v, want a *NotConstructedError naming NewSQLite", what, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := sendstore.NewSQLite(ctx, nil); !errors.Is(err, sendstore.ErrInvalidOption) {
		t.Errorf("NewSQLite(nil): %v", err)
	}
}

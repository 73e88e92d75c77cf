package dwn_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/anya-org/anya-go/internal/sqlitex"

	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/dwn/dwntest"
)

func TestMemoryStoreConformance(t *testing.T) {
	dwntest.Run(t, func(t *testing.T) dwn.Store { return dwn.NewMemoryStore() })
}

func TestSQLiteStoreConformance(t *testing.T) {
	dwntest.Run(t, func(t *testing.T) dwn.Store {
		s, err := dwn.OpenSQLiteStore(context.Background(), filepath.Join(t.TempDir(), "dwn.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestSQLiteMemoryStoreConformance(t *testing.T) {
	dwntest.Run(t, func(t *testing.T) dwn.Store {
		s, err := dwn.OpenSQLiteStore(context.Background(), sqlitex.Memory)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

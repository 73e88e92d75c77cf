package stream_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/anya-org/anya-go/stream"
	"github.com/anya-org/anya-go/stream/streamtest"
)

func TestMemoryStore(t *testing.T) {
	streamtest.RunStore(t, func(t *testing.T) stream.Store { return stream.NewMemoryStore() })
}

func TestSQLiteStore(t *testing.T) {
	streamtest.RunStore(t, func(t *testing.T) stream.Store {
		s, err := stream.OpenSQLiteStore(context.Background(), filepath.Join(t.TempDir(), "stream.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestSQLiteStorePersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "stream.db")
	s, err := stream.OpenSQLiteStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, "p", []stream.Change{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s, err = stream.OpenSQLiteStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	_ = s.Load(ctx, "p", func(k string, v []byte) error { got = append(got, k+"="+string(v)); return nil })
	if len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
		t.Fatalf("after reopening: %q", got)
	}
}

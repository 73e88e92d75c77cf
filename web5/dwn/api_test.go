package dwn_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/internal/apitest"
)

func TestZeroValues(t *testing.T) {
	msg := &dwn.Message{}
	apitest.Zeros(t, ".",
		apitest.Zero{Value: new(dwn.Node), NotConstructed: dwn.ErrNotConstructed, Works: []string{"Close"}, Args: map[string][]any{
			"Process": {"did:example:alice", msg},
		}},
		apitest.Zero{Value: new(dwn.SQLiteStore), NotConstructed: dwn.ErrNotConstructed, Works: []string{"Close"}, Args: map[string][]any{
			"PutRecord":   {"did:example:alice", &dwn.Record{}, ""},
			"PutProtocol": {"did:example:alice", msg, ""},
		}},
		apitest.Zero{Value: new(dwn.MemoryStore), Args: map[string][]any{
			"PutRecord":   {"did:example:alice", &dwn.Record{}, ""},
			"PutProtocol": {"did:example:alice", msg, ""},
		}},
		apitest.Zero{Value: new(dwn.Message)},
		apitest.Zero{Value: new(dwn.Record)},
		apitest.Zero{Value: new(dwn.Filter), Args: map[string][]any{"Matches": {&dwn.Record{}}}},
		apitest.Zero{Value: new(dwn.DateRange)},
		apitest.Zero{Value: new(dwn.Cursor), Args: map[string][]any{"After": {&dwn.Record{}, dwn.DateSort("")}}},
		apitest.Zero{Value: new(dwn.Protocol), Args: map[string][]any{"UnmarshalJSON": {[]byte(`{}`)}}},
		apitest.Zero{Value: new(dwn.RuleSet), Args: map[string][]any{"UnmarshalJSON": {[]byte(`{}`)}}},
	)
	_, err := new(dwn.Node).Process(context.Background(), "did:example:alice", msg)
	var ne *dwn.NotConstructedError
	if !errors.As(err, &ne) || ne.Constructor != "dwn.New" {
		t.Fatalf("zero Node: %v", err)
	}
	// The zero MemoryStore is an empty store.
	var s dwn.MemoryStore
	if _, err := s.Record(context.Background(), "did:example:alice", "x"); !errors.Is(err, dwn.ErrNotFound) {
		t.Fatalf("zero MemoryStore: %v", err)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

package natsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/dwn/natsstore"
)

// The methods of a zero Store return a *NotConstructedError naming New, and Close returns nil:
// nothing panics.
func TestZeroStore(t *testing.T) {
	ctx := context.Background()
	var s natsstore.Store
	_, recErr := s.Record(ctx, "did:example:alice", "id")
	_, queryErr := s.Query(ctx, "did:example:alice", dwn.StoreQuery{})
	_, protoErr := s.Protocol(ctx, "did:example:alice", "https://example.com/p")
	_, protosErr := s.Protocols(ctx, "did:example:alice")
	for what, err := range map[string]error{
		"Record":      recErr,
		"PutRecord":   s.PutRecord(ctx, "did:example:alice", &dwn.Record{ID: "id"}, ""),
		"Query":       queryErr,
		"Protocol":    protoErr,
		"PutProtocol": s.PutProtocol(ctx, "did:example:alice", &dwn.Message{}, ""),
		"Protocols":   protosErr,
	} {
		var nc *natsstore.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, natsstore.ErrNotConstructed) || nc.Constructor != "New" {
			t.Errorf("%s: err = %v, want a *NotConstructedError naming New", what, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

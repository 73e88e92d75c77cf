package web5test_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/web5test"
)

func TestNetworkDWN(t *testing.T) {
	ctx := context.Background()
	net := web5test.NewNetwork(t)
	carol := web5test.Carol(t)
	net.Publish(t, carol)
	node := net.DWN(t)
	tenant := carol.String()
	w, err := dwn.NewWrite(ctx, carol, tenant, dwn.Write{DataFormat: "text/plain", Data: []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Process(ctx, tenant, w); err != nil {
		t.Fatalf("Carol (did:dht) writes to her tenant: %v", err)
	}
	alice := web5test.Alice(t)
	r, err := dwn.NewRead(ctx, alice, tenant, w.RecordID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Process(ctx, tenant, r); !errors.Is(err, dwn.ErrForbidden) {
		t.Fatalf("Alice reads Carol's record: %v", err)
	}
}

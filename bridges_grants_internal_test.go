package anya

import (
	"fmt"
	"sync"
	"testing"

	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

// Hosts sharing one JetStream that register one identity at once end with one set of bridge
// grants, which all of them use; a host started later reads it, and a host that never
// registered the identity finds it when it first reaches the identity's store.
func TestJetStreamBridgeGrantsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server and three Managers")
	}
	ctx := t.Context()
	srv := natstest.Start(t)
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	host, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	newHost := func(name string) *Manager {
		t.Helper()
		m, err := New(WithChain(sim), WithHostDID(host), WithHostName(name), WithJetStream(srv.JetStream(t)),
			WithMLOptions(ml.WithWorkers(1)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		return m
	}
	a, b := newHost("host-a"), newHost("host-b")
	alice, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	d := alice.String()
	var wg sync.WaitGroup
	for i, m := range []*Manager{a, b, a, b} {
		wg.Go(func() {
			if _, err := m.AddIdentity(ctx, alice, nil); err != nil {
				t.Errorf("AddIdentity %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	stored, ok, err := a.state.bridgeGrant(ctx, d)
	if err != nil || !ok {
		t.Fatalf("shared grants: %v %v", ok, err)
	}
	used := func(m *Manager) string {
		var out string
		for _, method := range []string{dwn.MethodWrite, dwn.MethodRead, dwn.MethodQuery, dwn.MethodDelete} {
			id, err := m.bridgeGrant(ctx, d, method)
			if err != nil {
				t.Fatalf("%s grant: %v", method, err)
			}
			out += id + " "
		}
		return out
	}
	want := fmt.Sprintf("%s %s %s %s ", stored.Write, stored.Read, stored.Query, stored.Delete)
	for name, m := range map[string]*Manager{"A": a, "B": b, "C, started after": newHost("host-c")} {
		if got := used(m); got != want {
			t.Errorf("host %s uses the grants %q, the shared state holds %q", name, got, want)
		}
	}
	// A host that never registered the identity reaches its store under the shared grants.
	other, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddIdentity(ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.BridgeRecords().Query(ctx, other.String(), bridge.PathLink, dwn.Filter{}); err != nil {
		t.Fatalf("host B querying the bridges' records of an identity A registered: %v", err)
	}
}

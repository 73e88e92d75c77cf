package bridge_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

type world struct {
	node       *dwn.Node
	host, user *did.BearerDID
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	host, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	user, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	r, err := did.NewResolver(did.WithMethods(didkey.New()))
	if err != nil {
		t.Fatal(err)
	}
	store, err := dwn.OpenSQLiteStore(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	node, err := dwn.New(r, dwn.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return &world{node: node, host: host, user: user}
}

func TestRecordsUnderGrants(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	g, err := bridge.Setup(ctx, w.node, w.user, w.host.String(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var book bridge.GrantBook
	book.Add(w.user.String(), g)
	host, err := bridge.NewRecords(w.node, w.host, bridge.WithGrants(book.Lookup))
	if err != nil {
		t.Fatal(err)
	}
	tenant := w.user.String()
	rec, err := host.Create(ctx, tenant, bridge.PathTx, map[string]any{"txid": "aa"})
	if err != nil {
		t.Fatal(err)
	}
	up, err := host.Update(ctx, tenant, rec, map[string]any{"txid": "bb"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := host.Read(ctx, tenant, rec.ID)
	if err != nil || string(got.Data) != `{"txid":"bb"}` || up.ID != rec.ID {
		t.Fatalf("read after update: %v %s", err, got.Data)
	}
	list, err := host.Query(ctx, tenant, bridge.PathTx, dwn.Filter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("query: %v, %d records", err, len(list))
	}
	if err := host.Delete(ctx, tenant, rec.ID); err != nil {
		t.Fatal(err)
	}
	if err := host.Delete(ctx, tenant, rec.ID); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := host.Read(ctx, tenant, rec.ID); !errors.Is(err, bridge.ErrNotFound) {
		t.Fatalf("read after delete: %v", err)
	}
	// Running Setup again installs nothing twice.
	if _, err := bridge.Setup(ctx, w.node, w.user, w.host.String(), 0, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRecordsRefusals(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := bridge.Setup(ctx, w.node, w.user, "", 0, nil); err != nil {
		t.Fatal(err)
	}
	tenant := w.user.String()
	t.Run("no grants configured", func(t *testing.T) {
		host, _ := bridge.NewRecords(w.node, w.host)
		if _, err := host.Create(ctx, tenant, bridge.PathTx, map[string]any{}); !errors.Is(err, bridge.ErrNoGrant) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("tenant not in the book", func(t *testing.T) {
		var book bridge.GrantBook
		host, _ := bridge.NewRecords(w.node, w.host, bridge.WithGrants(book.Lookup))
		if _, err := host.Query(ctx, tenant, bridge.PathTx, dwn.Filter{}); !errors.Is(err, bridge.ErrNoGrant) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a grant the tenant never gave", func(t *testing.T) {
		var book bridge.GrantBook
		book.Add(tenant, bridge.Grants{Write: "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"})
		host, _ := bridge.NewRecords(w.node, w.host, bridge.WithGrants(book.Lookup))
		_, err := host.Create(ctx, tenant, bridge.PathTx, map[string]any{})
		if err == nil {
			t.Fatal("write under a forged grant was accepted")
		}
	})
	t.Run("path outside the protocol", func(t *testing.T) {
		owner, _ := bridge.NewRecords(w.node, w.user)
		_, err := owner.Create(ctx, tenant, "nope", map[string]any{})
		if !errors.Is(err, dwn.ErrInvalidMessage) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("options", func(t *testing.T) {
		if _, err := bridge.NewRecords(nil, w.host); !errors.Is(err, bridge.ErrInvalidOption) {
			t.Fatalf("nil node: %v", err)
		}
		if _, err := bridge.NewRecords(w.node, nil); !errors.Is(err, bridge.ErrInvalidOption) {
			t.Fatalf("nil author: %v", err)
		}
		var oe *bridge.OptionError
		if _, err := bridge.NewRecords(w.node, w.host, bridge.WithClock(nil)); !errors.As(err, &oe) || oe.Option != "WithClock" {
			t.Fatalf("nil clock: %v", err)
		}
	})
}

func TestRecordsConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := bridge.Setup(ctx, w.node, w.user, "", 0, nil); err != nil {
		t.Fatal(err)
	}
	owner, _ := bridge.NewRecords(w.node, w.user)
	tenant := w.user.String()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := owner.Create(ctx, tenant, bridge.PathScore, map[string]int{"i": i})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := owner.Query(ctx, tenant, bridge.PathScore, dwn.Filter{})
	if err != nil || len(list) != 20 {
		t.Fatalf("%v, %d records", err, len(list))
	}
}

func BenchmarkUpdateUnderGrant(b *testing.B) {
	ctx := context.Background()
	w := newWorld(b)
	g, err := bridge.Setup(ctx, w.node, w.user, w.host.String(), 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	var book bridge.GrantBook
	book.Add(w.user.String(), g)
	host, _ := bridge.NewRecords(w.node, w.host, bridge.WithGrants(book.Lookup))
	rec, err := host.Create(ctx, w.user.String(), bridge.PathUTXOs, map[string]any{"n": 0})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if rec, err = host.Update(ctx, w.user.String(), rec, map[string]any{"n": i}); err != nil {
			b.Fatal(err)
		}
	}
}

// UpdateIfLatest changes a record only from its latest version, and
// WithCreatedAt makes two creates of the same data one record.
func TestRecordsUpdateIfLatest(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := bridge.Setup(ctx, w.node, w.host, "", 0, nil); err != nil {
		t.Fatal(err)
	}
	host, err := bridge.NewRecords(w.node, w.host)
	if err != nil {
		t.Fatal(err)
	}
	tenant := w.host.String() // its own store: a time before a grant's would be refused
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	rec, err := host.Create(ctx, tenant, bridge.PathTx, map[string]any{"n": 0}, bridge.WithCreatedAt(at))
	if err != nil {
		t.Fatal(err)
	}
	again, err := host.Create(ctx, tenant, bridge.PathTx, map[string]any{"n": 0}, bridge.WithCreatedAt(at))
	if err != nil || again.ID != rec.ID {
		t.Fatalf("the same create twice: %v, IDs %s %s", err, rec.ID, again.ID)
	}
	a, err := host.UpdateIfLatest(ctx, tenant, rec, map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := host.UpdateIfLatest(ctx, tenant, rec, map[string]any{"n": 2}); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("update from a version another write replaced: %v", err)
	}
	if _, err := host.Create(ctx, tenant, bridge.PathTx, map[string]any{"n": 0}, bridge.WithCreatedAt(at)); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("the create again once the record changed: %v", err)
	}
	if got, err := host.Read(ctx, tenant, rec.ID); err != nil || string(got.Data) != `{"n":1}` {
		t.Fatalf("after the refused writes: %v %s", err, got.Data)
	}
	if b, err := host.UpdateIfLatest(ctx, tenant, a, map[string]any{"n": 2}); err != nil || string(b.Data) != `{"n":2}` {
		t.Fatalf("update from the latest version: %v", err)
	}
	if got, err := host.Query(ctx, tenant, bridge.PathTx, dwn.Filter{}); err != nil || len(got) != 1 {
		t.Fatalf("%d records, want 1 (%v)", len(got), err)
	}
}

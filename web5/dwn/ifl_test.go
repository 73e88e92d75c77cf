package dwn_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/anya-org/anya-go/web5/dwn"
)

// Two writers that read the same version of a record and both change it: with Process the
// later write wins and the other's change is gone from the store (the protocol's rule);
// with ProcessIfLatest the second is refused with a *ConflictError, changes nothing, and
// succeeds once rebuilt on the version the first wrote.
func TestProcessIfLatest(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	v1 := e.write(e.alice, tenant, note("v1"))

	// The lost update ProcessIfLatest exists for.
	a, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: v1, Data: []byte("v1+a")})
	e.ok(tenant, a, err)
	b, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: v1, Data: []byte("v1+b")})
	if got := e.ok(tenant, b, err).Record; string(got.Data) != "v1+b" {
		t.Fatalf("plain Process of a write from a stale read: %q", got.Data)
	}

	cur := e.write(e.alice, tenant, note("w1"))
	a, err = dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: cur, Data: []byte("w1+a")})
	if err != nil {
		t.Fatal(err)
	}
	ra, err := e.node.ProcessIfLatest(e.ctx, tenant, a, cur.Latest.CID())
	if err != nil {
		t.Fatalf("write from the latest version: %v", err)
	}
	stale, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: cur, Data: []byte("w1+b")})
	if err != nil {
		t.Fatal(err)
	}
	other := e.write(e.alice, tenant, note("x"))
	del, err := dwn.NewDelete(e.ctx, e.alice, tenant, other.ID)
	e.ok(tenant, del, err)
	deletedUpdate, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: other, Data: []byte("x2")})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := dwn.NewWrite(e.ctx, e.alice, tenant, note("new"))
	if err != nil {
		t.Fatal(err)
	}
	query, err := dwn.NewQuery(e.ctx, e.alice, tenant, dwn.Query{})
	if err != nil {
		t.Fatal(err)
	}
	attacks := []struct {
		name   string
		m      *dwn.Message
		latest string
		want   error
	}{
		{"stale read", stale, cur.Latest.CID(), dwn.ErrConflict},
		{"condition on the initial write", stale, cur.Initial.CID(), dwn.ErrConflict},
		{"deleted record", deletedUpdate, other.Latest.CID(), dwn.ErrConflict},
		{"record that does not exist", fresh, cur.Latest.CID(), dwn.ErrConflict},
		{"empty condition", stale, "", dwn.ErrInvalidMessage},
		{"not a write", query, cur.Latest.CID(), dwn.ErrInvalidMessage},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			before := e.snapshot(tenant)
			_, err := e.node.ProcessIfLatest(e.ctx, tenant, a.m, a.latest)
			if !errors.Is(err, a.want) {
				t.Fatalf("ProcessIfLatest: %v, want %v", err, a.want)
			}
			if after := e.snapshot(tenant); after != before {
				t.Fatalf("a refused write changed the tenant")
			}
		})
	}
	// Rebuilt on what the first writer stored, the second change goes in.
	b, err = dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: ra.Record, Data: []byte("w1+a+b")})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := e.node.ProcessIfLatest(e.ctx, tenant, b, ra.Record.Latest.CID()); err != nil || string(r.Record.Data) != "w1+a+b" {
		t.Fatalf("write rebuilt on the latest version: %v", err)
	}
}

// Writers racing from one read: exactly one wins, whatever the timing.
func TestProcessIfLatestRace(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	base := e.write(e.alice, tenant, note("base"))
	const n = 8
	msgs := make([]*dwn.Message, n)
	for i := range msgs {
		m, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: base, Data: []byte{'a' + byte(i)}})
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for _, m := range msgs {
		wg.Go(func() {
			_, err := e.node.ProcessIfLatest(e.ctx, tenant, m, base.Latest.CID())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, dwn.ErrConflict):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d writes from one read went in, want 1", wins)
	}
}

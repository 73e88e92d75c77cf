package dwn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/web5test"
)

func TestNewRejectsBadOptions(t *testing.T) {
	net := web5test.NewNetwork(t)
	r := net.Resolver(t)
	if _, err := dwn.New(nil); !errors.Is(err, dwn.ErrInvalidOption) {
		t.Fatalf("nil resolver: %v", err)
	}
	var nilStore *dwn.MemoryStore
	for _, c := range []struct {
		option string
		o      dwn.Option
	}{
		{"WithStore", dwn.WithStore(nil)}, {"WithStore", dwn.WithStore(nilStore)}, {"WithBus", dwn.WithBus(nil)},
		{"WithClock", dwn.WithClock(nil)}, {"WithLogger", dwn.WithLogger(nil)},
		{"WithMaxDataSize", dwn.WithMaxDataSize(0)}, {"WithMaxDataSize", dwn.WithMaxDataSize(dwn.MaxMessageSize)},
		{"WithMaxMessageAge", dwn.WithMaxMessageAge(0)}, {"WithMaxClockSkew", dwn.WithMaxClockSkew(-time.Second)},
		{"WithPublishTimeout", dwn.WithPublishTimeout(0)}, {"WithTenantGate", dwn.WithTenantGate(nil)}, {"Option", nil},
	} {
		n, err := dwn.New(r, c.o)
		var oe *dwn.OptionError
		if n != nil || !errors.As(err, &oe) || !errors.Is(err, dwn.ErrInvalidOption) || oe.Option != c.option {
			t.Errorf("%s: %v", c.option, err)
		}
	}
	n, err := dwn.New(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	alice := web5test.Alice(t)
	m, _ := dwn.NewQuery(context.Background(), alice, alice.String(), dwn.Query{})
	if _, err := n.Process(context.Background(), alice.String(), m); !errors.Is(err, dwn.ErrClosed) {
		t.Fatalf("Process after Close: %v", err)
	}
}

func TestProcessChecksArguments(t *testing.T) {
	e := newEnv(t)
	m, err := dwn.NewQuery(e.ctx, e.alice, e.alice.String(), dwn.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.node.Process(e.ctx, "alice", m); !errors.Is(err, dwn.ErrInvalidMessage) {
		t.Fatalf("tenant not a DID: %v", err)
	}
	if _, err := e.node.Process(e.ctx, e.alice.String(), nil); !errors.Is(err, dwn.ErrInvalidMessage) {
		t.Fatalf("nil message: %v", err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.node.Process(ctx, e.alice.String(), m); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := dwn.NewWrite(e.ctx, e.alice, "not a DID", note("x")); !errors.Is(err, dwn.ErrInvalidMessage) {
		t.Fatalf("NewWrite for a bad tenant: %v", err)
	}
	if _, err := dwn.NewWrite(e.ctx, nil, e.alice.String(), note("x")); !errors.Is(err, dwn.ErrInvalidMessage) {
		t.Fatalf("NewWrite without author: %v", err)
	}
}

func TestLargeData(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	data := make([]byte, 700<<10) // three UnixFS chunks: a dag-pb data CID
	for i := range data {
		data[i] = byte(i * 7)
	}
	r := e.write(e.alice, tenant, dwn.Write{DataFormat: "application/octet-stream", Data: data})
	if r.DataCID[:4] != "bafy" {
		t.Fatalf("data CID %s is not dag-pb", r.DataCID)
	}
	m, err := dwn.NewRead(e.ctx, e.alice, tenant, r.ID)
	if got := e.ok(tenant, m, err).Record; !bytes.Equal(got.Data, data) {
		t.Fatal("large data changed")
	}
	// Queries leave large data out.
	q, err := dwn.NewQuery(e.ctx, e.alice, tenant, dwn.Query{})
	if rs := e.ok(tenant, q, err).Records; len(rs) != 1 || rs[0].Data != nil || rs[0].DataSize != int64(len(data)) {
		t.Fatalf("query of large data: %+v", rs)
	}
	small := newEnv(t, dwn.WithMaxDataSize(1000))
	m, err = dwn.NewWrite(small.ctx, small.alice, tenant, dwn.Write{DataFormat: "application/octet-stream", Data: make([]byte, 1001)})
	small.refused(tenant, m, err, dwn.ErrInvalidMessage)
}

// TestConcurrentUpdates races many updates of one record version: exactly one wins, the
// rest conflict, and the record holds the winner.
func TestConcurrentUpdates(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	r := e.write(e.alice, tenant, note("v1"))
	const n = 12
	msgs := make([]*dwn.Message, n)
	for i := range msgs {
		m, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: r, Data: []byte{byte('a' + i)}},
			dwn.WithTimestamp(time.Now().Add(time.Duration(i)*time.Microsecond)))
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, m := range msgs {
		wg.Go(func() { _, errs[i] = e.node.Process(e.ctx, tenant, m) })
	}
	wg.Wait()
	// Newer updates may land after older ones; older ones after newer ones conflict. The
	// newest always wins.
	for i, err := range errs {
		if err != nil && !errors.Is(err, dwn.ErrConflict) {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	if errs[n-1] != nil {
		t.Fatalf("the newest update lost: %v", errs[n-1])
	}
	m, err := dwn.NewRead(e.ctx, e.alice, tenant, r.ID)
	if got := e.ok(tenant, m, err).Record; got.Latest.CID() != msgs[n-1].CID() || string(got.Data) != string(rune('a'+n-1)) {
		t.Fatalf("record holds %q", got.Data)
	}
	// Several owners writing at once into their own tenants: each sees only its own.
	owners := []*did.BearerDID{e.alice, e.bob, e.carol}
	for _, o := range owners {
		for range 5 {
			wg.Go(func() {
				m, err := dwn.NewWrite(e.ctx, o, o.String(), note(o.String()))
				if err == nil {
					_, err = e.node.Process(e.ctx, o.String(), m)
				}
				if err != nil {
					t.Errorf("%s: %v", o, err)
				}
			})
		}
	}
	wg.Wait()
	for _, o := range owners {
		q, err := dwn.NewQuery(e.ctx, o, o.String(), dwn.Query{Filter: dwn.Filter{Author: o.String()}})
		rs := e.ok(o.String(), q, err).Records
		want := 5
		if o == e.alice {
			want = 6
		}
		if len(rs) != want {
			t.Fatalf("%s holds %d of its records, want %d", o, len(rs), want)
		}
		for _, r := range rs {
			if r.Author != o.String() {
				t.Fatalf("%s holds a record of %s", o, r.Author)
			}
		}
	}
}

// TestSQLiteReopen shows records and protocols survive closing and reopening the file.
func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dwn.db")
	net := web5test.NewNetwork(t)
	alice := web5test.Alice(t)
	tenant := alice.String()
	open := func() (*dwn.Node, dwn.Store) {
		s, err := dwn.OpenSQLiteStore(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		n, err := dwn.New(net.Resolver(t), dwn.WithStore(s))
		if err != nil {
			t.Fatal(err)
		}
		return n, s
	}
	n, s := open()
	w, _ := dwn.NewWrite(ctx, alice, tenant, note("kept"))
	if _, err := n.Process(ctx, tenant, w); err != nil {
		t.Fatal(err)
	}
	p, _ := dwn.ParseProtocol([]byte(vaultProtocol))
	pm, _ := dwn.NewProtocolsConfigure(ctx, alice, tenant, p)
	if _, err := n.Process(ctx, tenant, pm); err != nil {
		t.Fatal(err)
	}
	_ = n.Close()
	_ = s.Close()

	n, s = open()
	defer s.Close()
	defer n.Close()
	r, _ := dwn.NewRead(ctx, alice, tenant, w.RecordID())
	got, err := n.Process(ctx, tenant, r)
	if err != nil || string(got.Record.Data) != "kept" {
		t.Fatalf("after reopening: %v", err)
	}
	if _, err := n.Process(ctx, tenant, w); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("replay after reopening: %v", err)
	}
	q, _ := dwn.NewProtocolsQuery(ctx, alice, tenant, "")
	if got, err := n.Process(ctx, tenant, q); err != nil || len(got.Protocols) != 1 {
		t.Fatalf("protocols after reopening: %v", err)
	}
}

func TestTenantGate(t *testing.T) {
	e := newEnv(t)
	gate := newEnv(t, dwn.WithTenantGate(func(_ context.Context, tenant string) bool { return tenant == e.alice.String() }))
	m, err := dwn.NewWrite(gate.ctx, gate.alice, gate.alice.String(), note("served"))
	gate.ok(gate.alice.String(), m, err)
	m, err = dwn.NewWrite(gate.ctx, gate.bob, gate.bob.String(), note("not served"))
	gate.refused(gate.bob.String(), m, err, dwn.ErrForbidden)
}

func TestDataLessUpdateMustMatch(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	r := e.write(e.alice, tenant, note("abc"))
	// Claim the same data CID with another size, without sending data.
	u, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: r, Data: []byte("abcd")})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(u)
	var wire map[string]any
	_ = json.Unmarshal(raw, &wire)
	delete(wire, "encodedData")
	raw, _ = json.Marshal(wire)
	u, err = dwn.ParseMessage(raw)
	e.refused(tenant, u, err, dwn.ErrInvalidMessage)
}

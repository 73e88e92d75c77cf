package dwn_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/web5test"
)

// accessWorld is two nodes serving the same tenants from shared storage — one memory store, or
// two SQLite stores on one file (two processes) — with a clock the test moves.
type accessWorld struct {
	t                  *testing.T
	ctx                context.Context
	nodes              [2]*dwn.Node
	alice, bob, issuer *did.BearerDID
	tenant             string
	base               time.Time
	offset             atomic.Int64 // nanoseconds added to base
	seq                atomic.Int64 // microseconds added to each message, so that each is newer
}

type accessStore struct {
	name string
	open func(t *testing.T) [2]dwn.Store
}

var accessStores = []accessStore{
	{"memory", func(t *testing.T) [2]dwn.Store {
		s := dwn.NewMemoryStore()
		return [2]dwn.Store{s, s}
	}},
	{"sqlite", func(t *testing.T) [2]dwn.Store {
		path := filepath.Join(t.TempDir(), "dwn.db")
		var out [2]dwn.Store
		for i := range out {
			s, err := dwn.OpenSQLiteStore(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			out[i] = s
		}
		return out
	}},
}

func newAccessWorld(t *testing.T, st accessStore) *accessWorld {
	t.Helper()
	net := web5test.NewNetwork(t)
	w := &accessWorld{t: t, ctx: context.Background(), alice: web5test.Alice(t), bob: web5test.Bob(t), issuer: web5test.Issuer(t),
		base: time.Now().Truncate(time.Second)}
	w.tenant = w.alice.String()
	stores := st.open(t)
	for i := range w.nodes {
		n, err := dwn.New(net.Resolver(t), dwn.WithStore(stores[i]), dwn.WithClock(w.now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Close() })
		w.nodes[i] = n
	}
	return w
}

func (w *accessWorld) now() time.Time { return w.base.Add(time.Duration(w.offset.Load())) }

// ts dates a message now, a microsecond after the previous one.
func (w *accessWorld) ts() dwn.MessageOption {
	return dwn.WithTimestamp(w.now().Add(time.Duration(w.seq.Add(1)) * time.Microsecond))
}

func (w *accessWorld) process(node int, tenant string, m *dwn.Message, err error) (*dwn.Reply, error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("building the message: %v", err)
	}
	return w.nodes[node].Process(w.ctx, tenant, m)
}

func (w *accessWorld) ok(node int, tenant string, m *dwn.Message, err error) *dwn.Reply {
	w.t.Helper()
	r, err := w.process(node, tenant, m, err)
	if err != nil {
		w.t.Fatalf("node %d: %v", node, err)
	}
	return r
}

func (w *accessWorld) refused(node int, tenant string, m *dwn.Message, err error, want error) {
	w.t.Helper()
	if _, err := w.process(node, tenant, m, err); !errors.Is(err, want) {
		w.t.Fatalf("node %d: %v, want %v", node, err, want)
	}
}

// install configures a protocol in tenant through node, signed by the tenant's owner.
func (w *accessWorld) install(node int, owner *did.BearerDID, def string) {
	w.t.Helper()
	p, err := dwn.ParseProtocol([]byte(def))
	if err != nil {
		w.t.Fatal(err)
	}
	m, err := dwn.NewProtocolsConfigure(w.ctx, owner, owner.String(), p, w.ts())
	w.ok(node, owner.String(), m, err)
}

// grant gives Bob a grant in Alice's tenant through node.
func (w *accessWorld) grant(node int, method string, expires time.Time) *dwn.Record {
	w.t.Helper()
	m, err := dwn.NewGrant(w.ctx, w.alice, dwn.Grant{Grantee: w.bob.String(), Expires: expires,
		Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: method, Protocol: "https://example.com/vault"}}, w.ts())
	return w.ok(node, w.tenant, m, err).Record
}

// bobWrites is Bob's write of a vault item in tenant under grant.
func (w *accessWorld) bobWrites(tenant, grant, format string) (*dwn.Message, error) {
	return dwn.NewWrite(w.ctx, w.bob, tenant, dwn.Write{Protocol: "https://example.com/vault", ProtocolPath: "item",
		DataFormat: format, Data: []byte("x")}, dwn.WithPermissionGrant(grant), w.ts())
}

const vaultJSON = `{"protocol": "https://example.com/vault", "published": false,
	"types": {"item": {"dataFormats": ["text/plain"]}}, "structure": {"item": {}}}`

// TestAccessCache: a node caches the protocol definitions and grants of a tenant while the
// store's access version of the tenant stays the same. Each row warms the cache of node 0 (it
// uses a grant or a protocol successfully, or has one refused), changes what it cached through
// a node — node 0 itself, or node 1 on the same storage (another node, or for SQLite another
// process on the same file) — and checks that node 0's next decision is the store's, not the
// cache's. Every invalidation path is a row; so is every attack on the cache.
func TestAccessCache(t *testing.T) {
	day := func(w *accessWorld) time.Time { return w.now().Add(24 * time.Hour) }
	rows := []struct {
		name string
		run  func(w *accessWorld, writer int)
	}{
		{"attack: a revoked grant is never served from the cache", func(w *accessWorld, writer int) {
			g := w.grant(0, dwn.MethodWrite, day(w))
			m, err := w.bobWrites(w.tenant, g.ID, "text/plain")
			w.ok(0, w.tenant, m, err)
			rev, err := dwn.NewRevocation(w.ctx, w.alice, g, w.ts())
			w.ok(writer, w.tenant, rev, err)
			m, err = w.bobWrites(w.tenant, g.ID, "text/plain")
			w.refused(0, w.tenant, m, err, dwn.ErrGrantRevoked)
		}},
		{"attack: a deleted grant is never served from the cache", func(w *accessWorld, writer int) {
			g := w.grant(0, dwn.MethodWrite, day(w))
			m, err := w.bobWrites(w.tenant, g.ID, "text/plain")
			w.ok(0, w.tenant, m, err)
			del, err := dwn.NewDelete(w.ctx, w.alice, w.tenant, g.ID, w.ts())
			w.ok(writer, w.tenant, del, err)
			m, err = w.bobWrites(w.tenant, g.ID, "text/plain")
			w.refused(0, w.tenant, m, err, dwn.ErrGrantRevoked)
		}},
		{"attack: a grant narrowed by an update is not used at its old scope", func(w *accessWorld, writer int) {
			g := w.grant(0, dwn.MethodWrite, day(w))
			m, err := w.bobWrites(w.tenant, g.ID, "text/plain")
			w.ok(0, w.tenant, m, err)
			data, _ := json.Marshal(map[string]any{"dateExpires": dwn.Timestamp(day(w)),
				"scope": map[string]string{"interface": dwn.InterfaceRecords, "method": dwn.MethodRead, "protocol": "https://example.com/vault"}})
			up, err := dwn.NewWrite(w.ctx, w.alice, w.tenant, dwn.Write{Update: g, Data: data}, w.ts())
			w.ok(writer, w.tenant, up, err)
			m, err = w.bobWrites(w.tenant, g.ID, "text/plain")
			w.refused(0, w.tenant, m, err, dwn.ErrForbidden)
		}},
		{"attack: an expired grant is refused though cached", func(w *accessWorld, _ int) {
			g := w.grant(0, dwn.MethodWrite, w.now().Add(time.Hour))
			m, err := w.bobWrites(w.tenant, g.ID, "text/plain")
			w.ok(0, w.tenant, m, err)
			w.offset.Add(int64(2 * time.Hour)) // nothing written: only time moved
			m, err = w.bobWrites(w.tenant, g.ID, "text/plain")
			w.refused(0, w.tenant, m, err, dwn.ErrGrantExpired)
		}},
		{"attack: a protocol cached for one tenant is not installed in another", func(w *accessWorld, writer int) {
			const open = `{"protocol": "https://example.com/guestbook", "published": true,
				"types": {"entry": {"dataFormats": ["text/plain"]}},
				"structure": {"entry": {"$actions": [{"who": "anyone", "can": ["create"]}]}}}`
			w.install(writer, w.alice, open)
			entry := dwn.Write{Protocol: "https://example.com/guestbook", ProtocolPath: "entry", DataFormat: "text/plain", Data: []byte("hi")}
			m, err := dwn.NewWrite(w.ctx, w.issuer, w.tenant, entry, w.ts())
			w.ok(0, w.tenant, m, err)
			// Bob's tenant gets to Alice's access version (two protocols installed), so that only
			// the tenant tells the two apart. The guestbook is not installed there: no rule lets
			// the issuer write.
			w.install(writer, w.bob, vaultJSON)
			w.install(writer, w.bob, strings.Replace(vaultJSON, "vault", "other", 1))
			m, err = dwn.NewWrite(w.ctx, w.issuer, w.bob.String(), entry, w.ts())
			w.refused(0, w.bob.String(), m, err, dwn.ErrForbidden)
			// Bob installs it with types of his own: his definition, not Alice's, decides.
			w.install(writer, w.bob, `{"protocol": "https://example.com/guestbook", "published": true,
				"types": {"entry": {"dataFormats": ["application/json"]}},
				"structure": {"entry": {"$actions": [{"who": "anyone", "can": ["create"]}]}}}`)
			m, err = dwn.NewWrite(w.ctx, w.issuer, w.bob.String(), entry, w.ts())
			w.refused(0, w.bob.String(), m, err, dwn.ErrInvalidMessage)
			m, err = dwn.NewWrite(w.ctx, w.issuer, w.tenant, entry, w.ts())
			w.ok(0, w.tenant, m, err)
		}},
		{"attack: a grant cached in one tenant means nothing in another", func(w *accessWorld, writer int) {
			g := w.grant(writer, dwn.MethodWrite, day(w))
			m, err := w.bobWrites(w.tenant, g.ID, "text/plain")
			w.ok(0, w.tenant, m, err)
			// The issuer's tenant at Alice's access version (two writes), so that only the tenant
			// tells the two apart.
			w.install(writer, w.issuer, vaultJSON)
			w.install(writer, w.issuer, strings.Replace(vaultJSON, "vault", "other", 1))
			m, err = w.bobWrites(w.issuer.String(), g.ID, "text/plain")
			w.refused(0, w.issuer.String(), m, err, dwn.ErrNotFound)
		}},
		{"a revocation deleted gives the grant back", func(w *accessWorld, writer int) {
			g := w.grant(0, dwn.MethodWrite, day(w))
			rev, err := dwn.NewRevocation(w.ctx, w.alice, g, w.ts())
			r := w.ok(0, w.tenant, rev, err).Record
			m, err := w.bobWrites(w.tenant, g.ID, "text/plain")
			w.refused(0, w.tenant, m, err, dwn.ErrGrantRevoked)
			del, err := dwn.NewDelete(w.ctx, w.alice, w.tenant, r.ID, w.ts())
			w.ok(writer, w.tenant, del, err)
			m, err = w.bobWrites(w.tenant, g.ID, "text/plain")
			w.ok(0, w.tenant, m, err)
		}},
		{"a grant written after a refusal is used", func(w *accessWorld, writer int) {
			missing := "bafyreigvfaxuzm4clbrvi7jxnw3l5ao3pycdo5kxhfn7z7rjkmzx2n7viy"
			m, err := w.bobWrites(w.tenant, missing, "text/plain")
			w.refused(0, w.tenant, m, err, dwn.ErrForbidden)
			g := w.grant(writer, dwn.MethodWrite, day(w))
			m, err = w.bobWrites(w.tenant, g.ID, "text/plain")
			w.ok(0, w.tenant, m, err)
		}},
		{"a protocol configured again is checked as configured", func(w *accessWorld, writer int) {
			g := w.grant(0, dwn.MethodWrite, day(w))
			m, err := w.bobWrites(w.tenant, g.ID, "text/plain")
			w.ok(0, w.tenant, m, err)
			w.install(writer, w.alice, `{"protocol": "https://example.com/vault", "published": false,
				"types": {"item": {"dataFormats": ["application/json"]}}, "structure": {"item": {}}}`)
			m, err = w.bobWrites(w.tenant, g.ID, "text/plain")
			w.refused(0, w.tenant, m, err, dwn.ErrInvalidMessage)
			m, err = w.bobWrites(w.tenant, g.ID, "application/json")
			w.ok(0, w.tenant, m, err)
		}},
		{"a protocol installed after a refusal is used", func(w *accessWorld, writer int) {
			m, err := dwn.NewWrite(w.ctx, w.alice, w.tenant, dwn.Write{Protocol: "https://example.com/later", ProtocolPath: "item",
				DataFormat: "text/plain", Data: []byte("x")}, w.ts())
			w.refused(0, w.tenant, m, err, dwn.ErrInvalidMessage)
			w.install(writer, w.alice, `{"protocol": "https://example.com/later", "published": false,
				"types": {"item": {}}, "structure": {"item": {}}}`)
			m, err = dwn.NewWrite(w.ctx, w.alice, w.tenant, dwn.Write{Protocol: "https://example.com/later", ProtocolPath: "item",
				DataFormat: "text/plain", Data: []byte("x")}, w.ts())
			w.ok(0, w.tenant, m, err)
		}},
	}
	for _, st := range accessStores {
		for _, row := range rows {
			for writer, through := range []string{"through the same node", "through another node"} {
				t.Run(st.name+"/"+row.name+"/"+through, func(t *testing.T) {
					w := newAccessWorld(t, st)
					w.install(0, w.alice, vaultJSON)
					row.run(w, writer)
				})
			}
		}
	}
}

// countingStore counts the protocol and record reads of the store it wraps, and the access
// versions asked (versionedCountingStore).
type countingStore struct {
	dwn.Store
	protocols, records  atomic.Int64
	accessVersionsAsked atomic.Int64
}

func (s *countingStore) Protocol(ctx context.Context, tenant, uri string) (*dwn.Message, error) {
	s.protocols.Add(1)
	return s.Store.Protocol(ctx, tenant, uri)
}

func (s *countingStore) Record(ctx context.Context, tenant, id string) (*dwn.Record, error) {
	s.records.Add(1)
	return s.Store.Record(ctx, tenant, id)
}

type versionedCountingStore struct{ *countingStore }

func (s versionedCountingStore) AccessVersion(ctx context.Context, tenant string) (uint64, error) {
	s.accessVersionsAsked.Add(1)
	return s.Store.(dwn.AccessVersioner).AccessVersion(ctx, tenant)
}

// A node reads a tenant's protocol and grant once while the access version stays, and from a
// store that keeps no access versions it reads them for every message.
func TestAccessCacheReads(t *testing.T) {
	for _, versioned := range []bool{true, false} {
		cs := &countingStore{Store: dwn.NewMemoryStore()}
		var store dwn.Store = cs
		if versioned {
			store = versionedCountingStore{cs}
		}
		net := web5test.NewNetwork(t)
		node, err := dwn.New(net.Resolver(t), dwn.WithStore(store))
		if err != nil {
			t.Fatal(err)
		}
		w := &accessWorld{t: t, ctx: context.Background(), nodes: [2]*dwn.Node{node, node}, alice: web5test.Alice(t), bob: web5test.Bob(t),
			base: time.Now().Truncate(time.Second)}
		w.tenant = w.alice.String()
		w.install(0, w.alice, vaultJSON)
		g := w.grant(0, dwn.MethodWrite, w.now().Add(time.Hour))
		const writes = 5
		protocols, records := cs.protocols.Load(), cs.records.Load()
		for range writes {
			m, err := w.bobWrites(w.tenant, g.ID, "text/plain")
			w.ok(0, w.tenant, m, err)
		}
		protocols, records = cs.protocols.Load()-protocols, cs.records.Load()-records
		// Each write reads its own record (is it new?); the grant is one more read.
		if versioned && (protocols != 1 || records != writes+1) {
			t.Errorf("versioned store: %d protocol and %d record reads for %d writes, want 1 and %d", protocols, records, writes, writes+1)
		}
		if !versioned && (protocols != writes || records != 2*writes) {
			t.Errorf("unversioned store: %d protocol and %d record reads for %d writes, want %d and %d", protocols, records, writes, writes, 2*writes)
		}
		if versioned && cs.accessVersionsAsked.Load() == 0 {
			t.Error("the access version was never asked")
		}
		_ = node.Close()
	}
}

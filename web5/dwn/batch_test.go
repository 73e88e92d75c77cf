package dwn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/dwn"
)

// batchEnv is an env with the vault protocol installed in Alice's tenant, a write grant to Bob
// in it, and one record of Alice's to update.
type batchEnv struct {
	*env
	clock  *clock
	tenant string
	grant  *dwn.Record
	own    *dwn.Record
	other  *dwn.Record // another of Alice's records, which the good batch does not write
}

func newBatchEnv(t *testing.T) *batchEnv {
	t.Helper()
	c := &clock{}
	e := newEnv(t, dwn.WithClock(c.now))
	tenant := e.alice.String()
	e.install(tenant, vaultProtocol)
	g := e.grant(dwn.Grant{Grantee: e.bob.String(), Expires: time.Now().Add(time.Hour),
		Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite, Protocol: "https://example.com/vault"}})
	// One write under the grant: the grant and the definition are now in the node's cache.
	e.write(e.bob, tenant, item("cached"), dwn.WithPermissionGrant(g.ID))
	return &batchEnv{env: e, clock: c, tenant: tenant, grant: g, own: e.write(e.alice, tenant, note("v1")),
		other: e.write(e.alice, tenant, note("other v1"))}
}

// good returns a batch of four writes the node accepts: Alice's new note and her update in
// her tenant, Bob's item under his grant there, Carol's note in her own tenant.
func (b *batchEnv) good(t *testing.T) []dwn.Envelope {
	t.Helper()
	build := func(m *dwn.Message, err error) *dwn.Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	return []dwn.Envelope{
		{b.tenant, build(dwn.NewWrite(b.ctx, b.alice, b.tenant, note("new")))},
		{b.tenant, build(dwn.NewWrite(b.ctx, b.bob, b.tenant, item("bob's"), dwn.WithPermissionGrant(b.grant.ID)))},
		{b.carol.String(), build(dwn.NewWrite(b.ctx, b.carol, b.carol.String(), note("carol's")))},
		{b.tenant, build(dwn.NewWrite(b.ctx, b.alice, b.tenant, dwn.Write{Update: b.own, Data: []byte("v2")}))},
	}
}

// A batch is stored whole: every record as Process would store it, replies in order.
func TestProcessManyStoresAll(t *testing.T) {
	b := newBatchEnv(t)
	batch := b.good(t)
	replies, err := b.node.ProcessMany(b.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != len(batch) {
		t.Fatalf("%d replies for %d messages", len(replies), len(batch))
	}
	for i, e := range batch {
		r, err := b.store.Record(b.ctx, e.Tenant, e.Message.RecordID())
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if r.Latest.CID() != e.Message.CID() || replies[i].Record.ID != r.ID || replies[i].Record.Latest.CID() != r.Latest.CID() {
			t.Fatalf("message %d: stored latest %s, reply %s, message %s", i, r.Latest.CID(), replies[i].Record.Latest.CID(), e.Message.CID())
		}
		data, _ := e.Message.Data()
		if string(r.Data) != string(data) {
			t.Fatalf("message %d: stored data %q, want %q", i, r.Data, data)
		}
	}
	if r, _ := b.store.Record(b.ctx, b.tenant, batch[1].Message.RecordID()); r.Author != b.bob.String() {
		t.Fatalf("the grantee's record has author %s", r.Author)
	}
	// The same batch again is a replay, refused at its first message.
	if _, err := b.node.ProcessMany(b.ctx, batch); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("the batch again: %v, want ErrConflict", err)
	}
}

// One refused message refuses the batch: the error names it and unwraps to Process's refusal,
// and no tenant changes.
func TestProcessManyAttacks(t *testing.T) {
	const at = 0 // where the attack is put in the good batch (the first refusal is the one reported)
	cases := []struct {
		name  string
		build func(t *testing.T, b *batchEnv) (dwn.Envelope, error) // the message at index at
		want  error
	}{
		{"signature of another message", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.alice, b.tenant, note("tampered"))
			if err != nil {
				return dwn.Envelope{}, err
			}
			other, err := dwn.NewWrite(b.ctx, b.alice, b.tenant, note("other"))
			if err != nil {
				return dwn.Envelope{}, err
			}
			w, o := wireOf(t, m), wireOf(t, other)
			sig := o["authorization"].(map[string]any)["signature"].(map[string]any)
			ws := w["authorization"].(map[string]any)["signature"].(map[string]any)
			raw := withAuth(t, w, ws["signatures"].([]any)[0].(map[string]any)["protected"].(string), ws["payload"].(string),
				sig["signatures"].([]any)[0].(map[string]any)["signature"].(string))
			pm, err := dwn.ParseMessage(raw)
			return dwn.Envelope{Tenant: b.tenant, Message: pm}, err
		}, dwn.ErrUnauthenticated},
		{"payload tampered after signing", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.alice, b.tenant, note("tampered"))
			if err != nil {
				return dwn.Envelope{}, err
			}
			w := wireOf(t, m)
			ws := w["authorization"].(map[string]any)["signature"].(map[string]any)
			var p map[string]any
			if err := json.Unmarshal(signaturePayload(t, w), &p); err != nil {
				return dwn.Envelope{}, err
			}
			p["tenant"] = b.carol.String()
			pb, _ := json.Marshal(p)
			s0 := ws["signatures"].([]any)[0].(map[string]any)
			pm, err := dwn.ParseMessage(withAuth(t, w, s0["protected"].(string), rawB64.EncodeToString(pb), s0["signature"].(string)))
			return dwn.Envelope{Tenant: b.carol.String(), Message: pm}, err
		}, dwn.ErrUnauthenticated},
		{"signed for another tenant", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.alice, b.carol.String(), note("elsewhere"))
			return dwn.Envelope{Tenant: b.tenant, Message: m}, err
		}, dwn.ErrForbidden},
		{"stranger without a grant", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.mallory, b.tenant, item("mallory's"))
			return dwn.Envelope{Tenant: b.tenant, Message: m}, err
		}, dwn.ErrForbidden},
		{"another grantee's grant", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.mallory, b.tenant, item("mallory's"), dwn.WithPermissionGrant(b.grant.ID))
			return dwn.Envelope{Tenant: b.tenant, Message: m}, err
		}, dwn.ErrForbidden},
		{"stale grant after revocation", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.bob, b.tenant, item("after"), dwn.WithPermissionGrant(b.grant.ID))
			if err != nil {
				return dwn.Envelope{}, err
			}
			rev, err := dwn.NewRevocation(b.ctx, b.alice, b.grant)
			b.ok(b.tenant, rev, err)
			return dwn.Envelope{Tenant: b.tenant, Message: m}, nil
		}, dwn.ErrGrantRevoked},
		{"expired grant", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.bob, b.tenant, item("late"), dwn.WithPermissionGrant(b.grant.ID))
			b.clock.mu.Lock()
			b.clock.offset = 2 * time.Hour
			b.clock.mu.Unlock()
			return dwn.Envelope{Tenant: b.tenant, Message: m}, err
		}, dwn.ErrGrantExpired},
		{"grant of another tenant", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			g, err := dwn.NewGrant(b.ctx, b.carol, dwn.Grant{Grantee: b.bob.String(), Expires: time.Now().Add(time.Hour),
				Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite, Protocol: "https://example.com/vault"}})
			carols := b.ok(b.carol.String(), g, err).Record
			m, err := dwn.NewWrite(b.ctx, b.bob, b.tenant, item("bob's"), dwn.WithPermissionGrant(carols.ID))
			return dwn.Envelope{Tenant: b.tenant, Message: m}, err
		}, dwn.ErrForbidden},
		{"protocol changed", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.bob, b.tenant, item("text"), dwn.WithPermissionGrant(b.grant.ID))
			b.install(b.tenant, `{"protocol": "https://example.com/vault", "published": false,
				"types": {"item": {"dataFormats": ["application/json"]}}, "structure": {"item": {}}}`)
			return dwn.Envelope{Tenant: b.tenant, Message: m}, err
		}, dwn.ErrInvalidMessage},
		{"replay of a stored write", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			return dwn.Envelope{Tenant: b.tenant, Message: b.other.Latest}, nil
		}, dwn.ErrConflict},
		{"update not newer than the record", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.alice, b.tenant, dwn.Write{Update: b.other, Data: []byte("old")})
			if err != nil {
				return dwn.Envelope{}, err
			}
			b.write(b.alice, b.tenant, dwn.Write{Update: b.other, Data: []byte("newer")}, dwn.WithTimestamp(time.Now().Add(time.Second)))
			return dwn.Envelope{Tenant: b.tenant, Message: m}, nil
		}, dwn.ErrConflict},
		{"dated in the future", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.alice, b.tenant, note("future"), dwn.WithTimestamp(time.Now().Add(time.Hour)))
			return dwn.Envelope{Tenant: b.tenant, Message: m}, err
		}, dwn.ErrInvalidMessage},
		{"the same record twice", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			return dwn.Envelope{}, nil // filled in below: a copy of message 0
		}, dwn.ErrInvalidMessage},
		{"a read", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewRead(b.ctx, b.alice, b.tenant, b.own.ID)
			return dwn.Envelope{Tenant: b.tenant, Message: m}, err
		}, dwn.ErrInvalidMessage},
		{"a grant", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewGrant(b.ctx, b.alice, dwn.Grant{Grantee: b.mallory.String(), Expires: time.Now().Add(time.Hour),
				Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite}})
			return dwn.Envelope{Tenant: b.tenant, Message: m}, err
		}, dwn.ErrInvalidMessage},
		{"nil message", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			return dwn.Envelope{Tenant: b.tenant}, nil
		}, dwn.ErrInvalidMessage},
		{"tenant not a DID", func(t *testing.T, b *batchEnv) (dwn.Envelope, error) {
			m, err := dwn.NewWrite(b.ctx, b.alice, b.tenant, note("x"))
			return dwn.Envelope{Tenant: "alice", Message: m}, err
		}, dwn.ErrInvalidMessage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBatchEnv(t)
			batch := b.good(t)
			bad, err := c.build(t, b)
			if err != nil {
				t.Fatal(err)
			}
			if c.name == "the same record twice" {
				bad = batch[3] // reported where it is written the second time
			}
			batch = append(batch[:at:at], append([]dwn.Envelope{bad}, batch[at:]...)...)
			before := b.snapshot(b.tenant) + b.snapshot(b.carol.String())
			_, err = b.node.ProcessMany(b.ctx, batch)
			index := at
			if c.name == "the same record twice" {
				index = 4
			}
			var be *dwn.BatchError
			if !errors.As(err, &be) || be.Index != index || !errors.Is(err, c.want) {
				t.Fatalf("ProcessMany: %v; want a *BatchError at %d matching %v", err, index, c.want)
			}
			if after := b.snapshot(b.tenant) + b.snapshot(b.carol.String()); after != before {
				t.Fatalf("a refused batch changed a tenant:\nbefore %s\nafter  %s", before, after)
			}
			// Without the refused message, the batch is stored (the refusal was the message's).
			// Without the refused message the batch is stored, unless what refused it refuses
			// Bob's write in the good batch too (his grant revoked or expired, the protocol's
			// data formats changed).
			switch c.name {
			case "stale grant after revocation", "expired grant", "protocol changed":
				if _, err := b.node.ProcessMany(b.ctx, batch[1:]); !errors.Is(err, c.want) {
					t.Fatalf("the batch without it: %v; want %v", err, c.want)
				}
			default:
				if _, err := b.node.ProcessMany(b.ctx, batch[1:]); err != nil {
					t.Fatalf("the batch without it: %v", err)
				}
			}
		})
	}
}

// A child and its parent in one batch: the child's check does not see the parent the batch
// writes, so the batch is refused (write the parent first).
func TestProcessManyParentInTheBatch(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	e.install(tenant, `{"protocol": "https://example.com/chat", "published": true,
		"types": {"thread": {}, "message": {}}, "structure": {"thread": {"message": {}}}}`)
	thread, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Protocol: "https://example.com/chat", ProtocolPath: "thread",
		DataFormat: "text/plain", Data: []byte("t")})
	if err != nil {
		t.Fatal(err)
	}
	parent := &dwn.Record{ID: thread.RecordID(), ContextID: thread.ContextID()}
	msg, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Protocol: "https://example.com/chat", ProtocolPath: "thread/message",
		DataFormat: "text/plain", Data: []byte("m"), Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.node.ProcessMany(e.ctx, []dwn.Envelope{{tenant, thread}, {tenant, msg}})
	var be *dwn.BatchError
	if !errors.As(err, &be) || be.Index != 1 || !errors.Is(err, dwn.ErrInvalidMessage) {
		t.Fatalf("ProcessMany: %v; want a *BatchError at 1", err)
	}
	if _, err := e.store.Record(e.ctx, tenant, thread.RecordID()); !errors.Is(err, dwn.ErrNotFound) {
		t.Fatalf("the parent of a refused batch was stored: %v", err)
	}
	if _, err := e.node.ProcessMany(e.ctx, []dwn.Envelope{{tenant, thread}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.node.ProcessMany(e.ctx, []dwn.Envelope{{tenant, msg}}); err != nil {
		t.Fatal(err)
	}
}

// A cancelled batch returns the context's error, not a refusal, and writes nothing; a node
// whose store cannot write a batch atomically refuses every batch; an empty batch does nothing.
func TestProcessManyEdges(t *testing.T) {
	b := newBatchEnv(t)
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()
	before := b.snapshot(b.tenant)
	if _, err := b.node.ProcessMany(ctx, b.good(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	} else if errors.As(err, new(*dwn.BatchError)) {
		t.Fatalf("cancelled batch reported as a refusal: %v", err)
	}
	if after := b.snapshot(b.tenant); after != before {
		t.Fatal("a cancelled batch changed the tenant")
	}
	if r, err := b.node.ProcessMany(b.ctx, nil); r != nil || err != nil {
		t.Fatalf("empty batch: %v %v", r, err)
	}
	n, err := dwn.New(b.net.Resolver(t), dwn.WithStore(plainStore{dwn.NewMemoryStore()}))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.ProcessMany(b.ctx, b.good(t)); !errors.Is(err, dwn.ErrBatchUnsupported) {
		t.Fatalf("store without batches: %v", err)
	}
	var zero dwn.Node
	if _, err := zero.ProcessMany(b.ctx, b.good(t)); !errors.Is(err, dwn.ErrNotConstructed) {
		t.Fatalf("zero node: %v", err)
	}
}

// PutRecords on both embedded stores: a batch whose third put's compare fails stores nothing
// and names that put; puts of one record in turn within a batch compare against each other.
func TestPutRecordsAllOrNothing(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) dwn.RecordBatcher{
		"sqlite": func(t *testing.T) dwn.RecordBatcher { return newEnv(t).store.(*dwn.SQLiteStore) },
		"memory": func(t *testing.T) dwn.RecordBatcher { return dwn.NewMemoryStore() },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			s := open(t)
			tenant := e.alice.String()
			t0 := time.Now().Add(-time.Minute)
			recs := make([]*dwn.Record, 4)
			for i := range recs {
				recs[i] = signedRecord(t, e.alice, tenant, fmt.Sprint("r", i), t0.Add(time.Duration(i)*time.Millisecond))
			}
			if err := s.PutRecord(ctx, tenant, recs[3], ""); err != nil {
				t.Fatal(err)
			}
			puts := []dwn.RecordPut{{tenant, recs[0], ""}, {tenant, recs[1], ""}, {tenant, recs[3], ""}, {tenant, recs[2], ""}}
			err := s.PutRecords(ctx, puts)
			var be *dwn.BatchError
			if !errors.As(err, &be) || be.Index != 2 || !errors.Is(err, dwn.ErrConflict) {
				t.Fatalf("PutRecords: %v; want a *BatchError at 2 matching ErrConflict", err)
			}
			for _, r := range recs[:3] {
				if _, err := s.Record(ctx, tenant, r.ID); !errors.Is(err, dwn.ErrNotFound) {
					t.Fatalf("record %s of a refused batch: %v", r.ID, err)
				}
			}
			// A record created and then updated within one batch.
			up, err := dwn.NewWrite(ctx, e.alice, tenant, dwn.Write{Update: recs[0], Data: []byte("r0 v2")})
			if err != nil {
				t.Fatal(err)
			}
			r2 := recs[0].Clone()
			r2.Latest, r2.Data, r2.DateUpdated = up, []byte("r0 v2"), up.Descriptor().MessageTimestamp
			if err := s.PutRecords(ctx, []dwn.RecordPut{{tenant, recs[0], ""}, {tenant, r2, recs[0].Latest.CID()}, {tenant, recs[1], ""}}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Record(ctx, tenant, recs[0].ID)
			if err != nil || string(got.Data) != "r0 v2" || got.Latest.CID() != up.CID() {
				t.Fatalf("record after the batch: %+v, %v", got, err)
			}
			if err := s.PutRecords(ctx, []dwn.RecordPut{{tenant, nil, ""}}); !errors.Is(err, dwn.ErrInvalidMessage) {
				t.Fatalf("nil record: %v", err)
			}
		})
	}
}

// plainStore is a store with only the methods of Store (no batches, no access versions).
type plainStore struct{ dwn.Store }

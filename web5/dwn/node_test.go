package dwn_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/web5test"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a node with the fixed test DIDs: Alice, Bob (did:jwk, secp256k1), Carol (did:dht)
// and Mallory (a did:key nobody trusts).
type env struct {
	t                          *testing.T
	ctx                        context.Context
	node                       *dwn.Node
	store                      dwn.Store
	net                        *web5test.Network
	alice, bob, carol, mallory *did.BearerDID
}

func newEnv(t *testing.T, opts ...dwn.Option) *env {
	t.Helper()
	ctx := context.Background()
	net := web5test.NewNetwork(t)
	carol := web5test.Carol(t)
	net.Publish(t, carol)
	mallory, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.P256)
	if err != nil {
		t.Fatal(err)
	}
	store, err := dwn.OpenSQLiteStore(ctx, filepath.Join(t.TempDir(), "dwn.db"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := dwn.New(net.Resolver(t), append([]dwn.Option{dwn.WithStore(store)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = node.Close()
		_ = store.Close()
	})
	return &env{t: t, ctx: ctx, node: node, store: store, net: net,
		alice: web5test.Alice(t), bob: web5test.Bob(t), carol: carol, mallory: mallory}
}

func (e *env) ok(tenant string, m *dwn.Message, err error) *dwn.Reply {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("building the message: %v", err)
	}
	r, err := e.node.Process(e.ctx, tenant, m)
	if err != nil {
		e.t.Fatalf("Process: %v", err)
	}
	return r
}

// refused checks that the node refuses m with an error matching want, and that the
// tenant's records and protocols did not change.
func (e *env) refused(tenant string, m *dwn.Message, err error, want error) error {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("building the message: %v", err)
	}
	before := e.snapshot(tenant)
	_, err = e.node.Process(e.ctx, tenant, m)
	if !errors.Is(err, want) {
		e.t.Fatalf("Process: %v, want %v", err, want)
	}
	if after := e.snapshot(tenant); after != before {
		e.t.Fatalf("a refused message changed the tenant:\nbefore %s\nafter  %s", before, after)
	}
	return err
}

// snapshot describes everything the tenant holds.
func (e *env) snapshot(tenant string) string {
	e.t.Helper()
	rs, err := e.store.Query(e.ctx, tenant, dwn.StoreQuery{Sort: dwn.CreatedAscending, Limit: 10000})
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s=%s/%x ", r.ID, r.Latest.CID(), r.Data)
	}
	ps, err := e.store.Protocols(e.ctx, tenant)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range ps {
		b.WriteString(p.CID() + " ")
	}
	return b.String()
}

func (e *env) write(author *did.BearerDID, tenant string, w dwn.Write, opts ...dwn.MessageOption) *dwn.Record {
	e.t.Helper()
	m, err := dwn.NewWrite(e.ctx, author, tenant, w, opts...)
	return e.ok(tenant, m, err).Record
}

func (e *env) install(tenant string, def string) {
	e.t.Helper()
	p, err := dwn.ParseProtocol([]byte(def))
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := dwn.NewProtocolsConfigure(e.ctx, e.alice, tenant, p)
	e.ok(tenant, m, err)
}

func (e *env) queryIDs(author *did.BearerDID, tenant string, q dwn.Query, opts ...dwn.MessageOption) []string {
	e.t.Helper()
	m, err := dwn.NewQuery(e.ctx, author, tenant, q, opts...)
	r := e.ok(tenant, m, err)
	out := make([]string, len(r.Records))
	for i, rec := range r.Records {
		out[i] = rec.ID
	}
	return out
}

func note(text string) dwn.Write {
	return dwn.Write{Schema: "https://example.com/note", DataFormat: "text/plain", Data: []byte(text)}
}

func TestOwnerLifecycle(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	r := e.write(e.alice, tenant, note("v1"))
	if r.Author != tenant || r.ContextID != "" || string(r.Data) != "v1" || r.DateCreated != r.DateUpdated {
		t.Fatalf("written record: %+v", r)
	}
	up := e.write(e.alice, tenant, dwn.Write{Update: r, Data: []byte("v2"), Published: true})
	if up.ID != r.ID || up.DateCreated != r.DateCreated || up.DateUpdated <= r.DateUpdated || !up.Published {
		t.Fatalf("updated record: %+v", up)
	}
	read, err := dwn.NewRead(e.ctx, e.alice, tenant, r.ID)
	got := e.ok(tenant, read, err).Record
	if string(got.Data) != "v2" || got.Initial.CID() == got.Latest.CID() {
		t.Fatalf("read after update: %+v", got)
	}
	// An update that keeps the data may leave it out.
	meta, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: up, Data: []byte("v2")})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(meta)
	var wire map[string]any
	_ = json.Unmarshal(j, &wire)
	delete(wire, "encodedData")
	j, _ = json.Marshal(wire)
	meta, err = dwn.ParseMessage(j)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.ok(tenant, meta, nil).Record; string(r.Data) != "v2" || r.Published {
		t.Fatalf("metadata-only update: %+v", r)
	}
	del, err := dwn.NewDelete(e.ctx, e.alice, tenant, r.ID)
	if tomb := e.ok(tenant, del, err).Record; !tomb.Deleted {
		t.Fatalf("delete reply: %+v", tomb)
	}
	read, err = dwn.NewRead(e.ctx, e.alice, tenant, r.ID)
	e.refused(tenant, read, err, dwn.ErrNotFound)
	if ids := e.queryIDs(e.alice, tenant, dwn.Query{}); len(ids) != 0 {
		t.Fatalf("query after delete: %v", ids)
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.alice.String(), e.bob.String()
	secret := e.write(e.alice, alice, note("alice's secret"))
	public := e.write(e.alice, alice, dwn.Write{Schema: "https://example.com/note", DataFormat: "text/plain", Data: []byte("hello"), Published: true})
	bobs := e.write(e.bob, bob, note("bob's own"))
	e.install(alice, `{"protocol": "https://example.com/private", "published": false,
		"types": {"doc": {}}, "structure": {"doc": {}}}`)

	t.Run("read", func(t *testing.T) {
		m, err := dwn.NewRead(e.ctx, e.bob, alice, secret.ID)
		e.refused(alice, m, err, dwn.ErrForbidden)
		// The same record ID does not exist in Bob's own tenant.
		m, err = dwn.NewRead(e.ctx, e.bob, bob, secret.ID)
		e.refused(bob, m, err, dwn.ErrNotFound)
		m, err = dwn.NewRead(e.ctx, e.alice, alice, bobs.ID)
		e.refused(alice, m, err, dwn.ErrNotFound)
		m, err = dwn.NewRead(e.ctx, e.bob, alice, public.ID)
		e.ok(alice, m, err)
	})
	t.Run("query", func(t *testing.T) {
		if ids := e.queryIDs(e.bob, alice, dwn.Query{}); !slices.Equal(ids, []string{public.ID}) {
			t.Fatalf("Bob's query in Alice's tenant: %v, want only the published record", ids)
		}
		if ids := e.queryIDs(e.bob, alice, dwn.Query{Filter: dwn.Filter{RecordID: secret.ID}}); len(ids) != 0 {
			t.Fatalf("Bob's query by record ID: %v", ids)
		}
		if ids := e.queryIDs(e.alice, alice, dwn.Query{}); len(ids) != 2 || slices.Contains(ids, bobs.ID) {
			t.Fatalf("Alice's query of her tenant: %v", ids)
		}
		m, err := dwn.NewProtocolsQuery(e.ctx, e.bob, alice, "")
		if ps := e.ok(alice, m, err).Protocols; len(ps) != 0 {
			t.Fatalf("Bob sees Alice's unpublished protocol")
		}
	})
	t.Run("write", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.bob, alice, note("intrusion"))
		e.refused(alice, m, err, dwn.ErrForbidden)
		m, err = dwn.NewWrite(e.ctx, e.bob, alice, dwn.Write{Protocol: "https://example.com/private", ProtocolPath: "doc", DataFormat: "text/plain", Data: []byte("x")})
		e.refused(alice, m, err, dwn.ErrForbidden)
		// Bob cannot overwrite Alice's record, even with her published one in hand.
		m, err = dwn.NewWrite(e.ctx, e.bob, alice, dwn.Write{Update: public, Data: []byte("defaced")})
		e.refused(alice, m, err, dwn.ErrForbidden)
		p, _ := dwn.ParseProtocol([]byte(`{"protocol": "https://example.com/evil", "published": true, "types": {"x": {}}, "structure": {"x": {"$actions": [{"who": "anyone", "can": ["create"]}]}}}`))
		m, err = dwn.NewProtocolsConfigure(e.ctx, e.bob, alice, p)
		e.refused(alice, m, err, dwn.ErrForbidden)
	})
	t.Run("delete", func(t *testing.T) {
		for _, id := range []string{secret.ID, public.ID} {
			m, err := dwn.NewDelete(e.ctx, e.bob, alice, id)
			e.refused(alice, m, err, dwn.ErrForbidden)
		}
	})
	t.Run("messages are bound to their tenant", func(t *testing.T) {
		// Alice's own message replayed into Bob's tenant.
		m, err := dwn.NewWrite(e.ctx, e.alice, alice, note("for my tenant"))
		e.refused(bob, m, err, dwn.ErrForbidden)
		// Bob's message for his tenant sent to Alice's, where it would be someone else's.
		m, err = dwn.NewDelete(e.ctx, e.bob, bob, bobs.ID)
		e.refused(alice, m, err, dwn.ErrForbidden)
		m, err = dwn.NewQuery(e.ctx, e.bob, bob, dwn.Query{})
		e.refused(alice, m, err, dwn.ErrForbidden)
		// Even the tenant owner's message is refused at another tenant.
		m, err = dwn.NewRead(e.ctx, e.alice, alice, secret.ID)
		e.refused(bob, m, err, dwn.ErrForbidden)
	})
}

// resign replaces a message's authorization with a JWS made by signer with the given kid.
func resign(t *testing.T, m *dwn.Message, signer jose.Signer, kid string, tamper func(payload map[string]any)) *dwn.Message {
	t.Helper()
	ctx := context.Background()
	raw, _ := json.Marshal(m)
	var wire map[string]any
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatal(err)
	}
	sig := wire["authorization"].(map[string]any)["signature"].(map[string]any)
	payloadB, _ := jose.ParseJWS(sig["signatures"].([]any)[0].(map[string]any)["protected"].(string) + "." + sig["payload"].(string) + ".AA")
	var payload map[string]any
	_ = json.Unmarshal(payloadB.Payload, &payload)
	if tamper != nil {
		tamper(payload)
	}
	pb, _ := json.Marshal(payload)
	tok, err := jose.SignJWS(ctx, signer, pb, jose.WithKeyID(kid))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	sig["payload"] = parts[1]
	sig["signatures"] = []any{map[string]any{"protected": parts[0], "signature": parts[2]}}
	raw, _ = json.Marshal(wire)
	out, err := dwn.ParseMessage(raw)
	if err != nil {
		t.Fatalf("re-signed message does not parse: %v", err)
	}
	return out
}

func TestSignatures(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	good, err := dwn.NewWrite(e.ctx, e.alice, tenant, note("x"))
	if err != nil {
		t.Fatal(err)
	}
	aliceSigner, _ := e.alice.Signer(e.ctx)
	mallorySigner, _ := e.mallory.Signer(e.ctx)
	raw, _ := json.Marshal(good)

	t.Run("unsigned", func(t *testing.T) {
		var wire map[string]any
		_ = json.Unmarshal(raw, &wire)
		delete(wire, "authorization")
		b, _ := json.Marshal(wire)
		m, err := dwn.ParseMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		err = e.refused(tenant, m, nil, dwn.ErrUnauthenticated)
		var ae *dwn.AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("%T is not an *AuthError", err)
		}
	})
	t.Run("signature bytes changed", func(t *testing.T) {
		var wire map[string]any
		_ = json.Unmarshal(raw, &wire)
		s := wire["authorization"].(map[string]any)["signature"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
		sig := []byte(s["signature"].(string))
		orig := sig[3]
		sig[3] ^= 1
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", rune(sig[3])) {
			sig[3] = 'A'
			if orig == 'A' { // a byte that must change, whatever the signature was
				sig[3] = 'B'
			}
		}
		s["signature"] = string(sig)
		b, _ := json.Marshal(wire)
		m, err := dwn.ParseMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		e.refused(tenant, m, nil, dwn.ErrUnauthenticated)
	})
	t.Run("Mallory's key under Alice's kid", func(t *testing.T) {
		m := resign(t, good, mallorySigner, aliceSigner.KeyID(), nil)
		e.refused(tenant, m, nil, dwn.ErrUnauthenticated)
	})
	t.Run("Mallory signs Alice's descriptor as herself", func(t *testing.T) {
		m := resign(t, good, mallorySigner, mallorySigner.KeyID(), nil)
		if m.Author() != e.mallory.String() {
			t.Fatalf("author %s", m.Author())
		}
		// Not the record's initial write for Mallory (the record ID binds Alice), so it is
		// an update of a record that does not exist.
		e.refused(tenant, m, nil, dwn.ErrInvalidMessage)
	})
	t.Run("payload names another tenant", func(t *testing.T) {
		m := resign(t, good, aliceSigner, aliceSigner.KeyID(), func(p map[string]any) { p["tenant"] = e.bob.String() })
		e.refused(tenant, m, nil, dwn.ErrForbidden)
	})
	t.Run("descriptor changed after signing", func(t *testing.T) {
		var wire map[string]any
		_ = json.Unmarshal(raw, &wire)
		wire["descriptor"].(map[string]any)["schema"] = "https://example.com/other"
		b, _ := json.Marshal(wire)
		if _, err := dwn.ParseMessage(b); !errors.Is(err, dwn.ErrInvalidMessage) {
			t.Fatalf("ParseMessage: %v", err)
		}
	})
	t.Run("alg none", func(t *testing.T) {
		var wire map[string]any
		_ = json.Unmarshal(raw, &wire)
		s := wire["authorization"].(map[string]any)["signature"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
		hdr, _ := json.Marshal(map[string]string{"alg": "none", "kid": aliceSigner.KeyID()})
		s["protected"] = base64.RawURLEncoding.EncodeToString(hdr)
		// An empty signature is not a JWS at all.
		s["signature"] = ""
		b, _ := json.Marshal(wire)
		if _, err := dwn.ParseMessage(b); !errors.Is(err, dwn.ErrInvalidMessage) || !errors.Is(err, jose.ErrMalformed) {
			t.Fatalf("ParseMessage with an empty signature: %v", err)
		}
		s["signature"] = "AA"
		b, _ = json.Marshal(wire)
		m, err := dwn.ParseMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		e.refused(tenant, m, nil, dwn.ErrUnauthenticated)
	})
	t.Run("unresolvable author", func(t *testing.T) {
		ghost := web5test.Carol(t) // Carol's document, but under a DID the network does not serve
		doc := *ghost.Document
		doc.ID = "did:web:ghost.example"
		for i := range doc.VerificationMethod {
			doc.VerificationMethod[i].ID = strings.Replace(doc.VerificationMethod[i].ID, ghost.DID.String(), doc.ID, 1)
			doc.VerificationMethod[i].Controller = doc.ID
		}
		doc.AssertionMethod = nil
		doc.Authentication = nil
		doc.CapabilityDelegation = nil
		doc.CapabilityInvocation = nil
		doc.Service = nil
		b, err := did.NewBearerDID(e.ctx, &doc, ghost.KeyManager, nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dwn.NewWrite(e.ctx, b, tenant, note("boo"))
		e.refused(tenant, m, err, dwn.ErrUnauthenticated)
	})
}

const chatProtocol = `{
	"protocol": "https://example.com/chat",
	"published": true,
	"types": {
		"thread":  {"schema": "https://example.com/thread", "dataFormats": ["application/json"]},
		"message": {"dataFormats": ["text/plain"]},
		"reaction": {"dataFormats": ["text/plain"]}
	},
	"structure": {
		"thread": {
			"$actions": [{"who": "anyone", "can": ["create", "update"]}],
			"message": {
				"$size": {"max": 100},
				"$actions": [
					{"who": "recipient", "of": "thread", "can": ["create", "read", "query"]},
					{"who": "author", "of": "thread", "can": ["read", "query", "co-delete"]}
				],
				"reaction": {"$actions": [{"who": "recipient", "can": ["read", "co-update"]}, {"who": "author", "of": "thread/message", "can": ["create"]}]}
			}
		}
	}
}`

func TestProtocolRules(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	e.install(tenant, chatProtocol)
	const chat = "https://example.com/chat"
	carol := e.carol.String()
	thread := e.write(e.bob, tenant, dwn.Write{Protocol: chat, ProtocolPath: "thread", Schema: "https://example.com/thread",
		DataFormat: "application/json", Data: []byte(`{"title":"lunch"}`), Recipient: carol})
	if thread.ContextID != thread.ID {
		t.Fatalf("thread context ID %s", thread.ContextID)
	}
	msg := e.write(e.carol, tenant, dwn.Write{Protocol: chat, ProtocolPath: "thread/message", Parent: thread, DataFormat: "text/plain", Data: []byte("noon?")})
	if msg.ContextID != thread.ContextID+"/"+msg.ID {
		t.Fatalf("message context ID %s", msg.ContextID)
	}

	t.Run("create", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.mallory, tenant, dwn.Write{Protocol: chat, ProtocolPath: "thread/message", Parent: thread, DataFormat: "text/plain", Data: []byte("spam")})
		e.refused(tenant, m, err, dwn.ErrForbidden)
		// Bob wrote the thread but is not its recipient: the rule lets only the recipient post.
		m, err = dwn.NewWrite(e.ctx, e.bob, tenant, dwn.Write{Protocol: chat, ProtocolPath: "thread/message", Parent: thread, DataFormat: "text/plain", Data: []byte("hi")})
		e.refused(tenant, m, err, dwn.ErrForbidden)
		// Reactions: the author of the message may create them.
		e.write(e.carol, tenant, dwn.Write{Protocol: chat, ProtocolPath: "thread/message/reaction", Parent: msg, DataFormat: "text/plain", Data: []byte("+1"), Recipient: e.bob.String()})
		m, err = dwn.NewWrite(e.ctx, e.bob, tenant, dwn.Write{Protocol: chat, ProtocolPath: "thread/message/reaction", Parent: msg, DataFormat: "text/plain", Data: []byte("-1")})
		e.refused(tenant, m, err, dwn.ErrForbidden)
	})
	t.Run("definition enforced", func(t *testing.T) {
		bad := []struct {
			name string
			w    dwn.Write
		}{
			{"wrong schema", dwn.Write{Protocol: chat, ProtocolPath: "thread", Schema: "https://example.com/other", DataFormat: "application/json", Data: []byte(`{}`)}},
			{"no schema", dwn.Write{Protocol: chat, ProtocolPath: "thread", DataFormat: "application/json", Data: []byte(`{}`)}},
			{"wrong data format", dwn.Write{Protocol: chat, ProtocolPath: "thread", Schema: "https://example.com/thread", DataFormat: "text/plain", Data: []byte(`{}`)}},
			{"unknown path", dwn.Write{Protocol: chat, ProtocolPath: "message", DataFormat: "text/plain", Data: []byte("x")}},
			{"missing parent", dwn.Write{Protocol: chat, ProtocolPath: "thread/message", DataFormat: "text/plain", Data: []byte("x")}},
			{"parent at the wrong path", dwn.Write{Protocol: chat, ProtocolPath: "thread/message", Parent: msg, DataFormat: "text/plain", Data: []byte("x")}},
			{"too large", dwn.Write{Protocol: chat, ProtocolPath: "thread/message", Parent: thread, DataFormat: "text/plain", Data: make([]byte, 101)}},
			{"protocol not installed", dwn.Write{Protocol: "https://example.com/none", ProtocolPath: "thread", DataFormat: "text/plain", Data: []byte("x")}},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				m, err := dwn.NewWrite(e.ctx, e.alice, tenant, c.w)
				e.refused(tenant, m, err, dwn.ErrInvalidMessage)
			})
		}
	})
	t.Run("read and query", func(t *testing.T) {
		m, err := dwn.NewRead(e.ctx, e.bob, tenant, msg.ID) // author of the thread
		e.ok(tenant, m, err)
		m, err = dwn.NewRead(e.ctx, e.mallory, tenant, msg.ID)
		e.refused(tenant, m, err, dwn.ErrForbidden)
		if ids := e.queryIDs(e.mallory, tenant, dwn.Query{Filter: dwn.Filter{Protocol: chat}}); len(ids) != 0 {
			t.Fatalf("Mallory's query: %v", ids)
		}
		if ids := e.queryIDs(e.bob, tenant, dwn.Query{Filter: dwn.Filter{Protocol: chat, ProtocolPath: "thread/message"}}); !slices.Equal(ids, []string{msg.ID}) {
			t.Fatalf("Bob's query of messages: %v", ids)
		}
	})
	t.Run("update", func(t *testing.T) {
		// Bob, the author, may update his thread (the rule allows update).
		thread2 := e.write(e.bob, tenant, dwn.Write{Update: thread, Data: []byte(`{"title":"dinner"}`)})
		m, err := dwn.NewWrite(e.ctx, e.mallory, tenant, dwn.Write{Update: thread2, Data: []byte(`{"title":"pwned"}`)})
		e.refused(tenant, m, err, dwn.ErrForbidden)
		// Carol may not update her message: the rule has no update for her.
		m, err = dwn.NewWrite(e.ctx, e.carol, tenant, dwn.Write{Update: msg, Data: []byte("1pm?")})
		e.refused(tenant, m, err, dwn.ErrForbidden)
		// Immutable properties cannot change: re-point the update at another parent.
		bad := *thread2
		bad.Schema = "https://example.com/other"
		m, err = dwn.NewWrite(e.ctx, e.bob, tenant, dwn.Write{Update: &bad, Data: []byte(`{}`)})
		e.refused(tenant, m, err, dwn.ErrInvalidMessage)
	})
	t.Run("delete", func(t *testing.T) {
		m, err := dwn.NewDelete(e.ctx, e.mallory, tenant, msg.ID)
		e.refused(tenant, m, err, dwn.ErrForbidden)
		m, err = dwn.NewDelete(e.ctx, e.carol, tenant, msg.ID) // the author, without a delete rule
		e.refused(tenant, m, err, dwn.ErrForbidden)
		m, err = dwn.NewDelete(e.ctx, e.bob, tenant, msg.ID) // co-delete as the thread's author
		e.ok(tenant, m, err)
	})
}

func TestProtocolDefinitions(t *testing.T) {
	bad := map[string]string{
		"relative URI":      `{"protocol": "chat", "types": {"a": {}}, "structure": {"a": {}}}`,
		"undeclared type":   `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"b": {}}}`,
		"empty structure":   `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {}}`,
		"unknown who":       `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$actions": [{"who": "everyone", "can": ["read"]}]}}}`,
		"unknown action":    `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$actions": [{"who": "anyone", "can": ["own"]}]}}}`,
		"author without of": `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$actions": [{"who": "author", "can": ["read"]}]}}}`,
		"of not ancestor":   `{"protocol": "https://x.example", "types": {"a": {}, "b": {}}, "structure": {"a": {"b": {"$actions": [{"who": "author", "of": "b", "can": ["read"]}]}}}}`,
		"recipient creates": `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$actions": [{"who": "recipient", "can": ["create"]}]}}}`,
		"unknown rule":      `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$role": true}}}`,
		"unknown property":  `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {}}, "extra": 1}`,
		"empty can":         `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$actions": [{"who": "anyone", "can": []}]}}}`,
		"bad size":          `{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$size": {"min": 5, "max": 2}}}}`,
		"slash in type":     `{"protocol": "https://x.example", "types": {"a/b": {}}, "structure": {"a/b": {}}}`,
		"not JSON":          `{"protocol": `,
	}
	bad["too deep"] = `{"protocol": "https://x.example", "types": {"a": {}}, "structure": ` + strings.Repeat(`{"a": `, 12) + `{}` + strings.Repeat(`}`, 12) + `}`
	bad["very deep"] = `{"protocol": "https://x.example", "types": {"a": {}}, "structure": ` + strings.Repeat(`{"a": `, 5000) + `{}` + strings.Repeat(`}`, 5000) + `}`
	for name, def := range bad {
		_, err := dwn.ParseProtocol([]byte(def))
		var pe *dwn.ProtocolError
		if !errors.As(err, &pe) || !errors.Is(err, dwn.ErrInvalidProtocol) {
			t.Errorf("%s: %v, want a *ProtocolError", name, err)
		}
	}
	if _, err := dwn.ParseProtocol([]byte(chatProtocol)); err != nil {
		t.Fatal(err)
	}
	p, _ := dwn.ParseProtocol([]byte(chatProtocol))
	b, _ := json.Marshal(p)
	q, err := dwn.ParseProtocol(b)
	if err != nil {
		t.Fatalf("a marshalled definition does not parse back: %v", err)
	}
	if c, _ := json.Marshal(q); string(c) != string(b) {
		t.Fatalf("round trip:\n%s\n%s", b, c)
	}
	// The permissions protocol is built in.
	e := newEnv(t)
	p.Protocol = dwn.PermissionsProtocol
	m, err := dwn.NewProtocolsConfigure(e.ctx, e.alice, e.alice.String(), p)
	e.refused(e.alice.String(), m, err, dwn.ErrInvalidMessage)
}

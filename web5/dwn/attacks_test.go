package dwn_test

import (
	"context"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

var rawB64 = base64.RawURLEncoding

// wireOf returns the generic JSON form of a message.
func wireOf(t *testing.T, m *dwn.Message) map[string]any {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var w map[string]any
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// signaturePayload returns the decoded payload a message's author signed.
func signaturePayload(t *testing.T, w map[string]any) []byte {
	t.Helper()
	p, err := rawB64.DecodeString(w["authorization"].(map[string]any)["signature"].(map[string]any)["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// forge replaces the authorization of the wire message w with a JWS over payload whose
// protected header is exactly header (raw JSON, so it can hold anything), signed by s,
// and returns the wire JSON.
func forge(t *testing.T, w map[string]any, s jose.Signer, header string, payload []byte) []byte {
	t.Helper()
	h, p := rawB64.EncodeToString([]byte(header)), rawB64.EncodeToString(payload)
	sig, err := s.Sign(context.Background(), []byte(h+"."+p))
	if err != nil {
		t.Fatal(err)
	}
	return withAuth(t, w, h, p, rawB64.EncodeToString(sig))
}

func withAuth(t *testing.T, w map[string]any, protected, payload, signature string) []byte {
	t.Helper()
	w["authorization"] = map[string]any{"signature": map[string]any{
		"payload":    payload,
		"signatures": []any{map[string]any{"protected": protected, "signature": signature}},
	}}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attempt sends the wire message raw to tenant and checks that it is refused (at parsing
// or at processing) with an error matching every one of want, and that the tenant did
// not change. It returns the error.
func (e *env) attempt(t *testing.T, tenant string, raw []byte, want ...error) error {
	t.Helper()
	before := e.snapshot(tenant)
	m, err := dwn.ParseMessage(raw)
	var reply *dwn.Reply
	if err == nil {
		reply, err = e.node.Process(e.ctx, tenant, m)
	}
	if err == nil {
		var leaked []string
		if reply.Record != nil {
			leaked = append(leaked, reply.Record.ID)
		}
		for _, r := range reply.Records {
			leaked = append(leaked, r.ID)
		}
		t.Fatalf("attack accepted: author %s acted in tenant %s (records %v)", m.Author(), tenant, leaked)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Fatalf("refused with %v; want an error matching %v", err, w)
		}
	}
	if after := e.snapshot(tenant); after != before {
		t.Fatalf("a refused message changed the tenant:\nbefore %s\nafter  %s", before, after)
	}
	return err
}

// clock is the node's clock: real time moved by a settable offset.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// flipS returns the compact ECDSA signature r||s as r||(n-s): a second signature over
// the same bytes on the same key.
func flipS(sig []byte, n *big.Int) []byte {
	s := new(big.Int).SetBytes(sig[32:])
	out := append([]byte(nil), sig[:32]...)
	return append(out, new(big.Int).Sub(n, s).FillBytes(make([]byte, 32))...)
}

// TestAttacks lists every attack on the records store the SDK defends against, one named
// row each: forged authors (parser differentials in the protected header, keys controlled
// by another DID, foreign kids, algorithm confusion, malleable signatures), cross-tenant
// access, replays, grants past their life, and hostile JSON.
func TestAttacks(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, dwn.WithClock(clk.now))
	alice, bob := e.alice.String(), e.bob.String()
	at := func(d time.Duration) dwn.MessageOption { return dwn.WithTimestamp(clk.now().Add(d)) }
	e.install(alice, vaultProtocol)
	secret := e.write(e.alice, alice, note("alice's secret"), at(-time.Second))
	aliceSigner, err := e.alice.Signer(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	mallorySigner, err := e.mallory.Signer(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	malloryAlg := mallorySigner.Algorithm()

	// Messages Mallory builds for Alice's tenant: the descriptors and record IDs are public
	// computations; only the signature needs a key. Alice's bearer DID builds them here and
	// Mallory replaces the signature.
	ops := map[string]func() *dwn.Message{
		"query": func() *dwn.Message {
			m, err := dwn.NewQuery(e.ctx, e.alice, alice, dwn.Query{})
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
		"read": func() *dwn.Message {
			m, err := dwn.NewRead(e.ctx, e.alice, alice, secret.ID)
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
		"write": func() *dwn.Message {
			m, err := dwn.NewWrite(e.ctx, e.alice, alice, note("written by mallory"))
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
		"delete": func() *dwn.Message {
			m, err := dwn.NewDelete(e.ctx, e.alice, alice, secret.ID)
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
	}
	header := func(members ...string) string {
		return `{"alg":"` + malloryAlg + `",` + strings.Join(members, ",") + `}`
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	variants := []struct{ name, header string }{
		{"kid then KID", header(`"kid":`+q(mallorySigner.KeyID()), `"KID":`+q(aliceSigner.KeyID()))},
		{"kid then Kid", header(`"kid":`+q(mallorySigner.KeyID()), `"Kid":`+q(aliceSigner.KeyID()))},
		{"kid then Kelvin-sign kid", header(`"kid":`+q(mallorySigner.KeyID()), `"\u212Aid":`+q(aliceSigner.KeyID()))},
		{"kid then raw Kelvin-sign kid", header(`"kid":`+q(mallorySigner.KeyID()), "\"\u212Aid\":"+q(aliceSigner.KeyID()))},
		{"kid twice", header(`"kid":`+q(mallorySigner.KeyID()), `"kid":`+q(aliceSigner.KeyID()))},
		{"KID then kid", header(`"KID":`+q(aliceSigner.KeyID()), `"kid":`+q(mallorySigner.KeyID()))},
		{"alg twice", `{"alg":"` + malloryAlg + `","ALG":"none","kid":` + q(mallorySigner.KeyID()) + `}`},
	}
	for _, v := range variants {
		for _, op := range []string{"query", "read", "write", "delete"} {
			t.Run("header "+v.name+": Mallory signs, "+op+" in Alice's tenant", func(t *testing.T) {
				w := wireOf(t, ops[op]())
				raw := forge(t, w, mallorySigner, v.header, signaturePayload(t, w))
				err := e.attempt(t, alice, raw, dwn.ErrInvalidMessage)
				if !errors.Is(err, jose.ErrDuplicateMember) {
					t.Fatalf("refused with %v, want jose.ErrDuplicateMember", err)
				}
				var me *dwn.MessageError
				if !errors.As(err, &me) {
					t.Fatalf("%T is not a *dwn.MessageError", err)
				}
			})
		}
	}

	t.Run("verification method controlled by Alice in Mallory's document", func(t *testing.T) {
		km := jose.NewMemoryKeyManager()
		impostor, err := diddht.Create(e.ctx, km, diddht.WithKey(jose.Secp256k1, "sig", did.AssertionMethod))
		if err != nil {
			t.Fatal(err)
		}
		vm, _ := impostor.Document.FindMethod("#sig")
		vm.Controller = alice
		e.net.Publish(t, impostor)
		s, err := impostor.Signer(e.ctx, did.WithMethod("#sig"))
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range []string{"query", "read", "write", "delete"} {
			w := wireOf(t, ops[op]())
			raw := forge(t, w, s, `{"alg":"ES256K","kid":`+q(s.KeyID())+`}`, signaturePayload(t, w))
			e.attempt(t, alice, raw, dwn.ErrUnauthenticated)
		}
	})
	t.Run("foreign kid: Mallory's key under Alice's kid", func(t *testing.T) {
		w := wireOf(t, ops["read"]())
		raw := forge(t, w, mallorySigner, `{"alg":"`+malloryAlg+`","kid":`+q(aliceSigner.KeyID())+`}`, signaturePayload(t, w))
		e.attempt(t, alice, raw, dwn.ErrUnauthenticated)
	})
	t.Run("Mallory's own signature on Alice's descriptors", func(t *testing.T) {
		for _, op := range []string{"read", "write", "delete"} {
			w := wireOf(t, ops[op]())
			raw := forge(t, w, mallorySigner, `{"alg":"`+malloryAlg+`","kid":`+q(mallorySigner.KeyID())+`}`, signaturePayload(t, w))
			e.attempt(t, alice, raw) // forbidden, or an invalid record ID for the write
		}
	})
	t.Run("alg none", func(t *testing.T) {
		w := wireOf(t, ops["read"]())
		p := rawB64.EncodeToString(signaturePayload(t, w))
		raw := withAuth(t, w, rawB64.EncodeToString([]byte(`{"alg":"none","kid":`+q(aliceSigner.KeyID())+`}`)), p, rawB64.EncodeToString([]byte("x")))
		e.attempt(t, alice, raw, dwn.ErrUnauthenticated)
	})
	t.Run("HS256 keyed with Alice's public key", func(t *testing.T) {
		w := wireOf(t, ops["read"]())
		pub, _ := e.alice.Document.VerificationMethod[0].PublicKey()
		h := rawB64.EncodeToString([]byte(`{"alg":"HS256","kid":` + q(aliceSigner.KeyID()) + `}`))
		p := rawB64.EncodeToString(signaturePayload(t, w))
		for _, secret := range []string{pub.X, mustJSON(t, pub)} {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(h + "." + p))
			e.attempt(t, alice, withAuth(t, w, h, p, rawB64.EncodeToString(mac.Sum(nil))), dwn.ErrUnauthenticated)
		}
	})
	t.Run("curve swap: ES256K header on Alice's Ed25519 key", func(t *testing.T) {
		w := wireOf(t, ops["read"]())
		bobSigner, _ := e.bob.Signer(e.ctx)
		raw := forge(t, w, bobSigner, `{"alg":"ES256K","kid":`+q(aliceSigner.KeyID())+`}`, signaturePayload(t, w))
		e.attempt(t, alice, raw, dwn.ErrUnauthenticated)
	})
	t.Run("high-S ES256K signature", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.bob, bob, note("bob's"))
		if err != nil {
			t.Fatal(err)
		}
		w := wireOf(t, m)
		s := w["authorization"].(map[string]any)["signature"].(map[string]any)
		sig0 := s["signatures"].([]any)[0].(map[string]any)
		sig, _ := rawB64.DecodeString(sig0["signature"].(string))
		raw := withAuth(t, w, sig0["protected"].(string), s["payload"].(string), rawB64.EncodeToString(flipS(sig, btcec.S256().N)))
		err = e.attempt(t, bob, raw, dwn.ErrUnauthenticated)
		if !errors.Is(err, jose.ErrHighS) {
			t.Fatalf("refused with %v, want jose.ErrHighS", err)
		}
		e.ok(bob, m, nil) // the original still goes through
	})
	t.Run("malleated ES256 signature is a replay", func(t *testing.T) {
		// P-256 signatures stay malleable (see package jose); the store must not take a
		// second signature over the same message as a new message. Find a message whose
		// malleated twin sorts after it, so that a CID comparison alone would accept it.
		mallory := e.mallory.String()
		n := new(big.Int).Set(ellipticN())
		for i := range 64 {
			m, err := dwn.NewWrite(e.ctx, e.mallory, mallory, note("mallory's"), at(time.Duration(i)*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			w := wireOf(t, m)
			s := w["authorization"].(map[string]any)["signature"].(map[string]any)
			sig0 := s["signatures"].([]any)[0].(map[string]any)
			sig, _ := rawB64.DecodeString(sig0["signature"].(string))
			raw := withAuth(t, w, sig0["protected"].(string), s["payload"].(string), rawB64.EncodeToString(flipS(sig, n)))
			twin, err := dwn.ParseMessage(raw)
			if err != nil {
				t.Fatal(err)
			}
			if twin.CID() < m.CID() {
				continue
			}
			e.ok(mallory, m, nil)
			e.attempt(t, mallory, raw, dwn.ErrConflict)
			return
		}
		t.Fatal("no malleated twin sorted after its message in 64 tries")
	})

	t.Run("cross-tenant read", func(t *testing.T) {
		m, err := dwn.NewRead(e.ctx, e.mallory, alice, secret.ID)
		e.attemptMsg(t, alice, m, err, dwn.ErrForbidden)
	})
	t.Run("cross-tenant query", func(t *testing.T) {
		m, err := dwn.NewQuery(e.ctx, e.mallory, alice, dwn.Query{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.node.Process(e.ctx, alice, m)
		if err != nil || len(r.Records) != 0 {
			t.Fatalf("Mallory's query in Alice's tenant: %v, %d records", err, len(r.Records))
		}
	})
	t.Run("cross-tenant write", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.mallory, alice, note("intrusion"))
		e.attemptMsg(t, alice, m, err, dwn.ErrForbidden)
		m, err = dwn.NewWrite(e.ctx, e.mallory, alice, dwn.Write{Update: secret, Data: []byte("defaced")})
		e.attemptMsg(t, alice, m, err, dwn.ErrForbidden)
	})
	t.Run("cross-tenant delete", func(t *testing.T) {
		m, err := dwn.NewDelete(e.ctx, e.mallory, alice, secret.ID)
		e.attemptMsg(t, alice, m, err, dwn.ErrForbidden)
	})
	t.Run("cross-tenant protocol install", func(t *testing.T) {
		p, _ := dwn.ParseProtocol([]byte(`{"protocol": "https://example.com/evil", "published": true, "types": {"x": {}}, "structure": {"x": {"$actions": [{"who": "anyone", "can": ["create"]}]}}}`))
		m, err := dwn.NewProtocolsConfigure(e.ctx, e.mallory, alice, p)
		e.attemptMsg(t, alice, m, err, dwn.ErrForbidden)
	})
	t.Run("replay into the same tenant", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.alice, alice, note("once"))
		e.ok(alice, m, err)
		e.attemptMsg(t, alice, m, nil, dwn.ErrConflict)
	})
	t.Run("replay into another tenant", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.alice, alice, note("alice's only"))
		e.ok(alice, m, err)
		e.attemptMsg(t, bob, m, nil, dwn.ErrForbidden)
	})
	t.Run("payload re-signed for another tenant by someone else", func(t *testing.T) {
		w := wireOf(t, ops["read"]())
		var p map[string]any
		_ = json.Unmarshal(signaturePayload(t, w), &p)
		p["tenant"] = e.mallory.String()
		pb, _ := json.Marshal(p)
		raw := forge(t, w, mallorySigner, `{"alg":"`+malloryAlg+`","kid":`+q(mallorySigner.KeyID())+`}`, pb)
		e.attempt(t, alice, raw, dwn.ErrForbidden)
	})

	scope := dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite, Protocol: "https://example.com/vault"}
	t.Run("revoked grant", func(t *testing.T) {
		g := e.grant(dwn.Grant{Grantee: bob, Expires: clk.now().Add(time.Hour), Scope: scope})
		rev, err := dwn.NewRevocation(e.ctx, e.alice, g, at(time.Millisecond))
		e.ok(alice, rev, err)
		m, err := dwn.NewWrite(e.ctx, e.bob, alice, item("after revocation"), dwn.WithPermissionGrant(g.ID), at(2*time.Millisecond))
		e.attemptMsg(t, alice, m, err, dwn.ErrForbidden, dwn.ErrGrantRevoked)
	})
	t.Run("expired grant", func(t *testing.T) {
		g := e.grant(dwn.Grant{Grantee: bob, Expires: clk.now().Add(time.Minute), Scope: scope})
		clk.advance(time.Hour)
		defer clk.advance(-time.Hour)
		m, err := dwn.NewWrite(e.ctx, e.bob, alice, item("too late"), dwn.WithPermissionGrant(g.ID), at(0))
		e.attemptMsg(t, alice, m, err, dwn.ErrForbidden, dwn.ErrGrantExpired)
	})
	t.Run("backdated message under an expired grant", func(t *testing.T) {
		g := e.grant(dwn.Grant{Grantee: bob, Expires: clk.now().Add(time.Minute), Scope: scope})
		start := clk.now()
		clk.advance(time.Hour)
		defer clk.advance(-time.Hour)
		m, err := dwn.NewWrite(e.ctx, e.bob, alice, item("backdated"), dwn.WithPermissionGrant(g.ID), dwn.WithTimestamp(start.Add(time.Second)))
		e.attemptMsg(t, alice, m, err, dwn.ErrForbidden, dwn.ErrGrantExpired)
	})
	t.Run("message predating its grant", func(t *testing.T) {
		g := e.grant(dwn.Grant{Grantee: bob, Expires: clk.now().Add(time.Hour), Scope: scope})
		m, err := dwn.NewWrite(e.ctx, e.bob, alice, item("before the grant"), dwn.WithPermissionGrant(g.ID), at(-time.Minute))
		e.attemptMsg(t, alice, m, err, dwn.ErrForbidden)
	})

	t.Run("100k-deep JSON", func(t *testing.T) {
		deep := `{"descriptor":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
		if _, err := dwn.ParseMessage([]byte(deep)); !errors.Is(err, dwn.ErrInvalidMessage) {
			t.Fatalf("ParseMessage: %v", err)
		}
		deep = `{"descriptor":{"interface":"Records","method":"Query","messageTimestamp":"2024-01-01T00:00:00.000000Z","filter":` +
			strings.Repeat(`{"a":`, 100000) + `1` + strings.Repeat("}", 100000) + `}}`
		if _, err := dwn.ParseMessage([]byte(deep)); !errors.Is(err, dwn.ErrInvalidMessage) {
			t.Fatalf("ParseMessage: %v", err)
		}
	})
	// Signed members repeated, or spelled in another case: each reader would pick a
	// different one.
	member := func(name string, edit func(raw string) string) {
		t.Run(name, func(t *testing.T) {
			raw, err := json.Marshal(ops["read"]())
			if err != nil {
				t.Fatal(err)
			}
			out := edit(string(raw))
			if out == string(raw) {
				t.Fatal("the edit did not apply")
			}
			err = e.attempt(t, alice, []byte(out), dwn.ErrInvalidMessage)
			if !errors.Is(err, jose.ErrDuplicateMember) {
				t.Fatalf("refused with %v, want jose.ErrDuplicateMember", err)
			}
		})
	}
	member("descriptor member twice", func(raw string) string {
		return strings.Replace(raw, `"interface":"Records"`, `"interface":"Records","interface":"Protocols"`, 1)
	})
	member("descriptor member in another case", func(raw string) string {
		return strings.Replace(raw, `"recordId":"`+secret.ID+`"`, `"recordId":"`+secret.ID+`","RecordId":"`+secret.ID+`"`, 1)
	})
	member("message member in another case", func(raw string) string {
		return strings.Replace(raw, `"descriptor":`, `"Descriptor":{},"descriptor":`, 1)
	})
	t.Run("signed payload member in another case", func(t *testing.T) {
		w := wireOf(t, ops["read"]())
		p := strings.Replace(string(signaturePayload(t, w)), `"tenant":`, `"Tenant":"`+e.mallory.String()+`","tenant":`, 1)
		raw := forge(t, w, aliceSigner, `{"alg":"EdDSA","kid":`+q(aliceSigner.KeyID())+`}`, []byte(p))
		err := e.attempt(t, alice, raw, dwn.ErrInvalidMessage)
		if !errors.Is(err, jose.ErrDuplicateMember) {
			t.Fatalf("refused with %v, want jose.ErrDuplicateMember", err)
		}
	})

	// Nothing above reached Alice's records.
	if ids := e.queryIDs(e.alice, alice, dwn.Query{Filter: dwn.Filter{Schema: "https://example.com/note"}}); !slices.Contains(ids, secret.ID) {
		t.Fatalf("Alice's secret is gone: %v", ids)
	}
}

// attemptMsg is attempt for a message built by the SDK.
func (e *env) attemptMsg(t *testing.T, tenant string, m *dwn.Message, err error, want ...error) {
	t.Helper()
	if err != nil {
		t.Fatalf("building the message: %v", err)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	e.attempt(t, tenant, raw, want...)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ellipticN is the order of P-256.
func ellipticN() *big.Int { return elliptic.P256().Params().N }

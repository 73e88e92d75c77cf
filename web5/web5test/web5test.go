package web5test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/vc"
)

var b64 = base64.RawURLEncoding

// seed derives a fixed 32-byte secret from a name.
func seed(name string) []byte {
	s := sha256.Sum256([]byte("anya-go web5test " + name))
	return s[:]
}

// fixedKey returns the private JWK derived from name on curve c.
func fixedKey(t testing.TB, name string, c jose.Curve) jose.JWK {
	t.Helper()
	s := seed(name)
	switch c {
	case jose.Ed25519:
		priv := ed25519.NewKeyFromSeed(s)
		return jose.JWK{KeyType: jose.KeyTypeOKP, Curve: c, X: b64.EncodeToString(priv.Public().(ed25519.PublicKey)), D: b64.EncodeToString(s)}
	case jose.Secp256k1:
		priv, pub := btcec.PrivKeyFromBytes(s)
		u := pub.SerializeUncompressed()
		d := priv.Key.Bytes()
		return jose.JWK{KeyType: jose.KeyTypeEC, Curve: c, X: b64.EncodeToString(u[1:33]), Y: b64.EncodeToString(u[33:]), D: b64.EncodeToString(d[:])}
	}
	t.Fatalf("web5test: no fixed keys on curve %s", c)
	return jose.JWK{}
}

// bearer imports the fixed key of name into a fresh key manager and builds the bearer DID
// of document doc (built from the key's public part).
func bearer(t testing.TB, name string, c jose.Curve, doc func(pub jose.JWK) (*did.Document, error)) *did.BearerDID {
	t.Helper()
	ctx := context.Background()
	km := jose.NewMemoryKeyManager()
	priv := fixedKey(t, name, c)
	if _, err := km.ImportKey(ctx, priv); err != nil {
		t.Fatal(err)
	}
	d, err := doc(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	b, err := did.NewBearerDID(ctx, d, km, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keyDoc(pub jose.JWK) (*did.Document, error) {
	d, err := didkey.FromPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return didkey.Expand(d)
}

func jwkDoc(pub jose.JWK) (*did.Document, error) {
	pub.Use, pub.Algorithm = "sig", jose.AlgorithmFor(pub.Curve)
	d, err := didjwk.FromPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return didjwk.Expand(d)
}

// Alice is a fixed did:key (Ed25519): the same DID and keys in every run.
func Alice(t testing.TB) *did.BearerDID { return bearer(t, "alice", jose.Ed25519, keyDoc) }

// Bob is a fixed did:jwk (secp256k1, ES256K).
func Bob(t testing.TB) *did.BearerDID { return bearer(t, "bob", jose.Secp256k1, jwkDoc) }

// Issuer is a fixed did:key (Ed25519) for issuing test credentials.
func Issuer(t testing.TB) *did.BearerDID { return bearer(t, "issuer", jose.Ed25519, keyDoc) }

// Carol is a fixed did:dht with a secp256k1 assertion key "sig" and a DecentralizedWebNode
// service. Publish it to a Network before resolving it.
func Carol(t testing.TB) *did.BearerDID {
	t.Helper()
	ctx := context.Background()
	km := jose.NewMemoryKeyManager()
	id := fixedKey(t, "carol", jose.Ed25519)
	sig := fixedKey(t, "carol sig", jose.Secp256k1)
	keys := map[string]string{}
	for frag, k := range map[string]jose.JWK{"#0": id, "#sig": sig} {
		keyID, err := km.ImportKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		keys[frag] = keyID
	}
	sigPub := sig.Public()
	doc, err := diddht.NewDocument(id.Public(),
		diddht.WithVerificationMethod(did.VerificationMethod{ID: "sig", PublicKeyJwk: &sigPub}, did.AssertionMethod),
		diddht.WithService("dwn", "DecentralizedWebNode", "https://dwn.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := did.NewBearerDID(ctx, doc, km, keys)
	if err != nil {
		t.Fatal(err)
	}
	b.Metadata = map[string]any{"published": false}
	return b
}

// Network is an in-memory Web5 network for tests: did:key, did:jwk and did:pkh resolve as
// usual, did:dht goes through an in-process gateway (no sockets), and documents of any
// other method can be served from memory. Its resolver does not cache, so a test sees
// every change at once. Build one with NewNetwork; a zero Network resolves did:key, did:jwk,
// did:pkh and served documents, but has no did:dht gateway.
type Network struct {
	// Gateway is the in-process did:dht gateway.
	Gateway *diddht.Gateway
	// DHT is a did:dht client talking to Gateway.
	DHT *diddht.Client

	mu      sync.RWMutex
	methods map[string]*Method
}

// NewNetwork returns an empty network.
func NewNetwork(t testing.TB) *Network {
	t.Helper()
	gw, err := diddht.NewGateway()
	if err != nil {
		t.Fatal(err)
	}
	client, err := diddht.NewClient("http://gateway.web5test.invalid", diddht.WithHTTPClient(&http.Client{Transport: handlerTransport{gw}}))
	if err != nil {
		t.Fatal(err)
	}
	return &Network{Gateway: gw, DHT: client, methods: map[string]*Method{}}
}

// handlerTransport serves requests with an http.Handler in-process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// Publish publishes a did:dht bearer DID to the network's gateway, or serves any other
// DID's document from memory (did:key, did:jwk and did:pkh need nothing). A zero Network
// has no gateway: publishing a did:dht to it fails the test.
func (n *Network) Publish(t testing.TB, b *did.BearerDID) {
	t.Helper()
	if b == nil || b.Document == nil {
		t.Fatal("web5test: Publish of a nil bearer DID")
		return
	}
	switch b.DID.Method {
	case diddht.Method:
		if n.DHT == nil {
			t.Fatal("web5test: a zero Network has no did:dht gateway: create it with web5test.NewNetwork")
			return
		}
		if err := n.DHT.Publish(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	case didkey.Method, didjwk.Method, didpkh.Method:
	default:
		n.Serve(b.Document)
	}
}

// Serve makes the network resolve doc (of any method other than key, jwk, pkh and dht)
// from memory, replacing an earlier version. It panics on a document whose id is not a
// DID (a mistake of the test).
func (n *Network) Serve(doc *did.Document) {
	d := did.MustParse(doc.ID)
	n.mu.Lock()
	if n.methods == nil {
		n.methods = map[string]*Method{}
	}
	m, ok := n.methods[d.Method]
	if !ok {
		m = NewMethod(d.Method)
		n.methods[d.Method] = m
	}
	n.mu.Unlock()
	m.Put(doc)
}

// Resolver returns a resolver for the network (no cache).
func (n *Network) Resolver(t testing.TB) *did.Resolver {
	t.Helper()
	methods := []did.MethodResolver{didkey.New(), didjwk.New(), didpkh.New()}
	if n.DHT != nil {
		methods = append(methods, n.DHT)
	}
	n.mu.RLock()
	for _, m := range n.methods {
		methods = append(methods, m)
	}
	n.mu.RUnlock()
	r, err := did.NewResolver(did.WithMethods(methods...), did.WithoutCache())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Verifier returns a credential verifier resolving through the network.
func (n *Network) Verifier(t testing.TB, opts ...vc.VerifierOption) *vc.Verifier {
	t.Helper()
	v, err := vc.NewVerifier(n.Resolver(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Method is an in-memory did.MethodResolver for one method: it resolves the documents put
// into it. Safe for concurrent use. The zero value is an empty resolver for the method ""
// (which a did.Resolver refuses): build one with NewMethod.
type Method struct {
	name string
	mu   sync.RWMutex
	docs map[string]*did.Document
	meta map[string]did.DocumentMetadata
}

var _ did.MethodResolver = (*Method)(nil)

// NewMethod returns an empty in-memory resolver for method name.
func NewMethod(name string) *Method {
	return &Method{name: name, docs: map[string]*did.Document{}, meta: map[string]did.DocumentMetadata{}}
}

// Method returns the method name.
func (m *Method) Method() string { return m.name }

// Put stores (or replaces) a document.
func (m *Method) Put(doc *did.Document) {
	if doc == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs = map[string]*did.Document{}
	}
	m.docs[doc.ID] = doc
	delete(m.meta, doc.ID)
}

// Deactivate marks a stored DID deactivated.
func (m *Method) Deactivate(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.meta == nil {
		m.meta = map[string]did.DocumentMetadata{}
	}
	m.meta[id] = did.DocumentMetadata{Deactivated: true}
}

// Delete removes a DID.
func (m *Method) Delete(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs, id)
	delete(m.meta, id)
}

// Resolve returns the stored document, or notFound.
func (m *Method) Resolve(ctx context.Context, d did.DID) (*did.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	doc, ok := m.docs[d.String()]
	if !ok {
		return nil, did.NewError(did.CodeNotFound, d.String(), nil)
	}
	return &did.Result{Document: doc, DocumentMetadata: m.meta[d.String()], TTL: -1}, nil
}

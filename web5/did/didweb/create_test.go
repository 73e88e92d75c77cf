package didweb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/netguard"
)

func TestNewDID(t *testing.T) {
	for _, c := range []struct {
		host string
		path []string
		did  string
		url  string
	}{
		{"example.com", nil, "did:web:example.com", "https://example.com/.well-known/did.json"},
		{"example.com:3000", nil, "did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"},
		{"example.com:3000", []string{"user", "alice"}, "did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"},
		{"w3c-ccg.github.io", []string{"user", "alice"}, "did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"},
		{"127.0.0.1:8443", []string{"a b", "c~d"}, "did:web:127.0.0.1%3A8443:a%20b:c%7Ed", "https://127.0.0.1:8443/a%20b/c~d/did.json"},
		{"[::1]:8443", nil, "did:web:%5B%3A%3A1%5D%3A8443", "https://[::1]:8443/.well-known/did.json"},
		{"[::1]", []string{"x"}, "did:web:%5B%3A%3A1%5D:x", "https://[::1]/x/did.json"},
		{"example.com", []string{"100%", "é"}, "did:web:example.com:100%25:%C3%A9", "https://example.com/100%25/%C3%A9/did.json"},
	} {
		d, err := NewDID(c.host, c.path...)
		if err != nil || d.String() != c.did {
			t.Errorf("NewDID(%q, %q) = %s %v, want %s", c.host, c.path, d, err, c.did)
			continue
		}
		if _, err := did.Parse(d.String()); err != nil {
			t.Errorf("%s does not parse: %v", d, err)
		}
		if u, err := DocumentURL(d); err != nil || u != c.url {
			t.Errorf("%s: document URL %s %v, want %s", d, u, err, c.url)
		}
	}
	for _, c := range []struct {
		name string
		host string
		path []string
	}{
		{"empty host", "", nil},
		{"host with a space", "exa mple.com", nil},
		{"host with an underscore", "exa_mple.com", nil},
		{"host with a path", "example.com/x", nil},
		{"user info", "user@example.com", nil},
		{"port 0", "example.com:0", nil},
		{"empty port", "example.com:", nil},
		{"port 65536", "example.com:65536", nil},
		{"port with a leading zero", "example.com:080", nil},
		{"port not a number", "example.com:http", nil},
		{"IPv6 without brackets", "::1", nil},
		{"empty segment", "example.com", []string{""}},
		{"dot segment", "example.com", []string{"."}},
		{"dot-dot segment", "example.com", []string{"a", ".."}},
		{"slash in a segment", "example.com", []string{"a/b"}},
		{"backslash in a segment", "example.com", []string{`a\b`}},
		{"query in a segment", "example.com", []string{"a?b"}},
		{"fragment in a segment", "example.com", []string{"a#b"}},
	} {
		if d, err := NewDID(c.host, c.path...); !errors.Is(err, did.ErrInvalidDID) {
			t.Errorf("%s: NewDID = %s %v, want invalidDid", c.name, d, err)
		}
	}
}

func TestNewDocument(t *testing.T) {
	ctx := context.Background()
	d, _ := NewDID("example.com", "user", "alice")
	km := jose.NewMemoryKeyManager()
	sigID, _ := km.GenerateKey(ctx, jose.P384)
	sig, _ := km.PublicKey(ctx, sigID)
	agreeID, _ := km.GenerateKey(ctx, jose.X25519)
	agree, _ := km.PublicKey(ctx, agreeID)
	doc, err := NewDocument(d, WithPublicKey(sig, "#key-1"), WithPublicKey(agree, ""), WithService("dwn", "DecentralizedWebNode", "https://dwn.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if doc.ID != d.String() || len(doc.VerificationMethod) != 2 {
		t.Fatalf("document %+v", doc)
	}
	vm := doc.VerificationMethod[0]
	if vm.ID != d.String()+"#key-1" || vm.Controller != d.String() || vm.Type != did.TypeJsonWebKey || vm.PublicKeyJwk.Algorithm != jose.AlgES384 || vm.PublicKeyJwk.KeyID != "" {
		t.Fatalf("signing method %+v", vm)
	}
	if !doc.Authorizes(vm.ID, did.AssertionMethod) || !doc.Authorizes(vm.ID, did.Authentication) || doc.Authorizes(vm.ID, did.KeyAgreement) {
		t.Fatal("the signing key is not under the signing relationships only")
	}
	tp, _ := agree.Thumbprint()
	if x := doc.VerificationMethod[1]; x.ID != d.String()+"#"+tp || !doc.Authorizes(x.ID, did.KeyAgreement) || doc.Authorizes(x.ID, did.AssertionMethod) {
		t.Fatalf("key agreement method %+v", x)
	}
	if s, ok := doc.FindService("#dwn"); !ok || s.ID != d.String()+"#dwn" {
		t.Fatalf("service %+v", doc.Service)
	}
	priv, _ := km.ExportKey(ctx, sigID)
	for name, opts := range map[string][]CreateOption{
		"private key":       {WithPublicKey(priv, "")},
		"invalid key":       {WithPublicKey(jose.JWK{KeyType: "EC", Curve: jose.P256, X: "AAAA", Y: "AAAA"}, "")},
		"key generation":    {WithKey(jose.Ed25519, "")},
		"same fragment":     {WithPublicKey(sig, "k"), WithPublicKey(agree, "#k")},
		"nil option":        {nil},
		"bad service":       {WithService("", "T", "https://x.example")},
		"fragment with '#'": {WithPublicKey(sig, "a#b")},
	} {
		if _, err := NewDocument(d, opts...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewDocument(did.MustParse("did:web:exa_mple.com")); !errors.Is(err, did.ErrInvalidDID) {
		t.Errorf("invalid did:web: %v", err)
	}
	if _, err := NewDocument(did.MustParse("did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY")); err == nil {
		t.Error("a did:key accepted")
	}
}

// A did:web created here, served by the Handler and resolved through the SSRF-guarded
// resolver (loopback explicitly allowed), is the same document, and signatures by the
// bearer DID verify through it.
func TestCreateServeResolve(t *testing.T) {
	ctx := context.Background()
	h := &Handler{}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	hostport := strings.TrimPrefix(srv.URL, "https://")

	root, err := NewDID(hostport)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := NewDID(hostport, "user", "alice")
	if err != nil {
		t.Fatal(err)
	}
	bearers := map[string]*did.BearerDID{}
	for _, d := range []did.DID{root, alice} {
		b, err := Create(ctx, jose.NewMemoryKeyManager(), d, WithKey(jose.Ed25519, "key-0"), WithKey(jose.P256, "key-1"), WithKey(jose.X25519, "agree"))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Put(b.Document); err != nil {
			t.Fatal(err)
		}
		bearers[d.String()] = b
	}

	// The guard stays on: only the test server's loopback address is allowed.
	web, err := New(WithHTTPClient(srv.Client()), WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")))
	if err != nil {
		t.Fatal(err)
	}
	r, err := did.NewResolver(did.WithMethods(web), did.WithoutCache())
	if err != nil {
		t.Fatal(err)
	}
	for id, b := range bearers {
		res, err := r.Resolve(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		got, _ := json.Marshal(res.Document)
		want, _ := json.Marshal(b.Document)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: served %s, created %s", id, got, want)
		}
		for _, m := range []string{"#key-0", "#key-1"} {
			s, err := b.Signer(ctx, did.WithMethod(m))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jose.SignJWT(ctx, s, jose.Claims{Issuer: id})
			if err != nil {
				t.Fatal(err)
			}
			if _, vm, err := r.VerifyJWT(ctx, tok); err != nil || vm.Controller != id || vm.ID != id+m {
				t.Fatalf("%s%s: %v", id, m, err)
			}
		}
		if _, err := b.Signer(ctx, did.WithMethod("#agree")); !errors.Is(err, jose.ErrUnsupportedAlgorithm) {
			t.Fatalf("X25519 signer: %v", err)
		}
	}

	// Without the explicit allowance, the resolver refuses the host's own network.
	guarded, err := New(WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := guarded.Resolve(ctx, alice); !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Fatalf("loopback without WithAllowedNetworks: %v", err)
	}
	// Deleted documents are gone: notFound.
	h.Delete(alice.String())
	if _, err := r.Resolve(ctx, alice.String()); !errors.Is(err, did.ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	srv.Client().CloseIdleConnections()
	web.client.HTTPClient().CloseIdleConnections()
}

func TestHandler(t *testing.T) {
	ctx := context.Background()
	alice, _ := NewDID("example.com", "user", "alice")
	root, _ := NewDID("example.com")
	other, _ := NewDID("other.example")
	var docs []*did.Document
	for _, d := range []did.DID{alice, root, other} {
		b, err := Create(ctx, jose.NewMemoryKeyManager(), d)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b.Document)
	}
	h, err := NewHandler(docs...)
	if err != nil {
		t.Fatal(err)
	}
	body := func(doc *did.Document) string { b, _ := json.Marshal(doc); return string(b) }
	for _, c := range []struct {
		name, method, host, path string
		code                     int
		body                     string
	}{
		{"path DID", http.MethodGet, "example.com", "/user/alice/did.json", 200, body(docs[0])},
		{"root DID", http.MethodGet, "example.com", "/.well-known/did.json", 200, body(docs[1])},
		{"host in another case", http.MethodGet, "EXAMPLE.com", "/.well-known/did.json", 200, body(docs[1])},
		{"other host", http.MethodGet, "other.example", "/.well-known/did.json", 200, body(docs[2])},
		{"HEAD", http.MethodHead, "example.com", "/user/alice/did.json", 200, ""},
		{"unknown host", http.MethodGet, "evil.example", "/.well-known/did.json", 404, ""},
		{"path DID under .well-known", http.MethodGet, "example.com", "/.well-known/user/alice/did.json", 404, ""},
		{"path DID without did.json", http.MethodGet, "example.com", "/user/alice", 404, ""},
		{"trailing slash", http.MethodGet, "example.com", "/user/alice/did.json/", 404, ""},
		{"parent path", http.MethodGet, "example.com", "/user/did.json", 404, ""},
		{"port not in the DID", http.MethodGet, "example.com:8443", "/.well-known/did.json", 404, ""},
		{"POST", http.MethodPost, "example.com", "/.well-known/did.json", 405, ""},
		{"PUT", http.MethodPut, "example.com", "/.well-known/did.json", 405, ""},
		{"DELETE", http.MethodDelete, "example.com", "/.well-known/did.json", 405, ""},
	} {
		req := httptest.NewRequest(c.method, "http://"+c.host+c.path, strings.NewReader("{}"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		got, _ := io.ReadAll(res.Body)
		if res.StatusCode != c.code {
			t.Errorf("%s: %d, want %d", c.name, res.StatusCode, c.code)
			continue
		}
		switch c.code {
		case 200:
			if ct := res.Header.Get("Content-Type"); ct != "application/did+json" {
				t.Errorf("%s: content type %q", c.name, ct)
			}
			if c.method == http.MethodGet && string(got) != c.body {
				t.Errorf("%s: body %s", c.name, got)
			}
			if c.method == http.MethodHead && (len(got) != 0 || res.Header.Get("Content-Length") != itoa(len(body(docs[0])))) {
				t.Errorf("%s: body %q, length %s", c.name, got, res.Header.Get("Content-Length"))
			}
		case 405:
			if res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: Allow %q", c.name, res.Header.Get("Allow"))
			}
		}
	}
	// Put replaces; Put refuses what cannot be served.
	b, _ := Create(ctx, jose.NewMemoryKeyManager(), root)
	if err := h.Put(b.Document); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://example.com/.well-known/did.json", nil))
	if rec.Body.String() != body(b.Document) {
		t.Fatal("Put did not replace the document")
	}
	for name, doc := range map[string]*did.Document{
		"nil":              nil,
		"not a did:web":    {ID: "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"},
		"invalid did:web":  {ID: "did:web:exa_mple.com"},
		"not a DID":        {ID: "web:example.com"},
		"invalid document": {ID: root.String(), VerificationMethod: []did.VerificationMethod{{ID: "#k"}}},
	} {
		if err := h.Put(doc); err == nil {
			t.Errorf("Put %s: accepted", name)
		}
	}
	// The zero Handler serves nothing, and works once given documents.
	var zero Handler
	rec = httptest.NewRecorder()
	zero.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://example.com/.well-known/did.json", nil))
	if rec.Code != 404 {
		t.Fatalf("zero handler: %d", rec.Code)
	}
	if err := zero.Put(b.Document); err != nil {
		t.Fatal(err)
	}
}

package did

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/web5/internal/vectors"
	"github.com/anya-org/anya-go/web5/jose"
)

// staticMethod resolves did:test DIDs from a map and counts calls.
type staticMethod struct {
	mu    sync.Mutex
	docs  map[string]*Document
	meta  map[string]DocumentMetadata
	ttl   time.Duration
	calls atomic.Int64
}

func (m *staticMethod) Method() string { return "test" }

func (m *staticMethod) Resolve(ctx context.Context, d DID) (*Result, error) {
	m.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	doc, ok := m.docs[d.String()]
	if !ok {
		return nil, NewError(CodeNotFound, d.String(), nil)
	}
	return &Result{Document: doc, DocumentMetadata: m.meta[d.String()], TTL: m.ttl}, nil
}

// newDoc builds a did:test document with one key per curve given, all under the four
// signing relationships, and returns it with the key manager holding the keys.
func newDoc(t testing.TB, id string, curves ...jose.Curve) (*Document, *jose.MemoryKeyManager) {
	t.Helper()
	ctx := context.Background()
	km := jose.NewMemoryKeyManager()
	doc := &Document{ID: id}
	for i, c := range curves {
		keyID, err := km.GenerateKey(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := km.PublicKey(ctx, keyID)
		vm := VerificationMethod{ID: fmt.Sprintf("%s#key-%d", id, i), Type: TypeJsonWebKey, Controller: id, PublicKeyJwk: &pub}
		if c == jose.X25519 {
			doc.AddVerificationMethod(vm, KeyAgreement)
		} else {
			doc.AddVerificationMethod(vm, Authentication, AssertionMethod, CapabilityInvocation, CapabilityDelegation)
		}
	}
	return doc, km
}

func newResolver(t testing.TB, m *staticMethod, opts ...Option) *Resolver {
	t.Helper()
	r, err := NewResolver(append([]Option{WithMethods(m)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolverErrorCodes(t *testing.T) {
	doc, _ := newDoc(t, "did:test:alice", jose.Ed25519)
	m := &staticMethod{docs: map[string]*Document{doc.ID: doc}}
	r := newResolver(t, m)
	ctx := context.Background()
	cases := map[string]struct {
		did  string
		opts []ResolveOption
		code string
		err  error
	}{
		"not a DID":          {"invalid-did", nil, CodeInvalidDID, ErrInvalidDID},
		"DID URL":            {"did:test:alice#key-0", nil, CodeInvalidDID, ErrInvalidDID},
		"unknown method":     {"did:web:example.com", nil, CodeMethodNotSupported, ErrMethodNotSupported},
		"not found":          {"did:test:bob", nil, CodeNotFound, ErrNotFound},
		"bad representation": {"did:test:alice", []ResolveOption{Accept("application/cbor")}, CodeRepresentationNotSupported, ErrRepresentationNotSupported},
	}
	for name, c := range cases {
		res, err := r.Resolve(ctx, c.did, c.opts...)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", name, err, c.err)
		}
		var re *ResolutionError
		if !errors.As(err, &re) || re.Code != c.code {
			t.Errorf("%s: err %v is not a ResolutionError with code %s", name, err, c.code)
		}
		if res == nil || res.Document != nil || res.ResolutionMetadata.Error != c.code {
			t.Errorf("%s: result %+v", name, res)
		}
		b, _ := json.Marshal(res)
		want := `{"@context":"https://w3id.org/did-resolution/v1","didResolutionMetadata":{"error":"` + c.code + `"},"didDocument":null,"didDocumentMetadata":{}}`
		if string(b) != want {
			t.Errorf("%s: JSON %s\nwant %s", name, b, want)
		}
	}
	res, err := r.Resolve(ctx, "did:test:alice", Accept(MediaTypeDIDJSON))
	if err != nil || res.ResolutionMetadata.ContentType != MediaTypeDIDJSON || res.Document.ID != "did:test:alice" {
		t.Fatalf("accept did+json: %+v %v", res, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Resolve(cctx, "did:test:alice"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

func TestResolverRejectsBadDocuments(t *testing.T) {
	doc, km := newDoc(t, "did:test:alice", jose.Ed25519)
	priv, _ := km.ExportKey(context.Background(), doc.VerificationMethod[0].PublicKeyJwk.KeyID)
	leaky := *doc
	leaky.VerificationMethod = []VerificationMethod{doc.VerificationMethod[0]}
	leaky.VerificationMethod[0].PublicKeyJwk = &priv
	wrongID := *doc
	wrongID.ID = "did:test:mallory"
	dangling := *doc
	dangling.Authentication = []string{"#nope"}
	m := &staticMethod{docs: map[string]*Document{
		"did:test:leaky":    &leaky,
		"did:test:wrongid":  &wrongID,
		"did:test:dangling": &dangling,
	}}
	leaky.ID, dangling.ID = "did:test:leaky", "did:test:dangling"
	r := newResolver(t, m)
	for id := range m.docs {
		if _, err := r.Resolve(context.Background(), id); !errors.Is(err, ErrInternal) {
			t.Errorf("%s: %v, want internalError", id, err)
		}
	}
}

func TestResolverCachesWithTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		doc, _ := newDoc(t, "did:test:alice", jose.Ed25519)
		m := &staticMethod{docs: map[string]*Document{doc.ID: doc}, ttl: 10 * time.Minute}
		r := newResolver(t, m, WithMaxTTL(time.Hour))
		ctx := context.Background()
		for range 3 {
			if _, err := r.Resolve(ctx, doc.ID); err != nil {
				t.Fatal(err)
			}
		}
		if n := m.calls.Load(); n != 1 {
			t.Fatalf("%d method calls, want 1 (cached)", n)
		}
		time.Sleep(10*time.Minute + time.Second)
		if _, err := r.Resolve(ctx, doc.ID); err != nil {
			t.Fatal(err)
		}
		if n := m.calls.Load(); n != 2 {
			t.Fatalf("%d method calls after the TTL, want 2", n)
		}
		// NoCache goes to the method; errors are not cached.
		_, _ = r.Resolve(ctx, doc.ID, NoCache())
		_, _ = r.Resolve(ctx, "did:test:nobody")
		_, _ = r.Resolve(ctx, "did:test:nobody")
		if n := m.calls.Load(); n != 5 {
			t.Fatalf("%d method calls, want 5", n)
		}
	})
}

func TestResolverTTLHonoursMetadata(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		doc, _ := newDoc(t, "did:test:alice", jose.Ed25519)
		next := time.Now().Add(2 * time.Minute).UTC().Format(time.RFC3339)
		m := &staticMethod{docs: map[string]*Document{doc.ID: doc}, meta: map[string]DocumentMetadata{doc.ID: {NextUpdate: next}}, ttl: time.Hour}
		r := newResolver(t, m)
		ctx := context.Background()
		_, _ = r.Resolve(ctx, doc.ID)
		time.Sleep(time.Minute)
		_, _ = r.Resolve(ctx, doc.ID)
		if n := m.calls.Load(); n != 1 {
			t.Fatalf("%d calls before nextUpdate", n)
		}
		time.Sleep(90 * time.Second)
		_, _ = r.Resolve(ctx, doc.ID)
		if n := m.calls.Load(); n != 2 {
			t.Fatalf("%d calls after nextUpdate, want 2", n)
		}
		// A negative TTL means never cache.
		m.ttl = -1
		m.meta = nil
		r2 := newResolver(t, m)
		_, _ = r2.Resolve(ctx, doc.ID)
		_, _ = r2.Resolve(ctx, doc.ID)
		if n := m.calls.Load(); n != 4 {
			t.Fatalf("%d calls, want 4 with caching off", n)
		}
	})
}

func TestMemoryCacheBounded(t *testing.T) {
	c := NewMemoryCache(2)
	ctx := context.Background()
	a, b, d := &Result{}, &Result{}, &Result{}
	c.Set(ctx, "a", a, time.Hour)
	c.Set(ctx, "b", b, time.Hour)
	c.Get(ctx, "a") // a is now most recent
	c.Set(ctx, "d", d, time.Hour)
	if _, ok := c.Get(ctx, "b"); ok {
		t.Fatal("least recently used entry not evicted")
	}
	if got, ok := c.Get(ctx, "a"); !ok || got != a {
		t.Fatal("recent entry evicted")
	}
	if c.Len() != 2 {
		t.Fatalf("len %d", c.Len())
	}
	c.Set(ctx, "z", d, 0)
	if _, ok := c.Get(ctx, "z"); ok {
		t.Fatal("zero TTL stored")
	}
}

func TestNewResolverValidates(t *testing.T) {
	m := &staticMethod{}
	var nilMethod *staticMethod
	for _, c := range []struct {
		name   string
		opts   []Option
		option string
	}{
		{"no methods", nil, "WithMethods"},
		{"empty WithMethods", []Option{WithMethods()}, "WithMethods"},
		{"nil method", []Option{WithMethods(nil)}, "WithMethods"},
		{"nil pointer method", []Option{WithMethods(nilMethod)}, "WithMethods"},
		{"duplicate", []Option{WithMethods(m, m)}, "WithMethods"},
		{"duplicate across two WithMethods", []Option{WithMethods(m), WithMethods(m)}, "WithMethods"},
		{"negative TTL", []Option{WithMethods(m), WithDefaultTTL(-1)}, "WithDefaultTTL"},
		{"negative max", []Option{WithMethods(m), WithMaxTTL(-1)}, "WithMaxTTL"},
		{"zero size", []Option{WithMethods(m), WithCacheSize(0)}, "WithCacheSize"},
		{"nil cache", []Option{WithMethods(m), WithCache(nil)}, "WithCache"},
		{"cache and no cache", []Option{WithMethods(m), WithCache(NewMemoryCache(1)), WithoutCache()}, "WithoutCache"},
		{"nil clock", []Option{WithMethods(m), WithClock(nil)}, "WithClock"},
		{"nil logger", []Option{WithMethods(m), WithLogger(nil)}, "WithLogger"},
		{"nil option", []Option{WithMethods(m), nil}, "Option"},
	} {
		r, err := NewResolver(c.opts...)
		var oe *OptionError
		if r != nil || !errors.Is(err, ErrInvalidOption) || !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("%s: %v, want an *OptionError naming %s", c.name, err, c.option)
		}
	}
	// Methods accumulate over several WithMethods, as anya.WithDIDMethods does.
	r, err := NewResolver(WithMethods(m), WithMethods(&namedMethod{name: "other"}))
	if err != nil || len(r.Methods()) != 2 {
		t.Fatalf("two WithMethods: %v %v", r.Methods(), err)
	}
}

// namedMethod is a method resolver of any name that finds nothing.
type namedMethod struct{ name string }

func (m *namedMethod) Method() string { return m.name }
func (m *namedMethod) Resolve(_ context.Context, d DID) (*Result, error) {
	return nil, NewError(CodeNotFound, d.String(), nil)
}

// The TTL of a result with nextUpdate is bounded by the resolver's clock, not the wall clock.
func TestResolverClockBoundsNextUpdate(t *testing.T) {
	doc, _ := newDoc(t, "did:test:alice", jose.Ed25519)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	meta := DocumentMetadata{NextUpdate: now.Add(time.Minute).Format(time.RFC3339)}
	m := &staticMethod{docs: map[string]*Document{doc.ID: doc}, meta: map[string]DocumentMetadata{doc.ID: meta}}
	r := newResolver(t, m, WithClock(func() time.Time { return now }))
	if _, err := r.Resolve(context.Background(), doc.ID); err != nil {
		t.Fatal(err)
	}
	// With the wall clock (years before 2030) the TTL would be capped at DefaultMaxTTL; with
	// the resolver's clock nextUpdate is a minute away.
	if got := r.ttl(&Result{Document: doc, DocumentMetadata: meta}); got != time.Minute {
		t.Fatalf("ttl %v, want 1m", got)
	}
}

func TestDereference(t *testing.T) {
	doc, _ := newDoc(t, "did:test:alice", jose.Ed25519, jose.X25519)
	doc.Service = []Service{{ID: "#dwn", Type: "DecentralizedWebNode", ServiceEndpoint: []any{"https://dwn.example.com/base/"}}}
	r := newResolver(t, &staticMethod{docs: map[string]*Document{doc.ID: doc}})
	ctx := context.Background()
	d, err := r.Dereference(ctx, "did:test:alice#key-1")
	if err != nil || d.VerificationMethod == nil || d.VerificationMethod.ID != "did:test:alice#key-1" {
		t.Fatalf("fragment: %+v %v", d, err)
	}
	d, err = r.Dereference(ctx, "did:test:alice#dwn")
	if err != nil || d.Service == nil || d.Service.Type != "DecentralizedWebNode" {
		t.Fatalf("service fragment: %+v %v", d, err)
	}
	d, err = r.Dereference(ctx, "did:test:alice?service=dwn&relativeRef=%2Frecords%3Fa%3D1")
	if err != nil || d.URL != "https://dwn.example.com/records?a=1" {
		t.Fatalf("service query: %+v %v", d, err)
	}
	d, err = r.Dereference(ctx, "did:test:alice")
	if err != nil || d.Resolution.Document != doc {
		t.Fatalf("whole document: %v", err)
	}
	for url, want := range map[string]error{
		"did:test:alice#nope":         ErrNotFound,
		"did:test:alice?service=nope": ErrNotFound,
		"did:test:alice?versionId=1":  ErrNotFound,
		"did:test:alice/path":         ErrNotFound,
		"did:test:alice#a b":          ErrInvalidDIDURL,
		"did:test:bob#key-0":          ErrNotFound,
		"did:other:bob#key-0":         ErrMethodNotSupported,
	} {
		if _, err := r.Dereference(ctx, url); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", url, err, want)
		}
	}
}

func TestDocumentDecodeEmbeddedMethods(t *testing.T) {
	const in = `{
		"@context": ["https://www.w3.org/ns/did/v1"],
		"id": "did:test:alice",
		"controller": "did:test:bob",
		"verificationMethod": [{"id": "#key-1", "type": "Multikey", "controller": "did:test:alice",
			"publicKeyMultibase": "z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"}],
		"authentication": ["#key-1", {"id": "did:test:alice#auth", "type": "JsonWebKey", "controller": "did:test:alice",
			"publicKeyJwk": {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}]
	}`
	var doc Document
	if err := json.Unmarshal([]byte(in), &doc); err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(doc.VerificationMethod) != 2 || len(doc.Authentication) != 2 || doc.Authentication[1] != "did:test:alice#auth" {
		t.Fatalf("%+v", doc)
	}
	if !doc.Authorizes("did:test:alice#key-1", Authentication) || doc.Authorizes("did:test:alice#key-1", AssertionMethod) {
		t.Fatal("Authorizes with relative references")
	}
	k, err := doc.VerificationMethod[0].PublicKey()
	if err != nil || k.Curve != jose.Ed25519 || k.X != "DzpSEyU0w1Myn3lA_piHAI6OrFAnZuEsTwMUPCTwMc8" {
		t.Fatalf("multikey: %v %v", k, err)
	}
	if len(doc.Controller) != 1 || doc.Controller[0] != "did:test:bob" {
		t.Fatal("controller")
	}
	out, _ := json.Marshal(&doc)
	if !strings.Contains(string(out), `"controller":"did:test:bob"`) {
		t.Fatalf("single controller not a string: %s", out)
	}
	for name, bad := range map[string]string{
		"clashing embedded method": `{"id":"did:test:a","verificationMethod":[{"id":"did:test:a#k","type":"Multikey","controller":"did:test:a","publicKeyMultibase":"z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"}],"authentication":[{"id":"did:test:a#k","type":"Multikey","controller":"did:test:b","publicKeyMultibase":"z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"}]}`,
		"number in relationship":   `{"id":"did:test:a","authentication":[5]}`,
		"numeric controller":       `{"id":"did:test:a","controller":5}`,
	} {
		var d Document
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDocumentValidate(t *testing.T) {
	base, _ := newDoc(t, "did:test:alice", jose.Ed25519)
	mutate := map[string]func(d *Document){
		"bad id":         func(d *Document) { d.ID = "alice" },
		"bad controller": func(d *Document) { d.Controller = OneOrMany{"x"} },
		"duplicate vm":   func(d *Document) { d.VerificationMethod = append(d.VerificationMethod, d.VerificationMethod[0]) },
		"vm two keys":    func(d *Document) { d.VerificationMethod[0].PublicKeyMultibase = "z6Mk" },
		"vm no type":     func(d *Document) { d.VerificationMethod[0].Type = "" },
		"vm bad id":      func(d *Document) { d.VerificationMethod[0].ID = "did:test:alice" },
		"vm bad key": func(d *Document) {
			k := *d.VerificationMethod[0].PublicKeyJwk
			k.X = "AAAA"
			d.VerificationMethod[0].PublicKeyJwk = &k
		},
		"dangling ref":        func(d *Document) { d.AssertionMethod = []string{"#nope"} },
		"service no type":     func(d *Document) { d.Service = []Service{{ID: "#s", ServiceEndpoint: "https://x"}} },
		"service dup id":      func(d *Document) { d.Service = []Service{{ID: "#key-0", Type: "T", ServiceEndpoint: "https://x"}} },
		"service no endpoint": func(d *Document) { d.Service = []Service{{ID: "#s", Type: "T"}} },
	}
	for name, f := range mutate {
		b, _ := json.Marshal(base)
		var d Document
		_ = json.Unmarshal(b, &d)
		f(&d)
		var de *DocumentError
		if err := d.Validate(); !errors.As(err, &de) || !errors.Is(err, ErrInvalidDocument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Legacy base58 keys are read; material of unknown kinds is kept but verifies nothing.
	legacy := VerificationMethod{ID: "#legacy", Type: TypeEd25519VerificationKey2018, Controller: base.ID, PublicKeyBase58: "H3C2AVvLMv6gmMNam3uVAjZpfkcJCwDwnZn6z3wXmqPV"}
	base.VerificationMethod = append(base.VerificationMethod, legacy, VerificationMethod{ID: "#hex", Type: "EcdsaSecp256k1VerificationKey2019", Controller: base.ID})
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	if k, err := legacy.PublicKey(); err != nil || k.Curve != jose.Ed25519 {
		t.Fatalf("base58 key: %v %v", k, err)
	}
	if _, err := base.VerificationMethod[len(base.VerificationMethod)-1].PublicKey(); err == nil {
		t.Fatal("a method without material has a key")
	}
	// References to other DIDs' methods are allowed.
	base.CapabilityDelegation = append(base.CapabilityDelegation, "did:test:bob#key-0")
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPortableDIDVectors(t *testing.T) {
	vectors.Run(t, "testdata/web5-spec/portable_did/parse.json", 5, func(t *testing.T, v vectors.Vector) {
		p, err := ParsePortableDID(v.Input)
		if v.Errors {
			if !errors.Is(err, ErrInvalidPortableDID) {
				t.Fatalf("got %v, want ErrInvalidPortableDID", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.URI != p.Document.ID || len(p.PrivateKeys) != 1 || p.Metadata["foo"] != "bar" {
			t.Fatalf("%+v", p)
		}
		b, err := Import(context.Background(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := b.Export(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if back.URI != p.URI || back.PrivateKeys[0].D != p.PrivateKeys[0].D || back.Metadata["foo"] != "bar" {
			t.Fatalf("export %+v", back)
		}
	})
}

func TestPortableDIDRejectsForeignKeys(t *testing.T) {
	doc, km := newDoc(t, "did:test:alice", jose.Ed25519)
	_, other := newDoc(t, "did:test:bob", jose.Ed25519)
	b, err := NewBearerDID(context.Background(), doc, km, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	otherKeyID, _ := other.GenerateKey(context.Background(), jose.Ed25519)
	foreign, _ := other.ExportKey(context.Background(), otherKeyID)
	p.PrivateKeys = []jose.JWK{foreign}
	raw, _ := json.Marshal(p)
	if _, err := ParsePortableDID(raw); !errors.Is(err, ErrInvalidPortableDID) {
		t.Fatalf("foreign private key accepted: %v", err)
	}
	p.PrivateKeys = []jose.JWK{*doc.VerificationMethod[0].PublicKeyJwk}
	raw, _ = json.Marshal(p)
	if _, err := ParsePortableDID(raw); !errors.Is(err, ErrInvalidPortableDID) {
		t.Fatalf("public key as private key accepted: %v", err)
	}
}

func TestResolverConcurrent(t *testing.T) {
	docs := map[string]*Document{}
	for i := range 20 {
		d, _ := newDoc(t, fmt.Sprintf("did:test:u%d", i), jose.Ed25519)
		docs[d.ID] = d
	}
	m := &staticMethod{docs: docs, ttl: time.Hour}
	r := newResolver(t, m, WithCacheSize(8)) // smaller than the working set: evictions race with hits
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id := fmt.Sprintf("did:test:u%d", (g*7+i)%20)
				res, err := r.Resolve(ctx, id)
				if err != nil || res.Document.ID != id {
					t.Errorf("%s: %v", id, err)
					return
				}
				if _, _, err := r.VerificationMethod(ctx, id+"#key-0", AssertionMethod); err != nil {
					t.Errorf("%s: %v", id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

package didweb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didtest"
	"github.com/anya-org/anya-go/web5/internal/vectors"
	"github.com/anya-org/anya-go/web5/netguard"
)

// mockTransport answers GETs from a URL → JSON map, like the vectors' mockServer, and
// reports any other host as not existing (as DNS would).
type mockTransport map[string]json.RawMessage

func (m mockTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, ok := m[req.URL.String()]
	if !ok {
		for u := range m {
			if strings.HasPrefix(u, req.URL.Scheme+"://"+req.URL.Host+"/") {
				return &http.Response{StatusCode: 404, Status: "404 Not Found", Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
			}
		}
		return nil, &net.DNSError{Err: "no such host", Name: req.URL.Hostname(), IsNotFound: true}
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{"Content-Type": {"application/did+json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: req}, nil
}

func TestVectorsResolve(t *testing.T) {
	vectors.Run(t, "testdata/web5-spec/did_web/resolve.json", 6, func(t *testing.T, v vectors.Vector) {
		var in struct {
			DIDURI     string        `json:"didUri"`
			MockServer mockTransport `json:"mockServer"`
		}
		vectors.Decode(t, v.Input, &in)
		// The mock transport answers in-process; the caller answers for it.
		m, err := New(WithHTTPClient(&http.Client{Transport: in.MockServer}), WithAllowPrivateNetworks())
		if err != nil {
			t.Fatal(err)
		}
		r, err := did.NewResolver(did.WithMethods(m))
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Resolve(context.Background(), in.DIDURI)
		if v.Errors != (err != nil) {
			t.Fatalf("err %v, errors %v", err, v.Errors)
		}
		got, _ := json.Marshal(res)
		var g map[string]any
		_ = json.Unmarshal(got, &g)
		var w map[string]any
		_ = json.Unmarshal(v.Output, &w)
		for _, k := range []string{"didDocument", "didDocumentMetadata", "didResolutionMetadata"} {
			if !reflect.DeepEqual(g[k], w[k]) {
				t.Errorf("%s: got %v, want %v", k, g[k], w[k])
			}
		}
	})
}

func TestDocumentURL(t *testing.T) {
	for in, want := range map[string]string{
		"did:web:example.com":                   "https://example.com/.well-known/did.json",
		"did:web:w3c-ccg.github.io:user:alice":  "https://w3c-ccg.github.io/user/alice/did.json",
		"did:web:example.com%3A3000:user:alice": "https://example.com:3000/user/alice/did.json",
		"did:web:127.0.0.1%3A8080":              "https://127.0.0.1:8080/.well-known/did.json",
		"did:web:example.com:a%20b":             "https://example.com/a%20b/did.json",
	} {
		got, err := DocumentURL(did.MustParse(in))
		if err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", in, got, err, want)
		}
	}
	for _, in := range []string{
		"did:web:example.com:..", "did:web:example.com:%2E%2E", "did:web:example.com:a%2Fb", "did:web:example.com::a",
		"did:web:exa_mple.com", "did:web:-example.com", "did:web:example.com%3A0", "did:web:example.com%3A99999",
		"did:web:example.com%3Ax", "did:web:user%40example.com", "did:web:example.com:a%5Cb", "did:web:%00",
	} {
		if _, err := DocumentURL(did.MustParse(in)); !errors.Is(err, did.ErrInvalidDID) {
			t.Errorf("%s: %v, want invalidDid", in, err)
		}
	}
}

func TestLoopbackAndServer(t *testing.T) {
	var doc []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/did.json":
			w.Header().Set("Cache-Control", "max-age=60")
			w.Write(doc)
		case "/big/did.json":
			w.Write(bytes.Repeat([]byte(" "), 2048))
		case "/broken/did.json":
			w.WriteHeader(500)
		case "/other/did.json":
			w.Write([]byte(`{"id":"did:web:evil.example"}`))
		case "/notjson/did.json":
			w.Write([]byte(`<html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	id := "did:web:" + strings.Replace(host, ":", "%3A", 1)
	doc, _ = json.Marshal(map[string]any{"id": id})
	ctx := context.Background()

	// HTTPS only by default: the plain-HTTP test server is unreachable that way.
	strict, _ := New(WithHTTPClient(srv.Client()), WithAllowPrivateNetworks())
	if _, err := strict.Resolve(ctx, did.MustParse(id)); err == nil {
		t.Fatal("resolved over plain HTTP without WithLoopbackHTTP")
	}
	// Loopback is the host's own network: refused unless allowed.
	guarded, _ := New(WithHTTPClient(srv.Client()), WithLoopbackHTTP())
	if _, err := guarded.Resolve(ctx, did.MustParse(id)); !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Fatalf("loopback without WithAllowPrivateNetworks: %v", err)
	}
	m, err := New(WithHTTPClient(srv.Client()), WithLoopbackHTTP(), WithMaxDocumentSize(1024), WithAllowPrivateNetworks())
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Resolve(ctx, did.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	if res.TTL != time.Minute {
		t.Fatalf("TTL %v, want max-age", res.TTL)
	}
	for path, want := range map[string]error{
		":big":     did.ErrInternal,
		":broken":  did.ErrInternal,
		":other":   did.ErrInternal,
		":notjson": did.ErrInternal,
		":missing": did.ErrNotFound,
	} {
		if _, err := m.Resolve(ctx, did.MustParse(id+path)); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", path, err, want)
		}
	}
	didtest.Run(t, didtest.Harness{
		Method:   m,
		Existing: []string{id},
		Missing:  id + ":missing",
		Invalid:  []string{"did:web:example.com:..", "did:web:exa_mple.com"},
	})
}

func TestCacheTTL(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"":                      0,
		"max-age=300":           5 * time.Minute,
		"public, max-age=10":    10 * time.Second,
		"no-store":              -1,
		"no-cache, max-age=100": -1,
		"max-age=0":             -1,
		"max-age=abc":           0,
	} {
		if got := cacheTTL(cc); got != want {
			t.Errorf("%q: %v, want %v", cc, got, want)
		}
	}
}

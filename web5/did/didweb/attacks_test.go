package didweb

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/netguard"
)

// serveOn serves h on addr (host:port) until the test ends.
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// webDID returns the did:web of a document at the root of host:port.
func webDID(hostport string) string {
	return "did:web:" + strings.NewReplacer(":", "%3A", "[", "%5B", "]", "%5D").Replace(hostport)
}

// TestAttacks lists the server-side request forgeries a did:web resolution could make,
// one named row each: addresses of the host's own network given directly, in IPv4-mapped
// form, behind a host name or behind a redirect, and responses that never end or never
// stop. Each must be refused before anything is read.
func TestAttacks(t *testing.T) {
	ctx := context.Background()
	var hits sync.Map // requests that reached a server, by server
	doc := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Store(name, true)
			_ = json.NewEncoder(w).Encode(map[string]any{"id": webDID(r.Host)})
		})
	}
	local := serveOn(t, "127.0.0.1:0", doc("127.0.0.1"))
	port := local.Listener.Addr().(*net.TCPAddr).Port
	portS := itoa(port)
	guarded, err := New(WithLoopbackHTTP(), WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, did string }{
		{"127.0.0.1", webDID(local.Listener.Addr().String())},
		{"[::1]", webDID("[::1]:" + portS)},
		{"10.0.0.1", "did:web:10.0.0.1"},
		{"172.16.0.1", "did:web:172.16.0.1"},
		{"192.168.1.1", "did:web:192.168.1.1"},
		{"169.254.169.254 (cloud metadata)", "did:web:169.254.169.254:latest:meta-data"},
		{"100.64.0.1 (CGNAT)", "did:web:100.64.0.1"},
		{"0.0.0.0", webDID("0.0.0.0:" + portS)},
		{"[::ffff:127.0.0.1]", webDID("[::ffff:127.0.0.1]:" + portS)},
		{"[fd00::1]", "did:web:%5Bfd00%3A%3A1%5D"},
		{"[fe80::1]:8443", webDID("[fe80::1]:8443")},
		{"host name resolving to loopback", webDID("localhost:" + portS)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := guarded.Resolve(ctx, did.MustParse(tc.did))
			if !errors.Is(err, netguard.ErrForbiddenAddress) || !errors.Is(err, did.ErrInternal) {
				t.Fatalf("Resolve: %v, want a refused address", err)
			}
		})
	}
	if _, reached := hits.Load("127.0.0.1"); reached {
		t.Fatal("a refused resolution reached the loopback server")
	}

	t.Run("redirect to loopback", func(t *testing.T) {
		// 127.0.0.2 stands for a public server here (allowed by prefix); it redirects to
		// the host's loopback, which the dialer checks again.
		public := serveOn(t, "127.0.0.2:0", http.RedirectHandler(local.URL+"/.well-known/did.json", http.StatusFound))
		r, err := New(WithLoopbackHTTP(), WithAllowedNetworks(netip.MustParsePrefix("127.0.0.2/32")))
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Resolve(ctx, did.MustParse(webDID(public.Listener.Addr().String())))
		if !errors.Is(err, netguard.ErrForbiddenAddress) {
			t.Fatalf("Resolve: %v", err)
		}
		if _, reached := hits.Load("127.0.0.1"); reached {
			t.Fatal("the redirect reached the loopback server")
		}
	})
	t.Run("redirect loop", func(t *testing.T) {
		var srv *httptest.Server
		srv = serveOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, srv.URL+r.URL.Path+"x", http.StatusFound)
		}))
		r, _ := New(WithLoopbackHTTP(), WithAllowedNetworks(netip.MustParsePrefix("127.0.0.2/32")))
		if _, err := r.Resolve(ctx, did.MustParse(webDID(srv.Listener.Addr().String()))); !errors.Is(err, netguard.ErrRedirect) {
			t.Fatalf("Resolve: %v", err)
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		srv := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"id":"` + strings.Repeat("a", DefaultMaxDocumentSize) + `"}`))
		}))
		r, _ := New(WithLoopbackHTTP(), WithAllowPrivateNetworks())
		if _, err := r.Resolve(ctx, did.MustParse(webDID(srv.Listener.Addr().String()))); !errors.Is(err, netguard.ErrTooLarge) {
			t.Fatalf("Resolve: %v", err)
		}
	})
	t.Run("slow body", func(t *testing.T) {
		stop := make(chan struct{})
		srv := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"id":`))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}))
		defer close(stop)
		r, _ := New(WithLoopbackHTTP(), WithAllowPrivateNetworks(), WithTimeout(50*time.Millisecond))
		_, err := r.Resolve(ctx, did.MustParse(webDID(srv.Listener.Addr().String())))
		if !errors.Is(err, netguard.ErrTimeout) || !errors.Is(err, did.ErrInternal) {
			t.Fatalf("Resolve: %v", err)
		}
	})
	t.Run("injected client of unknown transport", func(t *testing.T) {
		_, err := New(WithHTTPClient(&http.Client{Transport: mockTransport{}}))
		if !errors.Is(err, did.ErrInvalidOption) {
			t.Fatalf("New: %v", err)
		}
	})
	t.Run("injected client is guarded", func(t *testing.T) {
		r, err := New(WithHTTPClient(local.Client()), WithLoopbackHTTP())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Resolve(ctx, did.MustParse(webDID(local.Listener.Addr().String()))); !errors.Is(err, netguard.ErrForbiddenAddress) {
			t.Fatalf("Resolve: %v", err)
		}
	})
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

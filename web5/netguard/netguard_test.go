package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/web5/netguard"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheck(t *testing.T) {
	refused := []string{
		"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "100.64.0.1", "100.127.255.255", "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9",
		"224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
		"::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "fec0::1", "ff02::1", "ff0e::1", "2001:db8::1", "100::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0", "::127.0.0.1", "::10.0.0.1",
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:7f00:1::", "2002:a00:1::1", "2002:c0a8:101::1",
	}
	for _, s := range refused {
		a := netip.MustParseAddr(s)
		err := netguard.Check(a)
		var ae *netguard.AddressError
		if !errors.Is(err, netguard.ErrForbiddenAddress) || !errors.As(err, &ae) || ae.Reason == "" {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"1.1.1.1", "8.8.8.8", "93.184.216.34", "100.128.0.1", "172.32.0.1", "192.169.0.1",
		"2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"} {
		if err := netguard.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if err := netguard.Check(netip.Addr{}); !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Errorf("zero address: %v", err)
	}
}

func newClient(t *testing.T, opts ...netguard.Option) *netguard.Client {
	t.Helper()
	c, err := netguard.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.HTTPClient().CloseIdleConnections)
	return c
}

// listen serves h on addr (host:port), closing it when the test ends.
func listen(t *testing.T, addr string, h http.Handler) *httptest.Server {
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

var hello = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) })

func TestClientRefusesTheHostNetwork(t *testing.T) {
	ctx := context.Background()
	srv := listen(t, "127.0.0.1:0", hello)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	c := newClient(t)
	for _, u := range []string{
		srv.URL,
		"http://localhost:" + itoa(port),
		"http://[::ffff:127.0.0.1]:" + itoa(port),
		"http://10.0.0.1/", "http://192.168.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:" + itoa(port),
		"http://0.0.0.0:" + itoa(port),
	} {
		if _, err := c.Get(ctx, u, ""); !errors.Is(err, netguard.ErrForbiddenAddress) {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"file:///etc/passwd", "gopher://x/", "ftp://example.com/", "http:///x", "not a url"} {
		if _, err := c.Get(ctx, u, ""); !errors.Is(err, netguard.ErrScheme) {
			t.Errorf("%s: %v", u, err)
		}
	}
	// Opting in.
	r, err := newClient(t, netguard.WithAllowPrivateNetworks()).Get(ctx, srv.URL, "")
	if err != nil || string(r.Body) != "hello" {
		t.Fatalf("allowed: %v", err)
	}
	r, err = newClient(t, netguard.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.1/32"))).Get(ctx, srv.URL, "")
	if err != nil || string(r.Body) != "hello" {
		t.Fatalf("allowed network: %v", err)
	}
	if _, err := newClient(t, netguard.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.2/32"))).Get(ctx, srv.URL, ""); !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Fatalf("outside the allowed network: %v", err)
	}
}

func TestRedirects(t *testing.T) {
	ctx := context.Background()
	inner := listen(t, "127.0.0.2:0", hello)
	outer := listen(t, "127.0.0.1:0", http.RedirectHandler(inner.URL, http.StatusFound))
	// Only 127.0.0.1 stands for "the public internet" here: the redirect to 127.0.0.2 is
	// checked on its own connection.
	c := newClient(t, netguard.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.1/32")))
	if _, err := c.Get(ctx, outer.URL, ""); !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Fatalf("redirect to a refused address: %v", err)
	}
	var hops atomic.Int64
	var loop *httptest.Server
	loop = listen(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		http.Redirect(w, r, loop.URL+"/again", http.StatusFound)
	}))
	if _, err := c.Get(ctx, loop.URL, ""); !errors.Is(err, netguard.ErrRedirect) || hops.Load() != netguard.DefaultMaxRedirects+1 {
		t.Fatalf("redirect loop: %v after %d requests", err, hops.Load())
	}
	// https → http.
	plain := listen(t, "127.0.0.1:0", hello)
	tlsSrv := httptest.NewTLSServer(http.RedirectHandler(plain.URL, http.StatusFound))
	t.Cleanup(tlsSrv.Close)
	c = newClient(t, netguard.WithHTTPClient(tlsSrv.Client()), netguard.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")))
	if _, err := c.Get(ctx, tlsSrv.URL, ""); !errors.Is(err, netguard.ErrRedirect) || !strings.Contains(err.Error(), "https to http") {
		t.Fatalf("downgrade: %v", err)
	}
}

func TestBounds(t *testing.T) {
	ctx := context.Background()
	big := listen(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(make([]byte, netguard.DefaultMaxBodySize+1))
	}))
	c := newClient(t, netguard.WithAllowPrivateNetworks())
	var se *netguard.SizeError
	if _, err := c.Get(ctx, big.URL, ""); !errors.Is(err, netguard.ErrTooLarge) || !errors.As(err, &se) || se.Limit != netguard.DefaultMaxBodySize {
		t.Fatalf("oversized body: %v", err)
	}
	// A body that never ends: the client's deadline covers reading it. No time is measured.
	stop := make(chan struct{})
	slow := listen(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer close(stop)
	c = newClient(t, netguard.WithAllowPrivateNetworks(), netguard.WithTimeout(50*time.Millisecond))
	if _, err := c.Get(ctx, slow.URL, ""); !errors.Is(err, netguard.ErrTimeout) {
		t.Fatalf("slow body: %v", err)
	}
	// The caller's own cancellation is returned as such.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Get(cctx, slow.URL, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOptions(t *testing.T) {
	custom := &http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) { return nil, errors.New("x") })}
	tlsDialer := &http.Client{Transport: &http.Transport{DialTLSContext: func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("x") }}}
	for name, opts := range map[string][]netguard.Option{
		"custom transport":   {netguard.WithHTTPClient(custom)},
		"own TLS dialer":     {netguard.WithHTTPClient(tlsDialer)},
		"zero timeout":       {netguard.WithTimeout(0)},
		"negative redirects": {netguard.WithMaxRedirects(-1)},
		"zero body":          {netguard.WithMaxBodySize(0)},
		"invalid prefix":     {netguard.WithAllowedNetworks(netip.Prefix{})},
	} {
		_, err := netguard.New(opts...)
		var oe *netguard.OptionError
		if !errors.Is(err, netguard.ErrInvalidOption) || !errors.As(err, &oe) || oe.Option == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The caller takes the responsibility for a transport the guard cannot see into.
	if _, err := netguard.New(netguard.WithHTTPClient(custom), netguard.WithAllowPrivateNetworks()); err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	if c.HTTPClient().Timeout != netguard.DefaultTimeout {
		t.Fatalf("timeout %v", c.HTTPClient().Timeout)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/console"
)

// Credentials of the test consoles.
const (
	testUser     = "operator"
	testPassword = "correct horse battery staple"
)

// fixture is a Manager that ran the demo's three payments: order-1 sent, order-2 blocked by the
// fraud model, order-3 from a stranger whose address is linked to no DID.
type fixture struct {
	m                      *anya.Manager
	sim                    *simchain.Chain
	sender, shop, stranger *anya.Identity
}

// demo runs the demo's scenario on a new Manager, closed when the test ends.
func demo(t testing.TB, opts ...anya.Option) *fixture {
	t.Helper()
	ctx := context.Background()
	m, err := anya.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	f := &fixture{m: m, sim: m.Chain().(*simchain.Chain)}
	for _, id := range []**anya.Identity{&f.sender, &f.shop, &f.stranger} {
		if *id, err = m.NewIdentity(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []bitcoin.Address{f.sender.Address, f.stranger.Address} {
		if _, err := f.sim.Mine(1, simchain.PayTo(a.PkScript())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.sim.Mine(100); err != nil {
		t.Fatal(err)
	}
	challenge, err := m.Challenge(f.sender.String(), f.sender.Address.String())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := f.sender.SignChallenge(challenge)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: f.sender.String(), Address: f.sender.Address.String(), Challenge: challenge, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		id     string
		from   *anya.Identity
		amount int64
		want   anya.Outcome
	}{{"order-1", f.sender, 25_000, anya.OutcomeSent}, {"order-2", f.sender, 100_000_000, anya.OutcomeBlocked},
		{"order-3", f.stranger, 25_000, anya.OutcomeUnverified}} {
		res, err := m.Execute(ctx, anya.TriProtocol{PaymentID: p.id, SenderDID: p.from.String(), SenderAddress: p.from.Address.String(),
			RecipientAddress: f.shop.Address.String(), AmountSat: p.amount})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.(*anya.Payment).Outcome; got != p.want {
			t.Fatalf("%s: %s, want %s", p.id, got, p.want)
		}
	}
	// The notifier catches up with the tip before the tests look at health.
	deadline := time.Now().Add(30 * time.Second)
	for m.Notifier().Tip() != f.sim.Tip() {
		if time.Now().After(deadline) {
			t.Fatal("the notifier did not reach the tip")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f
}

// serve mounts a console of f's Manager at /ops/ on a test server, as a host would.
func serve(t testing.TB, f *fixture, opts ...console.Option) (*httptest.Server, *console.Handler) {
	t.Helper()
	h, err := console.New(f.m, console.BasicAuth(testUser, testPassword), opts...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ops/", http.StripPrefix("/ops", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
	})
	return srv, h
}

// get fetches path from srv with the test credentials (or none, with auth false).
func get(t testing.TB, srv *httptest.Server, path string, auth bool) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(testUser, testPassword)
	}
	return do(t, srv, req)
}

func do(t testing.TB, srv *httptest.Server, req *http.Request) (*http.Response, string) {
	t.Helper()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func contains(t testing.TB, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
}

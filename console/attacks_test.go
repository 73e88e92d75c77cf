package console_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/console"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
)

const xss = `"><script>alert(1)</script><img src=x onerror=alert(2)>`

// TestAttacks: the console under attack — requests without or with wrong credentials, path
// traversal, markup in stored strings and in queries, oversized and malformed queries, forged
// writes. Each row is one attack and what the console must answer; every answer carries the
// security headers, and no page shows markup it was given or a DID or address in clear.
func TestAttacks(t *testing.T) {
	breakers, err := resilience.NewBreakerRegistry()
	if err != nil {
		t.Fatal(err)
	}
	f := demo(t, anya.WithBreakers(breakers), anya.WithFraudMonitor())
	ctx := t.Context()
	// A fraud alert forged on the Manager's bus: markup in every string it carries, the sender's
	// DID and address in clear.
	forged := monitor.Alert{ID: "forged" + xss, Scored: monitor.Scored{Risk: 0.99, Model: xss, Threshold: 0.7, Alert: true,
		Source: xss, DID: f.sender.String(), Address: f.sender.Address.String(), Factors: []ml.Factor{{Feature: xss, Value: 1}},
		Time: time.Now()}}
	if err := bus.Publish(ctx, f.m.Bus(), monitor.TopicAlert, forged, bus.WithSource(monitor.BusSource)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); len(f.m.FraudAlerts()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the forged alert never reached the Manager")
		}
	}
	// Stored strings an attacker may control: a host decision's rule and reason in the audit log.
	if _, err := f.m.Audit().Append(ctx, security.Entry{Kind: security.KindDecision, Action: xss, Principal: f.sender.String(),
		Decision: security.DecisionDeny, Rule: xss, Reason: xss + " from " + f.sender.String() + " at " + f.sender.Address.String()}); err != nil {
		t.Fatal(err)
	}

	// The console read-only, mounted under /ops/, and a console with writes for the same
	// operator, mounted at the root of its own server.
	ro, _ := serve(t, f)
	rw, err := console.New(f.m, console.BasicAuth(testUser, testPassword), console.WithWrites(console.BasicAuth(testUser, testPassword)))
	if err != nil {
		t.Fatal(err)
	}
	rwSrv := httptest.NewServer(rw)
	t.Cleanup(func() { _ = rw.Close(); rwSrv.Close() })
	csrf := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)
	_, page := get(t, rwSrv, "/breakers", true)
	m := csrf.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the breakers page of a console with writes:\n%s", page)
	}
	token := m[1]
	if _, page := get(t, ro, "/ops/breakers", true); strings.Contains(page, `name="csrf"`) || strings.Contains(page, "Reset") {
		t.Errorf("a read-only console offers writes")
	}

	bitcoinBreaker, err := breakers.Get("bitcoin")
	if err != nil {
		t.Fatal(err)
	}

	bitcoinBreaker.ForceOpen() // only the last row, a write from the console, closes it

	type req struct {
		method, path, body string
		auth               bool
		header             map[string]string
	}
	for _, tc := range []struct {
		name   string
		srv    *httptest.Server
		req    req
		status int
		check  func(t *testing.T, resp *http.Response, body string)
	}{
		// Who may see it.
		{name: "no credentials", srv: ro, req: req{path: "/ops/"}, status: 401, check: func(t *testing.T, resp *http.Response, body string) {
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="anya console"`) || strings.Contains(body, "order-1") {
				t.Errorf("challenge %q, body %q", resp.Header.Get("WWW-Authenticate"), body)
			}
		}},
		{name: "wrong password", srv: ro, req: req{path: "/ops/payments", header: map[string]string{"Authorization": basic(testUser, "guess")}}, status: 401},
		{name: "wrong user", srv: ro, req: req{path: "/ops/payments", header: map[string]string{"Authorization": basic("admin", testPassword)}}, status: 401},
		{name: "empty credentials", srv: ro, req: req{path: "/ops/payments", header: map[string]string{"Authorization": basic("", "")}}, status: 401},
		{name: "bearer for basic", srv: ro, req: req{path: "/ops/", header: map[string]string{"Authorization": "Bearer " + testPassword}}, status: 401},
		{name: "no credentials, unknown page", srv: ro, req: req{path: "/ops/nope"}, status: 401},
		{name: "no credentials, static", srv: ro, req: req{path: "/ops/static/console.js"}, status: 401},
		{name: "no credentials, event stream", srv: ro, req: req{path: "/ops/events"}, status: 401},
		{name: "no credentials, health probe", srv: ro, req: req{path: "/ops/health.json"}, status: 401},
		{name: "no credentials, write", srv: rwSrv, req: req{method: "POST", path: "/breakers/bitcoin/reset", body: "csrf=" + token}, status: 401},

		// Path traversal and odd paths.
		{name: "dot-dot in static", srv: rwSrv, req: req{path: "/static/../../go.mod", auth: true}, status: 404},
		{name: "encoded dot-dot in static", srv: rwSrv, req: req{path: "/static/..%2f..%2fgo.mod", auth: true}, status: 404},
		{name: "encoded dots", srv: rwSrv, req: req{path: "/static/%2e%2e/console.go", auth: true}, status: 404},
		{name: "static directory", srv: rwSrv, req: req{path: "/static/", auth: true}, status: 404},
		{name: "template source", srv: rwSrv, req: req{path: "/static/layout.html", auth: true}, status: 404},
		{name: "nested static", srv: rwSrv, req: req{path: "/static/templates/layout.html", auth: true}, status: 404},
		{name: "run ID with slashes", srv: rwSrv, req: req{path: "/runs/..%2F..%2Fetc%2Fpasswd", auth: true}, status: 404},
		{name: "run ID with NUL", srv: rwSrv, req: req{path: "/runs/a%00b", auth: true}, status: 404},
		{name: "oversized run ID", srv: rwSrv, req: req{path: "/runs/" + strings.Repeat("a", 5000), auth: true}, status: 404},
		{name: "double slash", srv: rwSrv, req: req{path: "//etc/passwd", auth: true}, status: 404},
		{name: "model plot traversal", srv: rwSrv, req: req{path: "/models/..%2F..%2F/1/plot.png", auth: true}, status: 404},
		{name: "unknown model", srv: rwSrv, req: req{path: "/models/fraud/99/plot.png", auth: true}, status: 404},

		// Markup in stored strings and in queries is shown as text.
		{name: "markup in the audit log", srv: ro, req: req{path: "/ops/audit", auth: true}, status: 200, check: func(t *testing.T, _ *http.Response, body string) {
			contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
		}},
		{name: "markup in alerts", srv: ro, req: req{path: "/ops/alerts", auth: true}, status: 200, check: func(t *testing.T, _ *http.Response, body string) {
			contains(t, body, "&lt;img src=x onerror=alert(2)&gt;")
		}},
		{name: "markup in a fraud alert", srv: ro, req: req{path: "/ops/alerts", auth: true}, status: 200, check: func(t *testing.T, _ *http.Response, body string) {
			_, table, _ := strings.Cut(body, `<table class="fraud-alerts">`)
			table, _, _ = strings.Cut(table, "</table>")
			contains(t, table, `class="fraud-alert"`, "&lt;script&gt;alert(1)&lt;/script&gt;", `data-alert="forged&#34;&gt;&lt;script&gt;`,
				"<code>did#", "<code>addr#")
		}},
		{name: "markup in a filter", srv: ro, req: req{path: "/ops/payments?sender=" + url.QueryEscape(xss), auth: true}, status: 200},
		{name: "markup in an outcome", srv: ro, req: req{path: "/ops/payments?outcome=" + url.QueryEscape(xss), auth: true}, status: 400},
		{name: "markup in a status", srv: ro, req: req{path: "/ops/runs?status=" + url.QueryEscape(xss), auth: true}, status: 400},
		{name: "markup in a parameter name", srv: ro, req: req{path: "/ops/runs?" + url.QueryEscape(xss) + "=1", auth: true}, status: 400},

		// Oversized and malformed queries.
		{name: "HEAD of the event stream", srv: ro, req: req{method: "HEAD", path: "/ops/events", auth: true}, status: 200},
		{name: "oversized query", srv: ro, req: req{path: "/ops/payments?sender=did:key:" + strings.Repeat("z", 4000), auth: true}, status: 414},
		{name: "oversized limit", srv: ro, req: req{path: "/ops/payments?limit=100000000000", auth: true}, status: 400},
		{name: "negative limit", srv: ro, req: req{path: "/ops/runs?limit=-1", auth: true}, status: 400},
		{name: "limit not a number", srv: ro, req: req{path: "/ops/payments?limit=ten", auth: true}, status: 400},
		{name: "oversized cursor", srv: ro, req: req{path: "/ops/runs?before=" + strings.Repeat("x", 200), auth: true}, status: 400},
		{name: "repeated parameter", srv: ro, req: req{path: "/ops/payments?sender=did:key:a&sender=did:key:b", auth: true}, status: 400},
		{name: "unknown parameter", srv: ro, req: req{path: "/ops/?debug=1", auth: true}, status: 400},
		{name: "malformed query", srv: ro, req: req{path: "/ops/payments?limit=%zz", auth: true}, status: 400},
		{name: "audit page too large", srv: ro, req: req{path: "/ops/audit?limit=100000", auth: true}, status: 400},
		{name: "audit cursor not a position", srv: ro, req: req{path: "/ops/audit?before=-1", auth: true}, status: 400},
		{name: "audit cursor zero", srv: ro, req: req{path: "/ops/audit?before=0", auth: true}, status: 400},

		// Forged and refused writes.
		{name: "write on a read-only console", srv: ro, req: req{method: "POST", path: "/ops/breakers/bitcoin/reset", body: "csrf=" + token, auth: true}, status: 403},
		{name: "write without a token", srv: rwSrv, req: req{method: "POST", path: "/breakers/bitcoin/reset", auth: true}, status: 403},
		{name: "write with a wrong token", srv: rwSrv, req: req{method: "POST", path: "/breakers/bitcoin/reset", body: "csrf=" + strings.Repeat("0", 64), auth: true}, status: 403},
		{name: "write from another site", srv: rwSrv, req: req{method: "POST", path: "/breakers/bitcoin/reset", body: "csrf=" + token, auth: true,
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, status: 403},
		{name: "write from another origin", srv: rwSrv, req: req{method: "POST", path: "/breakers/bitcoin/reset", body: "csrf=" + token, auth: true,
			header: map[string]string{"Origin": "https://evil.example"}}, status: 403},
		{name: "write as a GET", srv: rwSrv, req: req{path: "/breakers/bitcoin/reset?csrf=" + token, auth: true}, status: 404},
		{name: "oversized write", srv: rwSrv, req: req{method: "POST", path: "/breakers/bitcoin/reset", body: "csrf=" + token + "&x=" + strings.Repeat("a", 10_000), auth: true}, status: 400},
		{name: "write to an unknown breaker", srv: rwSrv, req: req{method: "POST", path: "/breakers/%3Cscript%3E/reset", body: "csrf=" + token, auth: true,
			header: map[string]string{"Sec-Fetch-Site": "same-origin"}}, status: 404},
		{name: "write from the console", srv: rwSrv, req: req{method: "POST", path: "/breakers/bitcoin/reset", body: "csrf=" + token, auth: true,
			header: map[string]string{"Sec-Fetch-Site": "same-origin"}}, status: 303,
			check: func(t *testing.T, resp *http.Response, _ string) {
				if resp.Header.Get("Location") != "/breakers" || bitcoinBreaker.State() != resilience.StateClosed {
					t.Errorf("location %q, breaker %s", resp.Header.Get("Location"), bitcoinBreaker.State())
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.method == "" {
				tc.req.method = http.MethodGet
			}
			r, err := http.NewRequest(tc.req.method, tc.srv.URL, strings.NewReader(tc.req.body))
			if err != nil {
				t.Fatal(err)
			}
			r.URL.Opaque = tc.req.path // sent as written: no cleaning, no re-encoding
			if tc.req.body != "" || tc.req.method == http.MethodPost {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.req.auth {
				r.SetBasicAuth(testUser, testPassword)
			}
			for k, v := range tc.req.header {
				r.Header.Set(k, v)
			}
			resp, body := do(t, tc.srv, r)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: %s, want %d\n%s", tc.req.method, clipBody(tc.req.path), resp.Status, tc.status, clipBody(body))
			}
			securityHeaders(t, resp)
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
				t.Errorf("markup given to the console is rendered as markup:\n%s", clipBody(body))
			}
			for _, pd := range []string{f.sender.String(), f.sender.Address.String(), f.stranger.String(), f.shop.Address.String()} {
				if strings.Contains(body, pd) {
					t.Errorf("the answer shows %s in clear", pd)
				}
			}
			if tc.check != nil {
				tc.check(t, resp, body)
			}
			if tc.status != http.StatusSeeOther && bitcoinBreaker.State() != resilience.StateForcedOpen {
				t.Fatalf("the breaker was reset: %s", bitcoinBreaker.State())
			}
		})
	}

	// An Authorizer's other errors are refusals (403); writes the write Authorizer refuses too.
	refusing, err := console.New(f.m, func(*http.Request) error { return errors.New("not on the operators' network") })
	if err != nil {
		t.Fatal(err)
	}
	defer refusing.Close()
	rec := httptest.NewRecorder()
	refusing.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusForbidden || rec.Header().Get("WWW-Authenticate") != "" || strings.Contains(rec.Body.String(), "network") {
		t.Errorf("refused: %d %q %q", rec.Code, rec.Header(), rec.Body)
	}
	readOnly, err := console.New(f.m, console.BasicAuth(testUser, testPassword),
		console.WithWrites(func(*http.Request) error { return errors.New("read-only operator") }))
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()
	rec = httptest.NewRecorder()
	w := httptest.NewRequest(http.MethodPost, "/breakers/bitcoin/reset", strings.NewReader("csrf="+token))
	w.SetBasicAuth(testUser, testPassword)
	w.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	readOnly.ServeHTTP(rec, w)
	if rec.Code != http.StatusForbidden {
		t.Errorf("write refused by WithWrites' authorizer: %d", rec.Code)
	}
}

// TestNoPersonalData: no page shows a DID or an address of the demo in clear; each shows its
// pseudonym instead, the same on every page, and the same as the trust boundaries' under the
// same redaction key.
func TestNoPersonalData(t *testing.T) {
	f := demo(t)
	key := []byte("0123456789abcdef-redaction-key")
	srv, _ := serve(t, f, console.WithRedactionKey(key))
	// The trust boundaries' pseudonym of the sender's DID under the same key.
	bounds, err := security.New([]security.Boundary{{From: security.Web5, To: security.ML,
		Fields: map[string]security.Field{"sender_did": {Type: security.TypeString, Redact: security.RedactHash}}}}, security.WithRedactionKey(key))
	if err != nil {
		t.Fatal(err)
	}
	crossed, err := bounds.Cross(t.Context(), string(security.Web5), string(security.ML), "score", map[string]any{"sender_did": f.sender.String()})
	if err != nil {
		t.Fatal(err)
	}
	boundaryPseudonym, _ := crossed["sender_did"].(string)
	if want := "hmac-sha256:" + strings.TrimPrefix(console.Pseudonym(key, f.sender.String()), "did#"); !strings.HasPrefix(boundaryPseudonym, want) {
		t.Errorf("the boundaries' pseudonym %q does not start with the console's digits (%q)", boundaryPseudonym, want)
	}
	pseudonym := regexp.MustCompile(`(did|addr)#[0-9a-f]{12}`)
	seen := map[string]bool{}
	for _, path := range []string{"/ops/", "/ops/payments", "/ops/runs", "/ops/runs/order-1", "/ops/runs/order-2", "/ops/runs/order-3",
		"/ops/alerts", "/ops/audit", "/ops/health", "/ops/health.json"} {
		resp, body := get(t, srv, path, true)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		for _, id := range []*anya.Identity{f.sender, f.shop, f.stranger} {
			for _, pd := range []string{id.String(), id.Address.String()} {
				if strings.Contains(body, pd) {
					t.Errorf("%s shows %s in clear", path, pd)
				}
			}
		}
		if strings.Contains(body, "eyJ") { // base64url of '{"': a JWS, a JWT or encoded JSON, which may hold identifiers
			t.Errorf("%s shows encoded JSON: %s", path, clipBody(body[strings.Index(body, "eyJ"):]))
		}
		for _, p := range pseudonym.FindAllString(body, -1) {
			seen[p] = true
		}
	}
	for _, want := range []string{console.Pseudonym(key, f.sender.String()), console.Pseudonym(key, f.sender.Address.String()),
		console.Pseudonym(key, f.stranger.String()), console.Pseudonym(key, f.shop.Address.String())} {
		if !seen[want] {
			t.Errorf("pseudonym %s not shown; seen %v", want, seen)
		}
	}
}

// TestEventStream: the live event stream sends the bus's messages as server-sent events with
// identifiers redacted and markup escaped; streams beyond the bound are refused; Close ends
// them.
func TestEventStream(t *testing.T) {
	f := demo(t)
	srv, h := serve(t, f, console.WithMaxEventStreams(1))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/ops/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testUser, testPassword)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), ":") {
		t.Fatalf("no greeting: %q", lines.Text())
	}
	// A second stream is one too many.
	if resp2, _ := get(t, srv, "/ops/events", true); resp2.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second stream: %s", resp2.Status)
	}

	type alert struct {
		Who   string `json:"who"`
		Note  string `json:"note"`
		Token string `json:"token"`
	}
	token := base64.RawURLEncoding.EncodeToString([]byte(`{"kid":"` + f.sender.String() + `#0"}`))
	// The subscription is made before the greeting is sent, so this message reaches it.
	if err := bus.Publish(t.Context(), f.m.Bus(), "host.alert", alert{Who: f.sender.String(), Note: xss, Token: token},
		bus.WithKey(f.sender.Address.String())); err != nil {
		t.Fatal(err)
	}
	var data string
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "data: ") && strings.Contains(l, `"topic":"host.alert"`) {
			data = l
			break
		}
	}
	if data == "" {
		t.Fatal("the event did not arrive")
	}
	if strings.ContainsAny(data, "<>") || strings.Contains(data, f.sender.String()) || strings.Contains(data, f.sender.Address.String()) ||
		strings.Contains(data, token) || !strings.Contains(data, `did#`) || !strings.Contains(data, `"key":"addr#`) ||
		!strings.Contains(data, "encoded data holding an identifier") {
		t.Errorf("event data %s", data)
	}

	// Close ends the stream.
	done := make(chan error, 1)
	go func() { done <- h.Close() }()
	for lines.Scan() {
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the stream")
	}
	if resp, _ := get(t, srv, "/ops/", true); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: %s", resp.Status)
	}
}

// TestNew: New refuses what cannot make a console, naming the option.
func TestNew(t *testing.T) {
	m, err := anya.New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	auth := console.BasicAuth(testUser, testPassword)
	for _, tc := range []struct {
		option string
		m      *anya.Manager
		auth   console.Authorizer
		opts   []console.Option
	}{
		{"New", nil, auth, nil},
		{"New", m, nil, nil},
		{"Option", m, auth, []console.Option{nil}},
		{"WithWrites", m, auth, []console.Option{console.WithWrites(nil)}},
		{"WithRedactionKey", m, auth, []console.Option{console.WithRedactionKey([]byte("short"))}},
		{"WithClock", m, auth, []console.Option{console.WithClock(nil)}},
		{"WithMaxEventStreams", m, auth, []console.Option{console.WithMaxEventStreams(0)}},
		{"WithEventBuffer", m, auth, []console.Option{console.WithEventBuffer(0)}},
		{"WithHeartbeat", m, auth, []console.Option{console.WithHeartbeat(time.Millisecond)}},
	} {
		var oe *console.OptionError
		if _, err := console.New(tc.m, tc.auth, tc.opts...); !errors.As(err, &oe) || oe.Option != tc.option || !errors.Is(err, console.ErrInvalidOption) {
			t.Errorf("%s: %v", tc.option, err)
		}
	}
}

func basic(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func securityHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

func clipBody(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

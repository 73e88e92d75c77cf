package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/console"
)

// FuzzConsole sends the console requests with any path and query: it never panics, never
// answers 5xx, and never shows markup it was given as markup.
func FuzzConsole(f *testing.F) {
	for _, seed := range []string{"/", "/payments?outcome=sent&limit=2", "/runs?status=failed&before=x", "/runs/order-1",
		"/audit?before=3&limit=1", "/static/console.css", "/static/../x", "/models/fraud/1/plot.png", "/health.json",
		"/payments?sender=%3Cscript%3E", "/runs/%3Cscript%3E", "/%2e%2e/", "//a", "/payments?limit=1e9", "/x?<b>=1"} {
		f.Add(seed)
	}
	m, err := anya.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = m.Close() })
	h, err := console.New(m, console.BasicAuth(testUser, testPassword))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = h.Close() })
	f.Fuzz(func(t *testing.T, target string) {
		if target == "" || target[0] != '/' || strings.ContainsAny(target, " \r\n\t#") || strings.HasPrefix(target, "/events") {
			return // not a request target a client can send (the event stream does not end by itself)
		}
		req, err := http.NewRequest(http.MethodGet, "http://console.test"+target, nil)
		if err != nil {
			return
		}
		req.RequestURI = target
		req.SetBasicAuth(testUser, testPassword)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s: %d\n%s", target, rec.Code, rec.Body)
		}
		if body := rec.Body.String(); strings.Contains(target, "<") && strings.Contains(rec.Header().Get("Content-Type"), "html") &&
			strings.Contains(strings.ToLower(body), "<script>") {
			t.Fatalf("%s: markup shown as markup", target)
		}
	})
}

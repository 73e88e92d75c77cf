package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/console"
)

// A host mounts the console under a path of its own, behind Basic authentication.
func Example() {
	m, err := anya.New()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	h, err := console.New(m, console.BasicAuth("operator", "correct horse battery staple"))
	if err != nil {
		panic(err)
	}
	defer h.Close() // before the Manager: it ends the live event streams

	mux := http.NewServeMux()
	mux.Handle("/console/", http.StripPrefix("/console", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, auth := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/console/health.json", nil)
		if auth {
			req.SetBasicAuth("operator", "correct horse battery staple")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	}
	// Output:
	// 401 Unauthorized text/plain; charset=utf-8
	// 200 OK application/json
}

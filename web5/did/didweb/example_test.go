package didweb_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didweb"
)

func ExampleDocumentURL() {
	u, _ := didweb.DocumentURL(did.MustParse("did:web:example.com%3A3000:user:alice"))
	fmt.Println(u)
	// Output: https://example.com:3000/user/alice/did.json
}

// Resolve a did:web served by a local server. Plain HTTP is allowed for loopback only, and
// loopback (the host's own network) only when allowed explicitly.
func ExampleResolver_Resolve() {
	var id string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"id": %q}`, id)
	}))
	defer srv.Close()
	id = "did:web:" + strings.Replace(strings.TrimPrefix(srv.URL, "http://"), ":", "%3A", 1)

	web, _ := didweb.New(didweb.WithHTTPClient(srv.Client()), didweb.WithLoopbackHTTP(), didweb.WithAllowPrivateNetworks())
	resolver, _ := did.NewResolver(did.WithMethods(web))
	res, err := resolver.Resolve(context.Background(), id)
	fmt.Println(err == nil && res.Document.ID == id)
	// Output: true
}

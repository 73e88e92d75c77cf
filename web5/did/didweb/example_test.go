package didweb_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didweb"
	"github.com/anya-org/anya-go/web5/jose"
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

// The did:web of a host with a port and a path.
func ExampleNewDID() {
	id, _ := didweb.NewDID("example.com:3000", "user", "alice")
	u, _ := didweb.DocumentURL(id)
	fmt.Println(id)
	fmt.Println(u)
	// Output:
	// did:web:example.com%3A3000:user:alice
	// https://example.com:3000/user/alice/did.json
}

// Create a did:web, serve its document with a Handler, and verify a signature of the DID
// through a resolver that fetches the document. The test server stands in for the DID's
// host; it is on loopback, which the resolver reaches only because it is allowed to.
func ExampleCreate() {
	ctx := context.Background()
	documents := &didweb.Handler{}
	srv := httptest.NewTLSServer(documents)
	defer srv.Close()

	id, _ := didweb.NewDID(strings.TrimPrefix(srv.URL, "https://"), "user", "alice")
	alice, _ := didweb.Create(ctx, jose.NewMemoryKeyManager(), id, didweb.WithKey(jose.P384, "key-1"))
	_ = documents.Put(alice.Document)
	u, _ := didweb.DocumentURL(id)
	fmt.Println(strings.TrimPrefix(u, srv.URL), alice.Document.AssertionMethod[0] == id.String()+"#key-1")

	web, _ := didweb.New(didweb.WithHTTPClient(srv.Client()), didweb.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")))
	resolver, _ := did.NewResolver(did.WithMethods(web))
	token, _ := alice.SignJWT(ctx, jose.Claims{Issuer: alice.String()})
	jwt, signer, err := resolver.VerifyJWT(ctx, token)
	fmt.Println(jwt.Header.Algorithm, signer.Controller == alice.String(), err)
	// Output:
	// /user/alice/did.json true
	// ES384 true <nil>
}

package web5test_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/anya-org/anya-go/web5/vc"
	"github.com/anya-org/anya-go/web5/web5test"
)

// In a test: fixed identities, an in-memory network, and a credential that verifies.
func Example() {
	t := &testing.T{} // in a real test, the *testing.T of the test
	ctx := context.Background()
	net := web5test.NewNetwork(t)
	issuer, alice := web5test.Issuer(t), web5test.Alice(t)

	c, _ := vc.New(issuer.String(), vc.Subject{"id": alice.String(), "role": "tester"})
	token, _ := c.Sign(ctx, issuer)
	got, err := net.Verifier(t).Verify(ctx, token)
	fmt.Println(alice)
	fmt.Println(err == nil, got.CredentialSubject[0]["role"])
	// Output:
	// did:key:z6MkrFUB8cnQV6DU6ESLKHJYefs2JR3dxPEiEJCgHm6hYHDZ
	// true tester
}

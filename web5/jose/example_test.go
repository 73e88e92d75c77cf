package jose_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/web5/jose"
)

// Sign a JWT with a key held by a key manager and verify it with the public key.
func Example() {
	ctx := context.Background()
	km := jose.NewMemoryKeyManager()
	keyID, _ := km.GenerateKey(ctx, jose.Ed25519)
	signer, _ := jose.KeyManagerSigner(ctx, km, keyID, "did:example:alice#key-1")

	token, _ := jose.SignJWT(ctx, signer, jose.Claims{Issuer: "did:example:alice", Subject: "did:example:bob"})

	jwt, _ := jose.ParseJWT(token)
	pub, _ := km.PublicKey(ctx, keyID)
	fmt.Println("alg:", jwt.Header.Algorithm, "kid:", jwt.Header.KeyID)
	fmt.Println("verified:", jwt.Verify(pub) == nil)
	fmt.Println("claims valid:", jwt.Claims.Validate(jose.WithIssuer("did:example:alice")) == nil)
	// Output:
	// alg: EdDSA kid: did:example:alice#key-1
	// verified: true
	// claims valid: true
}

// The RFC 7638 thumbprint of a key.
func ExampleJWK_Thumbprint() {
	k := jose.JWK{KeyType: "OKP", Curve: jose.Ed25519, X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	tp, _ := k.Thumbprint()
	fmt.Println(tp)
	// Output: kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k
}

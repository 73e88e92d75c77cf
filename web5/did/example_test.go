package did_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
)

// Create a DID, resolve it, and verify a token it signed.
func Example() {
	ctx := context.Background()
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New(), didjwk.New()))

	alice, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	res, _ := resolver.Resolve(ctx, alice.String())
	vm := res.Document.VerificationMethod[0]
	fmt.Println("resolved:", res.Document.ID == alice.String())
	fmt.Println("method:", vm.Type, vm.PublicKeyJwk.Curve)

	token, _ := alice.SignJWT(ctx, jose.Claims{Issuer: alice.String(), Subject: "did:example:bob"})
	jwt, signer, err := resolver.VerifyJWT(ctx, token)
	fmt.Println("verified:", err == nil, "signed by the DID's key:", signer.ID == vm.ID, "sub:", jwt.Claims.Subject)
	// Output:
	// resolved: true
	// method: JsonWebKey Ed25519
	// verified: true signed by the DID's key: true sub: did:example:bob
}

// A failed resolution still yields a W3C resolution result, with the error code.
func ExampleResolver_Resolve_error() {
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	res, err := resolver.Resolve(context.Background(), "did:web:example.com")
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	fmt.Println(err)
	// Output:
	// {"@context":"https://w3id.org/did-resolution/v1","didResolutionMetadata":{"error":"methodNotSupported"},"didDocument":null,"didDocumentMetadata":{}}
	// did: methodNotSupported: did:web:example.com: method "web"
}

// The document of a did:key: its Ed25519 key signs, and the X25519 key derived from it
// agrees keys, as the did:key specification's document creation algorithm expands it.
func ExampleResolver_Resolve() {
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	res, _ := resolver.Resolve(context.Background(), "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY")
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(res.Document)
	// Output:
	// {
	//   "@context": [
	//     "https://www.w3.org/ns/did/v1"
	//   ],
	//   "id": "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY",
	//   "verificationMethod": [
	//     {
	//       "id": "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY",
	//       "type": "JsonWebKey",
	//       "controller": "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY",
	//       "publicKeyJwk": {
	//         "kty": "OKP",
	//         "crv": "Ed25519",
	//         "x": "DzpSEyU0w1Myn3lA_piHAI6OrFAnZuEsTwMUPCTwMc8",
	//         "alg": "EdDSA"
	//       }
	//     },
	//     {
	//       "id": "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6LScWydrAnPeypq3tz2yMpjJ28kYzosVxP1R6taV5m33eQP",
	//       "type": "JsonWebKey",
	//       "controller": "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY",
	//       "publicKeyJwk": {
	//         "kty": "OKP",
	//         "crv": "X25519",
	//         "x": "DIBshOtoheWEP3Tlyi37O8ITm5aw0HYgVGPnkHEOM3A"
	//       }
	//     }
	//   ],
	//   "authentication": [
	//     "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"
	//   ],
	//   "assertionMethod": [
	//     "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"
	//   ],
	//   "keyAgreement": [
	//     "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6LScWydrAnPeypq3tz2yMpjJ28kYzosVxP1R6taV5m33eQP"
	//   ],
	//   "capabilityInvocation": [
	//     "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"
	//   ],
	//   "capabilityDelegation": [
	//     "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"
	//   ]
	// }
}

// Parse a DID URL into its parts.
func ExampleParseURL() {
	u, _ := did.ParseURL("did:web:example.com%3A3000:user:alice?service=dwn#key-1")
	fmt.Println(u.DID.Method, u.DID.ID, u.Query, u.Fragment)
	// Output: web example.com%3A3000:user:alice service=dwn key-1
}

// Export a bearer DID to its portable form and import it elsewhere.
func ExampleImport() {
	ctx := context.Background()
	alice, _ := didjwk.Create(ctx, jose.NewMemoryKeyManager(), jose.Secp256k1)
	portable, _ := alice.Export(ctx)
	data, _ := json.Marshal(portable) // holds the private key: store it like a secret

	p, _ := did.ParsePortableDID(data)
	again, _ := did.Import(ctx, p, jose.NewMemoryKeyManager())
	signer, _ := again.Signer(ctx)
	fmt.Println(again.String() == alice.String(), signer.Algorithm())
	// Output: true ES256K
}

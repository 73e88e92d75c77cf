package vc_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/vc"
)

// Issue a credential as a VC-JWT and verify it.
func Example() {
	ctx := context.Background()
	issuer, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	alice, _ := didjwk.Create(ctx, jose.NewMemoryKeyManager(), jose.Secp256k1)

	cred, _ := vc.New(issuer.String(), vc.Subject{"id": alice.String(), "kycLevel": "full"}, vc.WithType("KYCCredential"))
	token, _ := cred.Sign(ctx, issuer)

	resolver, _ := did.NewResolver(did.WithMethods(didkey.New(), didjwk.New()))
	verifier, _ := vc.NewVerifier(resolver)
	got, err := verifier.Verify(ctx, token)
	fmt.Println("verified:", err == nil)
	fmt.Println("version:", got.Version(), "types:", got.Type)
	fmt.Println("subject is alice:", got.CredentialSubject[0].ID() == alice.String(), "level:", got.CredentialSubject[0]["kycLevel"])
	// Output:
	// verified: true
	// version: 1.1 types: [VerifiableCredential KYCCredential]
	// subject is alice: true level: full
}

// A Data Model 2.0 credential is secured as vc+jwt; presenting it to a verifier binds it
// to the holder, the audience and a nonce.
func ExampleVerifier_VerifyPresentation() {
	ctx := context.Background()
	issuer, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	alice, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.P256)

	cred, _ := vc.New(issuer.String(), vc.Subject{"id": alice.String(), "over18": true}, vc.WithVersion(vc.V2))
	token, _ := cred.Sign(ctx, issuer)
	pres, _ := vc.NewPresentation(alice.String(), []string{token}, vc.WithPresentationVersion(vc.V2))
	vp, _ := pres.Sign(ctx, alice, vc.WithAudienceClaim("did:example:shop"), vc.WithNonce("8c2f"))

	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	verifier, _ := vc.NewVerifier(resolver, vc.WithAudience("did:example:shop"))
	_, creds, err := verifier.VerifyPresentation(ctx, vp, vc.ExpectNonce("8c2f"))
	fmt.Println(err == nil, len(creds), creds[0].Version(), creds[0].CredentialSubject[0]["over18"])
	// Output: true 1 2.0 true
}

// The data model is checked before anything is signed.
func ExampleParseCredential() {
	_, err := vc.ParseCredential([]byte(`{
		"@context": ["https://www.w3.org/2018/credentials/v1"],
		"type": ["VerifiableCredential"],
		"issuer": "https://example.edu/issuers/14",
		"issuanceDate": "01/01/2010",
		"credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21"}
	}`))
	fmt.Println(err)
	// Output: vc: invalid credential: issuanceDate: "01/01/2010" is not an RFC 3339 date-time with a time zone
}

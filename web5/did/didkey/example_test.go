package didkey_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
)

func ExampleExpand() {
	doc, _ := didkey.Expand(did.MustParse("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"))
	k := doc.VerificationMethod[0].PublicKeyJwk
	fmt.Println(k.Curve, k.Algorithm, k.X)
	// Output: secp256k1 ES256K h0wVx_2iDlOcblulc8E5iEw1EYh5n1RYtLQfeSTyNc0
}

// A P-384 did:key of the did:key specification's test vectors.
func ExampleExpand_p384() {
	doc, _ := didkey.Expand(did.MustParse("did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9"))
	k := doc.VerificationMethod[0].PublicKeyJwk
	fmt.Println(k.Curve, k.Algorithm)
	fmt.Println(k.X)
	fmt.Println(k.Y)
	fmt.Println(len(doc.AssertionMethod), len(doc.KeyAgreement))
	// Output:
	// P-384 ES384
	// lInTxl8fjLKp_UCrxI0WDklahi-7-_6JbtiHjiRvMvhedhKVdHBfi2HCY8t_QJyc
	// y6N1IC-2mXxHreETBW7K3mBcw0qGr3CWHCs-yl09yCQRLcyfGv7XhqAngHOu51Zv
	// 1 1
}

// Create a P-384 did:key, sign as it, and verify the signature through resolution.
func ExampleCreate_p384() {
	ctx := context.Background()
	alice, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.P384)
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))

	res, _ := resolver.Resolve(ctx, alice.String())
	k := res.Document.VerificationMethod[0].PublicKeyJwk
	fmt.Println(strings.HasPrefix(alice.String(), "did:key:z82"), k.Curve, k.Algorithm)

	token, _ := alice.SignJWT(ctx, jose.Claims{Issuer: alice.String()})
	jwt, signer, err := resolver.VerifyJWT(ctx, token)
	fmt.Println(jwt.Header.Algorithm, signer.Controller == alice.String(), err)
	// Output:
	// true P-384 ES384
	// ES384 true <nil>
}

// The X25519 key an Ed25519 did:key agrees keys with, derived from its key.
func ExampleWithEncryptionKeyDerivation() {
	d := did.MustParse("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
	doc, _ := didkey.Expand(d)
	fmt.Println(strings.TrimPrefix(doc.KeyAgreement[0], d.String()))
	plain, _ := didkey.Expand(d, didkey.WithEncryptionKeyDerivation(false))
	fmt.Println(len(plain.VerificationMethod), len(plain.KeyAgreement))
	// Output:
	// #z6LSj72tK8brWgZja8NLRwPigth2T9QRiG1uH9oKZuKjdh9p
	// 1 0
}

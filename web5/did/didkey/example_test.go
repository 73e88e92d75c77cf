package didkey_test

import (
	"fmt"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
)

func ExampleExpand() {
	doc, _ := didkey.Expand(did.MustParse("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"))
	k := doc.VerificationMethod[0].PublicKeyJwk
	fmt.Println(k.Curve, k.Algorithm, k.X)
	// Output: secp256k1 ES256K h0wVx_2iDlOcblulc8E5iEw1EYh5n1RYtLQfeSTyNc0
}

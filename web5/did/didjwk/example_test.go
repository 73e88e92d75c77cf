package didjwk_test

import (
	"fmt"

	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/jose"
)

func ExampleFromPublicKey() {
	k := jose.JWK{KeyType: "OKP", Curve: jose.Ed25519, X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", Use: "sig"}
	d, _ := didjwk.FromPublicKey(k)
	doc, _ := didjwk.Expand(d)
	fmt.Println(d)
	fmt.Println(doc.VerificationMethod[0].ID == d.String()+"#0", len(doc.AssertionMethod), len(doc.KeyAgreement))
	// Output:
	// did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwieCI6IjExcVlBWUt4Q3JmVlNfN1R5V1FIT2c3aGN2UGFwaU1scndJYWFQY0hVUm8iLCJ1c2UiOiJzaWcifQ
	// true 1 0
}

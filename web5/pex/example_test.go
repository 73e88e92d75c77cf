package pex_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/pex"
	"github.com/anya-org/anya-go/web5/vc"
)

// A verifier asks for a Bitcoin address credential; the holder selects one of their
// credentials, builds the submission, and the verifier evaluates the presentation.
func Example() {
	ctx := context.Background()
	issuer, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	var wallet []string
	for _, s := range []vc.Subject{{"name": "Alice"}, {"btcAddress": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}} {
		c, _ := vc.New(issuer.String(), s)
		tok, _ := c.Sign(ctx, issuer)
		wallet = append(wallet, tok)
	}

	def, err := pex.ParseDefinition([]byte(`{
		"id": "btc-address",
		"input_descriptors": [{
			"id": "address",
			"purpose": "We pay to the address you prove",
			"constraints": {"fields": [{"path": ["$.vc.credentialSubject.btcAddress", "$.credentialSubject.btcAddress"],
				"filter": {"type": "string", "pattern": "^(bc1|[13])"}}]}
		}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	selected, _ := pex.SelectCredentials(def, wallet)
	sub, _ := pex.CreateSubmission(def, selected)
	fmt.Println(len(selected), sub.DescriptorMap[0].ID, sub.DescriptorMap[0].Format, sub.DescriptorMap[0].Path)

	presentation, _ := json.Marshal(map[string]any{
		"@context":                []string{vc.ContextV1},
		"type":                    []string{vc.TypePresentation},
		"verifiableCredential":    selected,
		"presentation_submission": sub,
	})
	fmt.Println("satisfied:", pex.Evaluate(def, presentation) == nil)
	// Output:
	// 1 address jwt_vc $.verifiableCredential[0]
	// satisfied: true
}

package didjwk_test

import (
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/internal/apitest"
)

// The zero Resolver is ready to use.
func TestZeroValues(t *testing.T) {
	apitest.Zeros(t, ".", apitest.Zero{Value: new(didjwk.Resolver), Args: map[string][]any{
		"Resolve": {did.MustParse("did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9")},
	}})
	if _, err := (didjwk.Resolver{}).Resolve(t.Context(), did.MustParse("did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9")); err != nil {
		t.Fatal(err)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

package didkey_test

import (
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/internal/apitest"
)

func TestZeroValues(t *testing.T) {
	apitest.Zeros(t, ".", apitest.Zero{Value: new(didkey.Resolver), Args: map[string][]any{
		"Resolve": {did.MustParse("did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY")},
	}})
	// The zero Resolver resolves with the defaults: the derived key agreement key included.
	res, err := didkey.Resolver{}.Resolve(t.Context(), did.MustParse("did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"))
	if err != nil || len(res.Document.KeyAgreement) != 1 {
		t.Fatalf("zero Resolver: %+v %v", res, err)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

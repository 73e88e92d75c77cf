package web5test_test

import (
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/internal/apitest"
	"github.com/anya-org/anya-go/web5/web5test"
)

func TestZeroValues(t *testing.T) {
	alice := web5test.Alice(t)
	apitest.Zeros(t, ".",
		apitest.Zero{Value: new(web5test.Network), Args: map[string][]any{
			"Publish":  {t, alice},
			"Serve":    {&did.Document{ID: "did:example:bob"}},
			"Resolver": {t},
			"Verifier": {t},
			"DWN":      {t},
		}},
		apitest.Zero{Value: new(web5test.Method), Args: map[string][]any{
			"Resolve": {did.MustParse("did:example:bob")},
		}},
	)
	// A zero Network resolves what it serves.
	var n web5test.Network
	n.Serve(&did.Document{ID: "did:example:bob"})
	if _, err := n.Resolver(t).Resolve(t.Context(), "did:example:bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Resolver(t).Resolve(t.Context(), alice.String()); err != nil {
		t.Fatal(err)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

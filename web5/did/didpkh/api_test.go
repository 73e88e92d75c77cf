package didpkh_test

import (
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/internal/apitest"
)

// The zero Resolver is ready to use.
func TestZeroValues(t *testing.T) {
	apitest.Zeros(t, ".", apitest.Zero{Value: new(didpkh.Resolver), Args: map[string][]any{
		"Resolve": {did.MustParse("did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6")},
	}})
	if _, err := (didpkh.Resolver{}).Resolve(t.Context(), did.MustParse("did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6")); err != nil {
		t.Fatal(err)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

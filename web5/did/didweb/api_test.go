package didweb_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didweb"
	"github.com/anya-org/anya-go/web5/internal/apitest"
)

func TestZeroValues(t *testing.T) {
	apitest.Zeros(t, ".",
		apitest.Zero{Value: new(didweb.Resolver), NotConstructed: did.ErrNotConstructed, Works: []string{"Method"}, Args: map[string][]any{
			"Resolve": {did.MustParse("did:web:example.com")},
		}},
		apitest.Zero{Value: new(didweb.Handler), Args: map[string][]any{
			"ServeHTTP": {httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/.well-known/did.json", nil)},
			"Put":       {&did.Document{ID: "did:web:example.com"}},
			"Delete":    {"did:web:example.com"},
		}},
	)
	_, err := new(didweb.Resolver).Resolve(t.Context(), did.MustParse("did:web:example.com"))
	var ne *did.NotConstructedError
	if !errors.As(err, &ne) || ne.Constructor != "didweb.New" {
		t.Fatalf("zero Resolver: %v", err)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

func TestOptionsValidated(t *testing.T) {
	for name, opts := range map[string][]didweb.Option{
		"zero document size": {didweb.WithMaxDocumentSize(0)},
		"zero timeout":       {didweb.WithTimeout(0)},
		"nil client":         {didweb.WithHTTPClient(nil)},
		"nil option":         {nil},
	} {
		if _, err := didweb.New(opts...); !errors.Is(err, did.ErrInvalidOption) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

package vc_test

import (
	"errors"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/internal/apitest"
	"github.com/anya-org/anya-go/web5/vc"
)

func TestZeroValues(t *testing.T) {
	apitest.Zeros(t, ".",
		apitest.Zero{Value: new(vc.Verifier), NotConstructed: vc.ErrNotConstructed, Args: map[string][]any{
			"Verify":             {"x.y.z"},
			"VerifyPresentation": {"x.y.z"},
		}},
		apitest.Zero{Value: new(vc.Credential), Args: map[string][]any{"UnmarshalJSON": {[]byte(`{}`)}, "Sign": {&did.BearerDID{}}}},
		apitest.Zero{Value: new(vc.Issuer)},
		apitest.Zero{Value: new(vc.Presentation), Args: map[string][]any{"Sign": {&did.BearerDID{}}}},
		apitest.Zero{Value: new(vc.StatusList)},
	)
	_, err := new(vc.Verifier).Verify(t.Context(), "x.y.z")
	var ne *vc.NotConstructedError
	if !errors.As(err, &ne) || ne.Constructor != "vc.NewVerifier" {
		t.Fatalf("zero Verifier: %v", err)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".", "PresentationCheck") }

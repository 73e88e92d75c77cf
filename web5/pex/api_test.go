package pex_test

import (
	"errors"
	"testing"

	"github.com/anya-org/anya-go/web5/internal/apitest"
	"github.com/anya-org/anya-go/web5/pex"
)

func TestZeroValues(t *testing.T) {
	apitest.Zeros(t, ".",
		apitest.Zero{Value: new(pex.Definition)},
		apitest.Zero{Value: new(pex.Submission)},
	)
	// A nil definition is refused, not dereferenced.
	if _, err := pex.SelectCredentials(nil, nil); !errors.Is(err, pex.ErrInvalidDefinition) {
		t.Errorf("SelectCredentials(nil): %v", err)
	}
	if _, err := pex.CreateSubmission(nil, nil); !errors.Is(err, pex.ErrInvalidDefinition) {
		t.Errorf("CreateSubmission(nil): %v", err)
	}
	if _, _, err := pex.CreatePresentation(nil, "did:example:alice", nil); !errors.Is(err, pex.ErrInvalidDefinition) {
		t.Errorf("CreatePresentation(nil): %v", err)
	}
	if err := pex.Evaluate(nil, []byte(`{}`)); !errors.Is(err, pex.ErrInvalidDefinition) {
		t.Errorf("Evaluate(nil): %v", err)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

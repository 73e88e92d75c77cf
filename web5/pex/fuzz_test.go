package pex

import (
	"encoding/json"
	"testing"

	"github.com/anya-org/anya-go/web5/internal/vectors"
)

func FuzzParseDefinition(f *testing.F) {
	for _, name := range []string{"validate_definition.json", "select_credentials.json", "evaluate_presentation.json"} {
		for _, v := range vectors.Load(f, dir+name).Vectors {
			var in struct {
				PresentationDefinition json.RawMessage `json:"presentationDefinition"`
			}
			if json.Unmarshal(v.Input, &in) == nil && in.PresentationDefinition != nil {
				f.Add([]byte(in.PresentationDefinition))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDefinition(data)
		if err != nil {
			return
		}
		// A valid definition re-validates, and matching never fails on it.
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := ParseDefinition(b)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, b)
		}
		if _, err := SelectCredentials(d2, []string{"eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.AA"}); err != nil {
			t.Fatalf("select: %v", err)
		}
	})
}

func FuzzParseSubmission(f *testing.F) {
	for _, v := range vectors.Load(f, dir+"validate_submission.json").Vectors {
		var in struct {
			PresentationSubmission json.RawMessage `json:"presentationSubmission"`
		}
		if json.Unmarshal(v.Input, &in) == nil {
			f.Add([]byte(in.PresentationSubmission))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSubmission(data)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

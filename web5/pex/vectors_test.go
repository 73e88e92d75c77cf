package pex

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/anya-org/anya-go/web5/internal/vectors"
)

const dir = "testdata/web5-spec/presentation_exchange/"

// What rejects each invalid definition vector.
var definitionErrorPaths = map[string]string{
	"presentation definition with no id value":      "id",
	"presentation definition with no name value":    "name",
	"input descriptor with empty id":                "input_descriptors[0].id",
	"input descriptor with empty name":              "input_descriptors[0].name",
	"input descriptor with empty purpose":           "input_descriptors[0].purpose",
	"presentation definition with no purpose value": "purpose",
	"duplicate input descriptor ids":                "input_descriptors[1].id",
	"fields have duplicate ids":                     "input_descriptors[1].constraints.fields[0].id",
	"empty path in input descriptor":                "input_descriptors[0].constraints.fields[0].path",
	"invalid path in input descriptor":              "input_descriptors[0].constraints.fields[0].path[0]",
}

func TestVectorsValidateDefinition(t *testing.T) {
	vectors.Run(t, dir+"validate_definition.json", 12, func(t *testing.T, v vectors.Vector) {
		var in struct {
			PresentationDefinition json.RawMessage `json:"presentationDefinition"`
		}
		vectors.Decode(t, v.Input, &in)
		_, err := ParseDefinition(in.PresentationDefinition)
		if !v.Errors {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
		var fe *FieldError
		if !errors.Is(err, ErrInvalidDefinition) || !errors.As(err, &fe) {
			t.Fatalf("got %v, want a FieldError", err)
		}
		if want := definitionErrorPaths[v.Description]; fe.Path != want {
			t.Fatalf("rejected at %q (%s), want %q", fe.Path, fe.Reason, want)
		}
	})
}

var submissionErrorPaths = map[string]string{
	"empty pres submission id":        "id",
	"definition id is empty":          "definition_id",
	"empty descriptor map":            "descriptor_map",
	"descriptor map has empty format": "descriptor_map[0].format",
	"descriptor map has empty path":   "descriptor_map[0].path",
	"path nested has different id":    "descriptor_map[0].path_nested.path_nested.id",
	"path nested has invliad path":    "descriptor_map[0].path_nested.path_nested.path",
}

func TestVectorsValidateSubmission(t *testing.T) {
	vectors.Run(t, dir+"validate_submission.json", 10, func(t *testing.T, v vectors.Vector) {
		var in struct {
			PresentationSubmission json.RawMessage `json:"presentationSubmission"`
		}
		vectors.Decode(t, v.Input, &in)
		_, err := ParseSubmission(in.PresentationSubmission)
		if !v.Errors {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
		var fe *FieldError
		if !errors.Is(err, ErrInvalidSubmission) || !errors.As(err, &fe) {
			t.Fatalf("got %v, want a FieldError", err)
		}
		if want := submissionErrorPaths[v.Description]; fe.Path != want {
			t.Fatalf("rejected at %q (%s), want %q", fe.Path, fe.Reason, want)
		}
	})
}

func TestVectorsSelectCredentials(t *testing.T) {
	vectors.Run(t, dir+"select_credentials.json", 7, func(t *testing.T, v vectors.Vector) {
		var in struct {
			PresentationDefinition json.RawMessage `json:"presentationDefinition"`
			CredentialJwts         []string        `json:"credentialJwts"`
		}
		vectors.Decode(t, v.Input, &in)
		var out struct {
			SelectedCredentials []string `json:"selectedCredentials"`
		}
		vectors.Decode(t, v.Output, &out)
		d, err := ParseDefinition(in.PresentationDefinition)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SelectCredentials(d, in.CredentialJwts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, out.SelectedCredentials) {
			t.Fatalf("selected %d credentials, want %d", len(got), len(out.SelectedCredentials))
		}
	})
}

func TestVectorsCreatePresentation(t *testing.T) {
	vectors.Run(t, dir+"create_presentation_from_credentials.json", 1, func(t *testing.T, v vectors.Vector) {
		var in struct {
			PresentationDefinition json.RawMessage `json:"presentationDefinition"`
			CredentialJwts         []string        `json:"credentialJwts"`
		}
		vectors.Decode(t, v.Input, &in)
		var out struct {
			PresentationSubmission Submission `json:"presentationSubmission"`
		}
		vectors.Decode(t, v.Output, &out)
		d, err := ParseDefinition(in.PresentationDefinition)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := CreateSubmission(d, in.CredentialJwts)
		if err != nil {
			t.Fatal(err)
		}
		// The submission id is random; everything else is fixed.
		if sub.ID == "" || sub.DefinitionID != out.PresentationSubmission.DefinitionID ||
			!reflect.DeepEqual(sub.DescriptorMap, out.PresentationSubmission.DescriptorMap) {
			t.Fatalf("got %+v, want %+v", sub, out.PresentationSubmission)
		}
		if err := sub.Validate(); err != nil {
			t.Fatal(err)
		}
		// The presentation built from it evaluates against the definition.
		pres, _ := json.Marshal(map[string]any{
			"@context":                []string{"https://www.w3.org/2018/credentials/v1"},
			"type":                    []string{"VerifiablePresentation"},
			"verifiableCredential":    in.CredentialJwts,
			"presentation_submission": sub,
		})
		if err := Evaluate(d, pres); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVectorsEvaluatePresentation(t *testing.T) {
	vectors.Run(t, dir+"evaluate_presentation.json", 1, func(t *testing.T, v vectors.Vector) {
		var in struct {
			PresentationDefinition json.RawMessage `json:"presentationDefinition"`
			Presentation           json.RawMessage `json:"presentation"`
		}
		vectors.Decode(t, v.Input, &in)
		d, err := ParseDefinition(in.PresentationDefinition)
		if err != nil {
			t.Fatal(err)
		}
		err = Evaluate(d, in.Presentation)
		if v.Errors != (err != nil) {
			t.Fatalf("evaluate: %v", err)
		}
	})
}

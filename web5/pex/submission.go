package pex

import (
	"fmt"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

// Submission is a PEX v2 presentation submission: which credential of a presentation
// answers which input descriptor.
type Submission struct {
	ID            string       `json:"id"`
	DefinitionID  string       `json:"definition_id"`
	DescriptorMap []Descriptor `json:"descriptor_map"`
}

// Descriptor maps an input descriptor to the credential at Path (a JSONPath into the
// presentation); PathNested continues into that credential.
type Descriptor struct {
	ID         string      `json:"id"`
	Format     string      `json:"format"`
	Path       string      `json:"path"`
	PathNested *Descriptor `json:"path_nested,omitempty"`
}

func subErr(path, format string, args ...any) error {
	return &FieldError{Path: path, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidSubmission}
}

// ParseSubmission decodes and validates a presentation submission.
func ParseSubmission(data []byte) (*Submission, error) {
	var s Submission
	if err := fastjson.Decode(data, &s); err != nil {
		return nil, subErr("", "%v", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks the submission: id and definition_id present, at least one descriptor,
// and every descriptor (nested ones too) with an id, a format and a valid JSONPath, nested
// descriptors carrying the id of their parent.
func (s *Submission) Validate() error {
	if s == nil {
		return subErr("submission", "nil")
	}
	if s.ID == "" {
		return subErr("id", "missing")
	}
	if s.DefinitionID == "" {
		return subErr("definition_id", "missing")
	}
	if len(s.DescriptorMap) == 0 {
		return subErr("descriptor_map", "is empty")
	}
	for i := range s.DescriptorMap {
		if err := s.DescriptorMap[i].validate(fmt.Sprintf("descriptor_map[%d]", i), ""); err != nil {
			return err
		}
	}
	return nil
}

func (d *Descriptor) validate(path, parentID string) error {
	for depth := 0; d != nil; depth++ {
		if depth > 16 {
			return subErr(path, "path_nested too deep")
		}
		if d.ID == "" {
			return subErr(path+".id", "missing")
		}
		if parentID != "" && d.ID != parentID {
			return subErr(path+".id", "%q differs from the enclosing descriptor's %q", d.ID, parentID)
		}
		if d.Format == "" {
			return subErr(path+".format", "missing")
		}
		if d.Path == "" {
			return subErr(path+".path", "missing")
		}
		if _, err := ParsePath(d.Path); err != nil {
			return subErr(path+".path", "invalid JSONPath: %v", err)
		}
		parentID = d.ID
		d = d.PathNested
		path += ".path_nested"
	}
	return nil
}

package pex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/ohler55/ojg/jp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

var (
	// ErrInvalidDefinition reports a presentation definition that breaks PEX v2.
	ErrInvalidDefinition = errors.New("pex: invalid presentation definition")
	// ErrInvalidSubmission reports a presentation submission that breaks PEX v2.
	ErrInvalidSubmission = errors.New("pex: invalid presentation submission")
	// ErrUnsatisfied reports credentials that cannot satisfy a definition.
	ErrUnsatisfied = errors.New("pex: definition not satisfied")
	// ErrEvaluation reports a presentation that does not satisfy a definition.
	ErrEvaluation = errors.New("pex: presentation does not satisfy the definition")
)

// FieldError reports a violation at a property path ("input_descriptors[1].constraints
// .fields[0].path"). It matches ErrInvalidDefinition or ErrInvalidSubmission.
type FieldError struct {
	Path   string
	Reason string
	Err    error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%v: %s: %s", e.Err, e.Path, e.Reason) }

func (e *FieldError) Unwrap() error { return e.Err }

func defErr(path, format string, args ...any) error {
	return &FieldError{Path: path, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidDefinition}
}

// Definition is a PEX v2 presentation definition.
type Definition struct {
	ID                     string                  `json:"id"`
	Name                   string                  `json:"name,omitempty"`
	Purpose                string                  `json:"purpose,omitempty"`
	Format                 Formats                 `json:"format,omitempty"`
	InputDescriptors       []InputDescriptor       `json:"input_descriptors"`
	SubmissionRequirements []SubmissionRequirement `json:"submission_requirements,omitempty"`
}

// Formats maps claim format designations (jwt_vc, jwt_vc_json, vc+jwt, ...) to their
// constraints.
type Formats map[string]FormatSpec

// FormatSpec restricts a claim format, to signature algorithms for JWT formats.
type FormatSpec struct {
	Alg       []string `json:"alg,omitempty"`
	ProofType []string `json:"proof_type,omitempty"`
}

// InputDescriptor describes one piece of information the verifier asks for.
type InputDescriptor struct {
	ID          string      `json:"id"`
	Name        string      `json:"name,omitempty"`
	Purpose     string      `json:"purpose,omitempty"`
	Format      Formats     `json:"format,omitempty"`
	Group       []string    `json:"group,omitempty"`
	Constraints Constraints `json:"constraints"`
}

// Constraints are the conditions a credential must meet for an input descriptor.
type Constraints struct {
	LimitDisclosure string  `json:"limit_disclosure,omitempty"` // "required" or "preferred"
	SubjectIsIssuer string  `json:"subject_is_issuer,omitempty"`
	Fields          []Field `json:"fields,omitempty"`
}

// Field selects values of a credential with JSONPath expressions and constrains them with
// a JSON Schema filter.
type Field struct {
	ID             string          `json:"id,omitempty"`
	Path           []string        `json:"path"`
	Purpose        string          `json:"purpose,omitempty"`
	Name           string          `json:"name,omitempty"`
	Filter         json.RawMessage `json:"filter,omitempty"`
	Optional       bool            `json:"optional,omitempty"`
	Predicate      string          `json:"predicate,omitempty"`
	IntentToRetain bool            `json:"intent_to_retain,omitempty"`

	paths  []jp.Expr
	filter *jsonschema.Schema
}

// SubmissionRequirement says which input descriptors (by group) or nested requirements
// must be satisfied.
type SubmissionRequirement struct {
	Name       string                  `json:"name,omitempty"`
	Purpose    string                  `json:"purpose,omitempty"`
	Rule       string                  `json:"rule"` // "all" or "pick"
	Count      *int                    `json:"count,omitempty"`
	Min        *int                    `json:"min,omitempty"`
	Max        *int                    `json:"max,omitempty"`
	From       string                  `json:"from,omitempty"`
	FromNested []SubmissionRequirement `json:"from_nested,omitempty"`
}

// MaxDefinitionSize bounds the JSON ParseDefinition accepts.
const MaxDefinitionSize = 1 << 20

// ParseDefinition decodes and validates a presentation definition. Properties that are
// present must not be empty strings (name, purpose, ids).
func ParseDefinition(data []byte) (*Definition, error) {
	if len(data) > MaxDefinitionSize {
		return nil, defErr("", "larger than %d bytes", MaxDefinitionSize)
	}
	raw, err := fastjson.Unmarshal(data)
	if err != nil {
		return nil, defErr("", "%v", err)
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, defErr("", "not a JSON object")
	}
	if err := checkPresentStrings("", m); err != nil {
		return nil, err
	}
	if err := fastjson.CheckFieldNames(raw, reflect.TypeFor[Definition]()); err != nil {
		return nil, defErr("", "%v", err)
	}
	var d Definition
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, defErr("", "%v", err)
	}
	if _, ok := m["input_descriptors"]; !ok {
		return nil, defErr("input_descriptors", "missing")
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// checkPresentStrings rejects name, purpose and id members that are present but empty.
func checkPresentStrings(path string, m map[string]any) error {
	for _, k := range []string{"id", "name", "purpose"} {
		if v, ok := m[k]; ok {
			if s, isStr := v.(string); isStr && s == "" {
				return defErr(join(path, k), "is empty")
			}
		}
	}
	if ids, ok := m["input_descriptors"].([]any); ok {
		for i, x := range ids {
			if dm, ok := x.(map[string]any); ok {
				if err := checkPresentStrings(fmt.Sprintf("%s[%d]", join(path, "input_descriptors"), i), dm); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// Validate checks the definition: ids present and unique (input descriptors, and fields
// across the whole definition), every field path a valid JSONPath, every filter a valid
// JSON Schema, and submission requirements that name existing groups with sound counts.
// It also prepares the paths and filters for evaluation.
func (d *Definition) Validate() error {
	if d == nil {
		return defErr("definition", "nil")
	}
	if d.ID == "" {
		return defErr("id", "missing")
	}
	if err := d.Format.validate("format"); err != nil {
		return err
	}
	descIDs := map[string]bool{}
	fieldIDs := map[string]bool{}
	groups := map[string]bool{}
	for i := range d.InputDescriptors {
		in := &d.InputDescriptors[i]
		p := fmt.Sprintf("input_descriptors[%d]", i)
		if in.ID == "" {
			return defErr(p+".id", "missing")
		}
		if descIDs[in.ID] {
			return defErr(p+".id", "%q is used twice", in.ID)
		}
		descIDs[in.ID] = true
		if err := in.Format.validate(p + ".format"); err != nil {
			return err
		}
		for _, g := range in.Group {
			if g == "" {
				return defErr(p+".group", "empty group name")
			}
			groups[g] = true
		}
		if len(d.SubmissionRequirements) > 0 && len(in.Group) == 0 {
			return defErr(p+".group", "required when the definition has submission_requirements")
		}
		c := &in.Constraints
		switch c.LimitDisclosure {
		case "", "required", "preferred":
		default:
			return defErr(p+".constraints.limit_disclosure", "%q is not required or preferred", c.LimitDisclosure)
		}
		switch c.SubjectIsIssuer {
		case "", "required", "preferred":
		default:
			return defErr(p+".constraints.subject_is_issuer", "%q is not required or preferred", c.SubjectIsIssuer)
		}
		for j := range c.Fields {
			f := &c.Fields[j]
			fp := fmt.Sprintf("%s.constraints.fields[%d]", p, j)
			if f.ID != "" {
				if fieldIDs[f.ID] {
					return defErr(fp+".id", "%q is used twice", f.ID)
				}
				fieldIDs[f.ID] = true
			}
			if err := f.compile(fp); err != nil {
				return err
			}
		}
	}
	for i := range d.SubmissionRequirements {
		if err := d.SubmissionRequirements[i].validate(fmt.Sprintf("submission_requirements[%d]", i), groups); err != nil {
			return err
		}
	}
	return nil
}

func (f Formats) validate(path string) error {
	for name, spec := range f {
		if name == "" {
			return defErr(path, "empty format designation")
		}
		for _, a := range spec.Alg {
			if a == "" {
				return defErr(path+"."+name+".alg", "empty algorithm")
			}
		}
	}
	return nil
}

// ParsePath parses a JSONPath expression as PEX uses them: it must start at the root "$".
func ParsePath(p string) (jp.Expr, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("%q does not start with $", p)
	}
	x, err := jp.ParseString(p)
	if err != nil {
		return nil, err
	}
	return x, nil
}

func (f *Field) compile(path string) error {
	if len(f.Path) == 0 {
		return defErr(path+".path", "is empty")
	}
	f.paths = make([]jp.Expr, len(f.Path))
	for i, p := range f.Path {
		x, err := ParsePath(p)
		if err != nil {
			return defErr(fmt.Sprintf("%s.path[%d]", path, i), "invalid JSONPath: %v", err)
		}
		f.paths[i] = x
	}
	switch f.Predicate {
	case "":
	case "required", "preferred":
		if len(f.Filter) == 0 {
			return defErr(path+".predicate", "needs a filter")
		}
	default:
		return defErr(path+".predicate", "%q is not required or preferred", f.Predicate)
	}
	if len(f.Filter) > 0 {
		sch, err := compileFilter(f.Filter)
		if err != nil {
			return defErr(path+".filter", "invalid JSON Schema: %v", err)
		}
		f.filter = sch
	}
	return nil
}

// compileFilter compiles a filter. Remote references are refused: a definition cannot
// make the verifier fetch anything. Without $schema, filters follow JSON Schema 2020-12,
// where format is an annotation (as PEX implementations treat it).
func compileFilter(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if _, ok := doc.(map[string]any); !ok {
		if _, isBool := doc.(bool); !isBool {
			return nil, errors.New("a filter is a JSON Schema object")
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(jsonschema.SchemeURLLoader{})
	const url = "urn:pex:filter"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

func (r *SubmissionRequirement) validate(path string, groups map[string]bool) error {
	switch r.Rule {
	case "all", "pick":
	default:
		return defErr(path+".rule", "%q is not all or pick", r.Rule)
	}
	if (r.From == "") == (len(r.FromNested) == 0) {
		return defErr(path, "needs exactly one of from and from_nested")
	}
	if r.From != "" && !groups[r.From] {
		return defErr(path+".from", "no input descriptor is in group %q", r.From)
	}
	for _, n := range []struct {
		name string
		v    *int
	}{{"count", r.Count}, {"min", r.Min}, {"max", r.Max}} {
		if n.v != nil && *n.v < 0 {
			return defErr(path+"."+n.name, "negative")
		}
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		return defErr(path, "min is greater than max")
	}
	for i := range r.FromNested {
		if err := r.FromNested[i].validate(fmt.Sprintf("%s.from_nested[%d]", path, i), groups); err != nil {
			return err
		}
	}
	return nil
}

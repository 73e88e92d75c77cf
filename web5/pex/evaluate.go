package pex

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/vc"
)

// Claim format designations of the credentials this package reads.
const (
	FormatJWTVC     = "jwt_vc"      // a VC-JWT (Data Model 1.1, vc claim)
	FormatJWTVCJSON = "jwt_vc_json" // the same, in the OpenID4VP registry's name
	FormatVCJWT     = "vc+jwt"      // a VC-JOSE-COSE credential (Data Model 2.0)
)

const envelopePrefix = "data:application/vc+jwt,"

// candidate is a credential as PEX evaluates it.
type candidate struct {
	token   string
	claims  map[string]any // the JWT claim set
	cred    map[string]any // the credential: the vc claim (1.1) or the claim set (2.0)
	formats []string
	alg     string
	nested  bool // cred is the vc claim inside claims
}

func candidateFromJWT(tok string) (*candidate, error) {
	t, err := jose.ParseJWT(tok)
	if err != nil {
		return nil, err
	}
	c := &candidate{token: tok, claims: t.ClaimSet, alg: t.Header.Algorithm}
	if vc, ok := t.ClaimSet["vc"].(map[string]any); ok {
		c.cred, c.nested = vc, true
		c.formats = []string{FormatJWTVC, FormatJWTVCJSON}
		return c, nil
	}
	if _, ok := t.ClaimSet["@context"]; ok {
		c.cred = t.ClaimSet
		c.formats = []string{FormatVCJWT, FormatJWTVCJSON}
		return c, nil
	}
	return nil, errors.New("the JWT holds no credential")
}

// values evaluates a field path against the claim set and, when that finds nothing, against
// the credential inside it — so "$.vc.credentialSubject.x" and "$.credentialSubject.x" both
// reach a VC-JWT's subject.
func (c *candidate) values(f *Field, i int) []any {
	vals := f.paths[i].Get(c.claims)
	if len(vals) == 0 && c.nested {
		vals = f.paths[i].Get(c.cred)
	}
	return vals
}

// match reports whether some value selected by the field's paths (tried in order) passes
// its filter.
func (f *Field) match(c *candidate) bool {
	for i := range f.paths {
		for _, v := range c.values(f, i) {
			if f.filter == nil || f.filter.Validate(v) == nil {
				return true
			}
		}
	}
	return false
}

// formatFor returns the format the candidate can be submitted as for the descriptor, or ""
// when the format restrictions exclude it.
func (in *InputDescriptor) formatFor(c *candidate, def Formats) string {
	allowed := in.Format
	if len(allowed) == 0 {
		allowed = def
	}
	if len(allowed) == 0 {
		return c.formats[0]
	}
	for _, f := range c.formats {
		spec, ok := allowed[f]
		if !ok {
			continue
		}
		if len(spec.Alg) == 0 {
			return f
		}
		for _, a := range spec.Alg {
			if a == c.alg {
				return f
			}
		}
	}
	return ""
}

// satisfiedBy reports whether the candidate meets the descriptor's constraints.
func (in *InputDescriptor) satisfiedBy(c *candidate, def Formats) bool {
	if in.formatFor(c, def) == "" {
		return false
	}
	if in.Constraints.LimitDisclosure == "required" {
		return false // JWT-secured credentials cannot disclose selectively
	}
	if in.Constraints.SubjectIsIssuer == "required" && !subjectIsIssuer(c) {
		return false
	}
	for i := range in.Constraints.Fields {
		f := &in.Constraints.Fields[i]
		if !f.Optional && !f.match(c) {
			return false
		}
	}
	return true
}

func subjectIsIssuer(c *candidate) bool {
	issuer, _ := c.claims["iss"].(string)
	if issuer == "" {
		switch x := c.cred["issuer"].(type) {
		case string:
			issuer = x
		case map[string]any:
			issuer, _ = x["id"].(string)
		}
	}
	subject, _ := c.claims["sub"].(string)
	if subject == "" {
		if cs, ok := c.cred["credentialSubject"].(map[string]any); ok {
			subject, _ = cs["id"].(string)
		}
	}
	return issuer != "" && issuer == subject
}

// satisfied reports whether the definition is met given which descriptors are satisfied:
// every descriptor when there are no submission requirements, else every requirement.
func (d *Definition) satisfied(sat map[string]bool) bool {
	if len(d.SubmissionRequirements) == 0 {
		for _, in := range d.InputDescriptors {
			if !sat[in.ID] {
				return false
			}
		}
		return true
	}
	groups := map[string][]string{}
	for _, in := range d.InputDescriptors {
		for _, g := range in.Group {
			groups[g] = append(groups[g], in.ID)
		}
	}
	for i := range d.SubmissionRequirements {
		if !d.SubmissionRequirements[i].satisfied(groups, sat) {
			return false
		}
	}
	return true
}

func (r *SubmissionRequirement) satisfied(groups map[string][]string, sat map[string]bool) bool {
	n, total := 0, 0
	if r.From != "" {
		for _, id := range groups[r.From] {
			total++
			if sat[id] {
				n++
			}
		}
	} else {
		for i := range r.FromNested {
			total++
			if r.FromNested[i].satisfied(groups, sat) {
				n++
			}
		}
	}
	if r.Rule == "all" {
		return n == total
	}
	if r.Count != nil && n < *r.Count {
		return false
	}
	if r.Min != nil && n < *r.Min {
		return false
	}
	return true
}

type matching struct {
	cands   []*candidate
	matches map[string][]int // descriptor id → indexes of satisfying candidates
	sat     map[string]bool
}

func (d *Definition) match(tokens []string) (*matching, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	m := &matching{cands: make([]*candidate, len(tokens)), matches: map[string][]int{}, sat: map[string]bool{}}
	for i, tok := range tokens {
		if c, err := candidateFromJWT(tok); err == nil {
			m.cands[i] = c
		}
	}
	for di := range d.InputDescriptors {
		in := &d.InputDescriptors[di]
		for i, c := range m.cands {
			if c != nil && in.satisfiedBy(c, d.Format) {
				m.matches[in.ID] = append(m.matches[in.ID], i)
			}
		}
		m.sat[in.ID] = len(m.matches[in.ID]) > 0
	}
	return m, nil
}

// SelectCredentials returns the credentials (JWTs) that satisfy the definition's input
// descriptors, in input order and without repeats; it returns an empty list when together
// they cannot satisfy the definition. Signatures are not checked: verify the credentials
// with a vc.Verifier. Tokens that are not credentials are ignored.
func SelectCredentials(d *Definition, tokens []string) ([]string, error) {
	m, err := d.match(tokens)
	if err != nil {
		return nil, err
	}
	out := []string{}
	if !d.satisfied(m.sat) {
		return out, nil
	}
	used := make([]bool, len(tokens))
	for _, idx := range m.matches {
		for _, i := range idx {
			used[i] = true
		}
	}
	seen := map[string]bool{}
	for i, tok := range tokens {
		if used[i] && !seen[tok] {
			seen[tok] = true
			out = append(out, tok)
		}
	}
	return out, nil
}

// CreateSubmission maps each input descriptor to the first of the credentials (JWTs)
// that satisfies it, as the presentation_submission of a presentation whose
// verifiableCredential list is tokens. It fails with ErrUnsatisfied when the credentials
// cannot satisfy the definition.
func CreateSubmission(d *Definition, tokens []string) (*Submission, error) {
	m, err := d.match(tokens)
	if err != nil {
		return nil, err
	}
	if !d.satisfied(m.sat) {
		var missing []string
		for _, in := range d.InputDescriptors {
			if !m.sat[in.ID] {
				missing = append(missing, in.ID)
			}
		}
		return nil, fmt.Errorf("%w: nothing satisfies %s", ErrUnsatisfied, strings.Join(missing, ", "))
	}
	s := &Submission{ID: newID(), DefinitionID: d.ID}
	for i := range d.InputDescriptors {
		in := &d.InputDescriptors[i]
		idx := m.matches[in.ID]
		if len(idx) == 0 {
			continue
		}
		c := m.cands[idx[0]]
		s.DescriptorMap = append(s.DescriptorMap, Descriptor{
			ID:     in.ID,
			Format: in.formatFor(c, d.Format),
			Path:   fmt.Sprintf("$.verifiableCredential[%d]", idx[0]),
		})
	}
	return s, nil
}

// CreatePresentation builds the (unsigned) presentation by holder of the credentials
// (JWTs) that satisfy the definition, with its presentation_submission: SelectCredentials,
// then CreateSubmission over the selection. Sign it with vc.Presentation.Sign.
func CreatePresentation(d *Definition, holder string, tokens []string, opts ...vc.PresentationOption) (*vc.Presentation, *Submission, error) {
	selected, err := SelectCredentials(d, tokens)
	if err != nil {
		return nil, nil, err
	}
	sub, err := CreateSubmission(d, selected)
	if err != nil {
		return nil, nil, err
	}
	p, err := vc.NewPresentation(holder, selected, append(opts, vc.WithProperty("presentation_submission", sub), vc.WithPresentationType("PresentationSubmission"))...)
	if err != nil {
		return nil, nil, err
	}
	return p, sub, nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// EvaluationError lists why a presentation does not satisfy a definition. It matches
// ErrEvaluation.
type EvaluationError struct {
	Problems []string
}

func (e *EvaluationError) Error() string {
	return fmt.Sprintf("%v: %s", ErrEvaluation, strings.Join(e.Problems, "; "))
}

// Is matches ErrEvaluation.
func (e *EvaluationError) Is(target error) bool { return target == ErrEvaluation }

// Evaluate checks a presentation (its JSON, holding a presentation_submission and the
// credentials it points at) against the definition: the submission must be valid and
// name the definition, every descriptor map entry must lead to a credential of its format
// that meets its input descriptor, and the entries must together satisfy the definition.
// Signatures are not checked: verify the presentation with a vc.Verifier.
func Evaluate(d *Definition, presentation []byte) error {
	if err := d.Validate(); err != nil {
		return err
	}
	v, err := fastjson.Unmarshal(presentation)
	if err != nil {
		return &EvaluationError{Problems: []string{"presentation: " + err.Error()}}
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return &EvaluationError{Problems: []string{"presentation is not a JSON object"}}
	}
	rawSub, ok := doc["presentation_submission"]
	if !ok {
		return &EvaluationError{Problems: []string{"presentation_submission is missing"}}
	}
	sb, _ := json.Marshal(rawSub)
	sub, err := ParseSubmission(sb)
	if err != nil {
		return err
	}
	var problems []string
	if sub.DefinitionID != d.ID {
		problems = append(problems, fmt.Sprintf("submission answers definition %q, not %q", sub.DefinitionID, d.ID))
	}
	byID := map[string]*InputDescriptor{}
	for i := range d.InputDescriptors {
		byID[d.InputDescriptors[i].ID] = &d.InputDescriptors[i]
	}
	sat := map[string]bool{}
	for i := range sub.DescriptorMap {
		e := &sub.DescriptorMap[i]
		in, ok := byID[e.ID]
		if !ok {
			problems = append(problems, fmt.Sprintf("descriptor_map[%d]: no input descriptor %q", i, e.ID))
			continue
		}
		c, format, err := resolveEntry(doc, e)
		if err != nil {
			problems = append(problems, fmt.Sprintf("descriptor_map[%d] (%s): %v", i, e.ID, err))
			continue
		}
		if !containsStr(c.formats, format) {
			problems = append(problems, fmt.Sprintf("descriptor_map[%d] (%s): credential is not in format %s", i, e.ID, format))
			continue
		}
		if !in.satisfiedBy(c, d.Format) {
			problems = append(problems, fmt.Sprintf("descriptor_map[%d] (%s): credential does not meet the input descriptor", i, e.ID))
			continue
		}
		sat[e.ID] = true
	}
	if !d.satisfied(sat) {
		problems = append(problems, "the submitted credentials do not satisfy the definition")
	}
	if len(problems) > 0 {
		return &EvaluationError{Problems: problems}
	}
	return nil
}

// resolveEntry follows a descriptor's path (and path_nested) through the presentation to a
// credential. A JWT string is decoded on the way; an EnvelopedVerifiableCredential is opened.
func resolveEntry(doc map[string]any, e *Descriptor) (*candidate, string, error) {
	var cur any = doc
	format := ""
	for d := e; d != nil; d = d.PathNested {
		x, _ := ParsePath(d.Path)
		target := cur
		if s, ok := cur.(string); ok {
			t, err := jose.ParseJWT(s)
			if err != nil {
				return nil, "", fmt.Errorf("path %s: %v", d.Path, err)
			}
			target = t.ClaimSet
		}
		vals := x.Get(target)
		if len(vals) != 1 {
			return nil, "", fmt.Errorf("path %s selects %d values, want 1", d.Path, len(vals))
		}
		cur, format = vals[0], d.Format
	}
	switch x := cur.(type) {
	case string:
		c, err := candidateFromJWT(x)
		return c, format, err
	case map[string]any:
		if id, _ := x["id"].(string); strings.HasPrefix(id, envelopePrefix) {
			c, err := candidateFromJWT(strings.TrimPrefix(id, envelopePrefix))
			return c, format, err
		}
	}
	return nil, "", errors.New("the path does not lead to a JWT-secured credential")
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

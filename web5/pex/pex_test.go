package pex

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/vc"
)

// credentials issues VC-JWTs with the given subjects (1.1 unless v2).
func credentials(t *testing.T, v2 bool, subjects ...vc.Subject) ([]string, *did.BearerDID) {
	t.Helper()
	ctx := context.Background()
	issuer, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range subjects {
		opts := []vc.Option{vc.WithType("TestCredential")}
		if v2 {
			opts = append(opts, vc.WithVersion(vc.V2))
		}
		c, err := vc.New(issuer.String(), s, opts...)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := c.Sign(ctx, issuer)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok)
	}
	return out, issuer
}

func mustDef(t *testing.T, js string) *Definition {
	t.Helper()
	d, err := ParseDefinition([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSubmissionRequirements(t *testing.T) {
	toks, _ := credentials(t, false,
		vc.Subject{"btc": "bc1qxyz"},
		vc.Subject{"eth": "0xabc"},
		vc.Subject{"age": 30.0},
	)
	d := mustDef(t, `{"id":"d","submission_requirements":[
		{"rule":"pick","count":1,"from":"wallet"},
		{"rule":"all","from":"person"}],
	 "input_descriptors":[
		{"id":"btc","group":["wallet"],"constraints":{"fields":[{"path":["$.credentialSubject.btc"]}]}},
		{"id":"ltc","group":["wallet"],"constraints":{"fields":[{"path":["$.credentialSubject.ltc"]}]}},
		{"id":"adult","group":["person"],"constraints":{"fields":[{"path":["$.vc.credentialSubject.age"],"filter":{"type":"number","minimum":18}}]}}]}`)
	got, err := SelectCredentials(d, toks)
	if err != nil || len(got) != 2 || got[0] != toks[0] || got[1] != toks[2] {
		t.Fatalf("pick 1 of wallet + all person: %d %v", len(got), err)
	}
	sub, err := CreateSubmission(d, toks)
	if err != nil || len(sub.DescriptorMap) != 2 || sub.DescriptorMap[1].Path != "$.verifiableCredential[2]" {
		t.Fatalf("%+v %v", sub, err)
	}
	// Without the adult credential the "all" rule fails.
	if got, _ := SelectCredentials(d, toks[:2]); len(got) != 0 {
		t.Fatalf("selected %d without the person group", len(got))
	}
	if _, err := CreateSubmission(d, toks[:2]); !errors.Is(err, ErrUnsatisfied) {
		t.Fatalf("create: %v", err)
	}
	// Nested: pick min 2 of (wallet, person).
	d2 := mustDef(t, `{"id":"d2","submission_requirements":[{"rule":"pick","min":2,"from_nested":[
		{"rule":"all","from":"wallet"},{"rule":"all","from":"person"},{"rule":"all","from":"other"}]}],
	 "input_descriptors":[
		{"id":"btc","group":["wallet"],"constraints":{"fields":[{"path":["$.credentialSubject.btc"]}]}},
		{"id":"adult","group":["person"],"constraints":{"fields":[{"path":["$.credentialSubject.age"]}]}},
		{"id":"x","group":["other"],"constraints":{"fields":[{"path":["$.credentialSubject.x"]}]}}]}`)
	if got, _ := SelectCredentials(d2, toks); len(got) != 2 {
		t.Fatalf("nested pick: %d", len(got))
	}
	if got, _ := SelectCredentials(d2, toks[:1]); len(got) != 0 {
		t.Fatalf("nested pick with one: %d", len(got))
	}
}

func TestFieldsAndConstraints(t *testing.T) {
	toks, issuer := credentials(t, false, vc.Subject{"name": "Alice", "tags": []any{"a", "b"}})
	v2, _ := credentials(t, true, vc.Subject{"name": "Bob"})
	cases := []struct {
		name string
		def  string
		toks []string
		want int
	}{
		{"optional field missing", `{"id":"d","input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.credentialSubject.nope"],"optional":true},{"path":["$.credentialSubject.name"]}]}}]}`, toks, 1},
		{"filter fails", `{"id":"d","input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.credentialSubject.name"],"filter":{"type":"string","const":"Bob"}}]}}]}`, toks, 0},
		{"second path matches", `{"id":"d","input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.credentialSubject.nickname","$.credentialSubject.name"],"filter":{"const":"Alice"}}]}}]}`, toks, 1},
		{"array contains", `{"id":"d","input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.vc.credentialSubject.tags"],"filter":{"type":"array","contains":{"const":"b"}}}]}}]}`, toks, 1},
		{"limit disclosure required", `{"id":"d","input_descriptors":[{"id":"i","constraints":{"limit_disclosure":"required","fields":[{"path":["$.credentialSubject.name"]}]}}]}`, toks, 0},
		{"format jwt_vc EdDSA", `{"id":"d","format":{"jwt_vc":{"alg":["EdDSA"]}},"input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.credentialSubject.name"]}]}}]}`, toks, 1},
		{"format jwt_vc ES256K only", `{"id":"d","format":{"jwt_vc":{"alg":["ES256K"]}},"input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.credentialSubject.name"]}]}}]}`, toks, 0},
		{"format ldp_vc only", `{"id":"d","input_descriptors":[{"id":"i","format":{"ldp_vc":{}},"constraints":{"fields":[{"path":["$.credentialSubject.name"]}]}}]}`, toks, 0},
		{"2.0 credential as vc+jwt", `{"id":"d","format":{"vc+jwt":{}},"input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.credentialSubject.name"],"filter":{"const":"Bob"}}]}}]}`, v2, 1},
		{"subject is not issuer", `{"id":"d","input_descriptors":[{"id":"i","constraints":{"subject_is_issuer":"required"}}]}`, toks, 0},
		{"not a JWT", `{"id":"d","input_descriptors":[{"id":"i","constraints":{}}]}`, []string{"garbage", "a.b.c"}, 0},
	}
	for _, c := range cases {
		d := mustDef(t, c.def)
		got, err := SelectCredentials(d, c.toks)
		if err != nil || len(got) != c.want {
			t.Errorf("%s: selected %d (%v), want %d", c.name, len(got), err, c.want)
		}
	}
	// A self-issued credential meets subject_is_issuer.
	ctx := context.Background()
	self, _ := vc.New(issuer.String(), vc.Subject{"id": issuer.String()})
	selfTok, _ := self.Sign(ctx, issuer)
	d := mustDef(t, `{"id":"d","input_descriptors":[{"id":"i","constraints":{"subject_is_issuer":"required"}}]}`)
	if got, _ := SelectCredentials(d, []string{selfTok}); len(got) != 1 {
		t.Fatal("self-issued credential not selected")
	}
}

func TestEvaluateRejects(t *testing.T) {
	toks, _ := credentials(t, false, vc.Subject{"name": "Alice"}, vc.Subject{"age": 12.0})
	d := mustDef(t, `{"id":"d","input_descriptors":[
		{"id":"name","constraints":{"fields":[{"path":["$.credentialSubject.name"]}]}},
		{"id":"adult","constraints":{"fields":[{"path":["$.credentialSubject.age"],"filter":{"type":"number","minimum":18}}]}}]}`)
	pres := func(sub any, creds []string) []byte {
		b, _ := json.Marshal(map[string]any{"verifiableCredential": creds, "presentation_submission": sub})
		return b
	}
	sub := func(defID string, entries ...Descriptor) Submission {
		return Submission{ID: "s", DefinitionID: defID, DescriptorMap: entries}
	}
	name := Descriptor{ID: "name", Format: "jwt_vc", Path: "$.verifiableCredential[0]"}
	adult := Descriptor{ID: "adult", Format: "jwt_vc", Path: "$.verifiableCredential[1]"}
	cases := map[string][]byte{
		"minor":              pres(sub("d", name, adult), toks),
		"descriptor missing": pres(sub("d", name), toks),
		"wrong definition":   pres(sub("other", name, adult), toks),
		"path out of range":  pres(sub("d", name, Descriptor{ID: "adult", Format: "jwt_vc", Path: "$.verifiableCredential[7]"}), toks),
		"wrong format":       pres(sub("d", Descriptor{ID: "name", Format: "ldp_vc", Path: "$.verifiableCredential[0]"}, adult), toks),
		"unknown descriptor": pres(sub("d", Descriptor{ID: "ghost", Format: "jwt_vc", Path: "$.verifiableCredential[0]"}), toks),
		"credential swapped": pres(sub("d", Descriptor{ID: "name", Format: "jwt_vc", Path: "$.verifiableCredential[1]"}, adult), toks),
		"no submission":      []byte(`{"verifiableCredential":[]}`),
		"not json":           []byte(`{`),
		"path to non-JWT":    pres(sub("d", Descriptor{ID: "name", Format: "jwt_vc", Path: "$.presentation_submission"}), toks),
	}
	for n, p := range cases {
		if err := Evaluate(d, p); err == nil {
			t.Errorf("%s: accepted", n)
		}
	}
	var ee *EvaluationError
	if err := Evaluate(d, cases["minor"]); !errors.As(err, &ee) || !errors.Is(err, ErrEvaluation) || !strings.Contains(err.Error(), "adult") {
		t.Fatalf("minor: %v", err)
	}
	// path_nested through a VP JWT.
	d1 := mustDef(t, `{"id":"d1","input_descriptors":[{"id":"name","constraints":{"fields":[{"path":["$.credentialSubject.name"]}]}}]}`)
	holder, _ := didkey.Create(context.Background(), jose.NewMemoryKeyManager(), jose.Ed25519)
	p, _ := vc.NewPresentation(holder.String(), toks[:1])
	vp, _ := p.Sign(context.Background(), holder)
	nested := Descriptor{ID: "name", Format: "jwt_vp", Path: "$.vp_token", PathNested: &Descriptor{ID: "name", Format: "jwt_vc", Path: "$.vp.verifiableCredential[0]"}}
	b, _ := json.Marshal(map[string]any{"vp_token": vp, "presentation_submission": sub("d1", nested)})
	if err := Evaluate(d1, b); err != nil {
		t.Fatalf("path_nested: %v", err)
	}
}

func TestDefinitionValidation(t *testing.T) {
	for name, js := range map[string]string{
		"no input_descriptors":     `{"id":"d"}`,
		"not an object":            `[]`,
		"duplicate keys":           `{"id":"d","id":"e","input_descriptors":[]}`,
		"path without $":           `{"id":"d","input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["credentialSubject"]}]}}]}`,
		"bad filter":               `{"id":"d","input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.x"],"filter":{"type":"nope"}}]}}]}`,
		"filter remote ref":        `{"id":"d","input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.x"],"filter":{"$ref":"https://evil.example/s.json"}}]}}]}`,
		"predicate without filter": `{"id":"d","input_descriptors":[{"id":"i","constraints":{"fields":[{"path":["$.x"],"predicate":"required"}]}}]}`,
		"bad limit_disclosure":     `{"id":"d","input_descriptors":[{"id":"i","constraints":{"limit_disclosure":"always"}}]}`,
		"rule unknown":             `{"id":"d","submission_requirements":[{"rule":"some","from":"g"}],"input_descriptors":[{"id":"i","group":["g"],"constraints":{}}]}`,
		"from unknown group":       `{"id":"d","submission_requirements":[{"rule":"all","from":"h"}],"input_descriptors":[{"id":"i","group":["g"],"constraints":{}}]}`,
		"from and from_nested":     `{"id":"d","submission_requirements":[{"rule":"all","from":"g","from_nested":[{"rule":"all","from":"g"}]}],"input_descriptors":[{"id":"i","group":["g"],"constraints":{}}]}`,
		"min > max":                `{"id":"d","submission_requirements":[{"rule":"pick","min":3,"max":1,"from":"g"}],"input_descriptors":[{"id":"i","group":["g"],"constraints":{}}]}`,
		"descriptor without group": `{"id":"d","submission_requirements":[{"rule":"all","from":"g"}],"input_descriptors":[{"id":"i","group":["g"],"constraints":{}},{"id":"j","constraints":{}}]}`,
		"numeric id":               `{"id":5,"input_descriptors":[]}`,
	} {
		if _, err := ParseDefinition([]byte(js)); !errors.Is(err, ErrInvalidDefinition) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCreatePresentation(t *testing.T) {
	ctx := context.Background()
	toks, _ := credentials(t, false, vc.Subject{"name": "Alice"}, vc.Subject{"other": 1.0})
	holder, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	d := mustDef(t, `{"id":"d","input_descriptors":[{"id":"name","constraints":{"fields":[{"path":["$.credentialSubject.name"]}]}}]}`)
	p, sub, err := CreatePresentation(d, holder.String(), toks)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.VerifiableCredential) != 1 || p.VerifiableCredential[0] != toks[0] || sub.DescriptorMap[0].Path != "$.verifiableCredential[0]" {
		t.Fatalf("%+v %+v", p, sub)
	}
	vp, err := p.Sign(ctx, holder)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := did.NewResolver(did.WithMethods(didkey.New()))
	v, _ := vc.NewVerifier(r)
	got, _, err := v.VerifyPresentation(ctx, vp)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(got)
	if err := Evaluate(d, body); err != nil {
		t.Fatalf("the verified presentation does not evaluate: %v\n%s", err, body)
	}
	if _, _, err := CreatePresentation(d, holder.String(), toks[1:]); !errors.Is(err, ErrUnsatisfied) {
		t.Fatalf("unsatisfiable: %v", err)
	}
}

package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	"go.yaml.in/yaml/v3"

	"github.com/anya-org/anya-go/bridge"
)

// Spec declares a pipeline fed by the records store: which records (Protocol, Path and the
// CEL Filter), the rules they must pass (Validate), how their features are computed (Features:
// feature name → CEL number), and where scores go (the score record is written back to the
// record's tenant). In JSON or YAML:
//
//	name: tx-risk
//	protocol: https://anya.org/protocols/bridge/v1
//	path: tx
//	filter: data.amount_sat > 0
//	validate:
//	  - {name: positive, expr: "data.amount_sat >= 0"}
//	features:
//	  out_total_btc: double(data.amount_sat) / 1e8
//	  n_outputs: "1.0"
//	explain: 3
type Spec struct {
	Name     string            `json:"name" yaml:"name"`
	Protocol string            `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	Path     string            `json:"path,omitempty" yaml:"path,omitempty"`
	Filter   string            `json:"filter,omitempty" yaml:"filter,omitempty"`
	Validate []Rule            `json:"validate,omitempty" yaml:"validate,omitempty"`
	Features map[string]string `json:"features" yaml:"features"`
	// Explain is how many explaining factors (the features that moved the score most) the
	// score record carries; 0 for none.
	Explain int `json:"explain,omitempty" yaml:"explain,omitempty"`
}

// Rule is a named CEL condition.
type Rule struct {
	Name string `json:"name" yaml:"name"`
	Expr string `json:"expr" yaml:"expr"`
}

// Limits on specs.
const (
	MaxExpressionBytes = 4096
	MaxRules           = 64
	MaxFeatures        = 256
	MaxSpecBytes       = 1 << 20
)

// Problem is one thing wrong with a spec.
type Problem struct {
	Field, Reason string
}

// SpecError lists every problem of a spec. It matches ErrInvalidSpec.
type SpecError struct {
	Spec     string
	Problems []Problem
}

func (e *SpecError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Reason
	}
	return fmt.Sprintf("feed: invalid spec %q: %s", e.Spec, strings.Join(parts, "; "))
}

// Is reports whether target is ErrInvalidSpec.
func (e *SpecError) Is(target error) bool { return target == ErrInvalidSpec }

// ParseSpec reads a spec in JSON (starting with '{') or YAML, refusing unknown fields.
func ParseSpec(data []byte) (Spec, error) {
	var s Spec
	fail := func(err error) (Spec, error) {
		return Spec{}, &SpecError{Spec: "-", Problems: []Problem{{Field: "-", Reason: err.Error()}}}
	}
	if len(data) > MaxSpecBytes {
		return fail(fmt.Errorf("longer than %d bytes", MaxSpecBytes))
	}
	t := bytes.TrimSpace(data)
	if len(t) > 0 && t[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return fail(err)
		}
		if dec.More() {
			return fail(errors.New("data after the spec"))
		}
		return s, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(t))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(errors.New("empty"))
		}
		return fail(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fail(errors.New("more than one document"))
	}
	return s, nil
}

type compiledSpec struct {
	spec     Spec
	filter   cel.Program
	rules    []compiledRule
	features []compiledFeature
}

type compiledRule struct {
	name string
	prg  cel.Program
}

type compiledFeature struct {
	name string
	prg  cel.Program
}

func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("record", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("data", cel.DynType),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(MaxExpressionBytes),
		cel.ParserRecursionLimit(64),
	)
}

// compileSpec checks and compiles s against the model's feature names, listing every problem.
func compileSpec(s Spec, names map[string]bool, cost uint64) (*compiledSpec, error) {
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	var probs []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if s.Name == "" {
		bad("name", "missing")
	}
	if s.Protocol == "" {
		s.Protocol = bridge.ProtocolURI
	}
	if s.Explain < 0 {
		bad("explain", "negative")
	}
	c := &compiledSpec{spec: s}
	compile := func(field, expr string, kind string) cel.Program {
		if len(expr) > MaxExpressionBytes {
			bad(field, "expression is %d bytes, at most %d", len(expr), MaxExpressionBytes)
			return nil
		}
		ast, iss := env.Compile(expr)
		if iss != nil && iss.Err() != nil {
			bad(field, "%v", iss.Err())
			return nil
		}
		t := ast.OutputType()
		switch kind {
		case "bool":
			if !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
				bad(field, "must be a bool, is %s", t)
				return nil
			}
		case "number":
			if !t.IsExactType(cel.DoubleType) && !t.IsExactType(cel.IntType) && !t.IsExactType(cel.UintType) && !t.IsExactType(cel.DynType) {
				bad(field, "must be a number, is %s", t)
				return nil
			}
		}
		prg, err := env.Program(ast, cel.CostLimit(cost), cel.EvalOptions(cel.OptOptimize))
		if err != nil {
			bad(field, "%v", err)
			return nil
		}
		return prg
	}
	if s.Filter != "" {
		c.filter = compile("filter", s.Filter, "bool")
	}
	if len(s.Validate) > MaxRules {
		bad("validate", "%d rules, at most %d", len(s.Validate), MaxRules)
	}
	seen := map[string]bool{}
	for i, r := range s.Validate {
		field := fmt.Sprintf("validate[%d]", i)
		if r.Name == "" || seen[r.Name] {
			bad(field, "a rule needs a unique name")
		}
		seen[r.Name] = true
		if prg := compile(field, r.Expr, "bool"); prg != nil {
			c.rules = append(c.rules, compiledRule{name: r.Name, prg: prg})
		}
	}
	if len(s.Features) == 0 {
		bad("features", "none")
	}
	if len(s.Features) > MaxFeatures {
		bad("features", "%d features, at most %d", len(s.Features), MaxFeatures)
	}
	keys := make([]string, 0, len(s.Features))
	for k := range s.Features {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !names[k] {
			bad("features."+k, "the model has no feature %q", k)
			continue
		}
		if prg := compile("features."+k, s.Features[k], "number"); prg != nil {
			c.features = append(c.features, compiledFeature{name: k, prg: prg})
		}
	}
	if len(probs) > 0 {
		return nil, &SpecError{Spec: s.Name, Problems: probs}
	}
	return c, nil
}

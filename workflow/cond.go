package workflow

import (
	"fmt"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/interpreter"
)

// CEL conditions see the run's data as variables: input (the run input, a map) and, for each
// step, steps.<id> (its output, a map; empty when the step was skipped or not reached). Fields
// with a declared type — inputs declared by the definition, outputs declared by the operation or
// the step's output mapping — are typed variables of their own (steps.<id>.<field>,
// input.<field>), so the checker knows steps.fraud.risk_score is a double.

// celReserved are identifiers CEL cannot use as names.
var celReserved = map[string]bool{
	"true": true, "false": true, "null": true, "in": true, "as": true, "break": true, "const": true,
	"continue": true, "else": true, "for": true, "function": true, "if": true, "import": true,
	"let": true, "loop": true, "package": true, "namespace": true, "return": true, "var": true,
	"void": true, "while": true,
}

func celIdent(s string) bool {
	if s == "" || celReserved[s] || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentStart(s[i]) && !(s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

func celType(t Type) *cel.Type {
	switch t {
	case TypeString:
		return cel.StringType
	case TypeNumber:
		return cel.DoubleType
	case TypeInteger:
		return cel.IntType
	case TypeBoolean:
		return cel.BoolType
	case TypeObject:
		return cel.MapType(cel.StringType, cel.DynType)
	case TypeList:
		return cel.ListType(cel.DynType)
	}
	return cel.DynType
}

type nameKind uint8

const (
	nameInput nameKind = iota
	nameInputField
	nameStep
	nameStepField
)

type nameRef struct {
	kind  nameKind
	idx   int
	field string
}

var emptyObject = map[string]any{}

// activation resolves CEL variables against a run's scope without copying it.
type activation struct {
	names map[string]nameRef
	sc    *scope
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	r, ok := a.names[name]
	if !ok {
		return nil, false
	}
	switch r.kind {
	case nameInput:
		if a.sc.input == nil {
			return emptyObject, true
		}
		return a.sc.input, true
	case nameInputField:
		v, ok := a.sc.input[r.field]
		return v, ok
	case nameStep:
		if m := a.sc.outs[r.idx]; m != nil {
			return m, true
		}
		return emptyObject, true
	case nameStepField:
		v, ok := a.sc.outs[r.idx][r.field]
		return v, ok
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// newCELEnv declares the variables of a definition. stepFields[i] is nil when step i's output is
// undeclared.
func newCELEnv(inputs map[string]Field, ids []string, stepFields []map[string]Type, lim Limits) (*cel.Env, map[string]nameRef, error) {
	names := map[string]nameRef{"input": {kind: nameInput}}
	opts := []cel.EnvOption{
		cel.Variable("input", cel.MapType(cel.StringType, cel.DynType)),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(lim.MaxExpressionBytes),
		cel.ParserRecursionLimit(64),
	}
	for _, k := range sortedKeys(inputs) {
		if celIdent(k) {
			n := "input." + k
			names[n] = nameRef{kind: nameInputField, field: k}
			opts = append(opts, cel.Variable(n, celType(inputs[k].Type)))
		}
	}
	for i, id := range ids {
		n := "steps." + id
		names[n] = nameRef{kind: nameStep, idx: i}
		opts = append(opts, cel.Variable(n, cel.MapType(cel.StringType, cel.DynType)))
		for _, f := range sortedKeys(stepFields[i]) {
			if celIdent(f) {
				fn := n + "." + f
				names[fn] = nameRef{kind: nameStepField, idx: i, field: f}
				opts = append(opts, cel.Variable(fn, celType(stepFields[i][f])))
			}
		}
	}
	env, err := cel.NewEnv(opts...)
	return env, names, err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// condition is a compiled CEL condition.
type condition struct {
	expr string
	prg  cel.Program
}

// celRef is a reference a condition makes to a step or input field.
type celRef struct {
	step  string // "" for input
	field string // "" for the whole step or input
}

// compileCondition compiles and type-checks expr; the result must be a bool (or dyn, checked when
// evaluated). It returns the condition and every step or input field it references.
func compileCondition(env *cel.Env, expr string, lim Limits) (*condition, []celRef, []string) {
	if len(expr) > lim.MaxExpressionBytes {
		return nil, nil, []string{fmt.Sprintf("expression is %d bytes, more than %d", len(expr), lim.MaxExpressionBytes)}
	}
	checked, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("column %d: %s", e.Location.Column()+1, e.Message))
		}
		return nil, nil, msgs
	}
	if t := checked.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, nil, []string{fmt.Sprintf("condition must be a bool, is %s", t)}
	}
	prg, err := env.Program(checked, cel.CostLimit(lim.CELCostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, nil, []string{err.Error()}
	}
	return &condition{expr: expr, prg: prg}, celRefs(checked.NativeRep()), nil
}

// celRefs lists the step and input references of a checked expression: each variable it names,
// and each field selected from a whole-step or whole-input variable.
func celRefs(a *ast.AST) []celRef {
	refMap := a.ReferenceMap()
	var out []celRef
	selected := map[int64]bool{}
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.SelectKind {
			return
		}
		sel := e.AsSelect()
		ri, ok := refMap[sel.Operand().ID()]
		if !ok || ri.Name == "" {
			return
		}
		r := parseVarName(ri.Name)
		if r == nil || r.field != "" {
			return
		}
		r.field = sel.FieldName()
		selected[sel.Operand().ID()] = true
		out = append(out, *r)
	}))
	ids := make([]int64, 0, len(refMap))
	for id := range refMap {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if ri := refMap[id]; ri.Name != "" && !selected[id] {
			if r := parseVarName(ri.Name); r != nil {
				out = append(out, *r)
			}
		}
	}
	return out
}

// parseVarName splits a declared variable name: "input", "input.f", "steps.id", "steps.id.f".
func parseVarName(n string) *celRef {
	switch {
	case n == "input":
		return &celRef{}
	case strings.HasPrefix(n, "input."):
		return &celRef{field: n[len("input."):]}
	case strings.HasPrefix(n, "steps."):
		id, field, _ := strings.Cut(n[len("steps."):], ".")
		return &celRef{step: id, field: field}
	}
	return nil
}

func (c *condition) eval(act *activation) (bool, error) {
	out, _, err := c.prg.Eval(act)
	if err != nil {
		return false, &ConditionError{Expr: c.expr, Err: err}
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, &ConditionError{Expr: c.expr, Err: fmt.Errorf("result is %s, not a bool", out.Type().TypeName())}
	}
	return b, nil
}

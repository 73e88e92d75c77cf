package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/workflow"
)

// testOps registers operations with declared outputs for validation tests.
func testOps(t testing.TB) *workflow.Registry {
	t.Helper()
	f := func(ctx context.Context, c *workflow.Call) (map[string]any, error) { return c.Input, nil }
	reg, err := workflow.NewRegistry(
		workflow.Operation{Name: "web5.verify_identity", Func: f, Outputs: map[string]workflow.Type{"sender_verified": workflow.TypeBoolean, "verification_score": workflow.TypeNumber}},
		workflow.Operation{Name: "ml.assess_risk", Func: f, Outputs: map[string]workflow.Type{"risk_score": workflow.TypeNumber}},
		workflow.Operation{Name: "bitcoin.send_payment", Func: f, Outputs: map[string]workflow.Type{"txid": workflow.TypeString}},
		workflow.Operation{Name: "test.echo", Func: f},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func validationError(t *testing.T, err error) *workflow.ValidationError {
	t.Helper()
	var ve *workflow.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, workflow.ErrInvalidDefinition) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	return ve
}

type wantProblem struct {
	line int
	code string
	text string
}

func checkProblems(t *testing.T, ve *workflow.ValidationError, want []wantProblem) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, p := range ve.Problems {
			if p.Code == w.code && (w.line == 0 || p.Pos.Line == w.line) && strings.Contains(p.Message, w.text) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no %s problem at line %d mentioning %q in:\n%v", w.code, w.line, w.text, ve)
		}
	}
}

func TestParseJSONAndYAMLAgree(t *testing.T) {
	j := workflow.VerifiedPayment()
	y, err := workflow.Parse([]byte(verifiedPaymentYAML))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(j)
	b, _ := json.Marshal(y)
	if string(a) != string(b) {
		t.Fatalf("JSON and YAML forms differ:\n%s\n%s", a, b)
	}
	// And the Go definition marshals to JSON that parses back to itself.
	back, err := workflow.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := json.Marshal(back)
	if string(a) != string(c) {
		t.Fatal("a definition does not survive a JSON round trip")
	}
}

func TestParseStructuralProblemsWithPositions(t *testing.T) {
	src := `{
  "name": "bad",
  "colour": "blue",
  "steps": [
    {"id": "a", "operation": "test.echo", "timeout": "soon"},
    {"operation": 7, "retry": {"max_attempts": "three"}},
    "not a step"
  ],
  "inputs": {"x": {"type": "string", "required": "yes"}}
}`
	_, err := workflow.Parse([]byte(src))
	ve := validationError(t, err)
	checkProblems(t, ve, []wantProblem{
		{3, workflow.CodeUnknownKey, `"colour"`},
		{5, workflow.CodeInvalid, `bad duration "soon"`},
		{6, workflow.CodeType, "want a string, got a integer"},
		{6, workflow.CodeType, "want an integer, got a string"},
		{6, workflow.CodeMissing, `missing "id"`},
		{7, workflow.CodeType, "want an object"},
		{9, workflow.CodeType, "want true or false"},
	})
	if ve.Problems[0].Pos.Column != 3 {
		t.Errorf("column of \"colour\" = %d, want 3", ve.Problems[0].Pos.Column)
	}
	for _, bad := range []string{`{"name": "x", "steps": [}`, "name: [unclosed", `{"a": 1} {"b": 2}`, `{"name":"a","name":"b","steps":[]}`, "name: a\nname: b\n"} {
		_, err := workflow.Parse([]byte(bad))
		ve := validationError(t, err)
		if len(ve.Problems) != 1 || !ve.Problems[0].Pos.IsValid() {
			t.Errorf("%q: problems %v, want one with a position", bad, ve.Problems)
		}
	}
}

// One definition with every kind of semantic problem, reported together.
const manyProblems = `name: broken
inputs:
  amount: {type: integer, required: true}
steps:
  - id: verify
    operation: web5.verify_identty
    input:
      did: "{{input.sender}}"
  - id: risk
    operation: ml.assess_risk
    input:
      score: "{{steps.verify.verification_score}}"
      later: "{{steps.pay.txid}}"
    if: "steps.verify.verification_score + 'x' > 1"
  - id: pay
    protocol: web5
    operation: bitcoin.send_payment
    input:
      amount: "{{input.amount}}"
      what: "{{steps.risk.risk_scor}}"
      nowhere: "{{steps.ghost.x}}"
      broken: "{{input.amount"
    if: "steps.risk.risk_score < 0.7 && steps.later.x"
  - id: pay
    operation: test.echo
  - id: Bad-Id
    operation: test.echo
  - id: loop_a
    operation: test.echo
    after: [loop_b]
  - id: loop_b
    operation: test.echo
    input:
      x: "{{steps.loop_a.y}}"
  - id: selfish
    operation: test.echo
    input:
      me: "{{steps.selfish.out}}"
    terminate_if: "input.amount"
`

func TestValidateReportsEverythingTogether(t *testing.T) {
	def, err := workflow.Parse([]byte(manyProblems))
	if err != nil {
		t.Fatal(err)
	}
	ve := validationError(t, workflow.Validate(def, testOps(t)))
	checkProblems(t, ve, []wantProblem{
		{6, workflow.CodeUnknownOperation, `"web5.verify_identty" (did you mean "web5.verify_identity"?)`},
		{8, workflow.CodeUnknownField, `declares no input "sender"`},
		{9, workflow.CodeCycle, `steps "risk", "pay" depend on each other`},
		{13, workflow.CodeOrder, `step "pay" does not precede step "risk"`},
		{14, workflow.CodeCEL, "no matching overload"},
		{16, workflow.CodeProtocol, `acts in "bitcoin"`},
		{20, workflow.CodeUnknownField, `step "risk" has no output "risk_scor"`},
		{21, workflow.CodeUnknownStep, `no step "ghost"`},
		{22, workflow.CodeTemplate, "unclosed {{"},
		{23, workflow.CodeCEL, "undeclared reference to 'steps'"},
		{24, workflow.CodeDuplicate, `step id "pay" is also used by steps[2]`},
		{26, workflow.CodeInvalid, `step id "Bad-Id"`},
		{30, workflow.CodeOrder, `step "loop_b" does not precede step "loop_a"`},
		{28, workflow.CodeCycle, `steps "loop_a", "loop_b" depend on each other`},
		{38, workflow.CodeCycle, `step "selfish" refers to itself`},
		{39, workflow.CodeCEL, "condition must be a bool, is int"},
	})
	if len(ve.Problems) != 16 {
		t.Errorf("%d problems, want 16:\n%v", len(ve.Problems), ve)
	}
	if p := ve.Problems[0]; p.Pos != (workflow.Pos{Line: 6, Column: 16}) || p.Path != "steps[0].operation" {
		t.Errorf("first problem at %v %s, want 6:16 steps[0].operation (problems come in source order)", p.Pos, p.Path)
	}
	// Go definitions get paths instead of positions.
	goDef := &workflow.Definition{Name: "g", Steps: []workflow.Step{{ID: "a", Operation: "nope"}}}
	ve = validationError(t, workflow.Validate(goDef, testOps(t)))
	if p := ve.Problems[0]; p.Path != "steps[0].operation" || p.Pos.IsValid() {
		t.Errorf("problem %+v", p)
	}
	ve = validationError(t, workflow.Validate(&workflow.Definition{}, nil))
	checkProblems(t, ve, []wantProblem{{0, workflow.CodeMissing, "name is required"}, {0, workflow.CodeMissing, "at least one step"}})
}

func TestMaliciousDefinitionsAreRejected(t *testing.T) {
	reg := testOps(t)
	// Huge: too many steps.
	many := &workflow.Definition{Name: "many"}
	for i := range workflow.DefaultMaxSteps + 1 {
		many.Steps = append(many.Steps, workflow.Step{ID: fmt.Sprintf("s%d", i), Operation: "test.echo"})
	}
	checkProblems(t, validationError(t, workflow.Validate(many, reg)), []wantProblem{{0, workflow.CodeLimit, "257 steps"}})
	// Huge: too many bytes.
	_, err := workflow.Parse([]byte(`{"name": "` + strings.Repeat("x", workflow.DefaultMaxDefinitionBytes) + `"}`))
	checkProblems(t, validationError(t, err), []wantProblem{{1, workflow.CodeLimit, "more than"}})
	// Deeply nested, in JSON, YAML and Go.
	deepJSON := `{"name":"d","steps":[{"id":"a","operation":"test.echo","input":` + strings.Repeat(`{"x":`, 100) + `1` + strings.Repeat(`}`, 100) + `}]}`
	_, err = workflow.Parse([]byte(deepJSON))
	checkProblems(t, validationError(t, err), []wantProblem{{1, workflow.CodeLimit, "nested deeper"}})
	deepYAML := "name: d\nsteps:\n  - id: a\n    operation: test.echo\n    input: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n"
	_, err = workflow.Parse([]byte(deepYAML))
	checkProblems(t, validationError(t, err), []wantProblem{{5, workflow.CodeLimit, "nested deeper"}})
	var v any = "leaf"
	for range 40 {
		v = map[string]any{"x": v}
	}
	deepGo := &workflow.Definition{Name: "d", Steps: []workflow.Step{{ID: "a", Operation: "test.echo", Input: map[string]any{"v": v}}}}
	checkProblems(t, validationError(t, workflow.Validate(deepGo, reg)), []wantProblem{{0, workflow.CodeLimit, "nested deeper"}})
	// A YAML alias bomb never expands.
	bomb := "name: b\nx: &a [1,1,1,1,1,1,1,1,1]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nsteps: [*c]\n"
	_, err = workflow.Parse([]byte(bomb))
	checkProblems(t, validationError(t, err), []wantProblem{{0, workflow.CodeInvalid, "aliases are not allowed"}})
	// A huge expression.
	long := &workflow.Definition{Name: "l", Steps: []workflow.Step{{ID: "a", Operation: "test.echo", If: strings.Repeat("true && ", 1000) + "true"}}}
	checkProblems(t, validationError(t, workflow.Validate(long, reg)), []wantProblem{{0, workflow.CodeLimit, "more than 4096"}})
	// A cycle through after.
	cyc := &workflow.Definition{Name: "c", Steps: []workflow.Step{
		{ID: "a", Operation: "test.echo", After: []string{"c"}},
		{ID: "b", Operation: "test.echo", After: []string{"a"}},
		{ID: "c", Operation: "test.echo", After: []string{"b"}},
	}}
	checkProblems(t, validationError(t, workflow.Validate(cyc, reg)), []wantProblem{{0, workflow.CodeCycle, `steps "a", "b", "c"`}})
}

func TestCELCostLimitAtRuntime(t *testing.T) {
	reg := testOps(t)
	def := &workflow.Definition{Name: "cost", Steps: []workflow.Step{{ID: "a", Operation: "test.echo",
		If: "input.items.map(x, input.items.map(y, x * y)).size() > 0"}}}
	e := newEngine(t, workflow.NewMemoryStore(), reg, []*workflow.Definition{def})
	items := make([]any, 500)
	for i := range items {
		items[i] = i
	}
	res, err := e.Run(context.Background(), "cost", "r", map[string]any{"items": items})
	if !errors.Is(err, workflow.ErrRunFailed) || !strings.Contains(res.Error, "cost limit") {
		t.Fatalf("err %v, result %+v", err, res)
	}
	// The same condition on a small list is fine.
	res, err = e.Run(context.Background(), "cost", "r2", map[string]any{"items": []any{1, 2}})
	if err != nil || res.Status != workflow.StatusCompleted {
		t.Fatalf("small list: %v %+v", err, res)
	}
}

func TestTemplatesKeepTypesAndNeverReEvaluate(t *testing.T) {
	var got []map[string]any
	reg, _ := workflow.NewRegistry(
		workflow.Operation{Name: "test.capture", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
			got = append(got, c.Input)
			return map[string]any{
				"evil":   "{{input.secret}}",
				"nested": map[string]any{"list": []any{map[string]any{"name": "first"}, "second"}, "n": 7},
				"ratio":  0.25,
			}, nil
		}},
	)
	def := &workflow.Definition{Name: "t", Steps: []workflow.Step{
		{ID: "a", Operation: "test.capture", Input: map[string]any{
			"whole":   "{{input.note}}",
			"mixed":   "note={{input.note}} n={{input.n}} f={{input.f}} ok={{input.ok}} obj={{input.obj}} none={{input.none}}",
			"typed":   []any{"{{input.n}}", "{{input.f}}", "{{input.ok}}", "{{input.obj}}", "{{input.obj.k[1]}}"},
			"literal": map[string]any{"keep": 5, "text": "no templates"},
		}},
		{ID: "b", Operation: "test.capture", Input: map[string]any{
			"evil":   "{{steps.a.evil}}",
			"mixed":  "got {{steps.a.evil}}",
			"deep":   "{{steps.a.nested.list[0].name}}",
			"second": "{{steps.a.nested.list[1]}}",
			"ratio":  "{{steps.a.ratio}}",
			"whole":  "{{steps.a.nested}}",
		}},
	}}
	e := newEngine(t, workflow.NewMemoryStore(), reg, []*workflow.Definition{def})
	in := map[string]any{"note": "{{input.secret}}", "secret": "s3cr3t", "n": 42, "f": 1.5, "ok": true,
		"obj": map[string]any{"k": []any{"x", "y"}}, "none": nil}
	if _, err := e.Run(context.Background(), "t", "r", in); err != nil {
		t.Fatal(err)
	}
	a, b := got[0], got[1]
	if a["whole"] != "{{input.secret}}" || b["evil"] != "{{input.secret}}" || b["mixed"] != "got {{input.secret}}" {
		t.Fatalf("a value holding a template was evaluated: %v / %v", a, b)
	}
	if a["mixed"] != `note={{input.secret}} n=42 f=1.5 ok=true obj={"k":["x","y"]} none=` {
		t.Fatalf("mixed = %q", a["mixed"])
	}
	typed := a["typed"].([]any)
	if typed[0] != int64(42) || typed[1] != 1.5 || typed[2] != true || typed[4] != "y" {
		t.Fatalf("typed = %#v", typed)
	}
	if _, ok := typed[3].(map[string]any); !ok {
		t.Fatalf("object reference became %T", typed[3])
	}
	if b["deep"] != "first" || b["second"] != "second" || b["ratio"] != 0.25 {
		t.Fatalf("b = %v", b)
	}
	// The operation owns its input: changing it does not reach the step's recorded output.
	b["whole"].(map[string]any)["n"] = 0
	res, _ := e.Get(context.Background(), "r")
	if res.Step("a").Output["nested"].(map[string]any)["n"] != int64(7) {
		t.Fatal("an operation's input shared memory with the run's state")
	}

	// Missing fields are errors; references into skipped steps are null.
	def2 := &workflow.Definition{Name: "m", Steps: []workflow.Step{
		{ID: "skip", Operation: "test.capture", If: "false"},
		{ID: "use", Operation: "test.capture", Input: map[string]any{"v": "{{steps.skip.evil}}", "w": "[{{steps.skip.evil}}]"}},
		{ID: "miss", Operation: "test.capture", Input: map[string]any{"v": "{{steps.use.nested.nope}}"}},
	}}
	e2 := newEngine(t, workflow.NewMemoryStore(), reg, []*workflow.Definition{def2})
	got = nil
	res, err := e2.Run(context.Background(), "m", "r", nil)
	if !errors.Is(err, workflow.ErrRunFailed) || !strings.Contains(res.Error, `no field "nope"`) {
		t.Fatalf("missing field: %v %+v", err, res)
	}
	if got[0]["v"] != nil || got[0]["w"] != "[]" {
		t.Fatalf("reference into a skipped step = %#v", got[0])
	}
}

package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/workflow"
)

// FuzzParse feeds arbitrary text to the definition parser and validator: they must never panic,
// must report a *ValidationError for what they refuse, and what they accept must survive a JSON
// round trip.
func FuzzParse(f *testing.F) {
	f.Add(workflow.VerifiedPaymentJSON())
	f.Add([]byte(verifiedPaymentYAML))
	f.Add([]byte(manyProblems))
	f.Add([]byte(`{"name":"x","steps":[{"id":"a","operation":"test.echo","input":{"v":"{{input.v}}"},"if":"input.v > 1"}]}`))
	f.Add([]byte("name: a\nsteps:\n  - {id: a, operation: test.echo, after: [a], retry: {max_attempts: 0}}\n"))
	f.Add([]byte(`{"name":"x","steps":[{"id":"a","operation":"test.echo","timeout":"-1s"}],"output":{"o":"{{steps.a[0]}}"}}`))
	f.Add([]byte("x: &a [1]\ny: *a\n"))
	reg := testOps(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := workflow.Parse(data)
		if err != nil {
			var ve *workflow.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("Parse error %v is not a *ValidationError with problems", err)
			}
			return
		}
		verr := workflow.Validate(def, reg)
		if verr != nil {
			var ve *workflow.ValidationError
			if !errors.As(verr, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("Validate error %v is not a *ValidationError with problems", verr)
			}
		}
		enc, err := json.Marshal(def)
		if err != nil {
			t.Fatalf("a parsed definition does not marshal: %v", err)
		}
		back, err := workflow.Parse(enc)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", enc, err)
		}
		enc2, _ := json.Marshal(back)
		if string(enc) != string(enc2) {
			t.Fatalf("round trip changed the definition:\n%s\n%s", enc, enc2)
		}
		if (workflow.Validate(back, reg) == nil) != (verr == nil) {
			t.Fatal("validation differs after a round trip")
		}
	})
}

// FuzzTemplateInjection runs a step whose input is templated from a fuzzed value: whatever the
// value holds ("{{input.secret}}", unbalanced braces, ...), it arrives as data, unevaluated.
func FuzzTemplateInjection(f *testing.F) {
	for _, s := range []string{"{{input.secret}}", "{{", "}}", "{{steps.a.x}}", "a{{input.v}}b", "{{ input.secret }}", "\x00{{"} {
		f.Add(s)
	}
	var got map[string]any
	reg, _ := workflow.NewRegistry(workflow.Operation{Name: "test.capture", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		got = c.Input
		return map[string]any{"echo": c.Input["whole"]}, nil
	}})
	def := &workflow.Definition{Name: "inj", Steps: []workflow.Step{
		{ID: "a", Operation: "test.capture", Input: map[string]any{"whole": "{{input.v}}", "mixed": "<{{input.v}}>", "list": []any{"{{input.v}}"}}},
		{ID: "b", Operation: "test.capture", Input: map[string]any{"whole": "{{steps.a.echo}}", "mixed": "<{{steps.a.echo}}>", "list": []any{}}},
	}}
	e := newEngine(f, workflow.NewMemoryStore(), reg, []*workflow.Definition{def})
	n := 0
	f.Fuzz(func(t *testing.T, v string) {
		n++
		id := "r" + string(rune('a'+n%26)) + json.Number(itoa(n)).String()
		_, err := e.Run(context.Background(), "inj", id, map[string]any{"v": v, "secret": "s3cr3t"})
		if err != nil {
			t.Fatal(err)
		}
		if got["whole"] != v || got["mixed"] != "<"+v+">" {
			t.Fatalf("value %q came out as %q / %q", v, got["whole"], got["mixed"])
		}
	})
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

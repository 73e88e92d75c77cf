package main

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/workflow"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The JSON definition and its Go twin are the same, and the comparison is not blind.
func TestTwins(t *testing.T) {
	fromJSON, err := workflow.Parse(cautiousPaymentJSON)
	if err != nil {
		t.Fatal(err)
	}
	if eq, err := same(fromJSON, cautiousPayment()); err != nil || !eq {
		t.Fatalf("the twins differ: %v", err)
	}
	changed := cautiousPayment()
	changed.Steps[2].If = strings.Replace(changed.Steps[2].If, "0.3", "0.4", 1)
	if eq, _ := same(fromJSON, changed); eq {
		t.Fatal("a changed condition compared equal")
	}
	if err := workflow.Validate(fromJSON, registry(t)); err != nil {
		t.Fatalf("the JSON definition does not validate against the verified payment's operations: %v", err)
	}
}

func registry(t *testing.T) *workflow.Registry {
	ops := workflow.VerifiedPaymentOperations()
	for i := range ops {
		ops[i].Func = func(context.Context, *workflow.Call) (map[string]any, error) { return nil, nil }
	}
	r, err := workflow.NewRegistry(ops...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The program runs both payments on a Manager: the first sends, the second is over its cap.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"are the same definition (4 steps)",
		`c-1: completed, amount 20000, cap 50000, sent true, note "payment c-1 of 20000 sat", legs 2`,
		`c-2: completed, amount 80000, cap 50000, sent false`,
		"  send_payment     skipped",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

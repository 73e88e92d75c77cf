package workflowtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/workflowtest"
)

// A backend proves itself against the Store contract with one line in its tests
// (func TestConformance(t *testing.T) { ... }).
func ExampleRun() {
	conformance := func(t *testing.T) {
		workflowtest.Run(t, workflowtest.Backend{Open: func(testing.TB, string) workflow.Store { return workflow.NewMemoryStore() }})
	}
	_ = conformance
}

// Recording the calls of an operation that fails once: both attempts carry the same key.
func ExampleRecorder() {
	var rec workflowtest.Recorder
	failures := 1
	send := rec.Wrap(func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		if failures > 0 {
			failures--
			return nil, errors.New("node unreachable")
		}
		return map[string]any{"txid": "ab12"}, nil
	})
	reg, _ := workflow.NewRegistry(workflow.Operation{Name: "bitcoin.send", Func: send})
	e, _ := workflow.New(workflow.NewMemoryStore(), reg)
	_ = e.Register(&workflow.Definition{Name: "pay", Steps: []workflow.Step{
		{ID: "send", Operation: "bitcoin.send", Retry: &workflow.Retry{MaxAttempts: 2, Backoff: workflow.Duration(1)}},
	}})
	_, _ = e.Run(context.Background(), "pay", "p-7", nil)
	for _, c := range rec.Calls() {
		fmt.Println(c.Operation, c.IdempotencyKey, c.Attempt, c.Err)
	}
	fmt.Println(rec.Count("bitcoin.send"), rec.Keys("bitcoin.send"))
	// Output:
	// bitcoin.send p-7/send 1 node unreachable
	// bitcoin.send p-7/send 2 <nil>
	// 2 [p-7/send]
}

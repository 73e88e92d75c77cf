package workflowtest_test

import (
	"context"
	"sync"
	"testing"

	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/workflowtest"
)

func TestRecorderConcurrent(t *testing.T) {
	var rec workflowtest.Recorder
	f := rec.Wrap(func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		c.Input["changed"] = true // the recorded input is what the operation received
		return nil, nil
	})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, _ = f(context.Background(), &workflow.Call{Operation: "op", IdempotencyKey: string(rune('a' + i%5)), Input: map[string]any{"i": i}})
		})
	}
	wg.Wait()
	if rec.Count("op") != 50 || len(rec.Keys("op")) != 5 || rec.Count("other") != 0 {
		t.Fatalf("count %d keys %v", rec.Count("op"), rec.Keys("op"))
	}
	for _, c := range rec.Calls() {
		if _, ok := c.Input["changed"]; ok {
			t.Fatal("recorded input was changed by the operation")
		}
	}
}

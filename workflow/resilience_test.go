package workflow_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/workflow"
)

// The resilience package carries out the steps' policies: retries with the declared backoff,
// per-attempt timeouts, Permanent errors not retried, and shared per-protocol policies.
func TestResiliencePolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var flaky atomic.Int32
		var starts []time.Time
		reg, _ := workflow.NewRegistry(
			workflow.Operation{Name: "web5.flaky", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				starts = append(starts, time.Now())
				if flaky.Add(1) < 3 {
					return nil, errors.New("transient")
				}
				return map[string]any{}, nil
			}},
			workflow.Operation{Name: "ml.hang", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}},
			workflow.Operation{Name: "ml.refuse", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				return nil, workflow.Permanent(errors.New("bad request"))
			}},
			workflow.Operation{Name: "bitcoin.send", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				return map[string]any{}, nil
			}},
		)
		breaker, err := resilience.NewCircuitBreaker()
		if err != nil {
			t.Fatal(err)
		}
		breaker.ForceOpen() // the Bitcoin node is known to be down
		var asked []string
		extra := func(p workflow.Policy) []resilience.Policy {
			asked = append(asked, p.Step+":"+p.Protocol+":"+p.Operation)
			if p.Protocol == "bitcoin" {
				return []resilience.Policy{breaker}
			}
			return nil
		}
		e := newEngine(t, workflow.NewMemoryStore(), reg, nil,
			workflow.WithPolicy(workflow.ResiliencePolicy(extra, resilience.WithoutJitter())))
		for _, def := range []*workflow.Definition{
			{Name: "flaky", Steps: []workflow.Step{{ID: "f", Operation: "web5.flaky",
				Retry: &workflow.Retry{MaxAttempts: 5, Backoff: workflow.Duration(time.Second), Multiplier: 3}}}},
			{Name: "hang", Steps: []workflow.Step{{ID: "h", Operation: "ml.hang", Timeout: workflow.Duration(2 * time.Second),
				Retry: &workflow.Retry{MaxAttempts: 2, Backoff: workflow.Duration(time.Second)}}}},
			{Name: "refuse", Steps: []workflow.Step{{ID: "r", Operation: "ml.refuse"}}},
			{Name: "send", Steps: []workflow.Step{{ID: "s", Operation: "bitcoin.send", Retry: &workflow.Retry{MaxAttempts: 1}}}},
		} {
			if err := e.Register(def); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()

		res, err := e.Run(ctx, "flaky", "1", nil)
		if err != nil || res.Step("f").Attempt != 3 {
			t.Fatalf("flaky: %v %+v", err, res)
		}
		if d1, d2 := starts[1].Sub(starts[0]), starts[2].Sub(starts[1]); d1 != time.Second || d2 != 3*time.Second {
			t.Fatalf("backoff %v %v, want 1s 3s", d1, d2)
		}

		t0 := time.Now()
		res, _ = e.Run(ctx, "hang", "2", nil)
		if h := res.Step("h"); h.Status != workflow.StepFailed || h.Attempt != 2 || !strings.Contains(h.Error, "timeout exceeded after 2s") {
			t.Fatalf("hang: %+v", h)
		}
		if d := time.Since(t0); d != 5*time.Second { // 2s + 1s backoff + 2s
			t.Fatalf("hang took %v", d)
		}

		res, _ = e.Run(ctx, "refuse", "3", nil)
		if r := res.Step("r"); r.Attempt != 1 || !strings.Contains(r.Error, "bad request") {
			t.Fatalf("a Permanent error was retried: %+v", r)
		}

		res, _ = e.Run(ctx, "send", "4", nil)
		if s := res.Step("s"); s.Status != workflow.StepFailed || !strings.Contains(res.Error, "circuit breaker is open") {
			t.Fatalf("send through an open breaker: %+v %s", s, res.Error)
		}
		if strings.Join(asked, " ") != "f:web5:web5.flaky h:ml:ml.hang r:ml:ml.refuse s:bitcoin:bitcoin.send" {
			t.Fatalf("extra asked for %v", asked)
		}
	})
}

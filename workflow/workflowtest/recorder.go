package workflowtest

import (
	"context"
	"sync"

	"github.com/anya-org/anya-go/workflow"
)

// Call is one recorded operation call.
type Call struct {
	Operation      string
	RunID          string
	StepID         string
	IdempotencyKey string
	Attempt        int
	Compensating   bool
	Input          map[string]any // as the operation received it
	Err            error          // what it returned
}

// Recorder records every call of the operations it wraps, so tests can check how often a step
// ran, with which idempotency keys and attempts — the evidence for exactly-once behaviour. The
// zero value is ready to use; it is safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	calls []Call
}

// Wrap returns f recording each of its calls.
func (r *Recorder) Wrap(f workflow.OperationFunc) workflow.OperationFunc {
	return func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		in := make(map[string]any, len(c.Input))
		for k, v := range c.Input {
			in[k] = v
		}
		out, err := f(ctx, c)
		r.mu.Lock()
		r.calls = append(r.calls, Call{Operation: c.Operation, RunID: c.RunID, StepID: c.StepID, IdempotencyKey: c.IdempotencyKey,
			Attempt: c.Attempt, Compensating: c.Compensating, Input: in, Err: err})
		r.mu.Unlock()
		return out, err
	}
}

// Calls returns the recorded calls in the order they returned.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Count returns how many calls of operation were recorded.
func (r *Recorder) Count(operation string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c.Operation == operation {
			n++
		}
	}
	return n
}

// Keys returns the distinct idempotency keys operation was called with, in first-seen order.
func (r *Recorder) Keys(operation string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, c := range r.calls {
		if c.Operation == operation && !seen[c.IdempotencyKey] {
			seen[c.IdempotencyKey] = true
			out = append(out, c.IdempotencyKey)
		}
	}
	return out
}

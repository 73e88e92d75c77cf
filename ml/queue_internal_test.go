package ml

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sync/semaphore"
)

// TestQueueDropsEndedRequests: a worker never batches a request whose context has ended; it
// hands the request back to its caller (dropped) instead.
func TestQueueDropsEndedRequests(t *testing.T) {
	var q queue
	q.init(1)
	ctx, cancel := context.WithCancel(context.Background())
	live := &request{rows: 1, done: make(chan struct{}, 1)}
	ended := &request{rows: 1, done: make(chan struct{}, 1), ctxDone: ctx.Done()}
	big := &request{rows: 3, done: make(chan struct{}, 1)}
	for _, r := range []*request{ended, live, big} {
		if !q.push(r) {
			t.Fatal("push refused")
		}
	}
	cancel()
	q.mu.Lock()
	batch, rows := q.takeLocked(nil, 0, 2)
	q.mu.Unlock()
	if len(batch) != 1 || batch[0] != live || rows != 1 {
		t.Fatalf("batch %v (%d rows), want only the live request", batch, rows)
	}
	if got := ended.state.Load(); got != stDropped {
		t.Fatalf("ended request state %d, want dropped", got)
	}
	if q.head != big || big.state.Load() != stQueued {
		t.Fatal("the request that does not fit must stay queued")
	}
	q.mu.Lock()
	batch, rows = q.takeLocked(batch[:0], 0, 2) // the first request always fits
	q.mu.Unlock()
	if len(batch) != 1 || batch[0] != big || rows != 3 {
		t.Fatalf("oversized head request not taken alone: %v", batch)
	}
	q.close()
	if q.push(live) {
		t.Fatal("push after close accepted")
	}
}

// TestRunRefusesAnotherSchema: a request validated against another schema than the deployment's
// is refused with a SchemaError and not sent to the backend.
func TestRunRefusesAnotherSchema(t *testing.T) {
	e := &Engine{sem: semaphore.NewWeighted(10)}
	d := &deployment{name: "m", version: "2", schemaID: "new@1", width: 1}
	s := &session{busy: make(chan struct{}, 1), s: failingSession{t}}
	r := &request{rows: 1, x: []float32{1}, scores: make([]float32, 1), schemaID: "old@1", done: make(chan struct{}, 1)}
	r.state.Store(stTaken)
	e.sem.Acquire(context.Background(), 1)
	e.run(d, s, []*request{r}, nil, make([]float32, 1))
	<-r.done
	var se *SchemaError
	if !errors.As(r.err, &se) || se.Want != "new@1" || se.Got != "old@1" {
		t.Fatalf("request error %v, want a SchemaError", r.err)
	}
}

type failingSession struct{ t *testing.T }

func (f failingSession) Run([]float32, int, []float32) error {
	f.t.Error("a request of another schema reached the backend")
	return nil
}

func (failingSession) Close() error { return nil }

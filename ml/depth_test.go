package ml_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

// TestQueueDepth: with the one worker busy, the calls after it wait in the queue and are counted
// there, and in flight; once they ran, both gauges are back to zero.
func TestQueueDepth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := mltest.Linear([]float32{1}, 0)
		gate := make(chan struct{})
		e, err := ml.NewEngine(tm.Model, ml.WithBackend(&gated{Backend: ml.NewGoBackend(), gate: gate}), ml.WithWorkers(1),
			ml.WithMaxBatch(1))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if e.QueueDepth() != 0 || e.InFlight() != 0 {
			t.Fatalf("idle engine: depth %d, in flight %d", e.QueueDepth(), e.InFlight())
		}
		v := mltest.Vectors(1, tm.Model, 1)[0]
		done := make(chan error, 3)
		for range 3 {
			go func() { _, err := e.Score(context.Background(), v); done <- err }()
			synctest.Wait()
		}
		// One runs (held at the gate), two wait.
		if e.QueueDepth() != 2 || e.InFlight() != 3 {
			t.Fatalf("busy engine: depth %d, in flight %d; want 2 and 3", e.QueueDepth(), e.InFlight())
		}
		close(gate)
		for range 3 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if e.QueueDepth() != 0 || e.InFlight() != 0 {
			t.Fatalf("drained engine: depth %d, in flight %d", e.QueueDepth(), e.InFlight())
		}
	})
	var zero ml.Engine
	if zero.QueueDepth() != 0 || zero.InFlight() != 0 {
		t.Fatal("the zero Engine reports work")
	}
}

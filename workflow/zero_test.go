package workflow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/workflowtest"
)

// The zero MemoryStore is an empty store: it passes the conformance suite as NewMemoryStore's
// does.
func TestZeroMemoryStoreConformance(t *testing.T) {
	workflowtest.Run(t, workflowtest.Backend{Open: func(testing.TB, string) workflow.Store { return &workflow.MemoryStore{} }, Synctest: true})
}

// A zero Engine, a zero SQLiteStore and a Call the engine did not make never panic: what can
// fail returns a *NotConstructedError naming the constructor. A zero Registry and Result work.
func TestZeroValues(t *testing.T) {
	ctx := context.Background()
	notConstructed := func(t *testing.T, err error, typ, constructor string) {
		t.Helper()
		var nc *workflow.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, workflow.ErrNotConstructed) || nc.Type != typ || nc.Constructor != constructor {
			t.Fatalf("err = %v, want a *NotConstructedError naming workflow.%s", err, constructor)
		}
	}

	for name, e := range map[string]*workflow.Engine{"zero": new(workflow.Engine), "nil": nil} {
		t.Run("Engine/"+name, func(t *testing.T) {
			notConstructed(t, e.Register(workflow.VerifiedPayment()), "Engine", "New")
			res, err := e.Run(ctx, workflow.VerifiedPaymentName, "run-1", nil)
			if res != nil {
				t.Fatalf("Run returned %+v", res)
			}
			notConstructed(t, err, "Engine", "New")
			results, err := e.Resume(ctx)
			if results != nil {
				t.Fatalf("Resume returned %v", results)
			}
			notConstructed(t, err, "Engine", "New")
			_, err = e.Get(ctx, "run-1")
			notConstructed(t, err, "Engine", "New")
		})
	}

	t.Run("SQLiteStore", func(t *testing.T) {
		var s workflow.SQLiteStore
		nc := func(err error) { t.Helper(); notConstructed(t, err, "SQLiteStore", "OpenSQLiteStore") }
		run := &workflow.RunRecord{ID: "r", Workflow: "w", DefinitionHash: "h", Status: workflow.StatusRunning, Version: 1}
		nc(s.Create(ctx, run, []byte("{}")))
		nc(s.Commit(ctx, &workflow.Transition{RunID: "r", Version: 1, Status: workflow.StatusCompleted}))
		_, err := s.Load(ctx, "r")
		nc(err)
		_, err = s.Unfinished(ctx)
		nc(err)
		_, err = s.Definition(ctx, "h")
		nc(err)
		nc(s.PutIntent(ctx, "k", []byte("x")))
		nc(s.CreateIntent(ctx, "k", []byte("x")))
		_, err = s.Intent(ctx, "k")
		nc(err)
		l, err := s.Acquire(ctx, "r", "me", time.Second)
		nc(err)
		_, err = s.Renew(ctx, l, time.Second)
		nc(err)
		nc(s.Release(ctx, l))
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})

	t.Run("Call", func(t *testing.T) {
		c := &workflow.Call{IdempotencyKey: "run/step", Input: map[string]any{"amount": 5}}
		_, ok, err := c.Intent(ctx)
		if ok {
			t.Fatal("a call without a store found an intent")
		}
		notConstructed(t, err, "Call", "Engine.Run")
		notConstructed(t, c.RecordIntent(ctx, []byte("x")), "Call", "Engine.Run")
		var v map[string]any
		_, err = c.LoadIntent(ctx, &v)
		notConstructed(t, err, "Call", "Engine.Run")
		notConstructed(t, c.SaveIntent(ctx, v), "Call", "Engine.Run")
		var in struct{ Amount int }
		if err := c.Decode(&in); err != nil || in.Amount != 5 {
			t.Fatalf("Decode = %+v, %v", in, err)
		}
		var zero workflow.Call
		if err := zero.Decode(&in); err != nil {
			t.Fatalf("Decode of a zero call: %v", err)
		}
	})

	t.Run("Registry", func(t *testing.T) {
		var r workflow.Registry
		if _, ok := r.Lookup("x"); ok || len(r.Names()) != 0 {
			t.Fatal("zero registry is not empty")
		}
		if err := r.Register(workflow.Operation{Name: "web5.x", Func: func(context.Context, *workflow.Call) (map[string]any, error) { return nil, nil }}); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Lookup("web5.x"); !ok {
			t.Fatal("registered operation not found")
		}
		var res workflow.Result
		if res.Step("x") != nil {
			t.Fatal("zero result has a step")
		}
	})
}

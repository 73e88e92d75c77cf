package natsstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/natsstore"
	"github.com/anya-org/anya-go/workflow/workflowtest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func host(t *testing.T, srv *natstest.Server, owner string, op workflow.OperationFunc) (*workflow.Engine, func()) {
	t.Helper()
	nc := srv.Connect(t)
	js := mustJS(t, nc)
	s, err := natsstore.New(ctxT(t), js, natsstore.WithBucket("shared"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	reg, err := workflow.NewRegistry(workflow.Operation{Name: "bitcoin.send", Func: op})
	if err != nil {
		t.Fatal(err)
	}
	e, err := workflow.New(s, reg, workflow.WithOwner(owner), workflow.WithLeaseTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(&workflow.Definition{Name: "pay", Steps: []workflow.Step{
		{ID: "send", Operation: "bitcoin.send", Retry: &workflow.Retry{MaxAttempts: 5, Backoff: workflow.Duration(time.Millisecond)}},
	}}); err != nil {
		t.Fatal(err)
	}
	return e, nc.Close
}

// Two hosts share runs through one JetStream server. Host A starts a payment and is cut off
// from NATS mid-step: its lease lapses, it stops, and host B takes the run over and completes
// it, under the same idempotency key; the intent A recorded is the one B finds.
func TestHostCutOffLosesItsRunToAnother(t *testing.T) {
	srv := natstest.Start(t)
	var rec workflowtest.Recorder
	entered := make(chan struct{})
	hostA, cut := host(t, srv, "host-a", rec.Wrap(func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		if err := c.RecordIntent(ctx, []byte("signed-tx-A")); err != nil {
			return nil, err
		}
		close(entered)
		<-ctx.Done() // broadcasting, when the network goes
		return nil, ctx.Err()
	}))
	var found []byte
	hostB, _ := host(t, srv, "host-b", rec.Wrap(func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		data, ok, err := c.Intent(ctx)
		if err != nil || !ok {
			return nil, errors.New("no intent")
		}
		found = data
		if err := c.RecordIntent(ctx, []byte("signed-tx-B")); !errors.Is(err, workflow.ErrIntentExists) {
			return nil, errors.New("a second intent was accepted")
		}
		return map[string]any{"txid": "a1"}, nil
	}))

	var aErr error
	var wg sync.WaitGroup
	wg.Go(func() { _, aErr = hostA.Run(ctxT(t), "pay", "pay-1", nil) })
	<-entered
	if res, err := hostB.Resume(ctxT(t)); err != nil || len(res) != 0 {
		t.Fatalf("host-b resumed %+v (%v) while host-a held the run", res, err)
	}
	cut()
	wg.Wait()
	if !errors.Is(aErr, workflow.ErrLeaseLost) {
		t.Fatalf("host-a's run ended with %v, want ErrLeaseLost", aErr)
	}
	var res []*workflow.Result
	deadline := time.Now().Add(15 * time.Second)
	for len(res) == 0 {
		var err error
		if res, err = hostB.Resume(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("host-b never took the run over")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res[0].Status != workflow.StatusCompleted || string(found) != "signed-tx-A" {
		t.Fatalf("host-b: %+v, found intent %q", res[0], found)
	}
	calls := rec.Calls()
	if len(calls) != 2 || calls[0].IdempotencyKey != calls[1].IdempotencyKey || calls[1].Attempt != 2 {
		t.Fatalf("calls %+v", calls)
	}
}

// A server restart (same store directory) loses nothing committed.
func TestServerRestartKeepsRuns(t *testing.T) {
	srv := natstest.Start(t)
	js := mustJS(t, srv.Connect(t))
	s, err := natsstore.New(ctxT(t), js)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	run := &workflow.RunRecord{ID: "r1", Workflow: "pay", DefinitionHash: "h", Status: workflow.StatusRunning, Version: 1, Created: at, Updated: at,
		Input: []byte(`{"a":1}`)}
	if err := s.Create(ctxT(t), run, []byte(`{"name":"pay"}`)); err != nil {
		t.Fatal(err)
	}
	l, err := s.Acquire(ctxT(t), "r1", "host-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctxT(t), &workflow.Transition{RunID: "r1", Lease: l.Token, Version: 1, Status: workflow.StatusRunning, Time: at,
		Steps: []workflow.StepRecord{{ID: "send", Status: workflow.StepCompleted, Attempt: 1, Output: []byte(`{"txid":"t"}`)}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIntent(ctxT(t), "r1/send", []byte("tx")); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	got, err := s.Load(ctxT(t), "r1")
	if err != nil || got.Version != 2 || len(got.Steps) != 1 || string(got.Steps[0].Output) != `{"txid":"t"}` {
		t.Fatalf("after the restart: %+v, %v", got, err)
	}
	if d, err := s.Intent(ctxT(t), "r1/send"); err != nil || string(d) != "tx" {
		t.Fatalf("intent after the restart: %q, %v", d, err)
	}
	if ids, err := s.Unfinished(ctxT(t)); err != nil || len(ids) != 1 {
		t.Fatalf("unfinished after the restart: %v, %v", ids, err)
	}
	// The lease survived too: another host cannot take the run.
	if _, err := s.Acquire(ctxT(t), "r1", "host-b", time.Minute); !errors.Is(err, workflow.ErrLeaseHeld) {
		t.Fatalf("Acquire by another host after the restart: %v", err)
	}
}

func TestOptionsRejected(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	for name, o := range map[string]natsstore.Option{
		"WithBucket":    natsstore.WithBucket("a.b"),
		"WithReplicas":  natsstore.WithReplicas(0),
		"WithInlineMax": natsstore.WithInlineMax(0),
	} {
		var oe *natsstore.OptionError
		if _, err := natsstore.New(ctxT(t), js, o); !errors.Is(err, natsstore.ErrInvalidOption) || !errors.As(err, &oe) || oe.Option != name {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := natsstore.New(ctxT(t), nil); !errors.Is(err, natsstore.ErrInvalidOption) {
		t.Errorf("nil JetStream: %v", err)
	}
}

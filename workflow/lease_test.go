package workflow_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/workflowtest"
)

// partitioned is a store whose lease renewals fail once cut is set: the host using it can no
// longer reach the store to renew (its process is stuck, or cut off the network).
type partitioned struct {
	workflow.Store
	cut atomic.Bool
}

func (s *partitioned) Renew(ctx context.Context, l workflow.Lease, ttl time.Duration) (workflow.Lease, error) {
	if s.cut.Load() {
		return workflow.Lease{}, errors.New("network unreachable")
	}
	return s.Store.Renew(ctx, l, ttl)
}

const leaseTTL = 3 * time.Second

func oneStep(t *testing.T, store workflow.Store, owner string, op workflow.OperationFunc) *workflow.Engine {
	t.Helper()
	reg, err := workflow.NewRegistry(workflow.Operation{Name: "bitcoin.send", Func: op})
	if err != nil {
		t.Fatal(err)
	}
	e, err := workflow.New(store, reg, workflow.WithOwner(owner), workflow.WithLeaseTTL(leaseTTL))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(&workflow.Definition{Name: "pay", Steps: []workflow.Step{
		{ID: "send", Operation: "bitcoin.send", Retry: &workflow.Retry{MaxAttempts: 3, Backoff: workflow.Duration(time.Millisecond)}},
	}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// Two hosts share a store. The first starts a run and stops renewing its lease (cut off);
// while the lease lasts the second leaves the run alone; once it lapses, the first stops the
// run and the second resumes it to the end, with the same idempotency key.
func TestLeaseTakeoverAfterHostStopsRenewing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := workflow.NewMemoryStore()
		cutOff := &partitioned{Store: shared}
		var rec workflowtest.Recorder
		entered := make(chan struct{}, 1)
		hostA := oneStep(t, cutOff, "host-a", rec.Wrap(func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
			entered <- struct{}{}
			<-ctx.Done() // a long broadcast, interrupted when the lease is lost
			return nil, ctx.Err()
		}))
		hostB := oneStep(t, shared, "host-b", rec.Wrap(func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
			return map[string]any{"txid": "ab12"}, nil
		}))
		ctx := context.Background()
		var aErr error
		var wg sync.WaitGroup
		wg.Go(func() { _, aErr = hostA.Run(ctx, "pay", "p-1", nil) })
		<-entered
		cutOff.cut.Store(true)

		res, err := hostB.Resume(ctx)
		if err != nil || len(res) != 0 {
			t.Fatalf("host-b resumed %d runs (%v) while host-a held the lease", len(res), err)
		}
		if _, err := hostB.Run(ctx, "pay", "p-1", nil); !errors.Is(err, workflow.ErrRunInProgress) || !errors.Is(err, workflow.ErrLeaseHeld) {
			t.Fatalf("host-b Run while leased = %v, want ErrRunInProgress", err)
		}

		time.Sleep(leaseTTL) // host-a cannot renew: its lease lapses
		wg.Wait()
		var le *workflow.LeaseError
		if !errors.Is(aErr, workflow.ErrLeaseLost) || !errors.As(aErr, &le) || le.Owner != "host-a" {
			t.Fatalf("host-a's run ended with %v, want its lost lease", aErr)
		}
		res, err = hostB.Resume(ctx)
		if err != nil || len(res) != 1 || res[0].Status != workflow.StatusCompleted {
			t.Fatalf("host-b's resume: %v, %+v", err, res)
		}
		calls := rec.Calls()
		if len(calls) != 2 || calls[1].Attempt != 2 || calls[0].IdempotencyKey != calls[1].IdempotencyKey {
			t.Fatalf("calls = %+v; want host-a's interrupted attempt 1 and host-b's attempt 2 under one key", calls)
		}
	})
}

// A host paused in the middle of a step (its operation ignores cancellation) wakes up after
// another host finished the run: its commit is fenced off and the run stays as the other left it.
func TestStaleHostCannotOverwrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := workflow.NewMemoryStore()
		cutOff := &partitioned{Store: shared}
		entered, wake := make(chan struct{}), make(chan struct{})
		hostA := oneStep(t, cutOff, "host-a", func(context.Context, *workflow.Call) (map[string]any, error) {
			close(entered)
			<-wake // paused, deaf to its context
			return map[string]any{"txid": "stale"}, nil
		})
		hostB := oneStep(t, shared, "host-b", func(context.Context, *workflow.Call) (map[string]any, error) {
			return map[string]any{"txid": "fresh"}, nil
		})
		ctx := context.Background()
		var aErr error
		var wg sync.WaitGroup
		wg.Go(func() { _, aErr = hostA.Run(ctx, "pay", "p-2", nil) })
		<-entered
		cutOff.cut.Store(true)
		time.Sleep(leaseTTL + time.Second)
		res, err := hostB.Resume(ctx)
		if err != nil || len(res) != 1 || res[0].Status != workflow.StatusCompleted {
			t.Fatalf("host-b's takeover: %v, %+v", err, res)
		}
		close(wake)
		wg.Wait()
		if !errors.Is(aErr, workflow.ErrLeaseLost) {
			t.Fatalf("host-a's stale run ended with %v, want ErrLeaseLost", aErr)
		}
		got, err := hostB.Get(ctx, "p-2")
		if err != nil || got.Status != workflow.StatusCompleted || got.Step("send").Output["txid"] != "fresh" {
			t.Fatalf("after host-a woke up: %+v, %v", got, err)
		}
	})
}

// A host restarted under the same owner name takes its own runs back at once, without waiting
// for its old leases to lapse.
func TestRestartedOwnerReclaimsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := workflow.NewMemoryStore()
		ctx, cancel := context.WithCancel(context.Background())
		entered := make(chan struct{})
		first := oneStep(t, shared, "host-a", func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
			close(entered)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		done := make(chan error)
		go func() { _, err := first.Run(ctx, "pay", "p-3", nil); done <- err }()
		<-entered
		// The lease is left held: the first engine is gone without releasing it.
		if _, err := shared.Acquire(context.Background(), "p-3", "host-a", time.Hour); err != nil {
			t.Fatal(err)
		}
		cancel()
		<-done
		if _, err := shared.Acquire(context.Background(), "p-3", "host-a", time.Hour); err != nil {
			t.Fatal(err)
		}
		again := oneStep(t, shared, "host-a", func(context.Context, *workflow.Call) (map[string]any, error) {
			return map[string]any{"txid": "ab"}, nil
		})
		res, err := again.Resume(context.Background())
		if err != nil || len(res) != 1 || res[0].Status != workflow.StatusCompleted {
			t.Fatalf("the restarted owner's resume: %v, %+v", err, res)
		}
	})
}

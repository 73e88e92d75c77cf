package workflow_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/anya-org/anya-go/workflow"
)

// CreateLeased stores a new run with its lease taken in one step: another owner cannot take the
// lease, the holder's commits go through, and a refused create stores nothing.
func TestSQLiteCreateLeased(t *testing.T) {
	ctx := t.Context()
	s, err := workflow.OpenSQLiteStore(ctx, filepath.Join(t.TempDir(), "wf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	var _ workflow.CreateLeaser = s
	now := time.Now()
	run := func(id string) *workflow.RunRecord {
		return &workflow.RunRecord{ID: id, Workflow: "pay", DefinitionHash: "h", Status: workflow.StatusRunning,
			Input: []byte(`{}`), Version: 1, Created: now, Updated: now}
	}
	l, err := s.CreateLeased(ctx, run("r-1"), []byte(`{"name":"pay"}`), "host-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if l.RunID != "r-1" || l.Owner != "host-a" || l.Token < 1 || !l.Expires.After(now) {
		t.Fatalf("lease %+v", l)
	}
	if rec, err := s.Load(ctx, "r-1"); err != nil || rec.Status != workflow.StatusRunning {
		t.Fatalf("Load: %+v, %v", rec, err)
	}
	if ids, err := s.Unfinished(ctx); err != nil || len(ids) != 1 || ids[0] != "r-1" {
		t.Fatalf("Unfinished: %v, %v", ids, err)
	}

	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"another owner acquires the held lease", func() error {
			_, err := s.Acquire(ctx, "r-1", "host-b", time.Minute)
			return err
		}, workflow.ErrLeaseHeld},
		{"another owner's commit without the lease", func() error {
			return s.Commit(ctx, &workflow.Transition{RunID: "r-1", Version: 1, Status: workflow.StatusRunning, Time: now})
		}, workflow.ErrLeaseLost},
		{"a second create of the run", func() error {
			_, err := s.CreateLeased(ctx, run("r-1"), nil, "host-b", time.Minute)
			return err
		}, workflow.ErrRunExists},
		{"no owner", func() error {
			_, err := s.CreateLeased(ctx, run("r-2"), nil, "", time.Minute)
			return err
		}, workflow.ErrInvalidLease},
		{"no ttl", func() error {
			_, err := s.CreateLeased(ctx, run("r-2"), nil, "host-a", 0)
			return err
		}, workflow.ErrInvalidLease},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.do(); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := s.Load(ctx, "r-2"); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("a refused create stored r-2: %v", err)
	}
	// The holder commits under its lease; acquiring again keeps the token.
	if err := s.Commit(ctx, &workflow.Transition{RunID: "r-1", Version: 1, Status: workflow.StatusCompleted, Time: now, Lease: l.Token}); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Load(ctx, "r-1"); err != nil || rec.Status != workflow.StatusCompleted || rec.Version != 2 {
		t.Fatalf("after the holder's commit: %+v, %v", rec, err)
	}
}

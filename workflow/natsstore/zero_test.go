package natsstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/natsstore"
)

// Every method of a zero Store that can fail returns a *NotConstructedError naming New, and
// Close returns nil: nothing panics.
func TestZeroStore(t *testing.T) {
	ctx := context.Background()
	var s natsstore.Store
	nc := func(what string, err error) {
		t.Helper()
		var e *natsstore.NotConstructedError
		if !errors.As(err, &e) || !errors.Is(err, natsstore.ErrNotConstructed) || e.Constructor != "New" {
			t.Errorf("%s: err = %v, want a *NotConstructedError naming New", what, err)
		}
	}
	run := &workflow.RunRecord{ID: "r", Workflow: "w", DefinitionHash: "h", Status: workflow.StatusRunning, Version: 1}
	nc("Create", s.Create(ctx, run, []byte("{}")))
	nc("Commit", s.Commit(ctx, &workflow.Transition{RunID: "r", Version: 1, Status: workflow.StatusCompleted}))
	_, err := s.Load(ctx, "r")
	nc("Load", err)
	_, err = s.Unfinished(ctx)
	nc("Unfinished", err)
	_, err = s.Definition(ctx, "h")
	nc("Definition", err)
	nc("PutIntent", s.PutIntent(ctx, "k", []byte("x")))
	nc("CreateIntent", s.CreateIntent(ctx, "k", []byte("x")))
	_, err = s.Intent(ctx, "k")
	nc("Intent", err)
	l, err := s.Acquire(ctx, "r", "me", time.Second)
	nc("Acquire", err)
	_, err = s.Renew(ctx, l, time.Second)
	nc("Renew", err)
	nc("Release", s.Release(ctx, l))
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

package workflowtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/workflow"
)

// Backend describes a Store implementation to the suite.
type Backend struct {
	// Open returns a store keeping its data in dir, a fresh directory per test. Opening the same
	// dir again after Close must see the same data when Durable is set. Required.
	Open func(t testing.TB, dir string) workflow.Store
	// Durable declares that committed data survives Close and Open; the durability tests are
	// skipped without it.
	Durable bool
	// Synctest declares that the store can be opened and used inside a testing/synctest bubble:
	// lease expiry is then checked in fake time. Without it the check waits in real time.
	Synctest bool
	// LeaseTTL is the TTL the real-time expiry check gives its leases: the store's shortest
	// (a NATS KV store's is 1 s). Defaults to 100 ms.
	LeaseTTL time.Duration
}

// Run runs the conformance suite against b.
func Run(t *testing.T, b Backend) {
	if b.Open == nil {
		t.Fatal("workflowtest: Backend.Open is nil")
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"CreateLoad", testCreateLoad},
		{"CreateDuplicate", testCreateDuplicate},
		{"Definitions", testDefinitions},
		{"CommitVersions", testCommitVersions},
		{"CommitReplacesSteps", testCommitReplacesSteps},
		{"FinishedRunsAreFinal", testFinishedRunsAreFinal},
		{"CommitConflictChangesNothing", testConflictChangesNothing},
		{"Unfinished", testUnfinished},
		{"Intents", testIntents},
		{"Copies", testCopies},
		{"CanceledContext", testCanceled},
		{"Close", testClose},
		{"ConcurrentRuns", testConcurrentRuns},
		{"ConcurrentCommitsOneWins", testOneWins},
		{"LargePayload", testLarge},
		{"Durable", testDurable},
		{"CreateIntentOnce", testCreateIntent},
		{"ClosedAndCanceledLeases", testLeaseClosed},
		{"LeaseExclusive", testLeaseExclusive},
		{"LeaseReleaseHandover", testLeaseHandover},
		{"LeaseFencing", testLeaseFencing},
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseTakeoverRace", testLeaseTakeoverRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

func open(t *testing.T, b Backend) (workflow.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s := b.Open(t, dir)
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newRun(id string, created time.Time) *workflow.RunRecord {
	return &workflow.RunRecord{
		ID: id, Workflow: "wf", DefinitionHash: "h1", Status: workflow.StatusRunning,
		Input: []byte(`{"amount":5}`), Context: []byte(`{"principal":"did:key:z"}`), Version: 1,
		Created: created, Updated: created,
		Steps: []workflow.StepRecord{{ID: "a", Index: 0, Status: workflow.StepRunning, Attempt: 1, Started: created}},
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, s workflow.Store, id string) *workflow.RunRecord {
	t.Helper()
	r, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load(%s): %v", id, err)
	}
	return r
}

// equalRun compares records, times as instants.
func equalRun(a, b *workflow.RunRecord) error {
	switch {
	case a.ID != b.ID, a.Workflow != b.Workflow, a.DefinitionHash != b.DefinitionHash, a.Status != b.Status,
		a.Error != b.Error, a.Version != b.Version:
		return fmt.Errorf("scalar fields differ:\n got %+v\nwant %+v", a, b)
	case !bytes.Equal(a.Input, b.Input), !bytes.Equal(a.Output, b.Output), !bytes.Equal(a.Context, b.Context):
		return fmt.Errorf("payloads differ: input %q/%q output %q/%q context %q/%q", a.Input, b.Input, a.Output, b.Output, a.Context, b.Context)
	case !a.Created.Equal(b.Created), !a.Updated.Equal(b.Updated):
		return fmt.Errorf("times differ: created %v/%v updated %v/%v", a.Created, b.Created, a.Updated, b.Updated)
	case len(a.Steps) != len(b.Steps):
		return fmt.Errorf("%d steps, want %d", len(a.Steps), len(b.Steps))
	}
	for i := range a.Steps {
		x, y := a.Steps[i], b.Steps[i]
		if x.ID != y.ID || x.Index != y.Index || x.Status != y.Status || x.Attempt != y.Attempt ||
			x.CompensationAttempt != y.CompensationAttempt || !bytes.Equal(x.Output, y.Output) || x.Error != y.Error ||
			!x.Started.Equal(y.Started) || !x.Finished.Equal(y.Finished) {
			return fmt.Errorf("step %d differs:\n got %+v\nwant %+v", i, x, y)
		}
	}
	return nil
}

func testCreateLoad(t *testing.T, b Backend) {
	s, _ := open(t, b)
	want := newRun("r1", base)
	must(t, s.Create(context.Background(), want, []byte(`{"name":"wf"}`)))
	if err := equalRun(load(t, s, "r1"), want); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(context.Background(), "nope"); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("Load(unknown) = %v, want ErrNotFound", err)
	}
}

func testCreateDuplicate(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	first := newRun("r1", base)
	must(t, s.Create(ctx, first, []byte(`{"name":"wf"}`)))
	second := newRun("r1", base.Add(time.Hour))
	second.Workflow, second.Input, second.DefinitionHash = "other", []byte(`{}`), "h2"
	if err := s.Create(ctx, second, []byte(`{"name":"other"}`)); !errors.Is(err, workflow.ErrRunExists) {
		t.Fatalf("duplicate Create = %v, want ErrRunExists", err)
	}
	if err := equalRun(load(t, s, "r1"), first); err != nil {
		t.Fatalf("duplicate Create changed the run: %v", err)
	}
	if _, err := s.Definition(ctx, "h2"); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("a refused Create stored its definition: %v", err)
	}
}

func testDefinitions(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), []byte(`{"v":1}`)))
	must(t, s.Create(ctx, newRun("r2", base), []byte(`{"v":2}`))) // same hash h1: the first body stays
	d, err := s.Definition(ctx, "h1")
	must(t, err)
	if string(d) != `{"v":1}` {
		t.Fatalf("Definition(h1) = %s, want the first body stored", d)
	}
	if _, err := s.Definition(ctx, "h9"); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("Definition(unknown) = %v, want ErrNotFound", err)
	}
}

func testCommitVersions(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	at := base.Add(time.Minute)
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusCompensating,
		Output: []byte(`{"ok":true}`), Time: at}))
	got := load(t, s, "r1")
	if got.Version != 2 || got.Status != workflow.StatusCompensating || string(got.Output) != `{"ok":true}` || !got.Updated.Equal(at) || !got.Created.Equal(base) {
		t.Fatalf("after Commit: %+v", got)
	}
	err := s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusFailed, Time: at})
	if !errors.Is(err, workflow.ErrConflict) {
		t.Fatalf("stale Commit = %v, want ErrConflict", err)
	}
	err = s.Commit(ctx, &workflow.Transition{RunID: "nope", Version: 1, Status: workflow.StatusFailed, Time: at})
	if !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("Commit(unknown run) = %v, want ErrNotFound", err)
	}
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 2, Status: workflow.StatusFailed, Error: "boom", Time: at}))
	got = load(t, s, "r1")
	if got.Version != 3 || got.Error != "boom" || len(got.Output) != 0 {
		t.Fatalf("after second Commit: version %d error %q output %q", got.Version, got.Error, got.Output)
	}
}

func testCommitReplacesSteps(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	t1 := base.Add(time.Second)
	steps := []workflow.StepRecord{
		{ID: "c", Index: 2, Status: workflow.StepRunning, Attempt: 1, Started: t1},
		{ID: "a", Index: 0, Status: workflow.StepCompleted, Attempt: 1, Output: []byte(`{"x":1}`), Started: base, Finished: t1},
		{ID: "b", Index: 1, Status: workflow.StepSkipped, Finished: t1},
	}
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusRunning, Time: t1, Steps: steps}))
	got := load(t, s, "r1")
	want := newRun("r1", base)
	want.Version, want.Updated = 2, t1
	want.Steps = []workflow.StepRecord{steps[1], steps[2], steps[0]} // ordered by Index
	if err := equalRun(got, want); err != nil {
		t.Fatal(err)
	}
	upd := workflow.StepRecord{ID: "c", Index: 2, Status: workflow.StepFailed, Attempt: 3, CompensationAttempt: 2, Error: "bad", Started: t1, Finished: t1}
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 2, Status: workflow.StatusCompensating, Error: "bad", Time: t1,
		Steps: []workflow.StepRecord{steps[1], steps[2], upd}}))
	got = load(t, s, "r1")
	if len(got.Steps) != 3 || got.Steps[2].Status != workflow.StepFailed || got.Steps[2].Attempt != 3 || got.Steps[2].CompensationAttempt != 2 || got.Steps[2].Error != "bad" {
		t.Fatalf("step c not replaced: %+v", got.Steps)
	}
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 3, Status: workflow.StatusCompensating, Time: t1, Steps: []workflow.StepRecord{upd}}))
	if got = load(t, s, "r1"); len(got.Steps) != 1 || got.Steps[0].ID != "c" {
		t.Fatalf("Steps were not replaced as a whole: %+v", got.Steps)
	}
}

func testFinishedRunsAreFinal(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusCompleted, Output: []byte(`{}`), Time: base}))
	before := load(t, s, "r1")
	err := s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 2, Status: workflow.StatusRunning, Time: base.Add(time.Hour)})
	if !errors.Is(err, workflow.ErrConflict) {
		t.Fatalf("Commit to a completed run = %v, want ErrConflict", err)
	}
	if err := equalRun(load(t, s, "r1"), before); err != nil {
		t.Fatalf("a refused Commit changed a finished run: %v", err)
	}
	ids, err := s.Unfinished(ctx)
	must(t, err)
	if len(ids) != 0 {
		t.Fatalf("Unfinished = %v", ids)
	}
}

func testConflictChangesNothing(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	before := load(t, s, "r1")
	err := s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 7, Status: workflow.StatusCompleted, Time: base.Add(time.Hour),
		Steps: []workflow.StepRecord{{ID: "z", Index: 5, Status: workflow.StepCompleted}, {ID: "a", Index: 0, Status: workflow.StepFailed}}})
	if !errors.Is(err, workflow.ErrConflict) {
		t.Fatalf("Commit with wrong version = %v, want ErrConflict", err)
	}
	if err := equalRun(load(t, s, "r1"), before); err != nil {
		t.Fatalf("a refused Commit changed the run: %v", err)
	}
}

func testUnfinished(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	ids, err := s.Unfinished(ctx)
	must(t, err)
	if len(ids) != 0 {
		t.Fatalf("empty store: Unfinished = %v", ids)
	}
	// Created out of order; r3 oldest.
	for _, r := range []struct {
		id string
		at time.Duration
	}{{"r1", 2}, {"r2", 3}, {"r3", 1}, {"r4", 4}, {"r5", 5}} {
		must(t, s.Create(ctx, newRun(r.id, base.Add(r.at*time.Second)), nil))
	}
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r2", Version: 1, Status: workflow.StatusCompleted, Time: base}))
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r4", Version: 1, Status: workflow.StatusCompensating, Time: base}))
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r5", Version: 1, Status: workflow.StatusTerminated, Time: base}))
	ids, err = s.Unfinished(ctx)
	must(t, err)
	if want := []string{"r3", "r1", "r4"}; !slices.Equal(ids, want) {
		t.Fatalf("Unfinished = %v, want %v", ids, want)
	}
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r4", Version: 2, Status: workflow.StatusFailed, Time: base}))
	ids, err = s.Unfinished(ctx)
	must(t, err)
	if want := []string{"r3", "r1"}; !slices.Equal(ids, want) {
		t.Fatalf("Unfinished = %v, want %v", ids, want)
	}
}

func testIntents(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	if _, err := s.Intent(ctx, "r1/send"); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("Intent(unknown) = %v, want ErrNotFound", err)
	}
	must(t, s.PutIntent(ctx, "r1/send", []byte("signed-tx-1")))
	must(t, s.PutIntent(ctx, "r2/send", []byte{}))
	must(t, s.PutIntent(ctx, "r1/send", []byte("signed-tx-2")))
	got, err := s.Intent(ctx, "r1/send")
	must(t, err)
	if string(got) != "signed-tx-2" {
		t.Fatalf("Intent = %q, want the last put", got)
	}
	got, err = s.Intent(ctx, "r2/send")
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("empty intent came back as %q", got)
	}
}

func testCopies(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	run := newRun("r1", base)
	must(t, s.Create(ctx, run, []byte(`{"d":1}`)))
	run.Input[0], run.Steps[0].Status, run.Context[0] = 'X', workflow.StepFailed, 'X' // after Create
	got := load(t, s, "r1")
	if got.Input[0] != '{' || got.Steps[0].Status != workflow.StepRunning || got.Context[0] != '{' {
		t.Fatal("the store retained the caller's record")
	}
	got.Input[0], got.Steps[0].Attempt = 'Y', 99
	again := load(t, s, "r1")
	if again.Input[0] != '{' || again.Steps[0].Attempt != 1 {
		t.Fatal("Load returned shared memory")
	}
	out := []byte(`{"o":1}`)
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusRunning, Output: out, Time: base,
		Steps: []workflow.StepRecord{{ID: "a", Status: workflow.StepCompleted, Output: out}}}))
	out[0] = 'Z'
	again = load(t, s, "r1")
	if again.Output[0] != '{' || again.Steps[0].Output[0] != '{' {
		t.Fatal("the store retained Commit's byte slices")
	}
	data := []byte("intent")
	must(t, s.PutIntent(ctx, "k", data))
	data[0] = 'X'
	got1, _ := s.Intent(ctx, "k")
	got1[1] = 'X'
	got2, _ := s.Intent(ctx, "k")
	if string(got2) != "intent" {
		t.Fatalf("intent shared memory: %q", got2)
	}
	d, _ := s.Definition(ctx, "h1")
	d[0] = 'X'
	if d2, _ := s.Definition(ctx, "h1"); string(d2) != `{"d":1}` {
		t.Fatalf("definition shared memory: %q", d2)
	}
}

func testCanceled(t *testing.T, b Backend) {
	s, _ := open(t, b)
	must(t, s.Create(context.Background(), newRun("r1", base), nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	checks := map[string]error{
		"Create":     s.Create(ctx, newRun("r2", base), nil),
		"Commit":     s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusCompleted, Time: base}),
		"PutIntent":  s.PutIntent(ctx, "k", []byte("x")),
		"Load":       second(s.Load(ctx, "r1")),
		"Unfinished": second(s.Unfinished(ctx)),
		"Intent":     second(s.Intent(ctx, "k")),
		"Definition": second(s.Definition(ctx, "h1")),
	}
	for name, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", name, err)
		}
	}
	bg := context.Background()
	if _, err := s.Load(bg, "r2"); !errors.Is(err, workflow.ErrNotFound) {
		t.Error("a canceled Create stored the run")
	}
	if r := load(t, s, "r1"); r.Version != 1 {
		t.Error("a canceled Commit changed the run")
	}
	if _, err := s.Intent(bg, "k"); !errors.Is(err, workflow.ErrNotFound) {
		t.Error("a canceled PutIntent stored the intent")
	}
}

func second[T any](_ T, err error) error { return err }

func testClose(t *testing.T, b Backend) {
	s := b.Open(t, t.TempDir())
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	must(t, s.Close())
	must(t, s.Close())
	checks := map[string]error{
		"Create":     s.Create(ctx, newRun("r2", base), nil),
		"Commit":     s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusCompleted, Time: base}),
		"PutIntent":  s.PutIntent(ctx, "k", []byte("x")),
		"Load":       second(s.Load(ctx, "r1")),
		"Unfinished": second(s.Unfinished(ctx)),
		"Intent":     second(s.Intent(ctx, "k")),
		"Definition": second(s.Definition(ctx, "h1")),
	}
	for name, err := range checks {
		if !errors.Is(err, workflow.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func testConcurrentRuns(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	const workers, runs = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range runs {
				id := fmt.Sprintf("w%d-r%d", w, i)
				if err := s.Create(ctx, newRun(id, base.Add(time.Duration(i)*time.Millisecond)), []byte("{}")); err != nil {
					errs <- err
					return
				}
				steps := newRun(id, base).Steps
				for v := int64(1); v <= 3; v++ {
					steps = append(steps, workflow.StepRecord{ID: fmt.Sprint("s", v), Index: int(v), Status: workflow.StepCompleted, Attempt: 1})
					if err := s.Commit(ctx, &workflow.Transition{RunID: id, Version: v, Status: workflow.StatusRunning, Time: base, Steps: steps}); err != nil {
						errs <- err
						return
					}
				}
				if err := s.PutIntent(ctx, id+"/s", []byte(id)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range workers {
		for i := range runs {
			id := fmt.Sprintf("w%d-r%d", w, i)
			r := load(t, s, id)
			if r.Version != 4 || len(r.Steps) != 4 {
				t.Fatalf("%s: version %d, %d steps; want 4, 4", id, r.Version, len(r.Steps))
			}
			if d, err := s.Intent(ctx, id+"/s"); err != nil || string(d) != id {
				t.Fatalf("%s intent = %q, %v", id, d, err)
			}
		}
	}
	ids, err := s.Unfinished(ctx)
	must(t, err)
	if len(ids) != workers*runs {
		t.Fatalf("Unfinished has %d runs, want %d", len(ids), workers*runs)
	}
}

func testOneWins(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i] = s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusRunning, Time: base,
				Steps: []workflow.StepRecord{{ID: "a", Index: 0, Status: workflow.StepCompleted, Attempt: i + 1}}})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range results {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("commits %d and %d both applied at version 1", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, workflow.ErrConflict):
			t.Fatalf("commit %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no commit applied")
	}
	r := load(t, s, "r1")
	if r.Version != 2 || r.Steps[0].Attempt != winner+1 {
		t.Fatalf("stored version %d attempt %d; want 2 and the winner's %d", r.Version, r.Steps[0].Attempt, winner+1)
	}
}

func testLarge(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	run := newRun("r1", base)
	run.Input = big
	must(t, s.Create(ctx, run, big))
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusRunning, Output: big, Time: base,
		Steps: []workflow.StepRecord{{ID: "a", Status: workflow.StepCompleted, Output: big}}}))
	must(t, s.PutIntent(ctx, "k", big))
	r := load(t, s, "r1")
	d, err := s.Intent(ctx, "k")
	must(t, err)
	if !bytes.Equal(r.Input, big) || !bytes.Equal(r.Output, big) || !bytes.Equal(r.Steps[0].Output, big) || !bytes.Equal(d, big) {
		t.Fatal("1 MiB payloads did not round-trip")
	}
}

func testDurable(t *testing.T, b Backend) {
	if !b.Durable {
		t.Skip("backend is not durable")
	}
	dir := t.TempDir()
	ctx := context.Background()
	s := b.Open(t, dir)
	run := newRun("r1", base)
	must(t, s.Create(ctx, run, []byte(`{"def":1}`)))
	st := workflow.StepRecord{ID: "a", Index: 0, Status: workflow.StepCompleted, Attempt: 1, Output: []byte(`{"x":1}`), Started: base, Finished: base}
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 1, Status: workflow.StatusRunning, Time: base, Steps: []workflow.StepRecord{st}}))
	must(t, s.PutIntent(ctx, "r1/a", []byte("tx")))
	must(t, s.Close())

	s = b.Open(t, dir)
	defer s.Close()
	want := newRun("r1", base)
	want.Version, want.Steps = 2, []workflow.StepRecord{st}
	if err := equalRun(load(t, s, "r1"), want); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if d, err := s.Intent(ctx, "r1/a"); err != nil || string(d) != "tx" {
		t.Fatalf("intent after reopening = %q, %v", d, err)
	}
	if d, err := s.Definition(ctx, "h1"); err != nil || string(d) != `{"def":1}` {
		t.Fatalf("definition after reopening = %q, %v", d, err)
	}
	ids, err := s.Unfinished(ctx)
	if err != nil || !slices.Equal(ids, []string{"r1"}) {
		t.Fatalf("Unfinished after reopening = %v, %v", ids, err)
	}
}

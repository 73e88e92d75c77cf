package workflowtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/workflow"
)

const leaseTTL = time.Hour // for checks that must not see a lease expire

func wantLeaseErr(t *testing.T, err, kind error, holder string) {
	t.Helper()
	var le *workflow.LeaseError
	if !errors.Is(err, kind) || !errors.As(err, &le) {
		t.Fatalf("err = %v, want a *LeaseError wrapping %v", err, kind)
	}
	if holder != "" && le.Owner != holder {
		t.Fatalf("LeaseError names %q as the holder, want %q", le.Owner, holder)
	}
}

// Two hosts race for one run: exactly one gets it.
func testLeaseExclusive(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	const n = 8
	leases := make([]workflow.Lease, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { leases[i], errs[i] = s.Acquire(ctx, "r1", fmt.Sprint("host-", i), leaseTTL) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("hosts %d and %d both acquired the lease", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no host acquired the lease: %v", errs)
	}
	w := leases[winner]
	if w.RunID != "r1" || w.Owner != fmt.Sprint("host-", winner) || w.Token <= 0 || !w.Expires.After(time.Now().Add(leaseTTL/2)) {
		t.Fatalf("lease = %+v", w)
	}
	for i, err := range errs {
		if i != winner {
			wantLeaseErr(t, err, workflow.ErrLeaseHeld, w.Owner)
		}
	}
	// The holder acquiring again renews, keeping the token.
	again, err := s.Acquire(ctx, "r1", w.Owner, leaseTTL)
	must(t, err)
	if again.Token != w.Token {
		t.Fatalf("re-acquiring changed the token from %d to %d", w.Token, again.Token)
	}
	if _, err := s.Acquire(ctx, "nope", "host-0", leaseTTL); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("Acquire(unknown run) = %v, want ErrNotFound", err)
	}
	for name, err := range map[string]error{
		"no owner": second(s.Acquire(ctx, "r1", "", leaseTTL)),
		"zero ttl": second(s.Acquire(ctx, "r1", "host-x", 0)),
	} {
		if !errors.Is(err, workflow.ErrInvalidLease) {
			t.Fatalf("Acquire with %s = %v, want ErrInvalidLease", name, err)
		}
	}
	ctxC, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Acquire(ctxC, "r1", "host-x", leaseTTL); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a canceled context = %v", err)
	}
}

// A released lease goes to another host at once, with a greater token; the first host's lease
// is gone for good.
func testLeaseHandover(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	a, err := s.Acquire(ctx, "r1", "host-a", leaseTTL)
	must(t, err)
	_, err = s.Acquire(ctx, "r1", "host-b", leaseTTL)
	wantLeaseErr(t, err, workflow.ErrLeaseHeld, "host-a")
	renewed, err := s.Renew(ctx, a, leaseTTL)
	must(t, err)
	if renewed.Token != a.Token || renewed.Owner != "host-a" {
		t.Fatalf("renewed lease = %+v, from %+v", renewed, a)
	}
	must(t, s.Release(ctx, a))
	bl, err := s.Acquire(ctx, "r1", "host-b", leaseTTL)
	must(t, err)
	if bl.Token <= a.Token {
		t.Fatalf("the next lease has token %d, not above %d", bl.Token, a.Token)
	}
	_, err = s.Renew(ctx, a, leaseTTL)
	wantLeaseErr(t, err, workflow.ErrLeaseLost, "")
	must(t, s.Release(ctx, a)) // a lost lease: nothing happens
	_, err = s.Acquire(ctx, "r1", "host-c", leaseTTL)
	wantLeaseErr(t, err, workflow.ErrLeaseHeld, "host-b")
	// The same owner taking the lease again after releasing it gets a new token.
	must(t, s.Release(ctx, bl))
	b2, err := s.Acquire(ctx, "r1", "host-b", leaseTTL)
	must(t, err)
	if b2.Token <= bl.Token {
		t.Fatalf("re-acquiring after a release kept token %d", b2.Token)
	}
}

// A host that lost its lease cannot commit: its stale commit is refused and changes nothing.
func testLeaseFencing(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	a, err := s.Acquire(ctx, "r1", "host-a", leaseTTL)
	must(t, err)
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Lease: a.Token, Version: 1, Status: workflow.StatusRunning, Time: base}))
	// A commit outside the lease, or with another token, is refused while it is held.
	err = s.Commit(ctx, &workflow.Transition{RunID: "r1", Version: 2, Status: workflow.StatusRunning, Time: base})
	wantLeaseErr(t, err, workflow.ErrLeaseLost, "")
	err = s.Commit(ctx, &workflow.Transition{RunID: "r1", Lease: a.Token + 7, Version: 2, Status: workflow.StatusRunning, Time: base})
	wantLeaseErr(t, err, workflow.ErrLeaseLost, "")
	must(t, s.Release(ctx, a))
	bl, err := s.Acquire(ctx, "r1", "host-b", leaseTTL)
	must(t, err)
	before := load(t, s, "r1")
	// host-a wakes up and commits the next version with its old token: fenced off.
	err = s.Commit(ctx, &workflow.Transition{RunID: "r1", Lease: a.Token, Version: 2, Status: workflow.StatusCompleted, Time: base.Add(time.Hour),
		Output: []byte(`{"stale":true}`), Steps: []workflow.StepRecord{{ID: "a", Status: workflow.StepCompleted}}})
	wantLeaseErr(t, err, workflow.ErrLeaseLost, "")
	if errors.Is(err, workflow.ErrConflict) {
		t.Fatal("a fenced commit reported a version conflict instead of the lost lease")
	}
	if err := equalRun(load(t, s, "r1"), before); err != nil {
		t.Fatalf("a fenced commit changed the run: %v", err)
	}
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Lease: bl.Token, Version: 2, Status: workflow.StatusCompleted, Time: base}))
	if r := load(t, s, "r1"); r.Version != 3 || r.Status != workflow.StatusCompleted {
		t.Fatalf("the holder's commit: %+v", r)
	}
	// Once released, a commit outside any lease is accepted again (on another run).
	must(t, s.Create(ctx, newRun("r2", base), nil))
	c, err := s.Acquire(ctx, "r2", "host-c", leaseTTL)
	must(t, err)
	must(t, s.Release(ctx, c))
	must(t, s.Commit(ctx, &workflow.Transition{RunID: "r2", Version: 1, Status: workflow.StatusRunning, Time: base}))
}

// A host that stops renewing loses its lease once it expires; another takes the run over.
func testLeaseExpiry(t *testing.T, b Backend) {
	check := func(t *testing.T, ttl time.Duration, sleep func(time.Duration)) {
		s, _ := open(t, b)
		ctx := context.Background()
		must(t, s.Create(ctx, newRun("r1", base), nil))
		a, err := s.Acquire(ctx, "r1", "host-a", ttl)
		must(t, err)
		_, err = s.Acquire(ctx, "r1", "host-b", ttl)
		wantLeaseErr(t, err, workflow.ErrLeaseHeld, "host-a")
		sleep(ttl)
		var bl workflow.Lease
		for i := 0; ; i++ { // a networked store expires on its own schedule
			if bl, err = s.Acquire(ctx, "r1", "host-b", ttl); err == nil {
				break
			}
			wantLeaseErr(t, err, workflow.ErrLeaseHeld, "host-a")
			if i == 20 {
				t.Fatalf("the lease of a host that stopped renewing never expired (ttl %v)", ttl)
			}
			sleep(ttl / 2)
		}
		if bl.Token <= a.Token {
			t.Fatalf("the takeover lease has token %d, not above %d", bl.Token, a.Token)
		}
		_, err = s.Renew(ctx, a, ttl)
		wantLeaseErr(t, err, workflow.ErrLeaseLost, "")
		err = s.Commit(ctx, &workflow.Transition{RunID: "r1", Lease: a.Token, Version: 1, Status: workflow.StatusFailed, Time: base})
		wantLeaseErr(t, err, workflow.ErrLeaseLost, "")
		must(t, s.Commit(ctx, &workflow.Transition{RunID: "r1", Lease: bl.Token, Version: 1, Status: workflow.StatusRunning, Time: base}))
	}
	if b.Synctest {
		synctest.Test(t, func(t *testing.T) { check(t, 30*time.Second, time.Sleep) })
		return
	}
	ttl := b.LeaseTTL
	if ttl <= 0 {
		ttl = 100 * time.Millisecond
	}
	check(t, ttl, time.Sleep)
}

// Commits by the holder race with another host's takeover after a release: every commit either
// applies under the holder's lease or is refused, and none lands after the takeover.
func testLeaseTakeoverRace(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	a, err := s.Acquire(ctx, "r1", "host-a", leaseTTL)
	must(t, err)
	var wg sync.WaitGroup
	var taken workflow.Lease
	var takenAt int64 // the version when host-b got the lease
	var goErr error
	wg.Go(func() {
		if goErr = s.Release(ctx, a); goErr != nil {
			return
		}
		if taken, goErr = s.Acquire(ctx, "r1", "host-b", leaseTTL); goErr != nil {
			return
		}
		var r *workflow.RunRecord
		if r, goErr = s.Load(ctx, "r1"); goErr == nil {
			takenAt = r.Version
		}
	})
	applied := int64(0)
	for v := int64(1); v <= 50; v++ {
		err := s.Commit(ctx, &workflow.Transition{RunID: "r1", Lease: a.Token, Version: v, Status: workflow.StatusRunning, Time: base})
		if err != nil {
			wantLeaseErr(t, err, workflow.ErrLeaseLost, "")
			break
		}
		applied = v
	}
	wg.Wait()
	must(t, goErr)
	if r := load(t, s, "r1"); r.Version != applied+1 || takenAt != r.Version {
		t.Fatalf("run at version %d after %d commits by host-a; host-b took over at version %d (lease %+v)", r.Version, applied, takenAt, taken)
	}
}

// The first intent recorded under a key is the one that stays, however many attempts race.
func testCreateIntent(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx := context.Background()
	must(t, s.CreateIntent(ctx, "r1/send", []byte("tx-1")))
	if err := s.CreateIntent(ctx, "r1/send", []byte("tx-2")); !errors.Is(err, workflow.ErrIntentExists) {
		t.Fatalf("second CreateIntent = %v, want ErrIntentExists", err)
	}
	if d, err := s.Intent(ctx, "r1/send"); err != nil || string(d) != "tx-1" {
		t.Fatalf("Intent = %q, %v; want the first", d, err)
	}
	must(t, s.PutIntent(ctx, "r2/send", []byte("put")))
	if err := s.CreateIntent(ctx, "r2/send", []byte("created")); !errors.Is(err, workflow.ErrIntentExists) {
		t.Fatalf("CreateIntent over a put intent = %v, want ErrIntentExists", err)
	}
	must(t, s.CreateIntent(ctx, "r3/send", []byte{}))
	if d, err := s.Intent(ctx, "r3/send"); err != nil || len(d) != 0 {
		t.Fatalf("empty intent = %q, %v", d, err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.CreateIntent(ctx, "race", []byte(fmt.Sprint("host-", i))) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("hosts %d and %d both recorded an intent", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, workflow.ErrIntentExists):
			t.Fatalf("CreateIntent: %v", err)
		}
	}
	if d, err := s.Intent(ctx, "race"); err != nil || string(d) != fmt.Sprint("host-", winner) {
		t.Fatalf("Intent(race) = %q, %v; the winner was host-%d", d, err, winner)
	}
	data := []byte("mine")
	must(t, s.CreateIntent(ctx, "copy", data))
	data[0] = 'X'
	if d, _ := s.Intent(ctx, "copy"); string(d) != "mine" {
		t.Fatalf("CreateIntent retained the caller's slice: %q", d)
	}
}

// The lease methods and CreateIntent honour cancellation and Close like the others.
func testLeaseClosed(t *testing.T, b Backend) {
	s := b.Open(t, t.TempDir())
	ctx := context.Background()
	must(t, s.Create(ctx, newRun("r1", base), nil))
	l, err := s.Acquire(ctx, "r1", "host-a", leaseTTL)
	must(t, err)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for name, err := range map[string]error{
		"CreateIntent": s.CreateIntent(canceled, "k", []byte("x")),
		"Acquire":      second(s.Acquire(canceled, "r1", "host-b", leaseTTL)),
		"Renew":        second(s.Renew(canceled, l, leaseTTL)),
		"Release":      s.Release(canceled, l),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", name, err)
		}
	}
	if _, err := s.Intent(ctx, "k"); !errors.Is(err, workflow.ErrNotFound) {
		t.Error("a canceled CreateIntent stored the intent")
	}
	if _, err := s.Acquire(ctx, "r1", "host-b", leaseTTL); !errors.Is(err, workflow.ErrLeaseHeld) {
		t.Errorf("a canceled Release released the lease: %v", err)
	}
	must(t, s.Close())
	for name, err := range map[string]error{
		"CreateIntent": s.CreateIntent(ctx, "k", []byte("x")),
		"Acquire":      second(s.Acquire(ctx, "r1", "host-b", leaseTTL)),
		"Renew":        second(s.Renew(ctx, l, leaseTTL)),
		"Release":      s.Release(ctx, l),
	} {
		if !errors.Is(err, workflow.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

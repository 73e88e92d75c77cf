package ml_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/ml/onnx"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gated wraps a backend so every Run waits for a value on gate: tests hold the workers busy.
type gated struct {
	ml.Backend
	gate chan struct{}
}

func (g *gated) NewSession(m *ml.Model) (ml.Session, error) {
	s, err := g.Backend.NewSession(m)
	if err != nil {
		return nil, err
	}
	return &gatedSession{Session: s, gate: g.gate}, nil
}

type gatedSession struct {
	ml.Session
	gate chan struct{}
}

func (s *gatedSession) Run(x []float32, rows int, scores []float32) error {
	<-s.gate
	return s.Session.Run(x, rows, scores)
}

func near(t *testing.T, what string, got float32, want float64) {
	t.Helper()
	if math.Abs(float64(got)-want) > 1e-5 {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
}

func TestScoreMatchesReference(t *testing.T) {
	tm := mltest.Trees(1, 50, 4, 16)
	e := mltest.NewEngine(t, tm.Model)
	ctx := context.Background()
	vs := mltest.Vectors(2, tm.Model, 500)
	for i, v := range vs[:50] {
		r, err := e.Score(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if r.ModelID() != tm.Model.ID() {
			t.Fatalf("result from %s, want %s", r.ModelID(), tm.Model.ID())
		}
		near(t, "score", r.Score, tm.Reference(vs[i].Values))
	}
	rs, err := e.ScoreBatch(ctx, vs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		near(t, "batch score", r.Score, tm.Reference(vs[i].Values))
	}
	if rs, err := e.ScoreBatch(ctx, nil); err != nil || rs != nil {
		t.Fatalf("empty batch: %v, %v", rs, err)
	}
}

func TestConcurrentScoresAreCorrect(t *testing.T) {
	tm := mltest.MLP(3, 32, 16)
	e := mltest.NewEngine(t, tm.Model, ml.WithWorkers(2), ml.WithMaxBatch(16))
	vs := mltest.Vectors(4, tm.Model, 64)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for k := range 50 {
				v := vs[(g*50+k)%len(vs)]
				r, err := e.Score(context.Background(), v)
				if err != nil {
					t.Error(err)
					return
				}
				if d := math.Abs(float64(r.Score) - tm.Reference(v.Values)); d > 1e-5 {
					t.Errorf("wrong score under concurrency: %v vs %v", r.Score, tm.Reference(v.Values))
					return
				}
			}
		})
	}
	wg.Wait()
	st := e.Stats()
	if st.Requests != 800 || st.Rows != 800 {
		t.Fatalf("stats %+v, want 800 requests and rows", st)
	}
}

func TestInvalidVectorsNeverReachTheModel(t *testing.T) {
	tm := mltest.Linear([]float32{1, 2, 3}, 0)
	e := mltest.NewEngine(t, tm.Model)
	ctx := context.Background()
	s := tm.Model.Schema()
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name string
		v    ml.Vector
		want error
	}{
		{"other schema", ml.Vector{Schema: "other", Version: 1, Values: []float32{1, 2, 3}}, ml.ErrUnknownSchema},
		{"other version", ml.Vector{Schema: s.Name, Version: 2, Values: []float32{1, 2, 3}}, ml.ErrUnknownSchema},
		{"too short", ml.Vector{Schema: s.Name, Version: 1, Values: []float32{1, 2}}, ml.ErrShape},
		{"too long", ml.Vector{Schema: s.Name, Version: 1, Values: []float32{1, 2, 3, 4}}, ml.ErrShape},
		{"NaN", ml.Vector{Schema: s.Name, Version: 1, Values: []float32{1, nan, 3}}, ml.ErrNotFinite},
		{"Inf", ml.Vector{Schema: s.Name, Version: 1, Values: []float32{inf, 2, 3}}, ml.ErrNotFinite},
		{"out of range", ml.Vector{Schema: s.Name, Version: 1, Values: []float32{1, 2, 1e6}}, ml.ErrOutOfRange},
	}
	for _, c := range cases {
		_, err := e.Score(ctx, c.v)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		_, err = e.ScoreBatch(ctx, []ml.Vector{{Schema: s.Name, Version: 1, Values: []float32{0, 0, 0}}, c.v})
		var be *ml.BatchError
		if !errors.As(err, &be) || be.Index != 1 || !errors.Is(err, c.want) {
			t.Errorf("%s in a batch: %v, want a BatchError at 1 wrapping %v", c.name, err, c.want)
		}
	}
	var fe *ml.FeatureError
	_, err := e.Score(ctx, cases[4].v)
	if !errors.As(err, &fe) || fe.Index != 1 || fe.Feature != "f1" {
		t.Errorf("NaN error %v does not name feature 1", err)
	}
	if st := e.Stats(); st.Requests != 0 || st.Rows != 0 {
		t.Fatalf("invalid vectors reached the model: %+v", st)
	}
}

// busy starts a call that runs inline and blocks at the gate, holding the engine's only session:
// later calls queue behind it. It returns the call's outcome.
func busy(t *testing.T, e *ml.Engine, v ml.Vector) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := e.Score(context.Background(), v); done <- err }()
	synctest.Wait()
	return done
}

// TestLoneCallRunsInline: with nothing queued and a session idle, a call runs at once on the
// caller's goroutine, whatever the max wait.
func TestLoneCallRunsInline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := mltest.Linear([]float32{1}, 0)
		e := mltest.NewEngine(t, tm.Model, ml.WithWorkers(1), ml.WithMaxWait(time.Hour))
		start := time.Now()
		if _, err := e.Score(context.Background(), mltest.Vectors(1, tm.Model, 1)[0]); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("lone call waited %v", waited)
		}
	})
}

// TestMicroBatchingCoalesces: calls that arrive while the session is busy queue up and run as
// one backend call when it frees.
func TestMicroBatchingCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := mltest.Trees(5, 20, 3, 8)
		gate := make(chan struct{})
		b := &gated{Backend: ml.NewGoBackend(), gate: gate}
		e, err := ml.NewEngine(tm.Model, ml.WithBackend(b), ml.WithWorkers(1))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		vs := mltest.Vectors(6, tm.Model, 11)
		first := busy(t, e, vs[10])
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				r, err := e.Score(context.Background(), vs[i])
				if err != nil {
					t.Error(err)
					return
				}
				near(t, "coalesced score", r.Score, tm.Reference(vs[i].Values))
			})
		}
		synctest.Wait()
		close(gate)
		wg.Wait()
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if st := e.Stats(); st.Batches != 2 || st.Rows != 11 || st.Requests != 11 {
			t.Fatalf("stats %+v, want the 10 queued calls in one batch after the first", st)
		}
	})
}

// TestMaxWaitHoldsAPartialBatch: a worker holding a partial batch waits max wait for company,
// no longer.
func TestMaxWaitHoldsAPartialBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := mltest.Linear([]float32{1}, 0)
		gate := make(chan struct{})
		b := &gated{Backend: ml.NewGoBackend(), gate: gate}
		e, err := ml.NewEngine(tm.Model, ml.WithBackend(b), ml.WithWorkers(1), ml.WithMaxWait(3*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		v := mltest.Vectors(1, tm.Model, 1)[0]
		first := busy(t, e, v)
		done := make(chan time.Time, 1)
		go func() {
			if _, err := e.Score(context.Background(), v); err != nil {
				t.Error(err)
			}
			done <- time.Now()
		}()
		synctest.Wait()
		start := time.Now()
		close(gate)
		if waited := (<-done).Sub(start); waited != 3*time.Millisecond {
			t.Fatalf("queued call ran after %v, want the 3ms max wait", waited)
		}
		<-first
	})
}

// TestFullBatchDoesNotWait: a batch that fills up runs at once, before max wait.
func TestFullBatchDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := mltest.Linear([]float32{1}, 0)
		gate := make(chan struct{})
		b := &gated{Backend: ml.NewGoBackend(), gate: gate}
		e, err := ml.NewEngine(tm.Model, ml.WithBackend(b), ml.WithWorkers(1), ml.WithMaxBatch(4), ml.WithMaxWait(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		first := busy(t, e, mltest.Vectors(1, tm.Model, 1)[0])
		done := make(chan time.Time, 1)
		go func() {
			if _, err := e.ScoreBatch(context.Background(), mltest.Vectors(2, tm.Model, 4)); err != nil {
				t.Error(err)
			}
			done <- time.Now()
		}()
		synctest.Wait()
		start := time.Now()
		close(gate)
		if waited := (<-done).Sub(start); waited != 0 {
			t.Fatalf("full batch waited %v", waited)
		}
		<-first
	})
}

func TestBackpressureAndCancellationReleaseTheSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := mltest.Linear([]float32{1}, 0)
		gate := make(chan struct{})
		b := &gated{Backend: ml.NewGoBackend(), gate: gate}
		e, err := ml.NewEngine(tm.Model, ml.WithBackend(b), ml.WithWorkers(1), ml.WithMaxBatch(1), ml.WithQueueSize(2))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		v := mltest.Vectors(1, tm.Model, 1)[0]
		ctx := context.Background()

		done := make(chan error, 3)
		go func() { _, err := e.Score(ctx, v); done <- err }() // A: runs, blocked at the gate
		synctest.Wait()
		bctx, cancelB := context.WithCancel(ctx)
		go func() { _, err := e.Score(bctx, v); done <- err }() // B: queued
		synctest.Wait()
		cDone := make(chan error, 1)
		go func() { _, err := e.Score(ctx, v); cDone <- err }() // C: queue full, waits
		synctest.Wait()
		select {
		case err := <-cDone:
			t.Fatalf("C returned %v while the queue was full", err)
		default:
		}

		cancelB() // B leaves the queue at once and its slot goes to C
		synctest.Wait()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("B: %v, want context.Canceled", err)
		}
		close(gate)
		if err := <-done; err != nil {
			t.Fatalf("A: %v", err)
		}
		if err := <-cDone; err != nil {
			t.Fatalf("C: %v", err)
		}
		if st := e.Stats(); st.Rows != 2 {
			t.Fatalf("stats %+v: the cancelled request ran", st)
		}
	})
}

func TestRejectWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := mltest.Linear([]float32{1}, 0)
		gate := make(chan struct{})
		b := &gated{Backend: ml.NewGoBackend(), gate: gate}
		e, err := ml.NewEngine(tm.Model, ml.WithBackend(b), ml.WithWorkers(1), ml.WithMaxBatch(1), ml.WithQueueSize(1), ml.WithRejectWhenFull())
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		v := mltest.Vectors(1, tm.Model, 1)[0]
		done := make(chan error, 1)
		go func() { _, err := e.Score(context.Background(), v); done <- err }()
		synctest.Wait()
		if _, err := e.Score(context.Background(), v); !errors.Is(err, ml.ErrOverloaded) {
			t.Fatalf("second call: %v, want ErrOverloaded", err)
		}
		close(gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := e.Stats(); st.Rejected != 1 {
			t.Fatalf("stats %+v, want 1 rejected", st)
		}
	})
}

func TestMaxLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := mltest.Linear([]float32{1}, 0)
		gate := make(chan struct{})
		b := &gated{Backend: ml.NewGoBackend(), gate: gate}
		e, err := ml.NewEngine(tm.Model, ml.WithBackend(b), ml.WithWorkers(1), ml.WithMaxLatency(5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		first := busy(t, e, mltest.Vectors(1, tm.Model, 1)[0]) // runs inline, stuck in the backend
		start := time.Now()
		_, err = e.Score(context.Background(), mltest.Vectors(1, tm.Model, 1)[0]) // queued behind it
		var de *ml.DeadlineError
		if !errors.As(err, &de) || !errors.Is(err, ml.ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Score: %v, want a DeadlineError", err)
		}
		if waited := time.Since(start); waited != 5*time.Millisecond {
			t.Fatalf("gave up after %v, want 5ms", waited)
		}
		_, err = e.ScoreBatch(context.Background(), mltest.Vectors(2, tm.Model, 3))
		if !errors.As(err, &de) {
			t.Fatalf("ScoreBatch: %v, want a DeadlineError", err)
		}
		// A run is not interrupted; the call that was stuck in it reports its deadline afterwards.
		close(gate)
		if err := <-first; !errors.As(err, &de) {
			t.Fatalf("the stuck call: %v, want a DeadlineError", err)
		}
	})
}

func TestCancelledContext(t *testing.T) {
	tm := mltest.Linear([]float32{1}, 0)
	e := mltest.NewEngine(t, tm.Model)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Score(ctx, mltest.Vectors(1, tm.Model, 1)[0]); !errors.Is(err, context.Canceled) {
		t.Fatalf("Score with a cancelled context: %v", err)
	}
	if _, err := e.ScoreBatch(ctx, mltest.Vectors(1, tm.Model, 600)); !errors.Is(err, context.Canceled) {
		t.Fatalf("ScoreBatch with a cancelled context: %v", err)
	}
}

func TestActivateAndRollbackUnderTraffic(t *testing.T) {
	v1 := mltest.Trees(1, 30, 4, 12)
	v2 := mltest.Trees(2, 30, 4, 12) // same schema, other trees
	m2, err := ml.NewModel(v2.Model.Bytes(), withVersion(v1.Model.Manifest(), "2"))
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]func([]float32) float64{"1": v1.Reference, "2": v2.Reference}
	e := mltest.NewEngine(t, v1.Model, ml.WithWorkers(2), ml.WithMaxBatch(8))
	ctx, stop := context.WithCancel(context.Background())
	vs := mltest.Vectors(3, v1.Model, 100)
	var wg sync.WaitGroup
	seen := make([]map[string]int, 6)
	for g := range seen {
		seen[g] = map[string]int{}
		wg.Go(func() {
			for k := 0; ctx.Err() == nil; k++ {
				v := vs[k%len(vs)]
				r, err := e.Score(context.Background(), v)
				if err != nil {
					t.Error(err)
					return
				}
				ref, ok := refs[r.Version]
				if !ok || math.Abs(float64(r.Score)-ref(v.Values)) > 1e-5 {
					t.Errorf("version %q scored %v, its reference says %v", r.Version, r.Score, ref(v.Values))
					return
				}
				seen[g][r.Version]++
			}
		})
	}
	for range 20 {
		if err := e.Activate(context.Background(), m2); err != nil {
			t.Fatal(err)
		}
		if got := e.Model().Version(); got != "2" {
			t.Fatalf("active version %s after Activate", got)
		}
		if err := e.Rollback(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := e.Model().Version(); got != "1" {
			t.Fatalf("active version %s after Rollback", got)
		}
	}
	stop()
	wg.Wait()
	if err := e.Rollback(context.Background()); !errors.Is(err, ml.ErrNoPrevious) {
		t.Fatalf("Rollback with no history: %v", err)
	}
}

func withVersion(man ml.Manifest, v string) ml.Manifest {
	man.Version, man.SHA256 = v, ""
	return man
}

// TestFailedActivationKeepsServing: a version that cannot load leaves the current one active.
func TestFailedActivationKeepsServing(t *testing.T) {
	tm := mltest.Linear([]float32{1, 2}, 0)
	e := mltest.NewEngine(t, tm.Model)
	bad := mltest.MLP(1, 2, 3) // a valid model whose second node we replace by an unknown operator
	g := *bad.Graph
	g.Graph.Nodes = append([]onnx.Node(nil), g.Graph.Nodes...)
	g.Graph.Nodes[1].OpType = "NoSuchOperator"
	broken, err := ml.NewModel(onnx.Encode(&g), withVersion(tm.Model.Manifest(), "2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Activate(context.Background(), broken); err == nil {
		t.Fatal("Activate of an unloadable model succeeded")
	}
	r, err := e.Score(context.Background(), mltest.Vectors(1, tm.Model, 1)[0])
	if err != nil || r.Version != "1" {
		t.Fatalf("after a failed activation: %+v, %v; want version 1 serving", r, err)
	}
}

func TestClose(t *testing.T) {
	tm := mltest.Linear([]float32{1}, 0)
	b := ml.NewGoBackend()
	e, err := ml.NewEngine(tm.Model, ml.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	v := mltest.Vectors(1, tm.Model, 1)[0]
	if _, err := e.Score(context.Background(), v); !errors.Is(err, ml.ErrClosed) {
		t.Fatalf("Score after Close: %v", err)
	}
	if _, err := e.ScoreBatch(context.Background(), []ml.Vector{v}); !errors.Is(err, ml.ErrClosed) {
		t.Fatalf("ScoreBatch after Close: %v", err)
	}
	if err := e.Activate(context.Background(), tm.Model); !errors.Is(err, ml.ErrClosed) {
		t.Fatalf("Activate after Close: %v", err)
	}
	// The engine did not own b: it is still usable.
	s, err := b.NewSession(tm.Model)
	if err != nil {
		t.Fatalf("backend closed by the engine: %v", err)
	}
	s.Close()
}

func TestOptionsAreValidated(t *testing.T) {
	tm := mltest.Linear([]float32{1}, 0)
	for _, o := range []ml.Option{
		ml.WithMaxBatch(0), ml.WithMaxWait(-1), ml.WithQueueSize(1), ml.WithWorkers(0),
		ml.WithMaxLatency(-time.Second), ml.WithFactors(-1), ml.WithLogger(nil),
	} {
		_, err := ml.NewEngine(tm.Model, ml.WithBackend(ml.NewGoBackend()), o)
		var oe *ml.OptionError
		if !errors.As(err, &oe) || oe.Option == "" {
			t.Errorf("bad option accepted or unnamed: %v", err)
		}
	}
	if _, err := ml.NewEngine(nil); !errors.Is(err, ml.ErrInvalidOption) {
		t.Errorf("nil model: %v", err)
	}
}

func TestFactors(t *testing.T) {
	tm := mltest.Trees(9, 40, 4, 10)
	e := mltest.NewEngine(t, tm.Model, ml.WithFactors(3))
	v := mltest.Vectors(10, tm.Model, 1)[0]
	r, err := e.Score(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Factors) != 3 {
		t.Fatalf("%d factors, want 3", len(r.Factors))
	}
	for i, f := range r.Factors {
		idx := tm.Model.Schema().Index(f.Feature)
		if idx < 0 || v.Values[idx] != f.Value {
			t.Fatalf("factor %+v does not match the input", f)
		}
		if i > 0 && math.Abs(float64(f.Contribution)) > math.Abs(float64(r.Factors[i-1].Contribution)) {
			t.Fatalf("factors not sorted by size: %+v", r.Factors)
		}
	}
	rs, err := e.ScoreBatch(context.Background(), []ml.Vector{v})
	if err != nil || len(rs[0].Factors) != 3 || rs[0].Factors[0] != r.Factors[0] {
		t.Fatalf("batch factors %+v, %v", rs, err)
	}
	// A model without attribution scores without factors.
	mlp := mltest.MLP(1, 4, 2)
	e2 := mltest.NewEngine(t, mlp.Model, ml.WithFactors(3))
	r, err = e2.Score(context.Background(), mltest.Vectors(1, mlp.Model, 1)[0])
	if err != nil || r.Factors != nil {
		t.Fatalf("MLP result %+v, %v: want no factors", r, err)
	}
}

// TestCloseDrainsTheQueue: Close lets queued requests finish, then refuses new ones.
func TestCloseDrainsTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := mltest.Linear([]float32{1}, 0)
		gate := make(chan struct{})
		b := &gated{Backend: ml.NewGoBackend(), gate: gate}
		e, err := ml.NewEngine(tm.Model, ml.WithBackend(b), ml.WithWorkers(1))
		if err != nil {
			t.Fatal(err)
		}
		vs := mltest.Vectors(1, tm.Model, 4)
		first := busy(t, e, vs[0])
		results := make(chan error, 3)
		for _, v := range vs[1:] {
			go func() { _, err := e.Score(context.Background(), v); results <- err }()
		}
		synctest.Wait()
		closed := make(chan error, 1)
		go func() { closed <- e.Close() }()
		synctest.Wait()
		if _, err := e.Score(context.Background(), vs[0]); !errors.Is(err, ml.ErrClosed) {
			t.Fatalf("Score while closing: %v", err)
		}
		close(gate)
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := <-results; err != nil {
				t.Fatalf("a queued call was not finished by Close: %v", err)
			}
		}
		if st := e.Stats(); st.Rows != 4 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// TestActivateAnotherSchemaRejectsQueuedVectors: a vector validated against the old schema and
// still queued when a version with another schema takes over is scored by the old version (its
// worker already held that version's session) or refused — never scored by the new version.
func TestActivateAnotherSchemaRejectsQueuedVectors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old := mltest.Linear([]float32{1, 2}, 0)
		gate := make(chan struct{})
		b := &gated{Backend: ml.NewGoBackend(), gate: gate}
		e, err := ml.NewEngine(old.Model, ml.WithBackend(b), ml.WithWorkers(1))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		v := mltest.Vectors(1, old.Model, 1)[0]
		first := busy(t, e, v)
		type outcome struct {
			version string
			err     error
		}
		queued := make(chan outcome, 1)
		go func() { r, err := e.Score(context.Background(), v); queued <- outcome{r.Version, err} }()
		synctest.Wait()

		other := mltest.Linear([]float32{1, 2}, 0).Model.Manifest()
		other.Version, other.SHA256 = "2", ""
		other.Schema.Name = "another"
		m2, err := ml.NewModel(old.Model.Bytes(), other)
		if err != nil {
			t.Fatal(err)
		}
		activated := make(chan error, 1)
		go func() { activated <- e.Activate(context.Background(), m2) }() // waits for the running call's session
		synctest.Wait()
		close(gate)
		if err := <-activated; err != nil {
			t.Fatal(err)
		}
		<-first
		if r := <-queued; r.err == nil && r.version != "1" || r.err != nil && !errors.Is(r.err, ml.ErrUnknownSchema) {
			t.Fatalf("queued vector of the old schema: version %q, %v", r.version, r.err)
		}
		if _, err := e.Score(context.Background(), v); !errors.Is(err, ml.ErrUnknownSchema) {
			t.Fatalf("new call with the old schema: %v", err)
		}
	})
}

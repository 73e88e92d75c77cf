package handler_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bridge/handler"
	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/security"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openStore(t *testing.T, path string) *handler.Store {
	t.Helper()
	s, err := handler.OpenStore(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "effects.db")
	s := openStore(t, path)
	var runs atomic.Int32
	f := func(context.Context) (any, error) { runs.Add(1); return map[string]any{"txid": "ab"}, nil }

	// Twenty concurrent callers: one run, everyone gets the result.
	var wg sync.WaitGroup
	var ranCount atomic.Int32
	for range 20 {
		wg.Go(func() {
			r, ran, err := s.Once(ctx, "k1", f)
			if err != nil || r == nil {
				t.Error(err)
			}
			if ran {
				ranCount.Add(1)
			}
		})
	}
	wg.Wait()
	if runs.Load() != 1 || ranCount.Load() != 1 {
		t.Fatalf("%d runs, %d callers ran", runs.Load(), ranCount.Load())
	}
	// A failed run releases the key.
	boom := errors.New("boom")
	if _, ran, err := s.Once(ctx, "k2", func(context.Context) (any, error) { return nil, boom }); !ran || !errors.Is(err, boom) {
		t.Fatalf("failed run: %v %v", ran, err)
	}
	if _, ran, err := s.Once(ctx, "k2", f); !ran || err != nil {
		t.Fatalf("retry after failure: %v %v", ran, err)
	}
	// After a restart the result is still there and nothing runs.
	s.Close()
	s2 := openStore(t, path)
	r, ran, err := s2.Once(ctx, "k1", f)
	if err != nil || ran || r.(map[string]any)["txid"] != "ab" || runs.Load() != 2 {
		t.Fatalf("after restart: %v %v %v, %d runs", r, ran, err, runs.Load())
	}
	if _, _, err := s.Once(ctx, "k3", f); !errors.Is(err, handler.ErrClosed) {
		t.Fatalf("closed store: %v", err)
	}
}

// A side effect whose run was cut short by a crash is never run again: its outcome is unknown.
func TestStoreInterrupted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "effects.db")
	s := openStore(t, path)
	s.Close()
	// The state a crash between claiming and finishing leaves.
	db, err := sqlitex.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO handler_effects (key, state, claimed_at) VALUES ('pay-1', 'running', 1700000000000)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = openStore(t, path)
	_, ran, err := s.Once(ctx, "pay-1", func(context.Context) (any, error) {
		t.Fatal("an interrupted side effect ran again")
		return nil, nil
	})
	var ie *handler.InterruptedError
	if ran || !errors.As(err, &ie) || ie.Key != "pay-1" || !errors.Is(err, handler.ErrInterrupted) {
		t.Fatalf("got %v %v", ran, err)
	}
	// Once the host reconciled it, it may run.
	if err := s.Forget(ctx, "pay-1"); err != nil {
		t.Fatal(err)
	}
	if _, ran, err := s.Once(ctx, "pay-1", func(context.Context) (any, error) { return 1, nil }); !ran || err != nil {
		t.Fatalf("after Forget: %v %v", ran, err)
	}
}

func bounds(t *testing.T) *security.Boundaries {
	t.Helper()
	bs := security.DefaultBoundaries()
	b, err := security.New(bs, security.WithRedactionKey([]byte("0123456789abcdef0123456789abcdef")),
		security.WithProvenance("web5.signature", func(context.Context, security.Crossing) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDispatch(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, sqlitex.Memory)
	d, err := handler.New(store, handler.WithBoundary(bounds(t)))
	if err != nil {
		t.Fatal(err)
	}
	var recorded, assessed, vetoed atomic.Int32
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Two handlers see transactions: one finds the linked DIDs, one the amount; a third sees
	// only Web5 events.
	must(d.Handle("bitcoin.tx", "linked", func(ctx context.Context, ev handler.Event) (handler.Result, error) {
		return handler.Result{Values: map[string]any{"did": ev.Data["did"]}, Effects: []handler.Effect{{
			Name:  "record",
			Cross: &handler.Crossing{From: security.Bitcoin, To: security.Web5, Action: security.ActionRecordPayment, Data: map[string]any{"did": ev.Data["did"], "txid": ev.Data["txid"]}},
			Run: func(_ context.Context, data map[string]any) (any, error) {
				recorded.Add(1)
				return "recorded " + data["txid"].(string), nil
			},
		}}}, nil
	}))
	must(d.Handle("bitcoin.*", "amount", func(ctx context.Context, ev handler.Event) (handler.Result, error) {
		return handler.Result{Values: map[string]any{"amount_sat": ev.Data["amount_sat"]}, Effects: []handler.Effect{
			{Name: "assess", Cross: &handler.Crossing{From: security.Bitcoin, To: security.ML, Action: security.ActionAssessRisk,
				Data: map[string]any{"amount_sat": ev.Data["amount_sat"]}},
				Run: func(context.Context, map[string]any) (any, error) { assessed.Add(1); return 0.1, nil }},
			// A side effect carrying personal data into ML: the boundary denies it.
			{Name: "leak", Cross: &handler.Crossing{From: security.Bitcoin, To: security.ML, Action: security.ActionAssessRisk,
				Data: map[string]any{"address": "alice@example.com"}},
				Run: func(context.Context, map[string]any) (any, error) { t.Error("the denied effect ran"); return nil, nil }},
			{Name: "vetoed", Run: func(context.Context, map[string]any) (any, error) { vetoed.Add(1); return nil, nil }},
		}}, nil
	}))
	must(d.Handle("web5.>", "web5-only", func(context.Context, handler.Event) (handler.Result, error) {
		t.Error("a web5 handler saw a bitcoin event")
		return handler.Result{}, nil
	}))
	// The post-processor correlates the handlers into one result and drops the vetoed effect.
	must(d.PostProcess("correlate", func(_ context.Context, ev handler.Event, rs []handler.Result) ([]handler.Result, error) {
		merged := handler.Result{Handler: "correlated", Values: map[string]any{"event": ev.ID}}
		for _, r := range rs {
			for k, v := range r.Values {
				merged.Values[k] = v
			}
			for _, e := range r.Effects {
				if e.Name != "vetoed" {
					merged.Effects = append(merged.Effects, e)
				}
			}
		}
		return []handler.Result{merged}, nil
	}))

	ev := handler.Event{ID: "tx-1", Kind: "bitcoin.tx", Data: map[string]any{"did": "did:example:alice", "txid": "ab12", "amount_sat": int64(5000)}}
	out, err := d.Dispatch(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 1 || out.Results[0].Values["did"] != "did:example:alice" || out.Results[0].Values["amount_sat"] != int64(5000) {
		t.Fatalf("results %+v", out.Results)
	}
	byName := map[string]handler.EffectOutcome{}
	for _, e := range out.Effects {
		byName[e.Effect] = e
	}
	if byName["record"].Result != "recorded ab12" || byName["assess"].Err != nil || len(out.Effects) != 3 {
		t.Fatalf("effects %+v", out.Effects)
	}
	var de *security.DeniedError
	if leak := byName["leak"]; !leak.Denied || !errors.As(leak.Err, &de) {
		t.Fatalf("leak %+v", leak)
	}
	// Again: the side effects do not run twice.
	out, err = d.Dispatch(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range out.Effects {
		if e.Effect != "leak" && !e.Repeated {
			t.Fatalf("%s ran again", e.Effect)
		}
	}
	if recorded.Load() != 1 || assessed.Load() != 1 || vetoed.Load() != 0 {
		t.Fatalf("runs: %d %d %d", recorded.Load(), assessed.Load(), vetoed.Load())
	}
}

func TestDispatchFailures(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, sqlitex.Memory)
	d, _ := handler.New(store)
	boom := errors.New("boom")
	d.Handle("x.y", "ok", func(context.Context, handler.Event) (handler.Result, error) {
		return handler.Result{Effects: []handler.Effect{{Name: "e", Run: func(context.Context, map[string]any) (any, error) {
			t.Error("an effect ran although a handler failed")
			return nil, nil
		}}}}, nil
	})
	d.Handle("x.*", "failing", func(context.Context, handler.Event) (handler.Result, error) { return handler.Result{}, boom })
	_, err := d.Dispatch(ctx, handler.Event{ID: "1", Kind: "x.y"})
	var he *handler.HandlerError
	if !errors.As(err, &he) || he.Handler != "failing" || !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	// Without a boundary, an effect that crosses is denied.
	d2, _ := handler.New(store)
	d2.Handle("x.y", "crossing", func(context.Context, handler.Event) (handler.Result, error) {
		return handler.Result{Effects: []handler.Effect{{Name: "e", Cross: &handler.Crossing{From: security.Web5, To: security.Bitcoin, Action: "a"},
			Run: func(context.Context, map[string]any) (any, error) { t.Error("ran"); return nil, nil }}}}, nil
	})
	out, err := d2.Dispatch(ctx, handler.Event{ID: "2", Kind: "x.y"})
	if err != nil || !out.Effects[0].Denied {
		t.Fatalf("%v %+v", err, out)
	}
	// Refusals.
	if err := d.Handle("bad..pattern", "n", func(context.Context, handler.Event) (handler.Result, error) { return handler.Result{}, nil }); !errors.Is(err, handler.ErrInvalidOption) {
		t.Errorf("bad pattern: %v", err)
	}
	if err := d.Handle("x.y", "ok", func(context.Context, handler.Event) (handler.Result, error) { return handler.Result{}, nil }); !errors.Is(err, handler.ErrInvalidOption) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := d.Dispatch(ctx, handler.Event{Kind: "x.y"}); !errors.Is(err, handler.ErrInvalidOption) {
		t.Errorf("no event ID: %v", err)
	}
	if _, err := handler.New(nil); !errors.Is(err, handler.ErrInvalidOption) {
		t.Errorf("nil store: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d2.Dispatch(cctx, handler.Event{ID: "3", Kind: "x.y"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// A retracted effect returns the result it had, stays in the store marked retracted, and runs
// again on the next Once; an effect never run, or already retracted, has nothing to retract;
// an interrupted one stays interrupted.
func TestStoreRetract(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "effects.db")
	s := openStore(t, path)
	runs := 0
	run := func(context.Context) (any, error) { runs++; return map[string]any{"run": runs}, nil }
	if _, _, err := s.Once(ctx, "ev-1", run); err != nil {
		t.Fatal(err)
	}
	res, ran, err := s.Retract(ctx, "ev-1")
	if err != nil || !ran || res.(map[string]any)["run"] != float64(1) {
		t.Fatalf("Retract: %v %v %v", res, ran, err)
	}
	if _, ran, err := s.Retract(ctx, "ev-1"); ran || err != nil {
		t.Fatalf("retracting twice: %v %v", ran, err)
	}
	if _, ran, err := s.Retract(ctx, "never"); ran || err != nil {
		t.Fatalf("retracting an effect never run: %v %v", ran, err)
	}
	res, ran, err = s.Once(ctx, "ev-1", run)
	if err != nil || !ran || runs != 2 || res.(map[string]any)["run"] != 2 {
		t.Fatalf("Once after Retract: %v %v %v (runs %d)", res, ran, err, runs)
	}
	if res, ran, err := s.Once(ctx, "ev-1", run); err != nil || ran || res.(map[string]any)["run"] != float64(2) {
		t.Fatalf("Once again: %v %v %v", res, ran, err)
	}
	s.Close()
	db, err := sqlitex.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO handler_effects (key, state, claimed_at) VALUES ('cut', 'running', 1700000000000)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = openStore(t, path)
	if _, _, err := s.Retract(ctx, "cut"); !errors.Is(err, handler.ErrInterrupted) {
		t.Fatalf("retracting an interrupted effect: %v", err)
	}
	s.Close()
	if _, _, err := s.Retract(ctx, "ev-1"); !errors.Is(err, handler.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// Retracting an event returns the effects that ran for it, with their results, and lets them
// run again when the event is dispatched again; another event's effects, and a handler whose
// name extends another's, are untouched.
func TestDispatchRetract(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, sqlitex.Memory)
	d, err := handler.New(store)
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	effect := func(name string) handler.Func {
		return func(_ context.Context, ev handler.Event) (handler.Result, error) {
			return handler.Result{Effects: []handler.Effect{{Name: name, Run: func(context.Context, map[string]any) (any, error) {
				return name + " " + ev.ID + " run " + strconv.Itoa(int(runs.Add(1))), nil
			}}}}, nil
		}
	}
	if err := d.Handle("host.>", "h", effect("mail")); err != nil {
		t.Fatal(err)
	}
	if err := d.Handle("host.>", "h\nx", effect("other")); !errors.Is(err, handler.ErrInvalidOption) {
		t.Fatalf("a handler name with a newline: %v", err)
	}
	if err := d.Handle("host.>", "hx", effect("other")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ev-1", "ev-2"} {
		if _, err := d.Dispatch(ctx, handler.Event{ID: id, Kind: "host.event"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Retract(ctx, "ev-1")
	if err != nil || len(got) != 2 {
		t.Fatalf("Retract: %+v %v", got, err)
	}
	if got[0].Handler != "h" || got[0].Effect != "mail" || got[0].Result != "mail ev-1 run 1" ||
		got[1].Handler != "hx" || got[1].Effect != "other" {
		t.Fatalf("retracted %+v", got)
	}
	if again, err := d.Retract(ctx, "ev-1"); err != nil || len(again) != 0 {
		t.Fatalf("retracting twice: %+v %v", again, err)
	}
	out, err := d.Dispatch(ctx, handler.Event{ID: "ev-1", Kind: "host.event"})
	if err != nil || len(out.Effects) != 2 || out.Effects[0].Repeated || out.Effects[1].Repeated {
		t.Fatalf("dispatching the retracted event again: %+v %v", out, err)
	}
	out, err = d.Dispatch(ctx, handler.Event{ID: "ev-2", Kind: "host.event"})
	if err != nil || !out.Effects[0].Repeated || !out.Effects[1].Repeated {
		t.Fatalf("the other event's effects: %+v %v", out, err)
	}
}

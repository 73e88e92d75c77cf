package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/resilience"
)

func TestBreakerOpensAtFailureRate(t *testing.T) {
	cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(10), resilience.MinCalls(4), resilience.FailureRateThreshold(0.5)))
	calls(t, 2, ok, cb)
	calls(t, 1, fail, cb)
	if cb.State() != resilience.StateClosed {
		t.Fatalf("opened below MinCalls: %v", cb.Snapshot())
	}
	calls(t, 1, fail, cb) // 2 of 4 failed: 50%
	if cb.State() != resilience.StateOpen {
		t.Fatalf("state = %v after 2 failures of 4, want open", cb.State())
	}
	if ran := calls(t, 5, ok, cb); ran != 0 {
		t.Fatalf("open breaker let %d calls through", ran)
	}
	err := resilience.Do(context.Background(), ok, cb)
	if !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Fatalf("err = %v, want ErrCircuitOpen", err)
	}
	if s := cb.Snapshot(); s.Rejected != 6 {
		t.Fatalf("Rejected = %d, want 6", s.Rejected)
	}
}

func TestBreakerStaysClosedBelowThreshold(t *testing.T) {
	cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(10), resilience.MinCalls(10), resilience.FailureRateThreshold(0.5)))
	for range 20 { // 40% failures, forever
		calls(t, 3, ok, cb)
		calls(t, 2, fail, cb)
	}
	s := cb.Snapshot()
	if s.State != resilience.StateClosed || s.Calls != 10 || s.Failures != 4 {
		t.Fatalf("snapshot = %+v, want closed with 4 failures in 10 calls", s)
	}
}

func TestBreakerCountWindowSlides(t *testing.T) {
	cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(5), resilience.MinCalls(5), resilience.FailureRateThreshold(0.6)))
	calls(t, 2, fail, cb)
	calls(t, 3, ok, cb) // 2 of 5
	if s := cb.Snapshot(); s.Failures != 2 || s.Calls != 5 {
		t.Fatalf("snapshot = %+v", s)
	}
	calls(t, 2, ok, cb) // the failures slide out
	if s := cb.Snapshot(); s.Failures != 0 || s.FailureRate != 0 {
		t.Fatalf("failures did not slide out: %+v", s)
	}
	calls(t, 3, fail, cb) // 3 of the last 5
	if cb.State() != resilience.StateOpen {
		t.Fatalf("state = %v, want open: %+v", cb.State(), cb.Snapshot())
	}
}

func TestBreakerTimeWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb := must(resilience.NewCircuitBreaker(resilience.TimeWindow(10*time.Second, 10), resilience.MinCalls(4), resilience.FailureRateThreshold(0.5)))
		calls(t, 3, fail, cb)
		time.Sleep(11 * time.Second) // the failures age out
		if s := cb.Snapshot(); s.Calls != 0 || s.Failures != 0 {
			t.Fatalf("failures did not age out: %+v", s)
		}
		calls(t, 3, ok, cb)
		calls(t, 1, fail, cb) // 1 of 4
		if cb.State() != resilience.StateClosed {
			t.Fatalf("opened on old failures: %+v", cb.Snapshot())
		}
		time.Sleep(5 * time.Second)
		calls(t, 2, fail, cb) // 3 of 6 within 10 s
		if cb.State() != resilience.StateOpen {
			t.Fatalf("state = %v, want open: %+v", cb.State(), cb.Snapshot())
		}
	})
}

func TestBreakerTimeWindowBucketsSlide(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb := must(resilience.NewCircuitBreaker(resilience.TimeWindow(4*time.Second, 4), resilience.MinCalls(100)))
		for i := range 6 {
			calls(t, 1, fail, cb)
			if got, want := cb.Snapshot().Calls, min(i+1, 4); got != want {
				t.Fatalf("second %d: calls = %d, want %d", i, got, want)
			}
			time.Sleep(time.Second)
		}
	})
}

func TestBreakerSlowCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(4), resilience.MinCalls(4),
			resilience.SlowCallThreshold(time.Second, 0.5)))
		slow := func(context.Context) error { time.Sleep(2 * time.Second); return nil }
		calls(t, 2, ok, cb)
		calls(t, 1, slow, cb)
		if cb.State() != resilience.StateClosed {
			t.Fatal("opened below MinCalls")
		}
		calls(t, 1, slow, cb)
		s := cb.Snapshot()
		if s.State != resilience.StateOpen {
			t.Fatalf("state = %v after 2 slow calls of 4, want open: %+v", s.State, s)
		}
	})
}

func TestBreakerHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(2), resilience.MinCalls(2),
			resilience.OpenWait(time.Minute), resilience.HalfOpenCalls(2), resilience.WithListener(rec.listen)))
		calls(t, 2, fail, cb)
		if cb.State() != resilience.StateOpen {
			t.Fatal("not open")
		}
		time.Sleep(59 * time.Second)
		if ran := calls(t, 1, ok, cb); ran != 0 {
			t.Fatal("let a call through before the open wait")
		}
		time.Sleep(time.Second)

		// Two probes are let through while they are in flight; a third is refused.
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				_ = resilience.Do(context.Background(), func(context.Context) error { <-release; return nil }, cb)
			})
		}
		synctest.Wait()
		if cb.State() != resilience.StateHalfOpen {
			t.Fatalf("state = %v, want half-open", cb.State())
		}
		if err := resilience.Do(context.Background(), ok, cb); !errors.Is(err, resilience.ErrCircuitOpen) {
			t.Fatalf("third probe: err = %v, want ErrCircuitOpen", err)
		}
		close(release)
		wg.Wait()
		if cb.State() != resilience.StateClosed {
			t.Fatalf("state = %v after successful probes, want closed", cb.State())
		}
		var got []string
		for _, e := range rec.kinds(resilience.EventStateChange) {
			got = append(got, fmt.Sprintf("%v>%v", e.From, e.To))
		}
		want := "[closed>closed closed>open open>half-open half-open>closed]"
		if fmt.Sprint(got) != want {
			t.Fatalf("transitions = %v, want %v", got, want)
		}
	})
}

func TestBreakerHalfOpenFailureReopensWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(1), resilience.MinCalls(1),
			resilience.OpenWait(time.Second), resilience.OpenBackoff(2, 5*time.Second), resilience.HalfOpenCalls(1)))
		calls(t, 1, fail, cb)
		start := time.Now()
		for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
			s := cb.Snapshot()
			if s.State != resilience.StateOpen || s.OpenUntil.Sub(start) != wait {
				t.Fatalf("opening %d: snapshot %+v, want open for %v", i+1, s, wait)
			}
			time.Sleep(wait)
			start = time.Now()
			calls(t, 1, fail, cb) // the probe fails: open again, longer
		}
		time.Sleep(5 * time.Second)
		calls(t, 1, ok, cb) // the probe succeeds: closed, and the backoff resets
		if cb.State() != resilience.StateClosed {
			t.Fatalf("state = %v, want closed", cb.State())
		}
		calls(t, 1, fail, cb)
		if s := cb.Snapshot(); time.Until(s.OpenUntil) != time.Second {
			t.Fatalf("backoff did not reset: open until %v", time.Until(s.OpenUntil))
		}
	})
}

func TestBreakerForcedOpenAndDisabled(t *testing.T) {
	cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(1), resilience.MinCalls(1)))
	cb.ForceOpen()
	if ran := calls(t, 3, ok, cb); ran != 0 || cb.State() != resilience.StateForcedOpen {
		t.Fatalf("forced open: ran %d, state %v", ran, cb.State())
	}
	cb.Disable()
	if ran := calls(t, 3, fail, cb); ran != 3 || cb.State() != resilience.StateDisabled {
		t.Fatalf("disabled: ran %d, state %v", ran, cb.State())
	}
	cb.Reset()
	calls(t, 1, fail, cb)
	if cb.State() != resilience.StateOpen {
		t.Fatalf("after Reset and a failure: state %v, want open", cb.State())
	}
}

type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestBreakerPredicates(t *testing.T) {
	errIgnored := errors.New("ignored")
	cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(4), resilience.MinCalls(4),
		resilience.FailureIf(func(err error) bool { var ce *codeError; return !errors.As(err, &ce) || ce.code >= 500 }),
		resilience.IgnoreIf(func(err error) bool { return errors.Is(err, errIgnored) }),
		resilience.FailureResultIf(func(n int) bool { return n < 0 }),
		resilience.IgnoreResultIf(func(s string) bool { return s == "" }),
	))
	ctx := context.Background()
	_ = resilience.Do(ctx, func(context.Context) error { return &codeError{404} }, cb) // success
	_ = resilience.Do(ctx, func(context.Context) error { return errIgnored }, cb)      // ignored
	_, _ = resilience.Get(ctx, func(context.Context) (string, error) { return "", nil }, cb)
	_, _ = resilience.Get(ctx, func(context.Context) (int, error) { return -1, nil }, cb)     // failure
	_, _ = resilience.Get(ctx, func(context.Context) (string, error) { return "x", nil }, cb) // success
	s := cb.Snapshot()
	if s.Calls != 3 || s.Failures != 1 {
		t.Fatalf("snapshot = %+v, want 3 calls with 1 failure", s)
	}
	_ = resilience.Do(ctx, func(context.Context) error { return &codeError{503} }, cb) // failure: 2 of 4
	if cb.State() != resilience.StateOpen {
		t.Fatalf("state = %v, want open: %+v", cb.State(), cb.Snapshot())
	}
}

func TestBreakerIgnoresCallerCancellation(t *testing.T) {
	cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(2), resilience.MinCalls(1)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 5 {
		err := resilience.Do(ctx, func(ctx context.Context) error { return fmt.Errorf("rpc: %w", ctx.Err()) }, cb)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	}
	// context.Canceled from below, with the caller's context alive, is not counted either.
	_ = resilience.Do(context.Background(), func(context.Context) error { return context.Canceled }, cb)
	if s := cb.Snapshot(); s.State != resilience.StateClosed || s.Calls != 0 {
		t.Fatalf("cancellations counted: %+v", s)
	}
}

func TestBreakerHalfOpenCancellationReturnsPermit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(1), resilience.MinCalls(1),
			resilience.OpenWait(time.Second), resilience.HalfOpenCalls(1)))
		calls(t, 1, fail, cb)
		time.Sleep(time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = resilience.Do(ctx, func(ctx context.Context) error { return ctx.Err() }, cb)
		if cb.State() != resilience.StateHalfOpen {
			t.Fatalf("state = %v, want half-open", cb.State())
		}
		if ran := calls(t, 1, ok, cb); ran != 1 {
			t.Fatal("the cancelled probe kept its permit")
		}
		if cb.State() != resilience.StateClosed {
			t.Fatalf("state = %v, want closed", cb.State())
		}
	})
}

func TestBreakerCountsTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(2), resilience.MinCalls(2)))
		to := must(resilience.NewTimeout(time.Second))
		hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
		for range 2 {
			if err := resilience.Do(context.Background(), hang, cb, to); !errors.Is(err, resilience.ErrTimeout) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
		}
		if cb.State() != resilience.StateOpen {
			t.Fatalf("timeouts not counted: %+v", cb.Snapshot())
		}
	})
}

func TestBreakerPanicCountsAsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(1), resilience.MinCalls(1),
			resilience.OpenWait(time.Second), resilience.HalfOpenCalls(1)))
		calls(t, 1, fail, cb)
		time.Sleep(time.Second)
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("the panic was swallowed")
				}
			}()
			_ = resilience.Do(context.Background(), func(context.Context) error { panic("probe") }, cb)
		}()
		// The panicking probe failed: open again, not stuck half-open with its permit gone.
		if s := cb.Snapshot(); s.State != resilience.StateOpen {
			t.Fatalf("after a panicking probe: %+v", s)
		}
	})
}

func TestBreakerListenersGetInitialState(t *testing.T) {
	var a, b recorder
	cb := must(resilience.NewCircuitBreaker(resilience.WithName("bitcoin"), resilience.WithListener(a.listen), resilience.WithListener(b.listen)))
	for _, r := range []*recorder{&a, &b} {
		got := r.kinds(resilience.EventStateChange)
		if len(got) != 1 || !got[0].Initial || got[0].To != resilience.StateClosed || got[0].Name != "bitcoin" ||
			got[0].Policy != resilience.KindCircuitBreaker || got[0].Time.IsZero() {
			t.Fatalf("initial events = %+v", got)
		}
	}
	cb.ForceOpen()
	_ = resilience.Do(context.Background(), ok, cb)
	if got := a.kinds(resilience.EventRejected); len(got) != 1 || !errors.Is(got[0].Err, resilience.ErrCircuitOpen) {
		t.Fatalf("rejections = %+v", got)
	}
}

func TestBreakerGuardsManyResultTypes(t *testing.T) {
	cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(3), resilience.MinCalls(3)))
	ctx := context.Background()
	n, err := resilience.Get(ctx, func(context.Context) (int, error) { return 7, nil }, cb)
	if n != 7 || err != nil {
		t.Fatal(n, err)
	}
	s, err := resilience.Get(ctx, func(context.Context) (string, error) { return "", errBoom }, cb)
	if s != "" || !errors.Is(err, errBoom) {
		t.Fatal(s, err)
	}
	type block struct{ height int }
	bl, err := resilience.Get(ctx, func(context.Context) (*block, error) { return &block{432}, nil }, cb)
	if bl.height != 432 || err != nil {
		t.Fatal(bl, err)
	}
	if snap := cb.Snapshot(); snap.Calls != 3 || snap.Failures != 1 {
		t.Fatalf("snapshot = %+v", snap)
	}
}

func TestBreakerConcurrent(t *testing.T) {
	cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(64), resilience.MinCalls(64), resilience.FailureRateThreshold(1)))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				if (g+i)%4 == 0 {
					calls(t, 1, fail, cb)
				} else {
					calls(t, 1, ok, cb)
				}
			}
		})
	}
	wg.Wait()
	s := cb.Snapshot()
	if s.State != resilience.StateClosed || s.Calls != 64 || s.Failures < 0 || s.Failures > 64 {
		t.Fatalf("snapshot = %+v", s)
	}
	// The window holds the last 64 outcomes: push 64 successes and it must read zero failures.
	calls(t, 64, ok, cb)
	if s := cb.Snapshot(); s.Failures != 0 || s.Calls != 64 {
		t.Fatalf("counts drifted from the slots: %+v", s)
	}
}

func TestBreakerInvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		field string
		opt   resilience.Option
	}{
		{"CountWindow", resilience.CountWindow(0)},
		{"CountWindow", resilience.CountWindow(-5)},
		{"TimeWindow", resilience.TimeWindow(0, 10)},
		{"TimeWindow", resilience.TimeWindow(time.Second, 0)},
		{"TimeWindow", resilience.TimeWindow(5, 10)},
		{"MinCalls", resilience.MinCalls(0)},
		{"MinCalls", resilience.MinCalls(101)},
		{"FailureRateThreshold", resilience.FailureRateThreshold(0)},
		{"FailureRateThreshold", resilience.FailureRateThreshold(1.5)},
		{"FailureRateThreshold", resilience.FailureRateThreshold(-0.1)},
		{"SlowCallThreshold", resilience.SlowCallThreshold(-time.Second, 0.5)},
		{"SlowCallThreshold", resilience.SlowCallThreshold(time.Second, 2)},
		{"OpenWait", resilience.OpenWait(0)},
		{"OpenBackoff", resilience.OpenBackoff(0.5, time.Hour)},
		{"OpenBackoff", resilience.OpenBackoff(2, time.Second)},
		{"HalfOpenCalls", resilience.HalfOpenCalls(0)},
		{"WithClock", resilience.WithClock(nil)},
		{"WithLogger", resilience.WithLogger(nil)},
		{"WithListener", resilience.WithListener(nil)},
		{"WithName", resilience.WithName("a\nb")},
		{"MaxAttempts", resilience.MaxAttempts(3)},
		{"BulkheadQueue", resilience.BulkheadQueue(1)},
	} {
		cb, err := resilience.NewCircuitBreaker(tc.opt)
		if cb != nil {
			t.Errorf("%s: got a breaker with an invalid configuration", tc.field)
		}
		wantOptionError(t, err, tc.field)
	}
}

func TestInvalidPolicies(t *testing.T) {
	ctx := context.Background()
	var nilBreaker *resilience.CircuitBreaker
	if err := resilience.Do(ctx, ok, nilBreaker); !errors.Is(err, resilience.ErrInvalidPolicy) {
		t.Fatalf("nil breaker: %v", err)
	}
	if err := resilience.Do(ctx, ok, nil); !errors.Is(err, resilience.ErrInvalidPolicy) {
		t.Fatalf("nil policy: %v", err)
	}
	fb := must(resilience.FallbackValue("x"))
	if _, err := resilience.Get(ctx, func(context.Context) (int, error) { return 1, nil }, fb); !errors.Is(err, resilience.ErrInvalidPolicy) {
		t.Fatalf("fallback of another type: %v", err)
	}
	if err := resilience.Do(ctx, nil); !errors.Is(err, resilience.ErrNilFunc) {
		t.Fatalf("nil func: %v", err)
	}
	if _, err := resilience.Get[int](ctx, nil); !errors.Is(err, resilience.ErrNilFunc) {
		t.Fatalf("nil func: %v", err)
	}
}

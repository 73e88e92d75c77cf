package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/resilience"
)

func hang(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		to := must(resilience.NewTimeout(2*time.Second, resilience.WithListener(rec.listen)))
		start := time.Now()
		err := resilience.Do(context.Background(), hang, to)
		var te *resilience.TimeoutError
		if !errors.As(err, &te) || te.Timeout != 2*time.Second || !errors.Is(err, resilience.ErrTimeout) ||
			!errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
		if e := rec.kinds(resilience.EventTimeout); len(e) != 1 || e[0].Delay != 2*time.Second {
			t.Fatalf("timeout events = %+v", e)
		}
		// A call within the timeout is untouched.
		if err := resilience.Do(context.Background(), func(context.Context) error { time.Sleep(time.Second); return errBoom }, to); err != errBoom {
			t.Fatalf("err = %v, want the call's", err)
		}
		// The caller's own deadline is the caller's: ctx.Err(), not a TimeoutError.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := resilience.Do(ctx, hang, to); err != context.DeadlineExceeded || errors.Is(err, resilience.ErrTimeout) {
			t.Fatalf("caller deadline: err = %v", err)
		}
	})
}

func TestTimeoutInsideRetryBoundsEachAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := must(resilience.NewTimeout(time.Second))
		r := must(resilience.NewRetry(resilience.MaxAttempts(3), resilience.Backoff(0, 0)))
		n := 0
		start := time.Now()
		err := resilience.Do(context.Background(), func(ctx context.Context) error {
			n++
			if n < 3 {
				return hang(ctx)
			}
			return nil
		}, r, to)
		if err != nil || n != 3 || time.Since(start) != 2*time.Second {
			t.Fatalf("err=%v attempts=%d elapsed=%v", err, n, time.Since(start))
		}
	})
}

func TestBulkhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		bh := must(resilience.NewBulkhead(2, resilience.BulkheadQueue(1), resilience.WithListener(rec.listen)))
		release := make(chan struct{})
		var running atomic.Int32
		var wg sync.WaitGroup
		blocked := func(context.Context) error {
			running.Add(1)
			defer running.Add(-1)
			<-release
			return nil
		}
		for range 3 { // two run, one waits
			wg.Go(func() { _ = resilience.Do(context.Background(), blocked, bh) })
		}
		synctest.Wait()
		if running.Load() != 2 || bh.InFlight() != 2 || bh.Waiting() != 1 {
			t.Fatalf("running %d, in flight %d, waiting %d", running.Load(), bh.InFlight(), bh.Waiting())
		}
		if err := resilience.Do(context.Background(), ok, bh); err != resilience.ErrBulkheadFull {
			t.Fatalf("fourth call: err = %v, want ErrBulkheadFull", err)
		}
		if len(rec.kinds(resilience.EventRejected)) != 1 {
			t.Fatal("no rejection event")
		}
		close(release)
		wg.Wait()
		if bh.InFlight() != 0 || bh.Waiting() != 0 {
			t.Fatalf("slots leaked: in flight %d, waiting %d", bh.InFlight(), bh.Waiting())
		}
	})
}

func TestBulkheadWaitEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := must(resilience.NewBulkhead(1, resilience.BulkheadQueue(5), resilience.BulkheadMaxWait(time.Second)))
		release := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = resilience.Do(context.Background(), func(context.Context) error { <-release; return nil }, bh)
		}()
		synctest.Wait()
		start := time.Now()
		if err := resilience.Do(context.Background(), ok, bh); err != resilience.ErrBulkheadFull || time.Since(start) != time.Second {
			t.Fatalf("err = %v after %v, want ErrBulkheadFull after 1s", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := resilience.Do(ctx, ok, bh); err != context.DeadlineExceeded {
			t.Fatalf("err = %v, want ctx.Err()", err)
		}
		close(release)
		<-done
		if err := resilience.Do(context.Background(), ok, bh); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBulkheadReleasesOnPanic(t *testing.T) {
	bh := must(resilience.NewBulkhead(1))
	func() {
		defer func() { _ = recover() }()
		_ = resilience.Do(context.Background(), func(context.Context) error { panic("x") }, bh)
	}()
	if err := resilience.Do(context.Background(), ok, bh); err != nil {
		t.Fatalf("slot leaked by a panic: %v", err)
	}
}

func TestRateLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rl := must(resilience.NewRateLimiter(1, 2))
		if ran := calls(t, 3, ok, rl); ran != 2 {
			t.Fatalf("%d calls through a burst of 2", ran)
		}
		if err := resilience.Do(context.Background(), ok, rl); err != resilience.ErrRateLimited {
			t.Fatalf("err = %v, want ErrRateLimited", err)
		}
		time.Sleep(time.Second)
		if ran := calls(t, 2, ok, rl); ran != 1 {
			t.Fatalf("%d calls after a second at 1/s", ran)
		}
	})
}

func TestRateLimiterWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rl := must(resilience.NewRateLimiter(2, 1, resilience.RateLimiterMaxWait(time.Second)))
		start := time.Now()
		for i := range 3 {
			if err := resilience.Do(context.Background(), ok, rl); err != nil {
				t.Fatal(i, err)
			}
		}
		if time.Since(start) != time.Second {
			t.Fatalf("3 calls at 2/s took %v, want 1s", time.Since(start))
		}
		// A wait longer than the maximum is refused at once, and gives its reservation back.
		rl = must(resilience.NewRateLimiter(0.5, 1, resilience.RateLimiterMaxWait(time.Second)))
		_ = resilience.Do(context.Background(), ok, rl)
		start = time.Now()
		if err := resilience.Do(context.Background(), ok, rl); err != resilience.ErrRateLimited || time.Since(start) != 0 {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		time.Sleep(1500 * time.Millisecond)
		if err := resilience.Do(ctx, ok, rl); err != context.Canceled {
			t.Fatalf("err = %v, want ctx.Err()", err)
		}
		time.Sleep(500 * time.Millisecond)
		if err := resilience.Do(context.Background(), ok, rl); err != nil {
			t.Fatalf("the cancelled wait kept its token: %v", err)
		}
	})
}

func TestFallback(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	fb := must(resilience.FallbackValue(42, resilience.WithListener(rec.listen)))
	n, err := resilience.Get(ctx, func(context.Context) (int, error) { return 0, errBoom }, fb)
	if n != 42 || err != nil {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if e := rec.kinds(resilience.EventFallback); len(e) != 1 || e[0].Err != errBoom {
		t.Fatalf("events = %+v", e)
	}
	n, err = resilience.Get(ctx, func(context.Context) (int, error) { return 7, nil }, fb)
	if n != 7 || err != nil {
		t.Fatalf("success replaced: n=%d err=%v", n, err)
	}
	errNotFound := errors.New("not found")
	fn := must(resilience.NewFallback(func(_ context.Context, err error) (string, error) {
		return "", fmt.Errorf("degraded: %w", err)
	}, resilience.FallbackIf(func(err error) bool { return !errors.Is(err, errNotFound) })))
	if _, err := resilience.Get(ctx, func(context.Context) (string, error) { return "", errBoom }, fn); err == nil || err.Error() != "degraded: boom" {
		t.Fatalf("err = %v", err)
	}
	if _, err := resilience.Get(ctx, func(context.Context) (string, error) { return "", errNotFound }, fn); err != errNotFound {
		t.Fatalf("FallbackIf ignored: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := resilience.Get(cctx, func(ctx context.Context) (int, error) { return 0, ctx.Err() }, fb); err != context.Canceled {
		t.Fatalf("caller cancellation replaced: %v", err)
	}
	_, err = resilience.NewFallback[int](nil)
	wantOptionError(t, err, "fn")
}

func TestFallbackAroundRetryAndBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fb := must(resilience.NewFallback(func(_ context.Context, err error) (struct{}, error) {
			if errors.Is(err, resilience.ErrCircuitOpen) {
				return struct{}{}, nil
			}
			return struct{}{}, err
		}))
		r := must(resilience.NewRetry(resilience.MaxAttempts(5)))
		cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(2), resilience.MinCalls(2)))
		ran := calls(t, 1, fail, fb, r, cb)
		// Two attempts fail and open the breaker; the third is refused by it; the retry goes on
		// until its attempts are spent; the fallback turns the open circuit into success.
		if ran != 2 || cb.State() != resilience.StateOpen {
			t.Fatalf("ran %d, state %v", ran, cb.State())
		}
		if err := resilience.Do(context.Background(), fail, fb, r, cb); err != nil {
			t.Fatalf("fallback did not replace ErrCircuitOpen: %v", err)
		}
	})
}

func TestHedgeSecondAttemptWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		h := must(resilience.NewHedge(100*time.Millisecond, resilience.WithListener(rec.listen)))
		var n atomic.Int32
		var loserErr error
		start := time.Now()
		v, err := resilience.Hedged(context.Background(), h, func(ctx context.Context) (string, error) {
			if n.Add(1) == 1 { // the first attempt is stuck
				loserErr = hang(ctx)
				return "", loserErr
			}
			time.Sleep(10 * time.Millisecond)
			return "second", nil
		})
		if v != "second" || err != nil || time.Since(start) != 110*time.Millisecond {
			t.Fatalf("v=%q err=%v after %v", v, err, time.Since(start))
		}
		if loserErr != context.Canceled {
			t.Fatalf("loser ended with %v, want cancelled", loserErr)
		}
		if e := rec.kinds(resilience.EventHedge); len(e) != 1 || e[0].Attempt != 2 {
			t.Fatalf("hedge events = %+v", e)
		}
	})
}

func TestHedgeFastFirstAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := must(resilience.NewHedge(time.Second, resilience.HedgeAttempts(3)))
		var n atomic.Int32
		err := h.Do(context.Background(), func(context.Context) error { n.Add(1); time.Sleep(500 * time.Millisecond); return errBoom })
		if err != errBoom || n.Load() != 1 {
			t.Fatalf("err = %v, attempts %d: a first result before the delay wins alone", err, n.Load())
		}
	})
}

func TestHedgeAttemptsAndPolicies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := must(resilience.NewHedge(time.Second, resilience.HedgeAttempts(3)))
		cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(10), resilience.MinCalls(10)))
		var n atomic.Int32
		start := time.Now()
		v, err := resilience.Hedged(context.Background(), h, func(ctx context.Context) (int, error) {
			i := n.Add(1)
			if i < 3 {
				return 0, hang(ctx)
			}
			return int(i), nil
		}, cb)
		if v != 3 || err != nil || time.Since(start) != 2*time.Second {
			t.Fatalf("v=%d err=%v after %v", v, err, time.Since(start))
		}
		// The losers were cancelled by the hedge, not by the caller: their ctx errors are the
		// callee's cancellation, which the breaker ignores.
		if s := cb.Snapshot(); s.Calls != 1 || s.Failures != 0 {
			t.Fatalf("breaker saw %+v", s)
		}
	})
}

func TestHedgeCallerCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := must(resilience.NewHedge(time.Second))
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		var n atomic.Int32
		_, err := resilience.Hedged(ctx, h, func(ctx context.Context) (int, error) { n.Add(1); return 0, hang(ctx) })
		if err != context.DeadlineExceeded || n.Load() != 2 {
			t.Fatalf("err = %v, attempts %d", err, n.Load())
		}
	})
}

func TestHedgeInvalid(t *testing.T) {
	_, err := resilience.NewHedge(-time.Second)
	wantOptionError(t, err, "delay")
	_, err = resilience.NewHedge(time.Second, resilience.HedgeAttempts(0))
	wantOptionError(t, err, "HedgeAttempts")
	if _, err := resilience.Hedged[int](context.Background(), nil, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, resilience.ErrInvalidPolicy) {
		t.Fatal(err)
	}
}

func TestPolicyInvalidConfig(t *testing.T) {
	_, err := resilience.NewTimeout(0)
	wantOptionError(t, err, "d")
	_, err = resilience.NewBulkhead(0)
	wantOptionError(t, err, "maxConcurrent")
	_, err = resilience.NewBulkhead(1, resilience.BulkheadQueue(-1))
	wantOptionError(t, err, "BulkheadQueue")
	_, err = resilience.NewBulkhead(1, resilience.BulkheadMaxWait(-1))
	wantOptionError(t, err, "BulkheadMaxWait")
	_, err = resilience.NewRateLimiter(0, 1)
	wantOptionError(t, err, "perSecond")
	_, err = resilience.NewRateLimiter(1, 0)
	wantOptionError(t, err, "burst")
	_, err = resilience.NewRateLimiter(1, 1, resilience.RateLimiterMaxWait(-1))
	wantOptionError(t, err, "RateLimiterMaxWait")
}

func TestRegistry(t *testing.T) {
	var created atomic.Int32
	reg := must(resilience.NewRegistry(func(key string) (*resilience.CircuitBreaker, error) {
		created.Add(1)
		if key == "" {
			return nil, errors.New("empty key")
		}
		return resilience.NewCircuitBreaker(resilience.WithName(key))
	}))
	var wg sync.WaitGroup
	got := make([]*resilience.CircuitBreaker, 64)
	for i := range got {
		wg.Go(func() { got[i] = must(reg.Get([]string{"bitcoin", "web5", "ml"}[i%3])) })
	}
	wg.Wait()
	if created.Load() != 3 || reg.Len() != 3 {
		t.Fatalf("created %d, len %d, want 3", created.Load(), reg.Len())
	}
	for i, cb := range got {
		if cb != got[i%3] || cb.Name() != []string{"bitcoin", "web5", "ml"}[i%3] {
			t.Fatalf("key %d got another breaker", i)
		}
	}
	if _, err := reg.Get(""); err == nil || reg.Len() != 3 {
		t.Fatalf("constructor error: %v, len %d", err, reg.Len())
	}
	names := map[string]bool{}
	for k, cb := range reg.All() {
		names[k] = cb.Name() == k
	}
	if len(names) != 3 || !names["web5"] {
		t.Fatalf("All = %v", names)
	}
	_, err := resilience.NewRegistry[string, *resilience.Retry](nil)
	wantOptionError(t, err, "newPolicy")
}

func TestBreakerRegistry(t *testing.T) {
	rec := &recorder{}
	reg := must(resilience.NewBreakerRegistry(resilience.CountWindow(1), resilience.MinCalls(1), resilience.WithListener(rec.listen)))
	btc := must(reg.Get("bitcoin"))
	web5 := must(reg.Get("web5"))
	calls(t, 1, fail, btc)
	if btc.State() != resilience.StateOpen || web5.State() != resilience.StateClosed {
		t.Fatal("breakers share state")
	}
	names := map[string]bool{}
	for _, e := range rec.kinds(resilience.EventStateChange) {
		names[e.Name] = true
	}
	if !names["bitcoin"] || !names["web5"] {
		t.Fatalf("events named %v", names)
	}
	_, err := resilience.NewBreakerRegistry(resilience.MinCalls(0))
	wantOptionError(t, err, "MinCalls")
}

func TestEventTopics(t *testing.T) {
	for _, tc := range []struct {
		e    resilience.Event
		want string
	}{
		{resilience.Event{Kind: resilience.EventStateChange, Policy: resilience.KindCircuitBreaker}, "resilience.circuit-breaker.state"},
		{resilience.Event{Kind: resilience.EventGiveUp, Policy: resilience.KindRetry}, "resilience.retry.give-up"},
		{resilience.Event{Kind: resilience.EventRejected, Policy: resilience.KindRateLimiter}, "resilience.rate-limiter.rejected"},
	} {
		if got := tc.e.Topic(); got != tc.want {
			t.Errorf("Topic() = %q, want %q", got, tc.want)
		}
	}
}

package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/resilience"
)

// attemptTimes runs a call that fails failures times through ps and returns when each attempt
// started, relative to the first, and the call's error.
func attemptTimes(failures int, err error, ps ...resilience.Policy) ([]time.Duration, error) {
	var at []time.Duration
	start := time.Now()
	got := resilience.Do(context.Background(), func(context.Context) error {
		at = append(at, time.Since(start))
		if len(at) <= failures {
			return err
		}
		return nil
	}, ps...)
	return at, got
}

func TestRetrySucceedsAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := must(resilience.NewRetry(resilience.MaxAttempts(5)))
		at, err := attemptTimes(3, errBoom, r)
		if err != nil || len(at) != 4 {
			t.Fatalf("err = %v after %d attempts, want success on the 4th", err, len(at))
		}
	})
}

func TestRetryGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		r := must(resilience.NewRetry(resilience.MaxAttempts(3), resilience.WithListener(rec.listen)))
		last := &codeError{503}
		at, err := attemptTimes(10, last, r)
		if len(at) != 3 {
			t.Fatalf("%d attempts, want 3", len(at))
		}
		var re *resilience.RetryError
		if !errors.As(err, &re) || re.Attempts != 3 {
			t.Fatalf("err = %v, want a RetryError after 3 attempts", err)
		}
		var ce *codeError
		if !errors.Is(err, resilience.ErrRetriesExhausted) || !errors.As(err, &ce) || ce != last {
			t.Fatalf("%v does not wrap the reason and the last failure", err)
		}
		if want := "resilience: retries exhausted after 3 attempts: code 503"; err.Error() != want {
			t.Fatalf("message %q, want %q", err.Error(), want)
		}
		if n := len(rec.kinds(resilience.EventRetry)); n != 2 {
			t.Fatalf("%d retry events, want 2", n)
		}
		if g := rec.kinds(resilience.EventGiveUp); len(g) != 1 || g[0].Attempt != 3 || !errors.As(g[0].Err, &re) {
			t.Fatalf("give-up events = %+v", g)
		}
	})
}

func TestRetryExponentialBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := must(resilience.NewRetry(resilience.MaxAttempts(6), resilience.Backoff(100*time.Millisecond, time.Second), resilience.WithoutJitter()))
		at, _ := attemptTimes(10, errBoom, r)
		want := []time.Duration{0, 100, 300, 700, 1500, 2500} // waits 100, 200, 400, 800, 1000 (capped)
		for i := range want {
			want[i] *= time.Millisecond
		}
		if fmt.Sprint(at) != fmt.Sprint(want) {
			t.Fatalf("attempts at %v, want %v", at, want)
		}
	})
}

func TestRetryFullJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var delays []time.Duration
		r := must(resilience.NewRetry(resilience.MaxAttempts(0), resilience.MaxElapsed(time.Hour*1000),
			resilience.Backoff(time.Second, 4*time.Second), resilience.WithListener(func(e resilience.Event) {
				if e.Kind == resilience.EventRetry {
					delays = append(delays, e.Delay)
				}
			})))
		_, _ = attemptTimes(4000, errBoom, r)
		// Waits 2.. are drawn from [0, min(4s, 1s·2^(n-1))]; from the third on the cap is 4s.
		var sum time.Duration
		for i, d := range delays {
			limit := min(time.Second<<min(i, 3), 4*time.Second)
			if d < 0 || d > limit {
				t.Fatalf("wait %d = %v, outside [0, %v]", i+1, d, limit)
			}
			if i >= 2 {
				sum += d
			}
		}
		mean := sum / time.Duration(len(delays)-2)
		if math.Abs(float64(mean-2*time.Second)) > float64(200*time.Millisecond) {
			t.Fatalf("mean capped wait %v, want about 2s for a uniform draw", mean)
		}
	})
}

func TestRetryMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := must(resilience.NewRetry(resilience.MaxAttempts(0), resilience.MaxElapsed(time.Second),
			resilience.Backoff(300*time.Millisecond, 300*time.Millisecond), resilience.WithoutJitter()))
		at, err := attemptTimes(100, errBoom, r)
		if len(at) != 4 || !errors.Is(err, resilience.ErrMaxElapsed) {
			t.Fatalf("attempts at %v, err %v: want 4 attempts then ErrMaxElapsed", at, err)
		}
	})
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := must(resilience.NewRetry(resilience.Backoff(time.Millisecond, time.Millisecond)))
		at, err := attemptTimes(1, resilience.WithRetryAfter(errBoom, 7*time.Second), r)
		if err != nil || len(at) != 2 || at[1] != 7*time.Second {
			t.Fatalf("attempts at %v, err %v: want the second at 7s", at, err)
		}
	})
}

func TestRetryDelayFuncSeesErrorAndResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := must(resilience.NewRetry(resilience.MaxAttempts(3),
			resilience.RetryResultIf(func(n int) bool { return n < 0 }),
			resilience.DelayFunc(func(attempt int, n int, err error) time.Duration {
				if err != nil {
					return 5 * time.Second
				}
				return time.Duration(-n) * time.Second
			})))
		results := []int{-3, 0}
		errs := []error{nil, nil}
		i := 0
		start := time.Now()
		var at []time.Duration
		n, err := resilience.Get(context.Background(), func(context.Context) (int, error) {
			at = append(at, time.Since(start))
			if i == 0 {
				i++
				return 0, errBoom
			}
			v, e := results[i-1], errs[i-1]
			i++
			return v, e
		}, r)
		if err != nil || n != 0 || fmt.Sprint(at) != "[0s 5s 8s]" {
			t.Fatalf("n=%d err=%v attempts at %v, want success at [0s 5s 8s]", n, err, at)
		}
	})
}

func TestRetryResultRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := must(resilience.NewRetry(resilience.MaxAttempts(2), resilience.RetryResultIf(func(s string) bool { return s == "pending" })))
		s, err := resilience.Get(context.Background(), func(context.Context) (string, error) { return "pending", nil }, r)
		var re *resilience.RetryError
		if s != "pending" || !errors.As(err, &re) || re.Attempts != 2 || !errors.Is(err, resilience.ErrResultRejected) {
			t.Fatalf("s=%q err=%v", s, err)
		}
	})
}

func TestRetryClassification(t *testing.T) {
	errRetry := errors.New("retry me")
	errAbort := errors.New("abort")
	for _, tc := range []struct {
		name     string
		opts     []resilience.Option
		err      error
		attempts int
	}{
		{"default retries all", nil, errBoom, 3},
		{"RetryOn matches", []resilience.Option{resilience.RetryOn(errRetry)}, fmt.Errorf("wrapped: %w", errRetry), 3},
		{"RetryOn misses", []resilience.Option{resilience.RetryOn(errRetry)}, errBoom, 1},
		{"RetryOnType matches", []resilience.Option{resilience.RetryOnType[*codeError]()}, fmt.Errorf("x: %w", &codeError{1}), 3},
		{"RetryOnType misses", []resilience.Option{resilience.RetryOnType[*codeError]()}, io.EOF, 1},
		{"RetryIf", []resilience.Option{resilience.RetryIf(func(err error) bool { return err == io.EOF })}, io.EOF, 3},
		{"AbortOn wins", []resilience.Option{resilience.RetryOn(errAbort), resilience.AbortOn(errAbort)}, errAbort, 1},
		{"AbortIf", []resilience.Option{resilience.AbortIf(func(error) bool { return true })}, errBoom, 1},
		{"Permanent", nil, resilience.Permanent(errBoom), 1},
		{"Canceled from below", nil, fmt.Errorf("rpc: %w", context.Canceled), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := must(resilience.NewRetry(append(tc.opts, resilience.MaxAttempts(3))...))
				at, err := attemptTimes(10, tc.err, r)
				if len(at) != tc.attempts {
					t.Fatalf("%d attempts, want %d", len(at), tc.attempts)
				}
				want := resilience.ErrRetriesExhausted
				if tc.attempts == 1 {
					want = resilience.ErrNotRetryable
				}
				if !errors.Is(err, want) || !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v wrapping %v", err, want, tc.err)
				}
			})
		})
	}
}

func TestRetryBudgetCapsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget := must(resilience.NewRetryBudget(0.1, 2))
		r := must(resilience.NewRetry(resilience.MaxAttempts(5), resilience.WithBudget(budget)))
		attempts, exhausted := 0, 0
		for range 100 {
			err := resilience.Do(context.Background(), func(context.Context) error { attempts++; return errBoom }, r)
			if errors.Is(err, resilience.ErrBudgetExhausted) {
				exhausted++
			}
		}
		retries := attempts - 100
		if retries > 12 || retries < 10 {
			t.Fatalf("%d retries for 100 calls, want at most 0.1×100+2 and close to it", retries)
		}
		if exhausted < 90 {
			t.Fatalf("only %d calls gave up for the budget", exhausted)
		}
		// A healthy stretch refills the budget.
		for range 30 {
			_ = resilience.Do(context.Background(), ok, r)
		}
		if got := budget.Available(); got != 2 {
			t.Fatalf("budget = %v after successes, want full (2)", got)
		}
	})
}

func TestRetryCancelledDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := must(resilience.NewRetry(resilience.Backoff(time.Hour, time.Hour), resilience.WithoutJitter()))
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(time.Minute); cancel() }()
		start := time.Now()
		err := resilience.Do(ctx, fail, r)
		if err != context.Canceled || time.Since(start) != time.Minute {
			t.Fatalf("err = %v after %v, want context.Canceled after 1m", err, time.Since(start))
		}
	})
}

func TestRetryStopsWhenCallerCancels(t *testing.T) {
	r := must(resilience.NewRetry(resilience.MaxAttempts(5)))
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := resilience.Do(ctx, func(ctx context.Context) error { n++; cancel(); return errBoom }, r)
	if n != 1 || err != context.Canceled {
		t.Fatalf("%d attempts, err %v: want 1 attempt and ctx.Err()", n, err)
	}
}

func TestRetryInvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		field string
		opts  []resilience.Option
	}{
		{"MaxAttempts", []resilience.Option{resilience.MaxAttempts(-1)}},
		{"MaxAttempts", []resilience.Option{resilience.MaxAttempts(0)}},
		{"MaxElapsed", []resilience.Option{resilience.MaxElapsed(-time.Second)}},
		{"Backoff", []resilience.Option{resilience.Backoff(-1, time.Second)}},
		{"Backoff", []resilience.Option{resilience.Backoff(time.Second, time.Millisecond)}},
		{"BackoffMultiplier", []resilience.Option{resilience.BackoffMultiplier(0.9)}},
		{"BackoffMultiplier", []resilience.Option{resilience.BackoffMultiplier(math.NaN())}},
		{"RetryIf", []resilience.Option{resilience.RetryIf(nil)}},
		{"AbortIf", []resilience.Option{resilience.AbortIf(nil)}},
		{"WithBudget", []resilience.Option{resilience.WithBudget(&resilience.RetryBudget{})}},
		{"CountWindow", []resilience.Option{resilience.CountWindow(10)}},
		{"HedgeAttempts", []resilience.Option{resilience.MaxAttempts(2), resilience.HedgeAttempts(2)}},
	} {
		r, err := resilience.NewRetry(tc.opts...)
		if r != nil {
			t.Errorf("%s: got a retry", tc.field)
		}
		wantOptionError(t, err, tc.field)
	}
	_, err := resilience.NewRetryBudget(0, 1)
	wantOptionError(t, err, "ratio")
	_, err = resilience.NewRetryBudget(math.Inf(1), 1)
	wantOptionError(t, err, "ratio")
	_, err = resilience.NewRetryBudget(0.1, 0)
	wantOptionError(t, err, "burst")
}

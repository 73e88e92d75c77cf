package resilience_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/resilience"
)

// The zero CircuitBreaker and Retry work as their constructors' defaults; the other policies
// refuse calls with an error naming their constructor. No exported method panics.
func TestZeroValues(t *testing.T) {
	ctx := context.Background()

	t.Run("CircuitBreaker", func(t *testing.T) {
		var cb resilience.CircuitBreaker
		if cb.Name() != "" || cb.State() != resilience.StateClosed {
			t.Fatalf("zero breaker: name %q, state %v", cb.Name(), cb.State())
		}
		// The defaults: a count window of 100 judged from 10 calls at a 50% failure rate.
		if ran := calls(t, resilience.DefaultMinCalls, fail, &cb); ran != resilience.DefaultMinCalls {
			t.Fatalf("ran %d", ran)
		}
		if s := cb.Snapshot(); s.State != resilience.StateOpen || s.Calls != 0 {
			t.Fatalf("after %d failures: %+v", resilience.DefaultMinCalls, s)
		}
		if err := resilience.Do(ctx, ok, &cb); !errors.Is(err, resilience.ErrCircuitOpen) {
			t.Fatalf("open zero breaker: %v", err)
		}
		cb.Reset()
		cb.Disable()
		if cb.State() != resilience.StateDisabled {
			t.Fatal(cb.State())
		}
		var other resilience.CircuitBreaker
		other.ForceOpen()
		if _, err := resilience.Get(ctx, succeed, &other); !errors.Is(err, resilience.ErrCircuitOpen) {
			t.Fatalf("forced open: %v", err)
		}
	})

	t.Run("CircuitBreaker concurrent first use", func(t *testing.T) {
		var cb resilience.CircuitBreaker
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					_ = resilience.Do(ctx, ok, &cb)
					_ = cb.Snapshot()
				}
			})
		}
		wg.Wait()
		if s := cb.Snapshot(); s.Calls != resilience.DefaultWindowSize || s.Failures != 0 {
			t.Fatalf("%+v", s)
		}
	})

	t.Run("Retry", func(t *testing.T) {
		var r resilience.Retry
		n := 0
		err := resilience.Do(ctx, func(context.Context) error { n++; return resilience.Permanent(errBoom) }, &r)
		var re *resilience.RetryError
		if !errors.As(err, &re) || n != 1 || !errors.Is(err, resilience.ErrNotRetryable) {
			t.Fatalf("zero retry: %v after %d attempts", err, n)
		}
		if err := resilience.Do(ctx, ok, &r); err != nil {
			t.Fatal(err)
		}
	})

	notConstructed := func(t *testing.T, err error, constructor string) {
		t.Helper()
		var nc *resilience.NotConstructedError
		if !errors.As(err, &nc) || nc.Constructor != constructor || !errors.Is(err, resilience.ErrNotConstructed) ||
			!strings.Contains(err.Error(), "resilience."+constructor) {
			t.Fatalf("err = %v, want a NotConstructedError naming %s", err, constructor)
		}
	}
	t.Run("Timeout", func(t *testing.T) {
		var to resilience.Timeout
		if to.Duration() != 0 {
			t.Fatal(to.Duration())
		}
		notConstructed(t, resilience.Do(ctx, ok, &to), "NewTimeout")
	})
	t.Run("Bulkhead", func(t *testing.T) {
		var b resilience.Bulkhead
		if b.InFlight() != 0 || b.Waiting() != 0 {
			t.Fatal(b.InFlight(), b.Waiting())
		}
		notConstructed(t, resilience.Do(ctx, ok, &b), "NewBulkhead")
	})
	t.Run("RateLimiter", func(t *testing.T) {
		var l resilience.RateLimiter
		if l.Tokens() != 0 {
			t.Fatal(l.Tokens())
		}
		notConstructed(t, resilience.Do(ctx, ok, &l), "NewRateLimiter")
	})
	t.Run("Fallback", func(t *testing.T) {
		var f resilience.Fallback[int]
		_, err := resilience.Get(ctx, succeed, &f)
		notConstructed(t, err, "NewFallback")
	})
	t.Run("Hedge", func(t *testing.T) {
		var h resilience.Hedge
		notConstructed(t, h.Do(ctx, ok), "NewHedge")
		_, err := resilience.Hedged(ctx, &h, succeed)
		notConstructed(t, err, "NewHedge")
	})
	t.Run("Registry", func(t *testing.T) {
		var r resilience.Registry[string, *resilience.CircuitBreaker]
		_, err := r.Get("bitcoin")
		notConstructed(t, err, "NewRegistry")
		if r.Len() != 0 {
			t.Fatal(r.Len())
		}
		for k := range r.All() {
			t.Fatalf("zero registry holds %q", k)
		}
	})
	t.Run("RetryBudget", func(t *testing.T) {
		var b resilience.RetryBudget
		if b.Available() != 0 {
			t.Fatal(b.Available())
		}
		_, err := resilience.NewRetry(resilience.WithBudget(&b))
		wantOptionError(t, err, "WithBudget")
	})
	t.Run("values and errors", func(t *testing.T) {
		var e resilience.Event
		if e.Topic() != "resilience..unknown" {
			t.Fatal(e.Topic())
		}
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &e); err == nil {
			t.Fatal("an event of no kind decoded")
		}
		var s resilience.State
		var k resilience.EventKind
		if s.String() != "closed" || k.String() != "unknown" {
			t.Fatal(s, k)
		}
		for _, err := range []error{&resilience.RetryError{}, &resilience.TimeoutError{}, &resilience.OptionError{}, &resilience.NotConstructedError{}} {
			if err.Error() == "" {
				t.Fatalf("%T has no message", err)
			}
			_ = errors.Unwrap(err)
			_ = errors.Is(err, resilience.ErrTimeout)
		}
	})
}

// An option of another policy is refused by name, with the type it does not apply to.
func TestOptionOfAnotherPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		newP   func() error
		option string
		reason string
	}{
		{"retry option to a breaker", func() error { _, err := resilience.NewCircuitBreaker(resilience.MaxAttempts(2)); return err },
			"MaxAttempts", "does not apply to CircuitBreaker"},
		{"breaker option to a retry", func() error { _, err := resilience.NewRetry(resilience.OpenWait(time.Second)); return err },
			"OpenWait", "does not apply to Retry"},
		{"bulkhead option to a rate limiter", func() error {
			_, err := resilience.NewRateLimiter(1, 1, resilience.BulkheadMaxWait(time.Second))
			return err
		}, "BulkheadMaxWait", "does not apply to RateLimiter"},
		{"retry option to a timeout", func() error { _, err := resilience.NewTimeout(time.Second, resilience.WithoutJitter()); return err },
			"WithoutJitter", "does not apply to Timeout"},
		{"hedge option to a fallback", func() error { _, err := resilience.FallbackValue(1, resilience.HedgeAttempts(3)); return err },
			"HedgeAttempts", "does not apply to Fallback"},
		{"fallback option to a hedge", func() error { _, err := resilience.NewHedge(time.Second, resilience.FallbackIf(nil)); return err },
			"FallbackIf", "does not apply to Hedge"},
		{"retry option to a breaker registry", func() error { _, err := resilience.NewBreakerRegistry(resilience.RetryOn(errBoom)); return err },
			"RetryOn", "does not apply to CircuitBreaker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.newP()
			wantOptionError(t, err, tc.option)
			if !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("%v does not say %q", err, tc.reason)
			}
		})
	}
	// The options every policy has are accepted by every constructor.
	common := []resilience.Option{resilience.WithName("n"), resilience.WithClock(time.Now), resilience.WithListener(func(resilience.Event) {}),
		resilience.WithLogger(slog.New(slog.DiscardHandler))}
	for _, err := range []error{
		second(resilience.NewCircuitBreaker(common...)), second(resilience.NewRetry(common...)),
		second(resilience.NewTimeout(time.Second, common...)), second(resilience.NewBulkhead(1, common...)),
		second(resilience.NewRateLimiter(1, 1, common...)), second(resilience.FallbackValue(1, common...)),
		second(resilience.NewHedge(time.Second, common...)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// WithClock is the breaker's time: its open wait ends when the clock says so.
func TestBreakerWithClock(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }

	start := now
	rec := &recorder{}
	cb := must(resilience.NewCircuitBreaker(resilience.CountWindow(2), resilience.MinCalls(2), resilience.OpenWait(time.Minute),
		resilience.WithClock(clock), resilience.WithListener(rec.listen)))
	calls(t, 2, fail, cb)
	if s := cb.Snapshot(); s.State != resilience.StateOpen || !s.OpenUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("%+v, want open until %v", s, now.Add(time.Minute))
	}
	advance(59 * time.Second)
	if calls(t, 1, ok, cb) != 0 {
		t.Fatal("a call went through before the clock reached the open wait")
	}
	advance(time.Second)
	if calls(t, 1, ok, cb) != 1 || cb.State() != resilience.StateHalfOpen {
		t.Fatalf("state %v after the open wait", cb.State())
	}
	for _, e := range rec.events { // created and opened at start, refused at 59 s, half-open at 60 s
		if d := e.Time.Sub(start); d != 0 && d != 59*time.Second && d != time.Minute {
			t.Fatalf("%v event at %v, not a time the clock gave", e.Kind, e.Time)
		}
	}
	if hs := rec.kinds(resilience.EventStateChange); hs[len(hs)-1].To != resilience.StateHalfOpen || !hs[len(hs)-1].Time.Equal(now) {
		t.Fatalf("last state change %+v", hs[len(hs)-1])
	}
}

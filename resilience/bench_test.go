package resilience_test

import (
	"context"
	"testing"
	"time"

	"github.com/anya-org/anya-go/resilience"
)

func succeed(context.Context) (int, error) { return 1, nil }

// BenchmarkSuccessPath compares the cost of each policy, and of compositions, on a call that
// succeeds. Anchors (gobreaker, failsafe-go, backoff) are in the bench module.
func BenchmarkSuccessPath(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name string
		ps   []resilience.Policy
	}{
		{"none", nil},
		{"breaker-count", []resilience.Policy{must(resilience.NewCircuitBreaker())}},
		{"breaker-time", []resilience.Policy{must(resilience.NewCircuitBreaker(resilience.TimeWindow(time.Minute, 10)))}},
		{"breaker-slow", []resilience.Policy{must(resilience.NewCircuitBreaker(resilience.SlowCallThreshold(time.Second, 0.5)))}},
		{"retry", []resilience.Policy{must(resilience.NewRetry())}},
		{"retry-budget", []resilience.Policy{must(resilience.NewRetry(resilience.WithBudget(must(resilience.NewRetryBudget(0.1, 10)))))}},
		{"bulkhead", []resilience.Policy{must(resilience.NewBulkhead(1024))}},
		{"ratelimiter", []resilience.Policy{must(resilience.NewRateLimiter(1e12, 1<<30))}},
		{"timeout", []resilience.Policy{must(resilience.NewTimeout(time.Minute))}},
		{"fallback", []resilience.Policy{must(resilience.FallbackValue(0))}},
		{"retry+breaker", []resilience.Policy{must(resilience.NewRetry()), must(resilience.NewCircuitBreaker())}},
		{"all", []resilience.Policy{must(resilience.FallbackValue(0)), must(resilience.NewRetry()), must(resilience.NewCircuitBreaker()),
			must(resilience.NewRateLimiter(1e12, 1<<30)), must(resilience.NewBulkhead(1024)), must(resilience.NewTimeout(time.Minute))}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := resilience.Get(ctx, succeed, tc.ps...); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRejection is the cost of a call refused by an open breaker.
func BenchmarkRejection(b *testing.B) {
	cb := must(resilience.NewCircuitBreaker())
	cb.ForceOpen()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = resilience.Get(ctx, succeed, cb)
	}
}

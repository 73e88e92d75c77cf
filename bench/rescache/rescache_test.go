// Package rescache compares the anya-go resilience policies and cache with anchor libraries,
// side by side in one run: sony/gobreaker/v2, failsafe-go and cenkalti/backoff/v5 for the
// policies, raw maypok86/otter/v2 for the cache. Every benchmark measures the success path
// (or the hit path), which is what a healthy dependency costs on every call.
package rescache

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"
	"github.com/sony/gobreaker/v2"

	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/resilience"
)

// work is the guarded call: it touches shared state, as a real call does, and succeeds.
var sink atomic.Int64

func call() (int, error)                   { return int(sink.Load()), nil }
func callCtx(context.Context) (int, error) { return call() }
func runCtx(context.Context) error         { _, err := call(); return err }

// both runs body serially and from parallel goroutines (GOMAXPROCS of them, set by -cpu).
func both(b *testing.B, body func()) {
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			body()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				body()
			}
		})
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkBreaker: one call through a closed circuit breaker.
func BenchmarkBreaker(b *testing.B) {
	ctx := context.Background()
	b.Run("anya", func(b *testing.B) {
		cb := must(resilience.NewCircuitBreaker())
		both(b, func() { _, _ = resilience.Get(ctx, callCtx, cb) })
	})
	b.Run("anya-slowcalls", func(b *testing.B) { // reads the clock twice per call
		cb := must(resilience.NewCircuitBreaker(resilience.SlowCallThreshold(time.Second, 0.5)))
		both(b, func() { _, _ = resilience.Get(ctx, callCtx, cb) })
	})
	b.Run("anya-timewindow", func(b *testing.B) {
		cb := must(resilience.NewCircuitBreaker(resilience.TimeWindow(10*time.Second, 10)))
		both(b, func() { _, _ = resilience.Get(ctx, callCtx, cb) })
	})
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{Name: "bench"})
		both(b, func() { _, _ = cb.Execute(call) })
	})
	b.Run("failsafe", func(b *testing.B) {
		cb := circuitbreaker.NewWithDefaults[int]()
		ex := failsafe.With[int](cb)
		both(b, func() { _, _ = ex.Get(call) })
	})
}

// BenchmarkRetry: one call through a retry policy, succeeding on the first attempt.
func BenchmarkRetry(b *testing.B) {
	ctx := context.Background()
	b.Run("anya", func(b *testing.B) {
		r := must(resilience.NewRetry())
		both(b, func() { _, _ = resilience.Get(ctx, callCtx, r) })
	})
	b.Run("anya-budget", func(b *testing.B) {
		r := must(resilience.NewRetry(resilience.WithBudget(must(resilience.NewRetryBudget(0.1, 10)))))
		both(b, func() { _, _ = resilience.Get(ctx, callCtx, r) })
	})
	b.Run("backoff", func(b *testing.B) {
		both(b, func() {
			_, _ = backoff.Retry(ctx, call, backoff.WithBackOff(backoff.NewExponentialBackOff()), backoff.WithMaxTries(3))
		})
	})
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafe.With[int](retrypolicy.NewWithDefaults[int]())
		both(b, func() { _, _ = ex.Get(call) })
	})
}

// BenchmarkRetryBreaker: a retry around a circuit breaker, against gobreaker alone.
func BenchmarkRetryBreaker(b *testing.B) {
	ctx := context.Background()
	b.Run("anya", func(b *testing.B) {
		r, cb := must(resilience.NewRetry()), must(resilience.NewCircuitBreaker())
		both(b, func() { _, _ = resilience.Get(ctx, callCtx, r, cb) })
	})
	b.Run("anya-do", func(b *testing.B) {
		r, cb := must(resilience.NewRetry()), must(resilience.NewCircuitBreaker())
		both(b, func() { _ = resilience.Do(ctx, runCtx, r, cb) })
	})
	b.Run("gobreaker-alone", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{Name: "bench"})
		both(b, func() { _, _ = cb.Execute(call) })
	})
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafe.With[int](retrypolicy.NewWithDefaults[int](), circuitbreaker.NewWithDefaults[int]())
		both(b, func() { _, _ = ex.Get(call) })
	})
}

const keys = 4096

func keyNames() []string {
	ks := make([]string, keys)
	for i := range ks {
		ks[i] = "bitcoin/utxo:bc1q" + strconv.Itoa(i)
	}
	return ks
}

// getHits reads present keys, serially and in parallel.
func getHits(b *testing.B, get func(string) (int, bool)) {
	ks := keyNames()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := get(ks[i&(keys-1)]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		var seed atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(7919))
			for pb.Next() {
				if _, ok := get(ks[i&(keys-1)]); !ok {
					b.Fatal("miss")
				}
				i++
			}
		})
	})
}

func rawOtter(b *testing.B, o *otter.Options[string, int]) *otter.Cache[string, int] {
	c := must(otter.New(o))
	for i, k := range keyNames() {
		c.Set(k, i)
	}
	b.Cleanup(func() { c.StopAllGoroutines() })
	return c
}

func anyaCache(b *testing.B, opts ...cache.Option) *cache.Cache[string, int] {
	c := must(cache.New[string, int](append([]cache.Option{cache.WithMaxEntries(10_000)}, opts...)...))
	for i, k := range keyNames() {
		c.Set(k, i)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// BenchmarkCacheGetHit: a Get that finds its key. The anya cache always counts hits and
// misses; "otter-same" is raw otter configured as the anya cache configures it, which is the
// cost the wrapper adds to, and "otter-bare" raw otter with nothing but the size bound.
func BenchmarkCacheGetHit(b *testing.B) {
	b.Run("otter-bare", func(b *testing.B) {
		c := rawOtter(b, &otter.Options[string, int]{MaximumSize: 10_000})
		getHits(b, c.GetIfPresent)
	})
	b.Run("otter-same", func(b *testing.B) {
		c := rawOtter(b, &otter.Options[string, int]{MaximumSize: 10_000, StatsRecorder: stats.NewCounter()})
		getHits(b, c.GetIfPresent)
	})
	b.Run("anya", func(b *testing.B) {
		c := anyaCache(b)
		getHits(b, c.Get)
	})
	b.Run("otter-same-ttl", func(b *testing.B) {
		c := rawOtter(b, &otter.Options[string, int]{MaximumSize: 10_000, StatsRecorder: stats.NewCounter(),
			ExpiryCalculator: otter.ExpiryWriting[string, int](time.Hour)})
		getHits(b, c.GetIfPresent)
	})
	b.Run("anya-ttl", func(b *testing.B) {
		c := anyaCache(b, cache.WithTTL(time.Hour))
		getHits(b, c.Get)
	})
	b.Run("anya-ttl-coarse", func(b *testing.B) {
		c := anyaCache(b, cache.WithTTL(time.Hour), cache.WithClockResolution(time.Millisecond))
		getHits(b, c.Get)
	})
	b.Run("anya-getorload", func(b *testing.B) {
		c := anyaCache(b)
		ctx := context.Background()
		load := func(context.Context, string) (int, error) { return 0, nil }
		getHits(b, func(k string) (int, bool) {
			v, err := c.GetOrLoad(ctx, k, load)
			return v, err == nil
		})
	})
	b.Run("otter-getorload", func(b *testing.B) {
		c := rawOtter(b, &otter.Options[string, int]{MaximumSize: 10_000, StatsRecorder: stats.NewCounter()})
		ctx := context.Background()
		load := otter.LoaderFunc[string, int](func(context.Context, string) (int, error) { return 0, nil })
		getHits(b, func(k string) (int, bool) {
			v, err := c.Get(ctx, k, load)
			return v, err == nil
		})
	})
}

// BenchmarkStampede: 1,000 goroutines ask for one missing key at once; the benchmark fails
// unless each stampede makes exactly one load, and reports loads per stampede.
func BenchmarkStampede(b *testing.B) {
	c := must(cache.New[string, int]())
	defer c.Close()
	ctx := context.Background()
	var loads atomic.Int64
	stampedes := 0
	b.ReportAllocs()
	for b.Loop() {
		key := strconv.Itoa(stampedes)
		stampedes++
		release := make(chan struct{})
		load := func(context.Context, string) (int, error) { loads.Add(1); <-release; return 1, nil }
		var started, done sync.WaitGroup
		started.Add(1000)
		for range 1000 {
			done.Go(func() {
				started.Done()
				if v, err := c.GetOrLoad(ctx, key, load); v != 1 || err != nil {
					b.Error(v, err)
				}
			})
		}
		started.Wait()
		close(release)
		done.Wait()
	}
	if n := loads.Load(); n != int64(stampedes) {
		b.Fatalf("%d loads for %d stampedes", n, stampedes)
	}
	b.ReportMetric(float64(loads.Load())/float64(stampedes), "loads/stampede")
}

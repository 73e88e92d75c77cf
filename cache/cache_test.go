package cache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/cache"
)

var errBoom = errors.New("boom")

func newCache[V any](t *testing.T, opts ...cache.Option) *cache.Cache[string, V] {
	t.Helper()
	c := must(cache.New[string, V](opts...))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestReadYourWrites(t *testing.T) {
	c := newCache[int](t)
	for i := range 1000 {
		k := fmt.Sprint("k", i)
		c.Set(k, i)
		if v, ok := c.Get(k); !ok || v != i {
			t.Fatalf("Get(%s) = %d, %v right after Set", k, v, ok)
		}
	}
	c.Set("k1", -1)
	if v, _ := c.Get("k1"); v != -1 {
		t.Fatalf("overwrite not visible: %d", v)
	}
	if _, ok := c.Get("absent"); ok {
		t.Fatal("found an absent key")
	}
}

func TestValuesStoredAsGiven(t *testing.T) {
	type doc struct{ id string }
	c := newCache[*doc](t)
	d := &doc{"did:web:example.com"}
	c.Set("d", d)
	if got, _ := c.Get("d"); got != d {
		t.Fatal("the cache copied the value")
	}
}

func TestTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := must(cache.New[string, string](cache.WithTTL(time.Minute)))
		defer c.Close()
		c.Set("default", "a")
		if err := c.SetWithTTL("short", "b", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := c.SetWithTTL("forever", "c", 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10*time.Second - time.Millisecond)
		if _, ok := c.Get("short"); !ok {
			t.Fatal("expired early")
		}
		time.Sleep(time.Millisecond)
		if _, ok := c.Get("short"); ok {
			t.Fatal("per-entry TTL not honoured")
		}
		time.Sleep(50 * time.Second)
		if _, ok := c.Get("default"); ok {
			t.Fatal("default TTL not honoured")
		}
		time.Sleep(24 * time.Hour)
		if v, ok := c.Get("forever"); !ok || v != "c" {
			t.Fatal("an entry without TTL expired")
		}
		if err := c.SetWithTTL("bad", "x", -time.Second); !errors.Is(err, cache.ErrInvalidTTL) {
			t.Fatalf("negative TTL: %v", err)
		}
		if _, ok := c.Get("bad"); ok {
			t.Fatal("a rejected SetWithTTL stored its value")
		}
	})
}

func TestNoExpiry(t *testing.T) {
	c := newCache[int](t)
	if err := c.SetWithTTL("k", 1, time.Second); !errors.Is(err, cache.ErrNoExpiry) {
		t.Fatalf("err = %v, want ErrNoExpiry", err)
	}
	if _, ok := c.Get("k"); ok {
		t.Fatal("stored despite the error")
	}
}

func TestSizeBound(t *testing.T) {
	c := newCache[int](t, cache.WithMaxEntries(100))
	for i := range 10_000 {
		c.Set(fmt.Sprint("k", i), i)
		if v, ok := c.Get(fmt.Sprint("k", i)); !ok || v != i {
			t.Fatalf("a Set was not visible to the next Get at %d", i)
		}
	}
	_ = c.Close() // waits for the maintenance in flight
	c.Set("one-more", 0)
	if n := c.Len(); n > 110 {
		t.Fatalf("Len = %d, bound 100", n)
	}
	if s := c.Stats(); s.Evictions < 9000 {
		t.Fatalf("evictions = %d, want the entries past the bound evicted", s.Evictions)
	}
}

func TestStampedeMakesOneLoad(t *testing.T) {
	c := newCache[string](t)
	var loads atomic.Int32
	release := make(chan struct{})
	loader := func(ctx context.Context, key string) (string, error) {
		loads.Add(1)
		<-release
		return "utxos of " + key, nil
	}
	const callers = 1000
	var started, wg sync.WaitGroup
	started.Add(callers)
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			started.Done()
			v, err := c.GetOrLoad(context.Background(), "bc1qaddr", loader)
			if err != nil || v != "utxos of bc1qaddr" {
				errs <- fmt.Errorf("got %q, %v", v, err)
			}
		})
	}
	started.Wait()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads for %d concurrent callers, want exactly 1", n, callers)
	}
}

func TestStampedeAllWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := must(cache.New[string, int]())
		defer c.Close()
		var loads atomic.Int32
		var wg sync.WaitGroup
		for range 1000 {
			wg.Go(func() {
				v, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) {
					loads.Add(1)
					time.Sleep(time.Second)
					return 7, nil
				})
				if v != 7 || err != nil {
					t.Errorf("got %d, %v", v, err)
				}
			})
		}
		synctest.Wait() // every caller is blocked: one in the loader, 999 waiting for it
		if n := loads.Load(); n != 1 {
			t.Fatalf("%d loads in flight, want 1", n)
		}
		wg.Wait()
		if s := c.Stats(); s.LoadSuccesses != 1 {
			t.Fatalf("stats = %+v", s)
		}
	})
}

func TestLoaderErrorNotCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := must(cache.New[string, int]())
		defer c.Close()
		var loads atomic.Int32
		failing := func(context.Context, string) (int, error) {
			loads.Add(1)
			time.Sleep(time.Second)
			return 0, errBoom
		}
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := c.GetOrLoad(context.Background(), "k", failing); !errors.Is(err, errBoom) {
					t.Errorf("err = %v, want the loader's", err)
				}
			})
		}
		wg.Wait()
		if loads.Load() != 1 {
			t.Fatalf("%d loads, want 1 shared by all callers", loads.Load())
		}
		v, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) { return 5, nil })
		if v != 5 || err != nil {
			t.Fatalf("the failure poisoned the key: %d, %v", v, err)
		}
		if s := c.Stats(); s.LoadFailures != 1 || s.LoadSuccesses != 1 {
			t.Fatalf("stats = %+v", s)
		}
	})
}

func TestLoaderPanicNotCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := must(cache.New[string, int]())
		defer c.Close()
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				_, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) {
					time.Sleep(time.Second)
					panic(errBoom)
				})
				var pe *cache.PanicError
				if !errors.As(err, &pe) || !errors.Is(err, cache.ErrLoaderPanicked) || !errors.Is(err, errBoom) || len(pe.Stack) == 0 {
					t.Errorf("err = %v, want a PanicError wrapping boom", err)
				}
			})
		}
		wg.Wait()
		if _, ok := c.Get("k"); ok {
			t.Fatal("a panic cached a value")
		}
		v, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) { return 1, nil })
		if v != 1 || err != nil {
			t.Fatalf("the panic poisoned the key: %d, %v", v, err)
		}
	})
}

func TestCancelledOwnerAffectsOnlyItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := must(cache.New[string, string]())
		defer c.Close()
		var loads atomic.Int32
		loader := func(ctx context.Context, key string) (string, error) {
			n := loads.Add(1)
			select {
			case <-time.After(time.Second):
				return fmt.Sprint("v", n), nil
			case <-ctx.Done():
				return "", fmt.Errorf("rpc aborted: %w", ctx.Err())
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		ownerErr := make(chan error, 1)
		go func() {
			_, err := c.GetOrLoad(ctx, "k", loader)
			ownerErr <- err
		}()
		synctest.Wait() // the owner is loading
		waiter := make(chan string, 1)
		go func() {
			v, err := c.GetOrLoad(context.Background(), "k", loader)
			if err != nil {
				t.Errorf("waiter: %v", err)
			}
			waiter <- v
		}()
		synctest.Wait()
		cancel()
		if err := <-ownerErr; err != context.Canceled {
			t.Fatalf("owner: err = %v, want exactly ctx.Err()", err)
		}
		if v := <-waiter; v != "v2" {
			t.Fatalf("waiter got %q, want the value of a second load", v)
		}
	})
}

func TestCancelledWaiterAffectsOnlyItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := must(cache.New[string, string]())
		defer c.Close()
		loader := func(ctx context.Context, key string) (string, error) {
			time.Sleep(time.Second)
			return "v", nil
		}
		owner := make(chan string, 1)
		go func() {
			v, _ := c.GetOrLoad(context.Background(), "k", loader)
			owner <- v
		}()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := c.GetOrLoad(ctx, "k", loader); err != context.DeadlineExceeded {
			t.Fatalf("waiter: err = %v, want ctx.Err()", err)
		}
		if v := <-owner; v != "v" {
			t.Fatalf("owner got %q", v)
		}
	})
}

func TestNegativeCaching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := must(cache.New[string, string](cache.WithNegativeTTL(time.Minute)))
		defer c.Close()
		var loads atomic.Int32
		missing := func(context.Context, string) (string, error) {
			loads.Add(1)
			return "", fmt.Errorf("did:web:gone: %w", cache.ErrNotFound)
		}
		for range 3 {
			if _, err := c.GetOrLoad(context.Background(), "gone", missing); !errors.Is(err, cache.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		}
		if _, ok := c.Get("gone"); ok {
			t.Fatal("Get found a cached not-found")
		}
		if loads.Load() != 1 {
			t.Fatalf("%d loads, want 1: not-found is cached", loads.Load())
		}
		if s := c.Stats(); s.Hits != 3 || s.Misses != 1 {
			t.Fatalf("stats = %+v, want the cached not-found to count as 3 hits", s)
		}
		time.Sleep(time.Minute)
		_, _ = c.GetOrLoad(context.Background(), "gone", missing)
		if loads.Load() != 2 {
			t.Fatal("the cached not-found did not expire")
		}
		c.Set("gone", "back") // a write replaces a cached not-found
		if v, ok := c.Get("gone"); !ok || v != "back" {
			t.Fatal("Set did not replace the not-found")
		}
	})
}

func TestNotFoundWithoutNegativeCaching(t *testing.T) {
	c := newCache[string](t)
	loads := 0
	for range 3 {
		_, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (string, error) {
			loads++
			return "", cache.ErrNotFound
		})
		if err != cache.ErrNotFound {
			t.Fatalf("err = %v", err)
		}
	}
	if loads != 3 {
		t.Fatalf("%d loads, want 3", loads)
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := must(cache.New[string, string](cache.WithTTL(time.Hour), cache.WithRefreshAfter(time.Minute)))
		defer c.Close()
		version := 0
		var fail atomic.Bool
		loader := func(ctx context.Context, key string) (string, error) {
			time.Sleep(time.Second)
			if fail.Load() {
				return "", errBoom
			}
			version++
			return fmt.Sprint("v", version), nil
		}
		get := func() string {
			v, err := c.GetOrLoad(context.Background(), "doc", loader)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := get(); v != "v1" {
			t.Fatal(v)
		}
		time.Sleep(2 * time.Minute)
		start := time.Now()
		if v := get(); v != "v1" || time.Since(start) != 0 {
			t.Fatalf("stale read: %q after %v, want v1 at once", v, time.Since(start))
		}
		synctest.Wait() // the refresh runs in the background
		time.Sleep(time.Second)
		synctest.Wait()
		if v, _ := c.Get("doc"); v != "v2" {
			t.Fatalf("after the refresh: %q, want v2", v)
		}
		fail.Store(true)
		time.Sleep(2 * time.Minute)
		_ = get()
		time.Sleep(time.Second)
		synctest.Wait()
		if v, ok := c.Get("doc"); !ok || v != "v2" {
			t.Fatalf("a failed refresh lost the value: %q %v", v, ok)
		}
	})
}

func TestInvalidation(t *testing.T) {
	c := newCache[int](t)
	for _, k := range []string{"bitcoin/utxo:a", "bitcoin/utxo:b", "bitcoin/tx:1", "web5/did:x", "ml/model:1"} {
		c.Set(k, 1)
	}
	if !c.Invalidate("ml/model:1") || c.Invalidate("ml/model:1") {
		t.Fatal("Invalidate reported wrongly")
	}
	if n := cache.InvalidatePrefix(c, "bitcoin/utxo:"); n != 2 {
		t.Fatalf("InvalidatePrefix removed %d, want 2", n)
	}
	if n := c.InvalidateIf(func(k string) bool { return strings.HasPrefix(k, "web5/") }); n != 1 {
		t.Fatalf("InvalidateIf removed %d, want 1", n)
	}
	if _, ok := c.Get("bitcoin/tx:1"); !ok {
		t.Fatal("removed a key no invalidation named")
	}
	_ = c.InvalidateKeys(context.Background(), "bitcoin/tx:1")
	if c.Len() != 0 {
		t.Fatalf("Len = %d after invalidating everything", c.Len())
	}
	c.Set("a", 1)
	c.InvalidateAll()
	if _, ok := c.Get("a"); ok {
		t.Fatal("InvalidateAll kept a key")
	}
}

func TestInvalidateOn(t *testing.T) {
	type blockConnected struct {
		Height  int
		Touched []string
	}
	utxos := newCache[[]string](t)
	for _, a := range []string{"bc1qa", "bc1qb", "bc1qc"} {
		utxos.Set(a, []string{"txid:0"})
	}
	handle := cache.InvalidateOn(utxos.InvalidateKeys, func(e blockConnected) []string { return e.Touched })
	if err := handle(context.Background(), blockConnected{Height: 900_000, Touched: []string{"bc1qa", "bc1qc", "bc1qz"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := utxos.Get("bc1qa"); ok {
		t.Fatal("touched address not invalidated")
	}
	if _, ok := utxos.Get("bc1qb"); !ok {
		t.Fatal("untouched address invalidated")
	}
	if err := handle(context.Background(), blockConnected{}); err != nil {
		t.Fatal(err)
	}
}

func TestStats(t *testing.T) {
	c := newCache[int](t)
	c.Set("a", 1)
	_, _ = c.Get("a")
	_, _ = c.Get("a")
	_, _ = c.Get("b")
	_, _ = c.GetOrLoad(context.Background(), "c", func(context.Context, string) (int, error) { return 3, nil })
	s := c.Stats()
	if s.Hits != 2 || s.Misses != 2 || s.LoadSuccesses != 1 || s.Size != 2 {
		t.Fatalf("stats = %+v", s)
	}
	if r := s.HitRatio(); r != 0.5 {
		t.Fatalf("hit ratio = %v", r)
	}
	if r := (cache.Stats{}).HitRatio(); r != 1 {
		t.Fatalf("empty hit ratio = %v", r)
	}
}

func TestClose(t *testing.T) {
	c := must(cache.New[string, int](cache.WithTTL(time.Minute), cache.WithClockResolution(time.Millisecond)))
	c.Set("a", 1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := c.GetOrLoad(context.Background(), "a", func(context.Context, string) (int, error) { return 0, nil }); err != cache.ErrClosed {
		t.Fatalf("GetOrLoad after Close: %v", err)
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatal("entries lost at Close")
	}
	if _, err := c.GetOrLoad(context.Background(), "a", nil); err != cache.ErrNilLoader {
		t.Fatalf("nil loader: %v", err)
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func TestWithClock(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newCache[int](t, cache.WithTTL(time.Hour), cache.WithClock(clock.Now))
	c.Set("a", 1)
	clock.advance(59 * time.Minute)
	if _, ok := c.Get("a"); !ok {
		t.Fatal("expired early")
	}
	clock.advance(time.Minute)
	if _, ok := c.Get("a"); ok {
		t.Fatal("the cache did not follow its clock")
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		option string
		opts   []cache.Option
	}{
		{"WithMaxEntries", []cache.Option{cache.WithMaxEntries(0)}},
		{"WithMaxEntries", []cache.Option{cache.WithMaxEntries(-10)}},
		{"WithTTL", []cache.Option{cache.WithTTL(-time.Second)}},
		{"WithNegativeTTL", []cache.Option{cache.WithNegativeTTL(-1)}},
		{"WithRefreshAfter", []cache.Option{cache.WithRefreshAfter(-1)}},
		{"WithRefreshAfter", []cache.Option{cache.WithTTL(time.Minute), cache.WithRefreshAfter(time.Minute)}},
		{"WithClockResolution", []cache.Option{cache.WithClockResolution(-1)}},
		{"WithClockResolution", []cache.Option{cache.WithClockResolution(1), cache.WithClock(time.Now)}},
		{"WithClock", []cache.Option{cache.WithClock(nil)}},
		{"WithLogger", []cache.Option{cache.WithLogger(nil)}},
		{"WithStore", []cache.Option{cache.WithStore(nil, time.Hour)}},
		{"WithCross", []cache.Option{cache.WithCross(nil)}},
		{"WithCodec", []cache.Option{cache.WithCodec(cache.JSON[int]())}},
	} {
		c, err := cache.New[string, int](tc.opts...)
		if c != nil {
			t.Errorf("%s: got a cache", tc.option)
		}
		var oe *cache.OptionError
		if !errors.As(err, &oe) || oe.Option != tc.option || !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("%s: err = %v", tc.option, err)
		}
	}
	// A Tiered option given to New says what it configures.
	_, err := cache.New[string, int](cache.WithStore(nil, 0))
	if err == nil || !strings.Contains(err.Error(), "does not apply to Cache") {
		t.Fatalf("err = %v", err)
	}
}

func TestStatsExactUnderConcurrency(t *testing.T) {
	c := newCache[int](t)
	c.Set("present", 1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				if (g+i)%5 == 0 {
					_, _ = c.Get("absent")
				} else {
					_, _ = c.GetOrLoad(context.Background(), "present", func(context.Context, string) (int, error) { return 0, errBoom })
				}
			}
		})
	}
	wg.Wait()
	if s := c.Stats(); s.Hits != 32_000 || s.Misses != 8_000 {
		t.Fatalf("stats = %+v, want 32000 hits and 8000 misses", s)
	}
}

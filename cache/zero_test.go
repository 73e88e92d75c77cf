package cache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/cache"
)

// TestZeroCache: a zero Cache works as New() with the defaults, for every method.
func TestZeroCache(t *testing.T) {
	ctx := context.Background()
	var c cache.Cache[string, int]
	defer c.Close()
	if _, ok := c.Get("x"); ok {
		t.Fatal("a zero cache has an entry")
	}
	c.Set("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get after Set: %v %v", v, ok)
	}
	if err := c.SetWithTTL("b", 2, time.Minute); !errors.Is(err, cache.ErrNoExpiry) {
		t.Fatalf("SetWithTTL on a cache without expiry: %v", err)
	}
	v, err := c.GetOrLoad(ctx, "c", func(context.Context, string) (int, error) { return 3, nil })
	if v != 3 || err != nil {
		t.Fatal(v, err)
	}
	if c.Len() != 2 || !c.Invalidate("a") || c.InvalidateIf(func(k string) bool { return k == "c" }) != 1 || c.InvalidateIf(nil) != 0 {
		t.Fatalf("len %d after invalidations", c.Len())
	}
	c.Set("p/1", 1)
	if cache.InvalidatePrefix(&c, "p/") != 1 {
		t.Fatal("InvalidatePrefix")
	}
	if err := c.InvalidateKeys(ctx, "x", "y"); err != nil {
		t.Fatal(err)
	}
	c.InvalidateAll()
	if s := c.Stats(); s.Hits != 1 || s.Misses != 2 || s.LoadSuccesses != 1 {
		t.Fatalf("stats %+v", s)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetOrLoad(ctx, "d", func(context.Context, string) (int, error) { return 4, nil }); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("GetOrLoad after Close: %v", err)
	}

	// Closing a zero cache that was never used, then using it, is fine too.
	var unused cache.Cache[int, int]
	if err := unused.Close(); err != nil {
		t.Fatal(err)
	}
	unused.Set(1, 1)
	if v, ok := unused.Get(1); !ok || v != 1 {
		t.Fatal(v, ok)
	}
	if s := (cache.Stats{}); s.HitRatio() != 1 {
		t.Fatal(s.HitRatio())
	}
}

// Goroutines that use a zero cache for the first time at once set it up once.
func TestZeroCacheConcurrentFirstUse(t *testing.T) {
	var c cache.Cache[int, int]
	defer c.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				c.Set(g*100+i, i)
				_, _ = c.Get(g*100 + i)
			}
		})
	}
	wg.Wait()
	if s := c.Stats(); s.Hits != 800 || c.Len() != 800 {
		t.Fatalf("stats %+v, len %d", s, c.Len())
	}
}

func TestZeroStoreAndTiered(t *testing.T) {
	ctx := context.Background()
	want := func(t *testing.T, err error, constructor string) {
		t.Helper()
		var nc *cache.NotConstructedError
		if !errors.As(err, &nc) || nc.Constructor != constructor || !errors.Is(err, cache.ErrNotConstructed) ||
			!strings.Contains(err.Error(), "cache."+constructor) {
			t.Fatalf("err = %v, want a NotConstructedError naming %s", err, constructor)
		}
	}
	var s cache.MemoryStore
	_, err := s.Get(ctx, "k")
	want(t, err, "NewMemoryStore")
	want(t, s.Set(ctx, "k", nil, 0), "NewMemoryStore")
	want(t, s.Delete(ctx, "k"), "NewMemoryStore")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	var tc cache.Tiered[int]
	if tc.Namespace() != "" || tc.InvalidatePrefix("x") != 0 {
		t.Fatal("zero Tiered")
	}
	_, err = tc.Get(ctx, "k")
	want(t, err, "NewTiered")
	_, err = tc.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) { return 1, nil })
	want(t, err, "NewTiered")
	want(t, tc.Set(ctx, "k", 1), "NewTiered")
	want(t, tc.InvalidateKeys(ctx, "k"), "NewTiered")

	for _, err := range []error{&cache.PanicError{}, &cache.OptionError{}, &cache.NotConstructedError{}} {
		if err.Error() == "" {
			t.Fatalf("%T has no message", err)
		}
		_ = errors.Unwrap(err)
	}
}

// A Tiered cache over a zero Cache: the namespace's cache sets itself up.
func TestTieredOverZeroCache(t *testing.T) {
	var local cache.Cache[string, int]
	defer local.Close()
	tc, err := cache.NewTiered("ml", &local)
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.Set(context.Background(), "a", 7); err != nil {
		t.Fatal(err)
	}
	if v, err := tc.Get(context.Background(), "a"); v != 7 || err != nil {
		t.Fatal(v, err)
	}
}

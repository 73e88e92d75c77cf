package featurestore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/ml/featurestore/featurestoretest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryCacheConformance(t *testing.T) {
	featurestoretest.RunCache(t, func(t *testing.T) featurestore.Cache { return featurestore.NewMemoryCache(1000) })
}

func TestCacheOnlineConformance(t *testing.T) {
	featurestoretest.RunOnline(t, func(t *testing.T) featurestore.Online {
		return featurestore.CacheOnline(featurestore.NewMemoryCache(1000))
	})
}

// TestSDKCacheConformance: the SDK's cache package fits the online tier as it is.
func TestSDKCacheConformance(t *testing.T) {
	featurestoretest.RunCache(t, func(t *testing.T) featurestore.Cache {
		c, err := cache.New[string, featurestore.Record](cache.WithMaxEntries(1000))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	})
}

func TestMemoryCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := featurestore.NewMemoryCache(2)
	c.Set("a", featurestore.Record{Entity: "a"})
	c.Set("b", featurestore.Record{Entity: "b"})
	c.Get("a") // b is now the least recently used
	c.Set("c", featurestore.Record{Entity: "c"})
	if _, ok := c.Get("b"); ok || c.Len() != 2 {
		t.Fatal("b should have been evicted")
	}
	if _, ok := c.Get("a"); !ok {
		t.Fatal("a was evicted")
	}
}

// clock is a test clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, opts ...featurestore.Option) *featurestore.Store {
	t.Helper()
	s, err := featurestore.Open(context.Background(), ":memory:", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func vec(v ...float32) ml.Vector { return ml.Vector{Schema: "identity", Version: 1, Values: v} }

func TestPutGetAsOf(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	s := open(t, featurestore.WithClock(clk.Now))
	t0 := clk.Now()
	if _, err := s.Get(ctx, "did:a", "identity", 1); !errors.Is(err, featurestore.ErrNotFound) {
		t.Fatalf("Get before any write: %v", err)
	}
	s.Put(ctx, "did:a", vec(1, 1))
	clk.Add(time.Hour)
	s.Put(ctx, "did:a", vec(2, 2))
	s.Put(ctx, "did:b", vec(9, 9))
	clk.Add(time.Hour)
	s.Put(ctx, "did:a", vec(3, 3)) // same entity, later

	r, err := s.Get(ctx, "did:a", "identity", 1)
	if err != nil || !slices.Equal(r.Vector.Values, []float32{3, 3}) {
		t.Fatalf("Get latest: %+v, %v", r, err)
	}
	for _, c := range []struct {
		at   time.Duration
		want []float32
	}{{0, []float32{1, 1}}, {30 * time.Minute, []float32{1, 1}}, {time.Hour, []float32{2, 2}}, {90 * time.Minute, []float32{2, 2}}, {3 * time.Hour, []float32{3, 3}}} {
		r, err := s.AsOf(ctx, "did:a", "identity", 1, t0.Add(c.at))
		if err != nil || !slices.Equal(r.Vector.Values, c.want) {
			t.Errorf("AsOf +%v: %+v, %v; want %v", c.at, r, err, c.want)
		}
	}
	if _, err := s.AsOf(ctx, "did:a", "identity", 1, t0.Add(-time.Second)); !errors.Is(err, featurestore.ErrNotFound) {
		t.Fatalf("AsOf before the first write: %v", err)
	}
	if _, err := s.Get(ctx, "did:a", "identity", 2); !errors.Is(err, featurestore.ErrNotFound) {
		t.Fatalf("another schema version: %v", err)
	}
	// Two writes at the same instant: the later one wins, online and offline.
	s.Put(ctx, "did:c", vec(1))
	s.Put(ctx, "did:c", vec(2))
	r1, _ := s.Get(ctx, "did:c", "identity", 1)
	r2, _ := s.AsOf(ctx, "did:c", "identity", 1, clk.Now())
	if r1.Vector.Values[0] != 2 || r2.Vector.Values[0] != 2 {
		t.Fatalf("same-instant writes: online %v, offline %v", r1.Vector.Values, r2.Vector.Values)
	}
}

// TestTrainingReadsWhatServingSaw: a serving loop reads features online at decision times while
// writers keep updating them; the training set built afterwards from the decisions' times holds
// exactly the vectors serving used.
func TestTrainingReadsWhatServingSaw(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	s := open(t, featurestore.WithClock(clk.Now), featurestore.WithCache(featurestore.NewMemoryCache(3)))
	entities := []string{"did:a", "did:b", "did:c", "did:d", "did:e"}
	var events []featurestore.Event
	var served [][]float32
	for step := range 200 {
		clk.Add(time.Minute)
		e := entities[(step*7)%len(entities)]
		if step%3 != 2 { // a feature update
			if _, err := s.Put(ctx, e, vec(float32(step), float32(len(e)))); err != nil {
				t.Fatal(err)
			}
		}
		clk.Add(time.Second)
		d := entities[(step*3)%len(entities)] // a decision about d, scored on its online features
		r, err := s.Get(ctx, d, "identity", 1)
		if errors.Is(err, featurestore.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		served = append(served, r.Vector.Values)
		events = append(events, featurestore.Event{Entity: d, Time: clk.Now(), Label: uint8(step % 2)})
	}
	x, y, skipped, err := s.TrainingSet(ctx, "identity", 1, events)
	if err != nil || len(skipped) != 0 || len(x) != len(served) || len(y) != len(events) {
		t.Fatalf("training set of %d rows (%d skipped), %v; served %d", len(x), len(skipped), err, len(served))
	}
	for i := range x {
		if !slices.Equal(x[i], served[i]) {
			t.Fatalf("event %d: training reads %v, serving saw %v", i, x[i], served[i])
		}
	}
}

func TestBackfillDoesNotRegressOnline(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	s := open(t, featurestore.WithClock(clk.Now), featurestore.WithCache(featurestore.NewMemoryCache(1)))
	s.Put(ctx, "did:a", vec(5))
	s.Put(ctx, "did:z", vec(0)) // evicts did:a from the one-entry online tier
	if _, err := s.PutAt(ctx, "did:a", vec(4), clk.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Get(ctx, "did:a", "identity", 1)
	if err != nil || r.Vector.Values[0] != 5 {
		t.Fatalf("online after an older backfill: %+v, %v", r, err)
	}
	if r, _ := s.AsOf(ctx, "did:a", "identity", 1, clk.Now().Add(-30*time.Minute)); r.Vector.Values[0] != 4 {
		t.Fatalf("backfilled value not visible in the past: %+v", r)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "features.db")
	s, err := featurestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "did:a", vec(7, 8)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Put(ctx, "did:a", vec(1)); !errors.Is(err, featurestore.ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
	s, err = featurestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Get(ctx, "did:a", "identity", 1)
	if err != nil || !slices.Equal(r.Vector.Values, []float32{7, 8}) {
		t.Fatalf("after reopening: %+v, %v", r, err)
	}
}

func TestRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	schema := ml.Schema{Name: "identity", Version: 1, Features: []ml.Feature{{Name: "age", Min: 0, Max: 100}, {Name: "kyc", Min: 0, Max: 1}}}
	s := open(t, featurestore.WithSchemas(schema))
	for name, c := range map[string]struct {
		entity string
		v      ml.Vector
	}{
		"empty entity": {"", vec(1, 0)},
		"no values":    {"did:a", vec()},
		"no schema":    {"did:a", ml.Vector{Values: []float32{1}}},
		"NaN":          {"did:a", vec(float32(math.NaN()), 0)},
		"out of range": {"did:a", vec(1, 2)},
		"wrong length": {"did:a", vec(1)},
	} {
		if _, err := s.Put(ctx, c.entity, c.v); !errors.Is(err, featurestore.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.Get(ctx, "did:a", "identity", 1); !errors.Is(err, featurestore.ErrNotFound) {
		t.Fatalf("a rejected vector was stored: %v", err)
	}
	if _, err := featurestore.Open(ctx, ""); !errors.Is(err, featurestore.ErrInvalid) {
		t.Fatalf("empty path: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := open(t, featurestore.WithCache(featurestore.NewMemoryCache(4)))
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 50 {
				e := fmt.Sprintf("did:%d", (g+i)%10)
				if _, err := s.Put(ctx, e, vec(float32(i))); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Get(ctx, e, "identity", 1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

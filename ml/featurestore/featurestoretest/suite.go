package featurestoretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/featurestore"
)

// Sample returns a deterministic record for entity: one feature, n, of schema "s" v1, written at
// Unix second n with sequence n.
func Sample(entity string, n int) featurestore.Record {
	return featurestore.Record{Entity: entity, Vector: ml.Vector{Schema: "s", Version: 1, Values: []float32{float32(n)}},
		Time: time.Unix(int64(n), 0), Seq: int64(n)}
}

// RunCache checks a Cache: missing keys, set and get, overwrite, distinct keys, and concurrent
// use (run it with -race). newCache is called once per subtest and must return an empty cache
// holding at least 100 records.
func RunCache(t *testing.T, newCache func(t *testing.T) featurestore.Cache) {
	t.Run("Missing", func(t *testing.T) {
		if _, ok := newCache(t).Get("nope"); ok {
			t.Fatal("Get of a missing key reported ok")
		}
	})
	t.Run("SetGetOverwrite", func(t *testing.T) {
		c := newCache(t)
		c.Set("a", Sample("a", 1))
		c.Set("b", Sample("b", 2))
		if r, ok := c.Get("a"); !ok || r.Vector.Values[0] != 1 || r.Entity != "a" {
			t.Fatalf("Get(a) = %+v, %v", r, ok)
		}
		c.Set("a", Sample("a", 3))
		if r, ok := c.Get("a"); !ok || r.Vector.Values[0] != 3 || r.Seq != 3 || !r.Time.Equal(time.Unix(3, 0)) {
			t.Fatalf("after overwrite Get(a) = %+v, %v", r, ok)
		}
		if r, ok := c.Get("b"); !ok || r.Vector.Values[0] != 2 {
			t.Fatalf("Get(b) = %+v, %v", r, ok)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		c := newCache(t)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					k := fmt.Sprintf("k%d", (g*31+i)%50)
					c.Set(k, Sample(k, i))
					if r, ok := c.Get(k); ok && r.Entity != k {
						t.Errorf("Get(%s) returned %s's record", k, r.Entity)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

// RunOnline checks an Online tier: misses, put and get, the newer record winning whatever the
// order of the puts (sequential and concurrent), keys kept apart, and cancellation. newOnline is
// called once per subtest and must return an empty tier.
func RunOnline(t *testing.T, newOnline func(t *testing.T) featurestore.Online) {
	ctx := context.Background()
	t.Run("Missing", func(t *testing.T) {
		if r, err := newOnline(t).Get(ctx, "nope"); !errors.Is(err, featurestore.ErrNotFound) {
			t.Fatalf("Get of a missing key = %+v, %v; want ErrNotFound", r, err)
		}
	})
	t.Run("PutGet", func(t *testing.T) {
		o := newOnline(t)
		for _, k := range []string{"did:example:a\x00s@1", "did:example:a\x00s@2", "b.c>*", "é"} {
			want := Sample(k, 4)
			if held, err := o.Put(ctx, k, want); err != nil || !same(held, want) {
				t.Fatalf("Put(%q) = %+v, %v", k, held, err)
			}
		}
		for _, k := range []string{"did:example:a\x00s@1", "did:example:a\x00s@2", "b.c>*", "é"} {
			if got, err := o.Get(ctx, k); err != nil || !same(got, Sample(k, 4)) {
				t.Fatalf("Get(%q) = %+v, %v", k, got, err)
			}
		}
	})
	t.Run("NewerWins", func(t *testing.T) {
		o := newOnline(t)
		mustPut(t, o, "k", Sample("k", 5))
		if held, err := o.Put(ctx, "k", Sample("k", 3)); err != nil || held.Seq != 5 {
			t.Fatalf("an older Put returned %+v, %v; want the held record 5", held, err)
		}
		if got, _ := o.Get(ctx, "k"); got.Seq != 5 {
			t.Fatalf("an older Put replaced the record: %+v", got)
		}
		mustPut(t, o, "k", Sample("k", 9))
		// Same time, greater sequence: newer.
		later := Sample("k", 9)
		later.Seq, later.Vector.Values = 10, []float32{10}
		mustPut(t, o, "k", later)
		if got, _ := o.Get(ctx, "k"); got.Seq != 10 || got.Vector.Values[0] != 10 {
			t.Fatalf("after newer Puts: %+v", got)
		}
	})
	t.Run("ConcurrentNewestWins", func(t *testing.T) {
		o := newOnline(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := g; i < 64; i += 8 {
					if _, err := o.Put(ctx, "hot", Sample("hot", i)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got, err := o.Get(ctx, "hot"); err != nil || got.Seq != 63 {
			t.Fatalf("after concurrent Puts: %+v, %v; want record 63", got, err)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		o := newOnline(t)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := o.Put(canceled, "k", Sample("k", 1)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with a canceled context = %v", err)
		}
		if _, err := o.Get(ctx, "k"); !errors.Is(err, featurestore.ErrNotFound) {
			t.Fatalf("a canceled Put stored the record: %v", err)
		}
		if _, err := o.Get(canceled, "k"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with a canceled context = %v", err)
		}
	})
}

func mustPut(t *testing.T, o featurestore.Online, k string, r featurestore.Record) {
	t.Helper()
	if _, err := o.Put(context.Background(), k, r); err != nil {
		t.Fatalf("Put(%q): %v", k, err)
	}
}

func same(a, b featurestore.Record) bool {
	return a.Entity == b.Entity && a.Seq == b.Seq && a.Time.Equal(b.Time) && a.Vector.Schema == b.Vector.Schema &&
		a.Vector.Version == b.Vector.Version && slices.Equal(a.Vector.Values, b.Vector.Values)
}

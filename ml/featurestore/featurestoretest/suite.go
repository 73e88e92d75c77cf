package featurestoretest

import (
	"fmt"
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

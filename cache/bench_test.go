package cache_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/anya-org/anya-go/cache"
)

// BenchmarkHit compares the hit paths of the cache's configurations and of a Tiered lookup.
// The anchor (raw otter) is in the bench module.
func BenchmarkHit(b *testing.B) {
	const n = 1024
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "bitcoin/utxo:" + strconv.Itoa(i)
	}
	ctx := context.Background()
	load := func(context.Context, string) (int, error) { return 0, nil }
	for _, tc := range []struct {
		name string
		opts []cache.Option
	}{
		{"plain", nil},
		{"ttl", []cache.Option{cache.WithTTL(time.Hour)}},
		{"ttl-coarse", []cache.Option{cache.WithTTL(time.Hour), cache.WithClockResolution(time.Millisecond)}},
		{"swr", []cache.Option{cache.WithTTL(time.Hour), cache.WithRefreshAfter(time.Minute)}},
	} {
		c := must(cache.New[string, int](tc.opts...))
		for i, k := range keys {
			c.Set(k, i)
		}
		tier := must(cache.NewTiered("bitcoin", c))
		b.Run(tc.name+"/Get", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, _ = c.Get(keys[i&(n-1)])
				i++
			}
		})
		b.Run(tc.name+"/GetOrLoad", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, _ = c.GetOrLoad(ctx, keys[i&(n-1)], load)
				i++
			}
		})
		b.Run(tc.name+"/Tiered", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, _ = tier.GetOrLoad(ctx, keys[i&(n-1)], load)
				i++
			}
		})
		_ = c.Close()
	}
}

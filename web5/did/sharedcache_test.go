package did

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/web5/jose"
)

// A resolver on the SDK's shared cache serves repeats from it and goes back to the method once
// the result's TTL has passed.
func TestResolverOnSharedCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := cache.New[string, *Result](cache.WithTTL(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		doc, _ := newDoc(t, "did:test:alice", jose.Ed25519)
		m := &staticMethod{docs: map[string]*Document{doc.ID: doc}, ttl: time.Minute}
		r := newResolver(t, m, WithCache(NewSharedCache(c)))
		ctx := context.Background()
		for range 3 {
			if _, err := r.Resolve(ctx, doc.ID); err != nil {
				t.Fatal(err)
			}
		}
		if m.calls.Load() != 1 {
			t.Fatalf("method called %d times for 3 resolutions, want 1", m.calls.Load())
		}
		if st := c.Stats(); st.Hits != 2 {
			t.Fatalf("shared cache hits = %d, want 2", st.Hits)
		}
		time.Sleep(time.Minute + time.Second)
		if _, err := r.Resolve(ctx, doc.ID); err != nil {
			t.Fatal(err)
		}
		if m.calls.Load() != 2 {
			t.Fatalf("expired result served from the cache (method calls %d)", m.calls.Load())
		}
	})
}

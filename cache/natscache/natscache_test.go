package natscache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/cache/cachetest"
	"github.com/anya-org/anya-go/cache/natscache"
	"github.com/anya-org/anya-go/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var n atomic.Int64

func newStore(t *testing.T, srv *natstest.Server, opts ...natscache.Option) *natscache.Store {
	t.Helper()
	s, err := natscache.New(context.Background(), srv.JetStream(t), append([]natscache.Option{natscache.WithBucket(fmt.Sprint("c", n.Add(1)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	cachetest.Run(t, func(t *testing.T) cache.Store { return newStore(t, srv) }, cachetest.WithRealTime(natscache.Granularity))
}

// Values above the inline limit travel through the object store.
func TestConformanceBlobs(t *testing.T) {
	srv := natstest.Start(t)
	cachetest.Run(t, func(t *testing.T) cache.Store { return newStore(t, srv, natscache.WithInlineMax(16)) })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type doc struct {
	ID  string `json:"id"`
	Rev int    `json:"rev"`
}

// hostTiers is one host's view of a namespace: its own in-process cache over the shared store.
func hostTiers(t *testing.T, s *natscache.Store) *cache.Tiered[doc] {
	t.Helper()
	local, err := cache.New[string, doc]()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = local.Close() })
	tiered, err := cache.NewTiered("web5", local, cache.WithStore(s, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tiered
}

// A change made by one host reaches every host's in-process tier: each drops the key and reads
// the new value from the shared store.
func TestInvalidationsReachEveryHost(t *testing.T) {
	srv := natstest.Start(t)
	bucket := natscache.WithBucket("shared")
	a := newStore(t, srv, bucket)
	b := newStore(t, srv, bucket)
	tierA := hostTiers(t, a)
	tierB := hostTiers(t, b)
	var mu sync.Mutex
	seen := map[string]int{}
	changed := make(chan string, 16)
	for _, h := range []struct {
		s    *natscache.Store
		tier *cache.Tiered[doc]
	}{{a, tierA}, {b, tierB}} {
		drop := natscache.Tiers(h.tier) // each host drops keys from its own tier
		w, err := h.s.Watch(ctxT(t), func(key string) {
			mu.Lock()
			seen[key]++
			mu.Unlock()
			drop(key)
			if h.s == b {
				changed <- key
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
	}
	loader := func(rev int) func(context.Context, string) (doc, error) {
		return func(_ context.Context, id string) (doc, error) { return doc{ID: id, Rev: rev}, nil }
	}
	if got, err := tierA.GetOrLoad(ctxT(t), "did:web:x", loader(1)); err != nil || got.Rev != 1 {
		t.Fatalf("host A load: %+v, %v", got, err)
	}
	<-changed
	if got, err := tierB.Get(ctxT(t), "did:web:x"); err != nil || got.Rev != 1 {
		t.Fatalf("host B read through the shared store: %+v, %v", got, err)
	}
	if err := tierA.Set(ctxT(t), "did:web:x", doc{ID: "did:web:x", Rev: 2}); err != nil {
		t.Fatal(err)
	}
	if key := <-changed; key != cache.Key("web5", "did:web:x") {
		t.Fatalf("changed key %q", key)
	}
	if got, err := tierB.Get(ctxT(t), "did:web:x"); err != nil || got.Rev != 2 {
		t.Fatalf("host B after host A's change: %+v, %v; want rev 2", got, err)
	}
	if err := tierA.InvalidateKeys(ctxT(t), "did:web:x"); err != nil {
		t.Fatal(err)
	}
	<-changed
	if _, err := tierB.Get(ctxT(t), "did:web:x"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("host B after host A's invalidation: %v, want ErrNotFound", err)
	}
	// Both hosts' watchers are told of all three changes (host A's own included).
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := seen[cache.Key("web5", "did:web:x")]
		mu.Unlock()
		if got == 6 {
			break
		}
		if got > 6 || time.Now().After(deadline) {
			t.Fatalf("watchers saw %d changes; want 3 on each of 2 hosts", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Expiry is a change too: watchers learn of it.
func TestWatchSeesExpiry(t *testing.T) {
	srv := natstest.Start(t)
	s := newStore(t, srv)
	changed := make(chan string, 4)
	w, err := s.Watch(ctxT(t), func(key string) { changed <- key })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := s.Set(ctxT(t), "session", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	if k := <-changed; k != "session" {
		t.Fatalf("set: %q", k)
	}
	select {
	case k := <-changed:
		if k != "session" {
			t.Fatalf("expiry: %q", k)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the expiry was never told")
	}
	if _, err := s.Get(ctxT(t), "session"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get after expiry: %v", err)
	}
}

func TestOptionsRejected(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	for name, o := range map[string]natscache.Option{
		"bucket":   natscache.WithBucket("a b"),
		"replicas": natscache.WithReplicas(9),
		"inline":   natscache.WithInlineMax(-1),
		"blob ttl": natscache.WithBlobTTL(0),
		"logger":   natscache.WithLogger(nil),
	} {
		var oe *natscache.OptionError
		if _, err := natscache.New(ctxT(t), js, o); !errors.Is(err, natscache.ErrInvalidOption) || !errors.As(err, &oe) {
			t.Errorf("%s: %v", name, err)
		}
	}
	s := newStore(t, srv)
	if _, err := s.Watch(ctxT(t), nil); !errors.Is(err, natscache.ErrInvalidOption) {
		t.Errorf("Watch(nil): %v", err)
	}
	_ = s.Close()
	if _, err := s.Watch(ctxT(t), func(string) {}); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Watch after Close: %v", err)
	}
}

package cache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anya-org/anya-go/cache"
)

type didDoc struct {
	ID   string `json:"id"`
	Keys int    `json:"keys"`
}

type tiers struct {
	local *cache.Cache[string, didDoc]
	cross *cache.Cache[string, any]
	store *cache.MemoryStore
	t     *cache.Tiered[didDoc]
	loads atomic.Int32
}

func newTiers(t *testing.T, opts ...cache.Option) *tiers {
	t.Helper()
	x := &tiers{
		local: newCache[didDoc](t, cache.WithNegativeTTL(time.Minute)),
		cross: newCache[any](t),
		store: must(cache.NewMemoryStore()),
	}
	t.Cleanup(func() { _ = x.store.Close() })
	x.t = must(cache.NewTiered("web5", x.local, append([]cache.Option{cache.WithCross(x.cross), cache.WithStore(x.store, time.Hour)}, opts...)...))
	return x
}

func (x *tiers) loader(ctx context.Context, id string) (didDoc, error) {
	x.loads.Add(1)
	if id == "did:web:missing" {
		return didDoc{}, cache.ErrNotFound
	}
	return didDoc{ID: id, Keys: 1}, nil
}

func TestTieredChainOrder(t *testing.T) {
	ctx := context.Background()
	x := newTiers(t)

	// 4: the loader, written through to the store.
	d, err := x.t.GetOrLoad(ctx, "did:web:a", x.loader)
	if err != nil || d.ID != "did:web:a" || x.loads.Load() != 1 {
		t.Fatalf("load: %+v, %v, %d loads", d, err, x.loads.Load())
	}
	raw, err := x.store.Get(ctx, cache.Key("web5", "did:web:a"))
	if err != nil || !bytes.Contains(raw, []byte(`"did:web:a"`)) {
		t.Fatalf("not written through: %q, %v", raw, err)
	}

	// 1: the namespace's cache.
	if _, err := x.t.GetOrLoad(ctx, "did:web:a", x.loader); err != nil || x.loads.Load() != 1 {
		t.Fatalf("local tier missed: %v, %d loads", err, x.loads.Load())
	}

	// 2: the cross-protocol cache, promoted to the local one.
	x.cross.Set(cache.Key("web5", "did:btc:b"), didDoc{ID: "did:btc:b", Keys: 2})
	d, err = x.t.GetOrLoad(ctx, "did:btc:b", x.loader)
	if err != nil || d.Keys != 2 || x.loads.Load() != 1 {
		t.Fatalf("cross tier: %+v, %v, %d loads", d, err, x.loads.Load())
	}
	if got, ok := x.local.Get("did:btc:b"); !ok || got.Keys != 2 {
		t.Fatal("cross hit not promoted")
	}
	// A cross value of another type is a miss.
	x.cross.Set(cache.Key("web5", "did:key:c"), "not a didDoc")
	if d, _ := x.t.GetOrLoad(ctx, "did:key:c", x.loader); d.ID != "did:key:c" || x.loads.Load() != 2 {
		t.Fatalf("a value of another type was used: %+v", d)
	}

	// 3: the shared store (another process wrote it).
	_ = x.store.Set(ctx, cache.Key("web5", "did:dht:d"), []byte(`{"id":"did:dht:d","keys":3}`), 0)
	d, err = x.t.GetOrLoad(ctx, "did:dht:d", x.loader)
	if err != nil || d.Keys != 3 || x.loads.Load() != 2 {
		t.Fatalf("store tier: %+v, %v, %d loads", d, err, x.loads.Load())
	}
	if _, ok := x.local.Get("did:dht:d"); !ok {
		t.Fatal("store hit not promoted")
	}

	// Not found anywhere: cached by the local tier, not written to the store.
	for range 2 {
		if _, err := x.t.GetOrLoad(ctx, "did:web:missing", x.loader); !errors.Is(err, cache.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if x.loads.Load() != 3 {
		t.Fatalf("%d loads: the not-found was not cached", x.loads.Load())
	}
	if _, err := x.store.Get(ctx, cache.Key("web5", "did:web:missing")); !errors.Is(err, cache.ErrNotFound) {
		t.Fatal("a not-found was written to the store")
	}
	// Get never loads.
	if _, err := x.t.Get(ctx, "did:web:other"); !errors.Is(err, cache.ErrNotFound) || x.loads.Load() != 3 {
		t.Fatalf("Get: %v, %d loads", err, x.loads.Load())
	}
}

func TestTieredNamespacesNeverCollide(t *testing.T) {
	ctx := context.Background()
	cross := newCache[any](t)
	store := must(cache.NewMemoryStore())
	defer store.Close()
	btc := must(cache.NewTiered("bitcoin", newCache[string](t), cache.WithCross(cross), cache.WithStore(store, 0)))
	web5 := must(cache.NewTiered("web5", newCache[string](t), cache.WithCross(cross), cache.WithStore(store, 0)))
	// The same id, and ids that look like each other's keys.
	for _, id := range []string{"x", "web5/x", "bitcoin/x"} {
		if _, err := btc.GetOrLoad(ctx, id, func(context.Context, string) (string, error) { return "btc:" + id, nil }); err != nil {
			t.Fatal(err)
		}
		v, err := web5.GetOrLoad(ctx, id, func(context.Context, string) (string, error) { return "web5:" + id, nil })
		if err != nil || v != "web5:"+id {
			t.Fatalf("web5 %q got %q, %v", id, v, err)
		}
	}
	if v, _ := store.Get(ctx, cache.Key("bitcoin", "web5/x")); string(v) != `"btc:web5/x"` {
		t.Fatalf("store holds %q", v)
	}
	if cache.Key("bitcoin", "web5/x") == cache.Key("web5", "x") {
		t.Fatal("keys collide")
	}
}

type brokenStore struct{ cache.Store }

func (brokenStore) Get(context.Context, string) ([]byte, error) {
	return nil, errors.New("connection reset")
}
func (brokenStore) Set(context.Context, string, []byte, time.Duration) error {
	return errors.New("connection reset")
}

func TestTieredSurvivesBadSharedTier(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	x := newTiers(t, cache.WithLogger(logger))
	_ = x.store.Set(ctx, cache.Key("web5", "did:web:corrupt"), []byte("{not json"), 0)
	d, err := x.t.GetOrLoad(ctx, "did:web:corrupt", x.loader)
	if err != nil || d.ID != "did:web:corrupt" || x.loads.Load() != 1 {
		t.Fatalf("undecodable store value: %+v, %v", d, err)
	}
	if raw, _ := x.store.Get(ctx, cache.Key("web5", "did:web:corrupt")); !json.Valid(raw) {
		t.Fatal("the loaded value did not replace the corrupt one")
	}

	broken := must(cache.NewTiered("web5", newCache[didDoc](t), cache.WithStore(brokenStore{}, 0), cache.WithLogger(logger)))
	d, err = broken.GetOrLoad(ctx, "did:web:e", x.loader)
	if err != nil || d.ID != "did:web:e" {
		t.Fatalf("unreachable store: %+v, %v", d, err)
	}
	if !bytes.Contains(logs.Bytes(), []byte("undecodable")) || !bytes.Contains(logs.Bytes(), []byte("connection reset")) {
		t.Fatalf("failures not logged: %s", logs.String())
	}
	if err := broken.Set(ctx, "did:web:f", didDoc{}); err == nil {
		t.Fatal("Set hid the store's error")
	}
}

func TestTieredInvalidation(t *testing.T) {
	ctx := context.Background()
	x := newTiers(t)
	for _, id := range []string{"did:web:a", "did:web:b", "did:key:c"} {
		if _, err := x.t.GetOrLoad(ctx, id, x.loader); err != nil {
			t.Fatal(err)
		}
		x.cross.Set(cache.Key("web5", id), didDoc{ID: id})
	}
	if err := x.t.InvalidateKeys(ctx, "did:web:a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := x.local.Get("did:web:a"); ok {
		t.Fatal("local kept it")
	}
	if _, ok := x.cross.Get(cache.Key("web5", "did:web:a")); ok {
		t.Fatal("cross kept it")
	}
	if _, err := x.store.Get(ctx, cache.Key("web5", "did:web:a")); !errors.Is(err, cache.ErrNotFound) {
		t.Fatal("store kept it")
	}
	if n := x.t.InvalidatePrefix("did:web:"); n != 2 {
		t.Fatalf("InvalidatePrefix removed %d, want 2 (local and cross)", n)
	}
	if _, ok := x.local.Get("did:key:c"); !ok {
		t.Fatal("prefix removed another id")
	}
	// Wired to events: a rotated key invalidates the DID in every tier.
	handle := cache.InvalidateOn(x.t.InvalidateKeys, func(e struct{ DID string }) []string { return []string{e.DID} })
	if err := handle(ctx, struct{ DID string }{"did:key:c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.store.Get(ctx, cache.Key("web5", "did:key:c")); !errors.Is(err, cache.ErrNotFound) {
		t.Fatal("event did not reach the store")
	}
}

func TestTieredStampede(t *testing.T) {
	x := newTiers(t)
	release := make(chan struct{})
	slow := func(ctx context.Context, id string) (didDoc, error) {
		<-release
		return x.loader(ctx, id)
	}
	var wg, started sync.WaitGroup
	started.Add(1000)
	for range 1000 {
		wg.Go(func() {
			started.Done()
			if _, err := x.t.GetOrLoad(context.Background(), "did:web:hot", slow); err != nil {
				t.Error(err)
			}
		})
	}
	started.Wait()
	close(release)
	wg.Wait()
	if x.loads.Load() != 1 {
		t.Fatalf("%d loads, want 1", x.loads.Load())
	}
}

func TestTieredInvalidOptions(t *testing.T) {
	local := newCache[int](t)
	for _, tc := range []struct {
		option string
		ns     string
		local  *cache.Cache[string, int]
		opts   []cache.Option
	}{
		{"namespace", "", local, nil},
		{"namespace", "Bitcoin", local, nil},
		{"namespace", "bit/coin", local, nil},
		{"namespace", "-x", local, nil},
		{"local", "bitcoin", nil, nil},
		{"WithStore", "bitcoin", local, []cache.Option{cache.WithStore(nil, -1)}},
		{"WithCodec", "bitcoin", local, []cache.Option{cache.WithCodec(cache.JSON[string]())}},
		{"WithLogger", "bitcoin", local, []cache.Option{cache.WithLogger(nil)}},
		{"WithTTL", "bitcoin", local, []cache.Option{cache.WithTTL(time.Minute)}},
		{"WithClock", "bitcoin", local, []cache.Option{cache.WithClock(time.Now)}},
	} {
		_, err := cache.NewTiered(tc.ns, tc.local, tc.opts...)
		var oe *cache.OptionError
		if !errors.As(err, &oe) || oe.Option != tc.option || !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("%s: err = %v", tc.option, err)
		}
	}
	if _, err := cache.NewTiered("bitcoin", local, cache.WithMaxEntries(5)); err == nil || !strings.Contains(err.Error(), "does not apply to Tiered") {
		t.Fatalf("a Cache option given to NewTiered: %v", err)
	}
	for _, ns := range []string{"bitcoin", "web5", "ml", "cross-protocol", "a_1"} {
		if !cache.ValidNamespace(ns) {
			t.Errorf("%q rejected", ns)
		}
	}
}

// FuzzTieredSharedBytes puts arbitrary bytes in the shared tier, where another process (or an
// attacker with access to the store) could: a lookup must decode them or fall back to the
// loader, never panic.
func FuzzTieredSharedBytes(f *testing.F) {
	for _, s := range []string{`{"id":"did:web:x","keys":2}`, `{`, `null`, `[]`, `{"keys":"many"}`, "\x00\xff", `""`, `{"id":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		store := must(cache.NewMemoryStore())
		defer store.Close()
		local := must(cache.New[string, didDoc]())
		defer local.Close()
		tier := must(cache.NewTiered("web5", local, cache.WithStore(store, 0)))
		if err := store.Set(ctx, cache.Key("web5", "did:web:x"), data, 0); err != nil {
			t.Fatal(err)
		}
		loaded := false
		d, err := tier.GetOrLoad(ctx, "did:web:x", func(context.Context, string) (didDoc, error) {
			loaded = true
			return didDoc{ID: "from the source"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var want didDoc
		if json.Unmarshal(data, &want) != nil {
			if !loaded || d.ID != "from the source" {
				t.Fatalf("undecodable %q gave %+v (loaded %v)", data, d, loaded)
			}
		} else if loaded || d != want {
			t.Fatalf("decodable %q gave %+v, want %+v", data, d, want)
		}
		_ = fmt.Sprint(d)
	})
}

// Another host changed keys in the shared store: only the in-process tiers drop them.
func TestTieredInvalidateLocal(t *testing.T) {
	ctx := context.Background()
	x := newTiers(t)
	for _, id := range []string{"did:web:a", "did:web:b"} {
		if _, err := x.t.GetOrLoad(ctx, id, x.loader); err != nil {
			t.Fatal(err)
		}
		x.cross.Set(cache.Key("web5", id), didDoc{ID: id})
	}
	x.t.InvalidateLocal("did:web:a")
	if _, ok := x.local.Get("did:web:a"); ok {
		t.Fatal("local kept it")
	}
	if _, ok := x.cross.Get(cache.Key("web5", "did:web:a")); ok {
		t.Fatal("cross kept it")
	}
	if _, err := x.store.Get(ctx, cache.Key("web5", "did:web:a")); err != nil {
		t.Fatalf("the shared store lost it: %v", err)
	}
	if _, ok := x.local.Get("did:web:b"); !ok {
		t.Fatal("another id was dropped")
	}
	loads := x.loads.Load()
	if _, err := x.t.GetOrLoad(ctx, "did:web:a", x.loader); err != nil || x.loads.Load() != loads {
		t.Fatalf("the next lookup did not come from the shared store: %v, %d loads", err, x.loads.Load()-loads)
	}
}

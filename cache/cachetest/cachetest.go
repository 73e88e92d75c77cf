package cachetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/cache"
)

type config struct {
	synctest    bool
	realTime    bool
	granularity time.Duration
}

// Option declares what a store supports.
type Option func(*config)

// WithSynctest declares that the store can be created and used inside a testing/synctest
// bubble: the TTL checks run in fake time there. Defaults to off: without it or
// [WithRealTime], the TTL checks are skipped.
func WithSynctest() Option { return func(o *config) { o.synctest = true } }

// WithRealTime declares that the TTL checks must wait in real time, and that the store rounds
// TTLs up to granularity (at least a millisecond). Defaults to off: without it or
// [WithSynctest], the TTL checks are skipped.
func WithRealTime(granularity time.Duration) Option {
	return func(o *config) { o.realTime, o.granularity = true, max(granularity, time.Millisecond) }
}

// Run checks the store that newStore returns against the [cache.Store] contract. Every
// subtest creates a store of its own and closes it.
func Run(t *testing.T, newStore func(t *testing.T) cache.Store, opts ...Option) {
	t.Helper()
	var o config
	for _, opt := range opts {
		opt(&o)
	}
	open := func(t *testing.T) cache.Store {
		t.Helper()
		s := newStore(t)
		if s == nil {
			t.Fatal("newStore returned nil")
		}
		return s
	}
	for _, tc := range []struct {
		name string
		fn   func(tb, cache.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"NotFound", testNotFound},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"Keys", testKeys},
		{"InvalidKeys", testInvalidKeys},
		{"NoAliasing", testNoAliasing},
		{"CancelledContext", testCancelledContext},
		{"NegativeTTL", testNegativeTTL},
		{"Concurrent", testConcurrent},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
	t.Run("TTL", func(t *testing.T) {
		switch {
		case o.synctest:
			synctest.Test(t, func(t *testing.T) {
				s := open(t)
				defer s.Close()
				testTTL(t, s, 0, time.Sleep)
			})
		case o.realTime:
			s := open(t)
			defer s.Close()
			testTTL(t, s, o.granularity, time.Sleep)
		default:
			t.Skip("the store declares neither WithSynctest nor WithRealTime")
		}
	})
}

// tb is what the checks use of *testing.T, so that they can be tested themselves.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func mustSet(t tb, s cache.Store, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Set(context.Background(), key, v, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func wantValue(t tb, s cache.Store, key string, want []byte) {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func wantNotFound(t tb, s cache.Store, key string) {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	if !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

func testRoundTrip(t tb, s cache.Store) {
	values := map[string][]byte{
		"empty":  {},
		"text":   []byte("did:dht:abc"),
		"binary": {0, 1, 2, 0xff, 0xfe, 0, 0},
		"large":  bytes.Repeat([]byte{0xa5, 0x5a, 0}, 100_000),
	}
	for k, v := range values {
		mustSet(t, s, k, v, 0)
	}
	for k, v := range values {
		wantValue(t, s, k, v)
	}
}

func testNotFound(t tb, s cache.Store) {
	wantNotFound(t, s, "never-set")
}

func testOverwrite(t tb, s cache.Store) {
	mustSet(t, s, "k", []byte("one"), 0)
	mustSet(t, s, "k", []byte("two"), 0)
	wantValue(t, s, "k", []byte("two"))
	mustSet(t, s, "k", []byte{}, 0)
	wantValue(t, s, "k", []byte{})
}

func testDelete(t tb, s cache.Store) {
	mustSet(t, s, "k", []byte("v"), 0)
	mustSet(t, s, "other", []byte("w"), 0)
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s, "k")
	wantValue(t, s, "other", []byte("w"))
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
	if err := s.Delete(context.Background(), "never-set"); err != nil {
		t.Fatalf("Delete of a key never set: %v", err)
	}
}

// CollisionKeys returns keys that a store which escapes keys carelessly would confuse with
// one another: separators of NATS subjects and paths, wildcards, escape characters, bytes
// that are not UTF-8, NUL, Unicode normalization twins and the longest key. Run stores and
// reads back every one of them; a backend's own escaping tests can use them too.
func CollisionKeys() []string {
	return []string{
		"bitcoin/utxo:bc1q", "bitcoin_utxo:bc1q", "bitcoin.utxo:bc1q", "bitcoin/utxo%3Abc1q", "bitcoin/utxo_bc1q",
		"web5/did:dht:x", "web5/did:dht/x", "a.b", "a_b", "a-b", "a*b", "a>b", "a b", "a\tb", "a\x00b", "a\x00",
		"é", "e\u0301", "日本", "\xff\xfe", "=", "==", "_", "%", "%25", ".", "..", "/", "//", "k", "K",
		strings.Repeat("x", cache.MaxStoreKeyLen), strings.Repeat("x", cache.MaxStoreKeyLen-1) + "y",
	}
}

func testKeys(t tb, s cache.Store) {
	keys := CollisionKeys()
	for i, k := range keys {
		mustSet(t, s, k, []byte(fmt.Sprint(i)), 0)
	}
	for i, k := range keys {
		wantValue(t, s, k, []byte(fmt.Sprint(i)))
	}
	for i, k := range keys {
		if i%2 == 0 {
			if err := s.Delete(context.Background(), k); err != nil {
				t.Fatalf("Delete(%q): %v", k, err)
			}
		}
	}
	for i, k := range keys {
		if i%2 == 0 {
			wantNotFound(t, s, k)
		} else {
			wantValue(t, s, k, []byte(fmt.Sprint(i)))
		}
	}
}

func testInvalidKeys(t tb, s cache.Store) {
	long := strings.Repeat("x", cache.MaxStoreKeyLen+1)
	for _, k := range []string{"", long} {
		if err := s.Set(context.Background(), k, []byte("v"), 0); !errors.Is(err, cache.ErrInvalidKey) {
			t.Fatalf("Set(%d-byte key) = %v, want ErrInvalidKey", len(k), err)
		}
		if _, err := s.Get(context.Background(), k); !errors.Is(err, cache.ErrInvalidKey) {
			t.Fatalf("Get(%d-byte key) = %v, want ErrInvalidKey", len(k), err)
		}
		if err := s.Delete(context.Background(), k); !errors.Is(err, cache.ErrInvalidKey) {
			t.Fatalf("Delete(%d-byte key) = %v, want ErrInvalidKey", len(k), err)
		}
	}
	// The rejected long key changed nothing: its 1024-byte prefix is still absent.
	wantNotFound(t, s, long[:cache.MaxStoreKeyLen])
}

func testNoAliasing(t tb, s cache.Store) {
	v := []byte("original")
	mustSet(t, s, "k", v, 0)
	copy(v, "CHANGED!")
	wantValue(t, s, "k", []byte("original"))
	got, err := s.Get(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "CHANGED!")
	wantValue(t, s, "k", []byte("original"))
}

func testCancelledContext(t tb, s cache.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mustSet(t, s, "kept", []byte("v"), 0)
	if err := s.Set(ctx, "k", []byte("v"), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Set with a cancelled context = %v", err)
	}
	wantNotFound(t, s, "k")
	if _, err := s.Get(ctx, "kept"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context = %v", err)
	}
	if err := s.Delete(ctx, "kept"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with a cancelled context = %v", err)
	}
	wantValue(t, s, "kept", []byte("v"))
}

func testNegativeTTL(t tb, s cache.Store) {
	mustSet(t, s, "k", []byte("v"), 0)
	if err := s.Set(context.Background(), "k", []byte("w"), -time.Second); !errors.Is(err, cache.ErrInvalidTTL) {
		t.Fatalf("Set with a negative TTL = %v, want ErrInvalidTTL", err)
	}
	wantValue(t, s, "k", []byte("v"))
}

func testConcurrent(t tb, s cache.Store) {
	const writers, rounds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				own := fmt.Sprintf("w%d-%d", w, i%10)
				if err := s.Set(context.Background(), own, []byte(fmt.Sprint(i)), 0); err != nil {
					errs <- err
					return
				}
				if err := s.Set(context.Background(), "shared", []byte(fmt.Sprintf("w%d", w)), 0); err != nil {
					errs <- err
					return
				}
				if _, err := s.Get(context.Background(), "shared"); err != nil {
					errs <- fmt.Errorf("Get(shared): %w", err)
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
	for w := range writers {
		for i := range 10 {
			wantValue(t, s, fmt.Sprintf("w%d-%d", w, i), []byte(fmt.Sprint(rounds-10+i)))
		}
	}
	got, err := s.Get(context.Background(), "shared")
	if err != nil || len(got) != 2 || got[0] != 'w' {
		t.Fatalf("Get(shared) = %q, %v: not one writer's value", got, err)
	}
}

func testClose(t tb, s cache.Store) {
	mustSet(t, s, "k", []byte("v"), 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Get(context.Background(), "k"); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s.Set(context.Background(), "k", []byte("v"), 0); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("Set after Close = %v, want ErrClosed", err)
	}
	if err := s.Delete(context.Background(), "k"); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("Delete after Close = %v, want ErrClosed", err)
	}
}

// testTTL checks expiry; granularity is how much later than its TTL a value may still be read.
func testTTL(t tb, s cache.Store, granularity time.Duration, sleep func(time.Duration)) {
	ttl := 10 * time.Second
	if granularity > 0 {
		ttl = granularity
	}
	mustSet(t, s, "short", []byte("v"), ttl)
	mustSet(t, s, "forever", []byte("f"), 0)
	mustSet(t, s, "renewed", []byte("r1"), ttl)
	if granularity == 0 {
		sleep(ttl - time.Millisecond) // not shortened
	}
	wantValue(t, s, "short", []byte("v"))
	mustSet(t, s, "renewed", []byte("r2"), 3*ttl) // a Set replaces the TTL
	sleep(ttl + granularity + time.Millisecond)
	if granularity == 0 {
		wantNotFound(t, s, "short")
	} else {
		// Networked stores expire on their own schedule: wait up to a few granularities more.
		for i := 0; ; i++ {
			if _, err := s.Get(context.Background(), "short"); errors.Is(err, cache.ErrNotFound) {
				break
			} else if i == 10 {
				t.Fatalf("value still readable %v after its TTL of %v", time.Duration(i+1)*granularity, ttl)
			}
			sleep(granularity)
		}
	}
	wantValue(t, s, "renewed", []byte("r2"))
	if granularity == 0 {
		sleep(100 * ttl)
	} else {
		sleep(3 * ttl) // real time: long enough for anything with a TTL to be gone
	}
	wantValue(t, s, "forever", []byte("f"))
}

package cachetest

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/cache"
)

// recordingTB records a failure and ends the check, as testing.T does.
type recordingTB struct {
	failed bool
	msg    string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatal(args ...any) {
	r.failed, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// check runs a check on its own goroutine and reports whether it failed.
func check(fn func(tb)) *recordingTB {
	r := &recordingTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

// flawed is a map-backed store with one flaw switched on at a time.
type flawed struct {
	mu       sync.Mutex
	m        map[string][]byte
	expires  map[string]time.Time
	closed   bool
	aliasing bool // keeps the caller's slice
	collide  bool // escapes "/" as "_"
	noCtx    bool // ignores the context
	noExpiry bool // ignores TTLs
	negTTL   bool // accepts negative TTLs
	noClose  bool // works after Close
	noLimit  bool // accepts any key length
}

func newFlawed() *flawed { return &flawed{m: map[string][]byte{}, expires: map[string]time.Time{}} }

func (f *flawed) key(ctx context.Context, k string) (string, error) {
	if !f.noCtx && ctx.Err() != nil {
		return "", ctx.Err()
	}
	if f.closed && !f.noClose {
		return "", cache.ErrClosed
	}
	if len(k) == 0 || (!f.noLimit && len(k) > cache.MaxStoreKeyLen) {
		return "", cache.ErrInvalidKey
	}
	if f.collide {
		k = strings.ReplaceAll(k, "/", "_")
	}
	return k, nil
}

func (f *flawed) Get(ctx context.Context, k string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, err := f.key(ctx, k)
	if err != nil {
		return nil, err
	}
	v, ok := f.m[k]
	if exp, has := f.expires[k]; ok && has && !time.Now().Before(exp) {
		ok = false
	}
	if !ok {
		return nil, cache.ErrNotFound
	}
	if f.aliasing {
		return v, nil
	}
	return bytes.Clone(v), nil
}

func (f *flawed) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, err := f.key(ctx, k)
	if err != nil {
		return err
	}
	if ttl < 0 && !f.negTTL {
		return cache.ErrInvalidTTL
	}
	if !f.aliasing {
		v = append([]byte{}, v...)
	}
	f.m[k] = v
	delete(f.expires, k)
	if ttl != 0 && !f.noExpiry {
		f.expires[k] = time.Now().Add(ttl)
	}
	return nil
}

func (f *flawed) Delete(ctx context.Context, k string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, err := f.key(ctx, k)
	if err != nil {
		return err
	}
	delete(f.m, k)
	return nil
}

func (f *flawed) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// The sound map store passes every check, and each flaw is caught by the check meant for it.
func TestChecksCatchFlaws(t *testing.T) {
	checks := map[string]func(tb, cache.Store){
		"RoundTrip": testRoundTrip, "NotFound": testNotFound, "Overwrite": testOverwrite, "Delete": testDelete,
		"Keys": testKeys, "InvalidKeys": testInvalidKeys, "NoAliasing": testNoAliasing,
		"CancelledContext": testCancelledContext, "NegativeTTL": testNegativeTTL, "Concurrent": testConcurrent,
		"Close": testClose,
	}
	for name, c := range checks {
		if r := check(func(t tb) { c(t, newFlawed()) }); r.failed {
			t.Errorf("%s fails a sound store: %s", name, r.msg)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		if r := check(func(tb tb) { testTTL(tb, newFlawed(), 0, time.Sleep) }); r.failed {
			t.Errorf("TTL fails a sound store: %s", r.msg)
		}
	})

	for _, tc := range []struct {
		check string
		flaw  func(*flawed)
	}{
		{"NoAliasing", func(f *flawed) { f.aliasing = true }},
		{"Keys", func(f *flawed) { f.collide = true }},
		{"CancelledContext", func(f *flawed) { f.noCtx = true }},
		{"NegativeTTL", func(f *flawed) { f.negTTL = true }},
		{"Close", func(f *flawed) { f.noClose = true }},
		{"InvalidKeys", func(f *flawed) { f.noLimit = true }},
	} {
		f := newFlawed()
		tc.flaw(f)
		if r := check(func(t tb) { checks[tc.check](t, f) }); !r.failed {
			t.Errorf("%s did not catch its flaw", tc.check)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		f := newFlawed()
		f.noExpiry = true
		if r := check(func(tb tb) { testTTL(tb, f, 0, time.Sleep) }); !r.failed {
			t.Error("TTL did not catch a store that never expires")
		}
	})
}

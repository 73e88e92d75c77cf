package anya

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The republisher calls its function every interval until it is stopped.
func TestEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var (
			mu    sync.Mutex
			calls []time.Time
		)
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			every(ctx, DefaultRepublishInterval, func(context.Context) {
				mu.Lock()
				calls = append(calls, time.Now())
				mu.Unlock()
			})
		}()
		time.Sleep(5*DefaultRepublishInterval + time.Minute)
		synctest.Wait()
		cancel()
		<-done
		if len(calls) != 5 {
			t.Fatalf("%d calls in five intervals, want 5", len(calls))
		}
		for i, c := range calls {
			if got := c.Sub(start); got != time.Duration(i+1)*DefaultRepublishInterval {
				t.Errorf("call %d after %v", i, got)
			}
		}
	})
}

// A round of republishing signs each did:dht identity's document again with a new sequence
// number: the gateway serves the fresh version.
func TestRepublishRefreshesTheRecords(t *testing.T) {
	ctx := t.Context()
	var (
		mu  sync.Mutex
		now = time.Now().Truncate(time.Second)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m, err := New(WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	id, err := m.NewIdentity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	version := func() string {
		m.dids.Invalidate(id.String())
		res, err := m.resolver.Resolve(ctx, id.String())
		if err != nil {
			t.Fatal(err)
		}
		return res.DocumentMetadata.VersionID
	}
	first := version()
	mu.Lock()
	now = now.Add(DefaultRepublishInterval)
	mu.Unlock()
	m.republish(ctx)
	if got, want := version(), strconv.FormatInt(clock().Unix(), 10); got != want || got == first {
		t.Fatalf("version after republishing %s, want %s (was %s)", got, want, first)
	}
}

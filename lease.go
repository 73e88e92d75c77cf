package anya

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/workflow"
)

// lease names a piece of work that one host at a time runs when the hosts share their state
// (WithJetStream): the key of a JetStream bucket whose entries expire after the lease TTL.
type lease struct {
	bucket string // the bucket's name after the prefix
	about  string // the bucket's description
	name   string // what runs, in logs
}

// lead runs run until ctx ends — with WithJetStream only while this host holds lease l — and
// again after retry when it returns before (an error, a lost lease); setLeader is told when
// this host starts and stops running it. A chain that closed (bitcoin.ErrClosed) ends it too.
func (m *Manager) lead(ctx context.Context, l lease, retry time.Duration, setLeader func(bool), run func(context.Context) error) {
	for {
		var err error
		if m.js != nil {
			err = m.runLeased(ctx, l, setLeader, run)
		} else {
			setLeader(true)
			err = run(ctx)
			setLeader(false)
		}
		if ctx.Err() != nil || errors.Is(err, bitcoin.ErrClosed) {
			return
		}
		if err != nil {
			m.log.Warn("anya: stopped; running it again from its checkpoint", "what", l.name, "err", err)
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// leaseKey is the key of a lease in its bucket.
const leaseKey = "lease"

// runLeased takes the lease and runs run while it renews it (every third of the TTL). A host
// that does not get it tries again every half TTL; one that loses it cancels run's context and
// waits for it; one that stops gives the lease up at once. setLeader (when not nil) is told
// when this host starts and stops holding it. It returns when ctx ends, when run fails, or
// (nil) when the lease was lost, for the caller to try again.
func (m *Manager) runLeased(ctx context.Context, l lease, setLeader func(bool), run func(context.Context) error) error {
	ttl := m.cfg.leaseTTL
	if ttl <= 0 {
		ttl = workflow.DefaultLeaseTTL
	}
	kv, err := natsx.OpenKV(ctx, m.js.cfg.js, natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{Bucket: m.js.cfg.name(l.bucket),
		Description: l.about, History: 1, TTL: ttl, Replicas: m.js.cfg.replicas, Storage: jetstream.FileStorage}})
	if err != nil {
		return fmt.Errorf("anya: the %s's lease bucket: %w", l.name, err)
	}
	owner := m.cfg.hostName
	if owner == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		owner = hex.EncodeToString(b)
	}
	for {
		rev, err := kv.Create(ctx, leaseKey, []byte(owner))
		if err == nil {
			return m.runHoldingLease(ctx, l, kv, owner, rev, ttl, setLeader, run)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			m.log.Debug("anya: lease", "of", l.name, "err", err)
		}
		t := time.NewTimer(ttl / 2)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (m *Manager) runHoldingLease(ctx context.Context, l lease, kv jetstream.KeyValue, owner string, rev uint64, ttl time.Duration,
	setLeader func(bool), run func(context.Context) error) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg     sync.WaitGroup
		runErr error
	)
	if setLeader != nil {
		setLeader(true)
	}
	wg.Go(func() {
		runErr = run(runCtx)
		cancel()
	})
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for held := true; held; {
		select {
		case <-runCtx.Done():
			held = false
		case <-t.C:
			next, err := kv.Update(runCtx, leaseKey, []byte(owner), rev)
			if err != nil {
				if runCtx.Err() == nil {
					m.log.Warn("anya: the lease is lost; stopping", "of", l.name, "err", err)
				}
				held = false
				break
			}
			rev = next
		}
	}
	cancel()
	wg.Wait()
	if setLeader != nil {
		setLeader(false)
	}
	// Give the lease up at once, so that another host takes over without waiting for it to
	// lapse.
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	_ = kv.Delete(dctx, leaseKey, jetstream.LastRevision(rev))
	dcancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(runErr, context.Canceled) {
		return nil // the lease was lost: try to take it again
	}
	return runErr
}

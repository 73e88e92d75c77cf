package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Lease defaults of the engine.
const (
	// DefaultLeaseTTL is how long an engine's lease on a run lasts without renewal: the time
	// another engine sharing the store waits before taking over the runs of one that died.
	// The engine renews at a third of it.
	DefaultLeaseTTL = 30 * time.Second
)

// newOwner returns a random owner ID for an engine that was given none.
func newOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "engine-" + hex.EncodeToString(b[:])
}

// holder keeps the lease of one run while the engine executes it: it acquires it, renews it
// in the background at a third of the TTL, cancels the run's context (with a *LeaseError as the
// cause) as soon as the lease is lost or cannot be renewed before it expires, and releases it
// when the run stops.
type holder struct {
	e      *Engine
	id     string
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	lease    Lease // zero until acquired
	finished bool  // the run's final transition is committed: the lease no longer matters

	stop chan struct{}
	done chan struct{} // closed when the renewer exits; nil until acquired
}

// hold returns the context the run executes under and the holder of its lease (not yet
// acquired).
func (e *Engine) hold(ctx context.Context, id string) (context.Context, *holder) {
	ctx, cancel := context.WithCancelCause(ctx)
	return ctx, &holder{e: e, id: id, cancel: cancel, stop: make(chan struct{})}
}

// acquire takes the run's lease and starts renewing it.
func (h *holder) acquire(ctx context.Context) error {
	return h.take(func() (Lease, error) { return h.e.store.Acquire(ctx, h.id, h.e.owner, h.e.cfg.leaseTTL) })
}

// take holds the lease get takes (Acquire, or CreateLeased of a new run) and starts renewing it.
func (h *holder) take(get func() (Lease, error)) error {
	start := time.Now()
	l, err := get()
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.lease = l
	h.mu.Unlock()
	h.done = make(chan struct{})
	go h.renew(start.Add(h.e.cfg.leaseTTL))
	return nil
}

// token returns the fencing token of the lease (0 before it is acquired).
func (h *holder) token() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease.Token
}

// renew keeps the lease until stopped; deadline is when it lapses by the local clock.
func (h *holder) renew(deadline time.Time) {
	defer close(h.done)
	ttl := h.e.cfg.leaseTTL
	t := time.NewTimer(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		l := h.lease
		h.mu.Unlock()
		start := time.Now()
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		nl, err := h.e.store.Renew(ctx, l, ttl)
		cancel()
		switch {
		case err == nil:
			h.mu.Lock()
			h.lease = nl
			h.mu.Unlock()
			deadline = start.Add(ttl)
			t.Reset(ttl / 3)
		case errors.Is(err, ErrLeaseLost) || !time.Now().Before(deadline):
			le := &LeaseError{RunID: h.id, Owner: h.e.owner, Token: l.Token, Err: ErrLeaseLost}
			h.e.cfg.logger.Warn("workflow: lease lost; the run stops here", "run", h.id, "owner", h.e.owner, "error", err)
			h.cancel(le)
			return
		default: // a transient failure: try again sooner, while the lease lasts
			h.e.cfg.logger.Warn("workflow: lease renewal failed; retrying", "run", h.id, "error", err)
			t.Reset(max(time.Until(deadline)/4, time.Millisecond))
		}
	}
}

// finish records that the run's final transition is committed.
func (h *holder) finish() {
	h.mu.Lock()
	h.finished = true
	h.mu.Unlock()
}

// end stops renewing and releases the lease (if the run still holds it). The lease of a
// finished run is left to lapse instead: nobody executes a finished run, and a release would
// cost the store one more write per run.
func (h *holder) end() {
	defer h.cancel(nil)
	if h.done == nil {
		return
	}
	close(h.stop)
	<-h.done
	h.mu.Lock()
	l, finished := h.lease, h.finished
	h.mu.Unlock()
	if finished {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.e.cfg.leaseTTL)
	defer cancel()
	if err := h.e.store.Release(ctx, l); err != nil {
		h.e.cfg.logger.Warn("workflow: lease release failed; it lapses by itself", "run", h.id, "error", err)
	}
}

// check turns the error of a run that stopped because of its lease into the lease's error:
// the run's context was cancelled for a lost lease, a commit was fenced off, or another engine
// holds the lease (ErrRunInProgress).
func (h *holder) check(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var le *LeaseError
	if cause := context.Cause(ctx); errors.As(cause, &le) && errors.Is(err, context.Canceled) {
		return cause
	}
	if errors.Is(err, ErrLeaseHeld) {
		return fmt.Errorf("%w: %w", ErrRunInProgress, err)
	}
	return err
}

// leased executes fn under the lease of run id, which must exist: another engine holding it
// makes it ErrRunInProgress.
func (e *Engine) leased(ctx context.Context, id string, fn func(ctx context.Context, h *holder) (*Result, error)) (*Result, error) {
	ctx, h := e.hold(ctx, id)
	defer h.end()
	if err := h.acquire(ctx); err != nil {
		return nil, h.check(ctx, err)
	}
	res, err := fn(ctx, h)
	return res, h.check(ctx, err)
}

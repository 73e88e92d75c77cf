package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/internal/telemetry"
	"github.com/anya-org/anya-go/workflow"
)

// Leases. The lease of run id is the KV entry "lease.<id>", written with a per-key TTL: the
// server deletes it when it expires, so expiry follows the server's clock alone, never the
// hosts'. Acquiring is creating that entry (a compare-and-set on absence: of racing hosts one
// wins), then raising the fencing token in the run's entry by compare-and-set (so every token is
// handed out once), then writing the token into the lease entry. Renewing rewrites the lease
// entry on its revision with a fresh TTL. Commits compare the token in the run's entry, in the
// same compare-and-set as the version, so a host whose lease passed to another cannot commit.
// TTLs are rounded up to whole seconds, JetStream's granularity.

// lease returns the run's lease entry, or nil when none is held (absent, released or expired).
func (s *Store) lease(ctx context.Context, id string) (*leaseDoc, uint64, error) {
	e, err := s.kv.Get(ctx, leaseKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var l leaseDoc
	if err := json.Unmarshal(e.Value(), &l); err != nil || l.Owner == "" {
		return nil, 0, fmt.Errorf("%w: lease of run %s", workflow.ErrCorruptState, id)
	}
	return &l, e.Revision(), nil
}

func (s *Store) putLease(ctx context.Context, id string, l leaseDoc, ttl time.Duration, rev uint64) (uint64, error) {
	v, err := json.Marshal(l)
	if err != nil {
		return 0, err
	}
	return natsx.Put(ctx, s.js, natsx.Write{Bucket: s.cfg.bucket, Key: leaseKey(id), Value: v, TTL: ttl, Expect: true, Revision: rev})
}

// Acquire implements workflow.Store. A TTL is rounded up to whole seconds.
func (s *Store) Acquire(ctx context.Context, id, owner string, ttl time.Duration) (_ workflow.Lease, err error) {
	ctx, span := s.ops.Start(ctx, "acquire")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx); err != nil {
		return workflow.Lease{}, err
	}
	defer s.mu.RUnlock()
	if owner == "" || ttl <= 0 {
		return workflow.Lease{}, fmt.Errorf("%w: lease of run %s for owner %q, ttl %v", workflow.ErrInvalidLease, id, owner, ttl)
	}
	l, err := s.acquire(ctx, id, owner, natsx.RoundTTL(ttl))
	return l, fail(ctx, err)
}

func (s *Store) acquire(ctx context.Context, id, owner string, ttl time.Duration) (workflow.Lease, error) {
	for {
		start := time.Now()
		if _, _, err := s.doc(ctx, id); err != nil {
			return workflow.Lease{}, err
		}
		cur, lrev, err := s.lease(ctx, id)
		if err != nil {
			return workflow.Lease{}, err
		}
		if cur != nil {
			if cur.Owner != owner || cur.Token == 0 {
				return workflow.Lease{}, &workflow.LeaseError{RunID: id, Owner: cur.Owner, Token: cur.Token, Err: workflow.ErrLeaseHeld}
			}
			// The owner holds it already: renew, keeping the token.
			if _, err := s.putLease(ctx, id, *cur, ttl, lrev); err != nil {
				if natsx.IsConflict(err) {
					continue
				}
				return workflow.Lease{}, err
			}
			return workflow.Lease{RunID: id, Owner: owner, Token: cur.Token, Expires: start.Add(ttl)}, nil
		}
		pending, err := json.Marshal(leaseDoc{Owner: owner})
		if err != nil {
			return workflow.Lease{}, err
		}
		lrev, err = s.kv.Create(ctx, leaseKey(id), pending, jetstream.KeyTTL(ttl))
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // another host was quicker: read who
		}
		if err != nil {
			return workflow.Lease{}, err
		}
		token, err := s.raiseToken(ctx, id)
		if err == nil {
			_, err = s.putLease(ctx, id, leaseDoc{Owner: owner, Token: token}, ttl, lrev)
			if natsx.IsConflict(err) {
				// Our entry expired (or was released) before it was complete: not ours any more.
				return workflow.Lease{}, &workflow.LeaseError{RunID: id, Err: workflow.ErrLeaseHeld}
			}
		}
		if err != nil {
			_ = s.kv.Delete(ctx, leaseKey(id), jetstream.LastRevision(lrev))
			return workflow.Lease{}, err
		}
		return workflow.Lease{RunID: id, Owner: owner, Token: token, Expires: start.Add(ttl)}, nil
	}
}

// raiseToken increments the lease token in the run's entry by compare-and-set and returns it.
func (s *Store) raiseToken(ctx context.Context, id string) (int64, error) {
	for {
		d, rev, err := s.doc(ctx, id)
		if err != nil {
			return 0, err
		}
		d.Lease++
		v, err := json.Marshal(d)
		if err != nil {
			return 0, err
		}
		if _, err := s.kv.Update(ctx, runKey(id), v, rev); err != nil {
			if natsx.IsConflict(err) {
				continue // a commit (or another raise) came in between
			}
			return 0, err
		}
		return d.Lease, nil
	}
}

// Renew implements workflow.Store. A TTL is rounded up to whole seconds. A lease that expired
// is gone from the server and cannot be renewed, even if nobody acquired it since.
func (s *Store) Renew(ctx context.Context, l workflow.Lease, ttl time.Duration) (_ workflow.Lease, err error) {
	ctx, span := s.ops.Start(ctx, "renew")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx); err != nil {
		return workflow.Lease{}, err
	}
	defer s.mu.RUnlock()
	if ttl <= 0 {
		return workflow.Lease{}, fmt.Errorf("%w: ttl %v", workflow.ErrInvalidLease, ttl)
	}
	ttl = natsx.RoundTTL(ttl)
	start := time.Now()
	cur, lrev, err := s.lease(ctx, l.RunID)
	if err != nil {
		return workflow.Lease{}, fail(ctx, err)
	}
	lost := &workflow.LeaseError{RunID: l.RunID, Token: l.Token, Err: workflow.ErrLeaseLost}
	if cur == nil || cur.Owner != l.Owner || cur.Token != l.Token {
		if cur != nil {
			lost.Owner, lost.Token = cur.Owner, cur.Token
		}
		return workflow.Lease{}, lost
	}
	if _, err := s.putLease(ctx, l.RunID, *cur, ttl, lrev); err != nil {
		if natsx.IsConflict(err) {
			return workflow.Lease{}, lost
		}
		return workflow.Lease{}, fail(ctx, err)
	}
	l.Expires = start.Add(ttl)
	return l, nil
}

// Release implements workflow.Store.
func (s *Store) Release(ctx context.Context, l workflow.Lease) (err error) {
	ctx, span := s.ops.Start(ctx, "release")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	cur, lrev, err := s.lease(ctx, l.RunID)
	if err != nil || cur == nil || cur.Owner != l.Owner || cur.Token != l.Token {
		return fail(ctx, err)
	}
	if err := s.kv.Delete(ctx, leaseKey(l.RunID), jetstream.LastRevision(lrev)); err != nil && !natsx.IsConflict(err) {
		return fail(ctx, err)
	}
	return nil
}

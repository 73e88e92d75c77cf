package natsx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Txn is an optimistic transaction on one KV bucket: Get reads a key and remembers its
// revision; Put and Delete stage writes; Commit makes every staged write in one atomic Batch,
// each write to a key read expecting the revision read (or the key's absence), so that the
// commit fails — IsConflict — if another writer changed one of them since, and nothing is
// written. Keys written without being read are written blindly. Update runs a function as a
// transaction until it commits. The bucket's stream needs AllowAtomicPublish (EnableBatch).
//
// A Txn reads the bucket's stream directly, so that it sees a deleted key's delete marker,
// whose revision a write must expect; the KV API reports a deleted key as absent.
type Txn struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	bucket string

	markerTTL time.Duration
	reads     map[string]uint64 // key → revision read (0: never written)
	vals      map[string][]byte // key → value read or staged (nil: absent)
	writes    map[string]*Write
	order     []string
}

// Bucket is a KV bucket's stream, for transactions on it.
type Bucket struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	name   string
	// MarkerTTL, when positive, is the TTL of the delete markers transactions write (the bucket
	// needs LimitMarkerTTL): a deleted key's marker then goes after it, instead of staying for
	// ever. A key created again must then expect either the marker or nothing: read it first.
	MarkerTTL time.Duration
}

// OpenBucket returns the bucket name (which must exist, with atomic batches enabled) for
// transactions.
func OpenBucket(ctx context.Context, js jetstream.JetStream, name string) (*Bucket, error) {
	st, err := js.Stream(ctx, "KV_"+name)
	if err != nil {
		return nil, fmt.Errorf("natsx: stream of bucket %s: %w", name, err)
	}
	return &Bucket{js: js, stream: st, name: name}, nil
}

// Begin starts a transaction.
func (b *Bucket) Begin() *Txn {
	return &Txn{js: b.js, stream: b.stream, bucket: b.name, markerTTL: b.MarkerTTL, reads: map[string]uint64{}, vals: map[string][]byte{},
		writes: map[string]*Write{}}
}

// MaxConflicts bounds how often Update runs a transaction again.
const MaxConflicts = 200

// Update runs fn in a transaction and commits it, running it again in a new transaction while
// the commit conflicts with another writer; an error from fn ends it without writing. It gives
// up, returning the conflict, once ctx ends or after MaxConflicts conflicts in a row.
func (b *Bucket) Update(ctx context.Context, fn func(tx *Txn) error) error {
	wait := time.Millisecond
	for n := 1; ; n++ {
		tx := b.Begin()
		if err := fn(tx); err != nil {
			return err
		}
		err := tx.Commit(ctx)
		if err == nil || !IsConflict(err) {
			return err
		}
		if n >= MaxConflicts {
			return fmt.Errorf("natsx: %d transactions in a row conflicted: %w", n, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// Get returns key's value as of this transaction (what it read or staged), and whether the key
// exists. The value is the caller's to keep, not to change.
func (t *Txn) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if v, ok := t.vals[key]; ok || t.readOrStaged(key) {
		return v, v != nil, nil
	}
	m, err := t.stream.GetLastMsgForSubject(ctx, "$KV."+t.bucket+"."+key)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		t.reads[key], t.vals[key] = 0, nil
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("natsx: get %s: %w", key, err)
	}
	t.reads[key] = m.Sequence
	if op := m.Header.Get(kvOperation); op == "DEL" || op == "PURGE" {
		t.vals[key] = nil
		return nil, false, nil
	}
	v := m.Data
	if v == nil {
		v = []byte{}
	}
	t.vals[key] = v
	return v, true, nil
}

func (t *Txn) readOrStaged(key string) bool {
	if _, ok := t.reads[key]; ok {
		return true
	}
	_, ok := t.writes[key]
	return ok
}

func (t *Txn) stage(key string, w *Write) {
	if _, ok := t.writes[key]; !ok {
		t.order = append(t.order, key)
	}
	if rev, ok := t.reads[key]; ok {
		w.Expect, w.Revision = true, rev
	}
	t.writes[key] = w
}

// Put stages writing value under key.
func (t *Txn) Put(key string, value []byte) {
	t.stage(key, &Write{Bucket: t.bucket, Key: key, Value: value})
	if value == nil {
		value = []byte{}
	}
	t.vals[key] = value
}

// Create stages writing value under key, which must not exist at the commit.
func (t *Txn) Create(key string, value []byte) {
	t.Put(key, value)
	if _, read := t.reads[key]; !read {
		w := t.writes[key]
		w.Expect, w.Revision = true, 0
	}
}

// Delete stages deleting key (a delete marker).
func (t *Txn) Delete(key string) {
	t.stage(key, &Write{Bucket: t.bucket, Key: key, Delete: true, TTL: t.markerTTL})
	t.vals[key] = nil
}

// Empty reports whether the transaction stages no write.
func (t *Txn) Empty() bool { return len(t.order) == 0 }

// Commit makes the staged writes atomically (nothing to write is a success).
func (t *Txn) Commit(ctx context.Context) error {
	if len(t.order) == 0 {
		return nil
	}
	ws := make([]Write, len(t.order))
	for i, k := range t.order {
		ws[i] = *t.writes[k]
	}
	_, err := Batch(ctx, t.js, ws)
	return err
}

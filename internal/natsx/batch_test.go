package natsx_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/internal/natsx"
)

func batchBucket(t *testing.T, js jetstream.JetStream, name string, enable bool) jetstream.KeyValue {
	t.Helper()
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: name, LimitMarkerTTL: 1_000_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if enable {
		if err := natsx.EnableBatch(t.Context(), js, name); err != nil {
			t.Fatal(err)
		}
		if err := natsx.EnableBatch(t.Context(), js, name); err != nil {
			t.Fatalf("EnableBatch again: %v", err)
		}
	}
	return kv
}

func create(bucket, key, value string) natsx.Write {
	return natsx.Write{Bucket: bucket, Key: key, Value: []byte(value), Expect: true}
}

func TestBatchAllOrNothing(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream(t)
	kv := batchBucket(t, js, "b", true)
	rev, err := natsx.Batch(ctx, js, []natsx.Write{create("b", "rec.k1", "r1"), create("b", "coin.a", "k1"), create("b", "coin.b", "k1")})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx, "coin.b"); err != nil || e.Revision() != rev || string(e.Value()) != "k1" {
		t.Fatalf("last write: %v %v (batch returned revision %d)", e, err, rev)
	}
	// A second batch that would take coin.b again is refused whole: coin.c stays free.
	_, err = natsx.Batch(ctx, js, []natsx.Write{create("b", "rec.k2", "r2"), create("b", "coin.c", "k2"), create("b", "coin.b", "k2")})
	if !natsx.IsConflict(err) {
		t.Fatalf("conflicting batch: %v, want a conflict", err)
	}
	for _, k := range []string{"rec.k2", "coin.c"} {
		if _, err := kv.Get(ctx, k); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Fatalf("%s written by a refused batch: %v", k, err)
		}
	}
	// Expecting a revision: the current one passes, an old one does not.
	e, _ := kv.Get(ctx, "coin.a")
	if _, err := natsx.Batch(ctx, js, []natsx.Write{{Bucket: "b", Key: "coin.a", Value: []byte("x"), Expect: true, Revision: e.Revision() + 100}}); !natsx.IsConflict(err) {
		t.Fatalf("stale revision: %v", err)
	}
	if _, err := natsx.Batch(ctx, js, []natsx.Write{{Bucket: "b", Key: "coin.a", Value: []byte("x"), Expect: true, Revision: e.Revision()}, {Bucket: "b", Key: "plain", Value: []byte("p")}}); err != nil {
		t.Fatalf("current revision: %v", err)
	}
}

func TestBatchRefusals(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream(t)
	batchBucket(t, js, "plain", false)
	batchBucket(t, js, "b", true)
	for name, ws := range map[string][]natsx.Write{
		"none":        nil,
		"two buckets": {create("b", "x", "1"), create("plain", "y", "2")},
		"too many":    make([]natsx.Write, natsx.MaxBatch+1),
	} {
		if _, err := natsx.Batch(ctx, js, ws); !errors.Is(err, natsx.ErrBatch) {
			t.Errorf("%s: %v, want ErrBatch", name, err)
		}
	}
	_, err := natsx.Batch(ctx, js, []natsx.Write{create("plain", "x", "1"), create("plain", "y", "2")})
	if err == nil || natsx.IsConflict(err) {
		t.Fatalf("batch on a bucket without atomic batches: %v", err)
	}
}

// Of racing batches that each claim a shared key, exactly one is applied.
func TestBatchRace(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream(t)
	kv := batchBucket(t, js, "b", true)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = natsx.Batch(ctx, js, []natsx.Write{create("b", fmt.Sprint("rec.", i), "r"), create("b", "coin.shared", fmt.Sprint(i))})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("batches %d and %d both took the shared key", won, i)
		case err == nil:
			won = i
		case !natsx.IsConflict(err):
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	e, err := kv.Get(ctx, "coin.shared")
	if err != nil || string(e.Value()) != fmt.Sprint(won) {
		t.Fatalf("shared key %v %v; the winner was %d", e, err, won)
	}
	keys, _ := kv.Keys(ctx)
	if len(keys) != 2 {
		t.Fatalf("keys after the race: %v", keys)
	}
}

// A batch of one write (published as one message, with its expectation) keeps a batch's
// contract: a create of an existing key, a stale revision and a deletion expecting a stale
// revision conflict and change nothing; a deletion (its marker with a TTL) hides the key, and a
// create expecting the marker's revision writes it again.
func TestBatchOfOne(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream(t)
	kv := batchBucket(t, js, "b", true)
	rev, err := natsx.Batch(ctx, js, []natsx.Write{create("b", "k", "v1")})
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]natsx.Write{
		"create of an existing key": create("b", "k", "v2"),
		"stale revision":            {Bucket: "b", Key: "k", Value: []byte("v2"), Expect: true, Revision: rev + 7},
		"stale deletion":            {Bucket: "b", Key: "k", Delete: true, Expect: true, Revision: rev + 7},
	} {
		if _, err := natsx.Batch(ctx, js, []natsx.Write{w}); !natsx.IsConflict(err) {
			t.Errorf("%s: %v, want a conflict", name, err)
		}
	}
	if e, err := kv.Get(ctx, "k"); err != nil || string(e.Value()) != "v1" || e.Revision() != rev {
		t.Fatalf("after refused writes: %v %v", e, err)
	}
	del, err := natsx.Batch(ctx, js, []natsx.Write{{Bucket: "b", Key: "k", Delete: true, Expect: true, Revision: rev, TTL: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "k"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	// Created again, expecting the marker (read from the stream, as a Txn does).
	if _, err := natsx.Batch(ctx, js, []natsx.Write{{Bucket: "b", Key: "k", Value: []byte("v3"), Expect: true, Revision: del}}); err != nil {
		t.Fatalf("create over the marker: %v", err)
	}
	if e, err := kv.Get(ctx, "k"); err != nil || string(e.Value()) != "v3" {
		t.Fatalf("created again: %v %v", e, err)
	}
}

package natsx_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/internal/natsx"
)

func openBucket(t *testing.T, js jetstream.JetStream, name string) (*natsx.Bucket, jetstream.KeyValue) {
	t.Helper()
	kv := batchBucket(t, js, name, true)
	b, err := natsx.OpenBucket(t.Context(), js, name)
	if err != nil {
		t.Fatal(err)
	}
	return b, kv
}

// Increments from many goroutines, each a read-modify-write transaction over two keys, lose
// none.
func TestTxnCounters(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream(t)
	b, kv := openBucket(t, js, "tx")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- b.Update(ctx, func(tx *natsx.Txn) error {
				for _, k := range []string{"count", "sum"} {
					v, _, err := tx.Get(ctx, k)
					if err != nil {
						return err
					}
					c, _ := strconv.Atoi(string(v))
					if k == "sum" {
						c += i
					} else {
						c++
					}
					tx.Put(k, []byte(strconv.Itoa(c)))
				}
				return nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for k, want := range map[string]string{"count": "20", "sum": "190"} {
		if e, err := kv.Get(ctx, k); err != nil || string(e.Value()) != want {
			t.Fatalf("%s = %v %v, want %s", k, e, err, want)
		}
	}
}

// A deleted key reads as absent and can be written again; Create refuses an existing key.
func TestTxnDeleteAndCreate(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream(t)
	b, kv := openBucket(t, js, "tx")
	if _, err := kv.Put(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	tx := b.Begin()
	if v, ok, err := tx.Get(ctx, "a"); err != nil || !ok || string(v) != "1" {
		t.Fatalf("Get a: %q %v %v", v, ok, err)
	}
	tx.Delete("a")
	tx.Create("b", []byte("2"))
	if _, ok, _ := tx.Get(ctx, "a"); ok {
		t.Fatal("a staged deleted reads as present")
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "a"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("a after delete: %v", err)
	}
	tx = b.Begin()
	if _, ok, err := tx.Get(ctx, "a"); err != nil || ok {
		t.Fatalf("deleted a: %v %v", ok, err)
	}
	tx.Put("a", []byte("3"))
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("writing a deleted key again: %v", err)
	}
	tx = b.Begin()
	tx.Create("b", []byte("x"))
	if err := tx.Commit(ctx); !natsx.IsConflict(err) {
		t.Fatalf("Create of an existing key: %v", err)
	}
	// A key changed between read and commit fails the commit; nothing is written.
	tx = b.Begin()
	if _, _, err := tx.Get(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	tx.Put("a", []byte("4"))
	tx.Put("c", []byte("5"))
	if _, err := kv.Put(ctx, "a", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); !natsx.IsConflict(err) {
		t.Fatalf("stale commit: %v", err)
	}
	if _, err := kv.Get(ctx, "c"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("c written by a failed commit: %v", err)
	}
	// Update stops at fn's error, and at a cancelled context.
	boom := errors.New("boom")
	if err := b.Update(ctx, func(*natsx.Txn) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Update(cctx, func(tx *natsx.Txn) error { tx.Put("d", nil); return nil }); err == nil {
		t.Fatal("Update with a cancelled context succeeded")
	}
}

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

// streamConfig returns the configuration of the stream named.
func streamConfig(t *testing.T, js jetstream.JetStream, name string) jetstream.StreamConfig {
	t.Helper()
	st, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().Config
}

// OpenKV makes a KV bucket nats.go can use, without direct gets, taking atomic batches when
// asked; opened again — also after nats.go's CreateOrUpdateKeyValue turned direct gets back on
// and atomic batches off — it is as OpenKV makes it.
func TestOpenKV(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream(t)
	cfg := natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{Bucket: "b", History: 1, LimitMarkerTTL: time.Second}, Batch: true}
	kv, err := natsx.OpenKV(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx, "k"); err != nil || string(e.Value()) != "v" {
		t.Fatalf("get: %v %v", e, err)
	}
	if c := streamConfig(t, js, "KV_b"); c.AllowDirect || !c.AllowAtomicPublish || !c.AllowMsgTTL || c.MaxMsgsPerSubject != 1 {
		t.Fatalf("stream of the bucket: %+v", c)
	}
	if _, err := natsx.Batch(ctx, js, []natsx.Write{create("b", "x", "1"), create("b", "y", "2")}); err != nil {
		t.Fatalf("batch: %v", err)
	}
	// nats.go's own update turns direct gets on and atomic batches off; OpenKV puts them back.
	if _, err := js.CreateOrUpdateKeyValue(ctx, cfg.KeyValueConfig); err != nil {
		t.Fatal(err)
	}
	if c := streamConfig(t, js, "KV_b"); !c.AllowDirect || c.AllowAtomicPublish {
		t.Fatalf("after nats.go's update: %+v", c)
	}
	if _, err := natsx.OpenKV(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	if c := streamConfig(t, js, "KV_b"); c.AllowDirect || !c.AllowAtomicPublish {
		t.Fatalf("opened again: %+v", c)
	}
	if e, err := kv.Get(ctx, "y"); err != nil || string(e.Value()) != "2" {
		t.Fatalf("a value written before: %v %v", e, err)
	}

	obs, err := natsx.OpenObjectStore(ctx, js, jetstream.ObjectStoreConfig{Bucket: "blobs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obs.PutBytes(ctx, "o", []byte("data")); err != nil {
		t.Fatal(err)
	}
	if b, err := obs.GetBytes(ctx, "o"); err != nil || string(b) != "data" {
		t.Fatalf("object: %q %v", b, err)
	}
	if c := streamConfig(t, js, "OBJ_blobs"); c.AllowDirect {
		t.Fatalf("stream of the object store: %+v", c)
	}
}

// Configurations OpenKV and OpenObjectStore do not make are refused before anything is
// created.
func TestOpenRefusals(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream(t)
	for name, cfg := range map[string]jetstream.KeyValueConfig{
		"empty name":       {},
		"dot in the name":  {Bucket: "a.b"},
		"wildcard":         {Bucket: "a*"},
		"space":            {Bucket: "a b"},
		"history too long": {Bucket: "h", History: 65},
		"mirror":           {Bucket: "m", Mirror: &jetstream.StreamSource{Name: "other"}},
		"sources":          {Bucket: "s", Sources: []*jetstream.StreamSource{{Name: "other"}}},
	} {
		if _, err := natsx.OpenKV(ctx, js, natsx.KVConfig{KeyValueConfig: cfg}); !errors.Is(err, natsx.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if _, err := natsx.OpenObjectStore(ctx, js, jetstream.ObjectStoreConfig{Bucket: "a.b"}); !errors.Is(err, natsx.ErrConfig) {
		t.Errorf("object store a.b: %v, want ErrConfig", err)
	}
	if names := js.StreamNames(ctx); names.Err() == nil {
		for n := range names.Name() {
			t.Errorf("stream %s created by a refused configuration", n)
		}
	}
}

// On a three-node cluster, under concurrent writes, a value written is read back at once
// through any node: reads of OpenKV's buckets go to the stream's leader, never to a follower
// that has not applied the write yet (nats.go's direct gets are answered by the replica on the
// reader's node, a follower on two nodes of three, and a busy follower lags: the verified
// payment benchmark on a cluster found runs "not found" just after creating them that way; on
// an idle machine this test rarely catches it, TestOpenKV checks the configuration that rules
// it out).
func TestOpenKVReadYourWritesOnACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	ctx := t.Context()
	c := natstest.StartCluster(t, 3)
	if _, err := natsx.OpenKV(ctx, connectTo(t, c, 0), natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{Bucket: "ryw", Replicas: 3}}); err != nil {
		t.Fatal(err)
	}
	const writers, writes = 6, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		kv, err := connectTo(t, c, w%3).KeyValue(ctx, "ryw")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := range writes {
				key := fmt.Sprintf("w%d", w)
				rev, err := kv.Put(ctx, key, []byte(fmt.Sprint(i)))
				if err != nil {
					errs <- err
					return
				}
				if e, err := kv.Get(ctx, key); err != nil || e.Revision() != rev {
					errs <- fmt.Errorf("writer %d, write %d (revision %d), read at once: %v %v", w, i, rev, e, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// connectTo returns the JetStream API over a connection to node i alone.
func connectTo(t *testing.T, c *natstest.Cluster, i int) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(c.Node(i).Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

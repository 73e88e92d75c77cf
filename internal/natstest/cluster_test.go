package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/internal/natsx"
)

// An R3 bucket on a three-node cluster keeps every write through the loss of one node and its
// return.
func TestClusterNodeLoss(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	js := c.JetStream(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	// Reads from the stream's leader, as the SDK's buckets do: a replica that has not applied the
	// newest write yet would answer "key not found".
	kv, err := natsx.OpenKV(ctx, js, natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{Bucket: "r3", Replicas: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "before", []byte("1")); err != nil {
		t.Fatal(err)
	}
	c.Stop(0)
	put := func(k string) {
		t.Helper()
		for {
			if _, err := kv.Put(ctx, k, []byte("1")); err == nil {
				return
			} else if ctx.Err() != nil {
				t.Fatalf("put %s with a node down: %v", k, err)
			}
			time.Sleep(50 * time.Millisecond) // a new leader is being elected
		}
	}
	put("during")
	c.Start(t, 0)
	put("after")
	for _, k := range []string{"before", "during", "after"} {
		if _, err := kv.Get(ctx, k); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
}

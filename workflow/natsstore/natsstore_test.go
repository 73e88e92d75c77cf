package natsstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/natsstore"
	"github.com/anya-org/anya-go/workflow/workflowtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bucketFor names a bucket after a suite directory, so that reopening the same directory
// reopens the same bucket.
func bucketFor(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "wf_" + hex.EncodeToString(sum[:8])
}

func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	workflowtest.Run(t, workflowtest.Backend{
		Open: func(t testing.TB, dir string) workflow.Store {
			s, err := natsstore.New(context.Background(), srv.JetStream(t), natsstore.WithBucket(bucketFor(dir)))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Durable:  true,
		LeaseTTL: time.Second,
	})
}

func mustJS(t testing.TB, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

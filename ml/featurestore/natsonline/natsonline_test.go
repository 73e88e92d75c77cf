package natsonline_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/ml/featurestore/featurestoretest"
	"github.com/anya-org/anya-go/ml/featurestore/natsonline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var n atomic.Int64

func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	featurestoretest.RunOnline(t, func(t *testing.T) featurestore.Online {
		o, err := natsonline.New(context.Background(), srv.JetStream(t), natsonline.WithBucket(fmt.Sprint("f", n.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		return o
	})
}

// Two hosts, each with its own offline tier, share the online tier: each serves the latest
// vector either wrote, and a late backfill on one does not move the other backwards.
func TestHostsShareTheOnlineTier(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	host := func(clock time.Time) *featurestore.Store {
		o, err := natsonline.New(ctx, srv.JetStream(t))
		if err != nil {
			t.Fatal(err)
		}
		s, err := featurestore.Open(ctx, ":memory:", featurestore.WithOnline(o), featurestore.WithClock(func() time.Time { return clock }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := host(base.Add(time.Minute)), host(base.Add(2*time.Minute))
	vec := func(x float32) ml.Vector { return ml.Vector{Schema: "risk", Version: 1, Values: []float32{x, 2 * x}} }
	if _, err := a.Put(ctx, "did:example:alice", vec(1)); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "did:example:alice", "risk", 1); err != nil || got.Vector.Values[0] != 1 {
		t.Fatalf("host b reads host a's vector: %+v, %v", got, err)
	}
	if _, err := b.Put(ctx, "did:example:alice", vec(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutAt(ctx, "did:example:alice", vec(0.5), base); err != nil { // a backfill into the past
		t.Fatal(err)
	}
	for name, s := range map[string]*featurestore.Store{"a": a, "b": b} {
		if got, err := s.Get(ctx, "did:example:alice", "risk", 1); err != nil || got.Vector.Values[0] != 2 {
			t.Fatalf("host %s serves %+v, %v; want the newest vector (2)", name, got, err)
		}
	}
	// Each host's history stays its own: host a's AsOf knows only what host a wrote.
	if got, err := a.AsOf(ctx, "did:example:alice", "risk", 1, base.Add(90*time.Second)); err != nil || got.Vector.Values[0] != 1 {
		t.Fatalf("host a's AsOf: %+v, %v", got, err)
	}
}

func TestOptionsRejected(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	for name, o := range map[string]natsonline.Option{"bucket": natsonline.WithBucket(""), "replicas": natsonline.WithReplicas(0)} {
		var oe *natsonline.OptionError
		if _, err := natsonline.New(context.Background(), js, o); !errors.Is(err, natsonline.ErrInvalidOption) || !errors.As(err, &oe) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

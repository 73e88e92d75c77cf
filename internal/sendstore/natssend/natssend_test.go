package natssend_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/internal/sendstore"
	"github.com/anya-org/anya-go/internal/sendstore/natssend"
	"github.com/anya-org/anya-go/internal/sendstore/sendstoretest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var buckets atomic.Int64

func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	sendstoretest.Run(t, func(t *testing.T) sendstoretest.Opener {
		bucket := fmt.Sprint("sends", buckets.Add(1))
		return func(t *testing.T) sendstore.Store {
			s, err := natssend.New(t.Context(), srv.JetStream(t), natssend.WithBucket(bucket))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
	}, sendstoretest.Shared())
}

// Records and reservations survive a restart of the server, and a store keeps working across
// it (its connection reconnects).
func TestServerRestart(t *testing.T) {
	srv := natstest.Start(t)
	ctx := t.Context()
	s, err := natssend.New(ctx, srv.JetStream(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	coin := wire.OutPoint{Hash: chainhash.Hash{9}, Index: 2}
	rec := sendstoretest.Spending("k", coin)
	if _, _, err := s.PutIfAbsent(ctx, rec); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	other, err := natssend.New(ctx, srv.JetStream(t)) // a host starting after the restart
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if got, err := other.Get(ctx, "k"); err != nil || got.Txid != rec.Txid {
		t.Fatalf("record after the restart: %+v %v", got, err)
	}
	if got, err := other.Reserved(ctx, []wire.OutPoint{coin}); err != nil || got[coin] != "k" {
		t.Fatalf("reservation after the restart: %v %v", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err := s.PutIfAbsent(ctx, sendstoretest.Spending("k2", coin))
		if errors.Is(err, sendstore.ErrCoinReserved) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first store after the restart: %v, want ErrCoinReserved", err)
		}
		time.Sleep(20 * time.Millisecond) // reconnecting
	}
}

func TestOptionsRejected(t *testing.T) {
	js := natstest.Start(t).JetStream(t)
	ctx := context.Background()
	for name, opts := range map[string][]natssend.Option{
		"empty bucket":  {natssend.WithBucket("")},
		"dotted bucket": {natssend.WithBucket("a.b")},
		"replicas 0":    {natssend.WithReplicas(0)},
		"replicas 7":    {natssend.WithReplicas(7)},
	} {
		var oe *natssend.OptionError
		if _, err := natssend.New(ctx, js, opts...); !errors.As(err, &oe) || !errors.Is(err, natssend.ErrInvalidOption) {
			t.Errorf("%s: %v, want an *OptionError", name, err)
		}
	}
	if _, err := natssend.New(ctx, nil); !errors.Is(err, natssend.ErrInvalidOption) {
		t.Errorf("nil JetStream: %v", err)
	}
}

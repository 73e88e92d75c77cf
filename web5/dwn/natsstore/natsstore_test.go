package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/dwn/dwntest"
	"github.com/anya-org/anya-go/web5/dwn/natsstore"
	"github.com/anya-org/anya-go/web5/web5test"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var n atomic.Int64

func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	dwntest.Run(t, func(t *testing.T) dwn.Store {
		s, err := natsstore.New(context.Background(), srv.JetStream(t), natsstore.WithBucket(fmt.Sprint("d", n.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Records too large for a KV entry travel through the object store.
func TestConformanceBlobs(t *testing.T) {
	srv := natstest.Start(t)
	dwntest.Run(t, func(t *testing.T) dwn.Store {
		s, err := natsstore.New(context.Background(), srv.JetStream(t), natsstore.WithBucket(fmt.Sprint("d", n.Add(1))), natsstore.WithInlineMax(64))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Stored records survive a restart of the server.
func TestServerRestartKeepsRecords(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	s, err := natsstore.New(ctx, srv.JetStream(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	alice := web5test.Alice(t)
	tenant := alice.String()
	data := []byte("grocery list")
	m, err := dwn.NewWrite(ctx, alice, tenant, dwn.Write{Data: data, DataFormat: "text/plain", Schema: "https://schema.org/Note"},
		dwn.WithTimestamp(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	d := m.Descriptor()
	r := &dwn.Record{ID: m.RecordID(), ContextID: m.ContextID(), Author: tenant, Schema: d.Schema, DataFormat: d.DataFormat,
		DataCID: d.DataCID, DataSize: d.DataSize, DateCreated: d.DateCreated, DateUpdated: d.MessageTimestamp, Initial: m, Latest: m, Data: data}
	if err := s.PutRecord(ctx, tenant, r, ""); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	got, err := s.Record(ctx, tenant, r.ID)
	if err != nil || got.Latest.CID() != m.CID() || string(got.Data) != string(data) {
		t.Fatalf("after the restart: %+v, %v", got, err)
	}
	rs, err := s.Query(ctx, tenant, dwn.StoreQuery{Filter: dwn.Filter{Schema: "https://schema.org/Note"}, Sort: dwn.CreatedAscending, Limit: 10})
	if err != nil || len(rs) != 1 || rs[0].ID != r.ID {
		t.Fatalf("query after the restart: %v, %v", rs, err)
	}
	// The conditional put still holds: a stale writer is refused.
	if err := s.PutRecord(ctx, tenant, r, ""); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("a second create after the restart: %v, want ErrConflict", err)
	}
}

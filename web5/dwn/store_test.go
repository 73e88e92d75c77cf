package dwn_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/dwn/dwntest"
	"github.com/anya-org/anya-go/web5/web5test"
)

func TestMemoryStoreConformance(t *testing.T) {
	dwntest.Run(t, func(t *testing.T) dwn.Store { return dwn.NewMemoryStore() })
}

func TestSQLiteStoreConformance(t *testing.T) {
	dwntest.Run(t, func(t *testing.T) dwn.Store {
		s, err := dwn.OpenSQLiteStore(context.Background(), filepath.Join(t.TempDir(), "dwn.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestSQLiteMemoryStoreConformance(t *testing.T) {
	dwntest.Run(t, func(t *testing.T) dwn.Store {
		s, err := dwn.OpenSQLiteStore(context.Background(), sqlitex.Memory)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// signedRecord builds the record a node would store for a new write of data by author.
func signedRecord(t *testing.T, author *did.BearerDID, tenant string, data string, ts time.Time) *dwn.Record {
	t.Helper()
	m, err := dwn.NewWrite(context.Background(), author, tenant, dwn.Write{DataFormat: "text/plain", Data: []byte(data)}, dwn.WithTimestamp(ts))
	if err != nil {
		t.Fatal(err)
	}
	d := m.Descriptor()
	return &dwn.Record{ID: m.RecordID(), Author: author.String(), DataFormat: d.DataFormat, DataCID: d.DataCID, DataSize: d.DataSize,
		DateCreated: d.DateCreated, DateUpdated: d.MessageTimestamp, Initial: m, Latest: m, Data: []byte(data)}
}

// Many puts at once on one SQLite store — new records, and rival updates of one record from the
// same version — are written together in few transactions: every new record is stored as put,
// and exactly one rival update wins, the others getting ErrConflict.
func TestSQLiteConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	s, err := dwn.OpenSQLiteStore(ctx, filepath.Join(t.TempDir(), "dwn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	alice := web5test.Alice(t)
	tenant := alice.String()
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	target := signedRecord(t, alice, tenant, "target", base)
	if err := s.PutRecord(ctx, tenant, target, ""); err != nil {
		t.Fatal(err)
	}
	const fresh, rivals = 48, 16
	news := make([]*dwn.Record, fresh)
	for i := range news {
		news[i] = signedRecord(t, alice, tenant, fmt.Sprint("record ", i), base.Add(time.Duration(i+1)*time.Second))
	}
	updates := make([]*dwn.Record, rivals)
	for i := range updates {
		m, err := dwn.NewWrite(ctx, alice, tenant, dwn.Write{Update: target, Data: []byte(fmt.Sprint("rival ", i))},
			dwn.WithTimestamp(base.Add(time.Hour+time.Duration(i)*time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		u := target.Clone()
		u.Latest, u.Data, u.DataCID, u.DataSize, u.DateUpdated = m, []byte(fmt.Sprint("rival ", i)), m.Descriptor().DataCID, m.Descriptor().DataSize, m.Timestamp()
		updates[i] = u
	}
	errs := make([]error, fresh+rivals)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			if i < fresh {
				errs[i] = s.PutRecord(ctx, tenant, news[i], "")
			} else {
				errs[i] = s.PutRecord(ctx, tenant, updates[i-fresh], target.Latest.CID())
			}
		})
	}
	wg.Wait()
	for i, r := range news {
		if errs[i] != nil {
			t.Fatalf("new record %d: %v", i, errs[i])
		}
		got, err := s.Record(ctx, tenant, r.ID)
		if err != nil || string(got.Data) != string(r.Data) || got.Latest.CID() != r.Latest.CID() {
			t.Fatalf("new record %d read back as %+v, %v", i, got, err)
		}
	}
	winner := -1
	for i, err := range errs[fresh:] {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("rival updates %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, dwn.ErrConflict):
			t.Fatalf("rival update %d: %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rival update won")
	}
	got, err := s.Record(ctx, tenant, target.ID)
	if err != nil || got.Latest.CID() != updates[winner].Latest.CID() || string(got.Data) != string(updates[winner].Data) {
		t.Fatalf("the record holds %+v (%v), want rival %d's update", got, err, winner)
	}
}

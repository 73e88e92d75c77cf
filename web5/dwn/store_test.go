package dwn_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
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

// An update rewrites only what changes (the publication columns only when they change); the
// store's indexes must follow every step: the same updates on the SQLite store and on the
// memory store give the same answers to queries by publication, update date and data format,
// and the SQLite file read again after a reopen gives them too.
func TestSQLiteUpdatesKeepIndexes(t *testing.T) {
	ctx := context.Background()
	alice := web5test.Alice(t)
	tenant := alice.String()
	net := web5test.NewNetwork(t)
	path := filepath.Join(t.TempDir(), "dwn.db")
	sq, err := dwn.OpenSQLiteStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	stores := map[string]dwn.Store{"sqlite": sq, "memory": dwn.NewMemoryStore()}
	nodes := map[string]*dwn.Node{}
	for name, s := range stores {
		n, err := dwn.New(net.Resolver(t), dwn.WithStore(s))
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes[name] = n
	}
	published, unpublished := true, false
	queries := []dwn.Filter{
		{Published: &published}, {Published: &unpublished}, {DataFormat: "text/plain"}, {DataFormat: "application/json"},
		{DatePublished: &dwn.DateRange{From: "2025-01-01T00:00:00.000000Z"}},
		{DateUpdated: &dwn.DateRange{From: "2025-01-01T00:00:03.000000Z"}},
	}
	answers := func(s dwn.Store) string {
		var b strings.Builder
		for i, f := range queries {
			for _, sort := range []dwn.DateSort{dwn.PublishedAscending, dwn.UpdatedDescending} {
				rs, err := s.Query(ctx, tenant, dwn.StoreQuery{Filter: f, Sort: sort, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "q%d/%s:", i, sort)
				for _, r := range rs {
					fmt.Fprintf(&b, " %s@%s/%v/%s/%s/%q", r.ID[len(r.ID)-6:], r.Latest.CID()[len(r.Latest.CID())-6:], r.Published,
						r.DatePublished, r.DataFormat, r.Data)
				}
				b.WriteString("\n")
			}
		}
		return b.String()
	}
	at := func(s int) dwn.MessageOption {
		return dwn.WithTimestamp(time.Date(2025, 1, 1, 0, 0, s, 0, time.UTC))
	}
	recs := map[string][2]*dwn.Record{}
	step := func(name string, build func(i int, r *dwn.Record) (*dwn.Message, error)) {
		t.Helper()
		for i := range 2 {
			var msgs [2]*dwn.Message
			for j, store := range []string{"sqlite", "memory"} {
				m, err := build(i, recs[store][i])
				if err != nil {
					t.Fatal(err)
				}
				msgs[j] = m
				rep, err := nodes[store].Process(ctx, tenant, m)
				if err != nil {
					t.Fatalf("%s: %s: %v", name, store, err)
				}
				rr := recs[store]
				rr[i] = rep.Record
				recs[store] = rr
			}
		}
		if a, b := answers(sq), answers(stores["memory"]); a != b {
			t.Fatalf("after %s the stores answer differently:\nsqlite\n%s\nmemory\n%s", name, a, b)
		}
	}
	step("create", func(i int, _ *dwn.Record) (*dwn.Message, error) {
		return dwn.NewWrite(ctx, alice, tenant, dwn.Write{DataFormat: "text/plain", Data: fmt.Appendf(nil, "r%d", i)}, at(1))
	})
	step("update keeping publication", func(i int, r *dwn.Record) (*dwn.Message, error) {
		return dwn.NewWrite(ctx, alice, tenant, dwn.Write{Update: r, Data: []byte("v2")}, at(2))
	})
	step("publish one", func(i int, r *dwn.Record) (*dwn.Message, error) {
		return dwn.NewWrite(ctx, alice, tenant, dwn.Write{Update: r, Data: []byte("v3"), Published: i == 0}, at(3))
	})
	step("update the published one keeping publication, change the format", func(i int, r *dwn.Record) (*dwn.Message, error) {
		return dwn.NewWrite(ctx, alice, tenant, dwn.Write{Update: r, DataFormat: "application/json", Data: []byte(`{}`), Published: i == 0}, at(4))
	})
	step("swap publication", func(i int, r *dwn.Record) (*dwn.Message, error) {
		return dwn.NewWrite(ctx, alice, tenant, dwn.Write{Update: r, Data: []byte("v5"), Published: i == 1}, at(5))
	})
	step("delete", func(i int, r *dwn.Record) (*dwn.Message, error) {
		if i == 1 {
			return dwn.NewWrite(ctx, alice, tenant, dwn.Write{Update: r, Data: []byte("v6"), Published: true}, at(6))
		}
		return dwn.NewDelete(ctx, alice, tenant, r.ID, at(6))
	})
	before := answers(sq)
	if err := sq.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := dwn.OpenSQLiteStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if after := answers(again); after != before {
		t.Fatalf("after a reopen:\n%s\nbefore:\n%s", after, before)
	}
	// A replay of a superseded version is refused by the store's compare, not only the node's.
	old := recs["sqlite"][1]
	if err := again.PutRecord(ctx, tenant, old, old.Initial.CID()); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("put with a superseded prev: %v, want ErrConflict", err)
	}
}

package dwntest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/web5test"
)

// Run runs the conformance suite against stores made by newStore. Each subtest gets a new
// store; the suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) dwn.Store) {
	t.Helper()
	k := newKit(t)
	tests := []struct {
		name string
		fn   func(*testing.T, *kit, dwn.Store)
	}{
		{"NotFound", testNotFound},
		{"PutAndGet", testPutAndGet},
		{"ConditionalPut", testConditionalPut},
		{"Copies", testCopies},
		{"Tombstones", testTombstones},
		{"Replace", testReplace},
		{"Filters", testFilters},
		{"SortAndCursor", testSortAndCursor},
		{"Protocols", testProtocols},
		{"TenantIsolation", testTenantIsolation},
		{"ConcurrentPuts", testConcurrentPuts},
		{"Context", testContext},
		{"Close", testClose},
		{"AccessVersion", testAccessVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, k, s)
		})
	}
}

// kit signs the messages the suite stores.
type kit struct {
	alice, bob *did.BearerDID
	base       time.Time
	n          int
}

func newKit(t *testing.T) *kit {
	return &kit{alice: web5test.Alice(t), bob: web5test.Bob(t), base: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
}

const (
	tenantA = "did:example:tenant-a"
	tenantB = "did:example:tenant-b"
)

// spec describes a record to make.
type spec struct {
	schema, protocol, path, recipient, format string
	published                                 bool
	created, updated                          int // minutes after base
	parent                                    *dwn.Record
}

// record signs a write and builds the record a node would store for it.
func (k *kit) record(t *testing.T, s spec) *dwn.Record {
	t.Helper()
	k.n++
	if s.format == "" {
		s.format = "text/plain"
	}
	ts := k.base.Add(time.Duration(s.created) * time.Minute)
	data := []byte(fmt.Sprintf("record %d", k.n))
	m, err := dwn.NewWrite(context.Background(), k.alice, tenantA, dwn.Write{
		Data: data, DataFormat: s.format, Schema: s.schema, Protocol: s.protocol, ProtocolPath: s.path,
		Recipient: s.recipient, Published: s.published, Parent: s.parent,
	}, dwn.WithTimestamp(ts))
	if err != nil {
		t.Fatal(err)
	}
	d := m.Descriptor()
	r := &dwn.Record{
		ID: m.RecordID(), ContextID: m.ContextID(), Author: k.alice.String(),
		Protocol: d.Protocol, ProtocolPath: d.ProtocolPath, Schema: d.Schema, Recipient: d.Recipient, ParentID: d.ParentID,
		DataFormat: d.DataFormat, DataCID: d.DataCID, DataSize: d.DataSize, Published: d.Published,
		DateCreated: d.DateCreated, DatePublished: d.DatePublished, DateUpdated: d.MessageTimestamp,
		Initial: m, Latest: m, Data: data,
	}
	if s.updated > s.created {
		u, err := dwn.NewWrite(context.Background(), k.alice, tenantA, dwn.Write{Data: data, Update: r, Published: s.published},
			dwn.WithTimestamp(k.base.Add(time.Duration(s.updated)*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		r.Latest, r.DateUpdated = u, u.Timestamp()
		if s.published {
			r.DatePublished = u.Descriptor().DatePublished
		}
	}
	return r
}

func put(t *testing.T, s dwn.Store, tenant string, r *dwn.Record, prev string) {
	t.Helper()
	if err := s.PutRecord(context.Background(), tenant, r, prev); err != nil {
		t.Fatalf("PutRecord(%s): %v", r.ID, err)
	}
}

// sameRecord reports the first difference between two records.
func sameRecord(t *testing.T, got, want *dwn.Record) {
	t.Helper()
	g, w := *got, *want
	if g.Initial == nil || g.Latest == nil {
		t.Fatalf("record %s came back without its messages", want.ID)
	}
	if g.Initial.CID() != w.Initial.CID() || g.Latest.CID() != w.Latest.CID() {
		t.Fatalf("record %s: messages changed: initial %s/%s latest %s/%s", want.ID, g.Initial.CID(), w.Initial.CID(), g.Latest.CID(), w.Latest.CID())
	}
	if string(g.Data) != string(w.Data) {
		t.Fatalf("record %s: data %q, want %q", want.ID, g.Data, w.Data)
	}
	g.Initial, g.Latest, g.Data = nil, nil, nil
	w.Initial, w.Latest, w.Data = nil, nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("record %s:\n got %+v\nwant %+v", want.ID, g, w)
	}
}

func ids(rs []*dwn.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func query(t *testing.T, s dwn.Store, tenant string, q dwn.StoreQuery) []string {
	t.Helper()
	if q.Sort == "" {
		q.Sort = dwn.CreatedAscending
	}
	if q.Limit == 0 {
		q.Limit = 1000
	}
	rs, err := s.Query(context.Background(), tenant, q)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	return ids(rs)
}

func testNotFound(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	r := k.record(t, spec{})
	if _, err := s.Record(ctx, tenantA, r.ID); !errors.Is(err, dwn.ErrNotFound) {
		t.Fatalf("Record of an empty store: %v, want ErrNotFound", err)
	}
	if _, err := s.Protocol(ctx, tenantA, "https://example.com/p"); !errors.Is(err, dwn.ErrNotFound) {
		t.Fatalf("Protocol of an empty store: %v, want ErrNotFound", err)
	}
	if got := query(t, s, tenantA, dwn.StoreQuery{}); len(got) != 0 {
		t.Fatalf("Query of an empty store: %v", got)
	}
	if ps, err := s.Protocols(ctx, tenantA); err != nil || len(ps) != 0 {
		t.Fatalf("Protocols of an empty store: %v, %v", ps, err)
	}
}

func testPutAndGet(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	root := k.record(t, spec{protocol: "https://example.com/chat", path: "thread", recipient: k.bob.String(), published: true, schema: "https://example.com/thread", created: 1, updated: 5})
	child := k.record(t, spec{protocol: "https://example.com/chat", path: "thread/message", parent: root, created: 2})
	empty := k.record(t, spec{})
	empty.Data, empty.DataSize = nil, 0
	for _, r := range []*dwn.Record{root, child, empty} {
		put(t, s, tenantA, r, "")
		got, err := s.Record(ctx, tenantA, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameRecord(t, got, r)
	}
}

func testConditionalPut(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	r := k.record(t, spec{created: 1})
	put(t, s, tenantA, r, "")
	again := r.Clone()
	again.Data = []byte("other")
	if err := s.PutRecord(ctx, tenantA, again, ""); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("second put with prev \"\": %v, want ErrConflict", err)
	}
	up := k.record(t, spec{created: 1, updated: 3})
	up.ID, up.Initial = r.ID, r.Initial
	if err := s.PutRecord(ctx, tenantA, up, up.Latest.CID()); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("put with a wrong prev: %v, want ErrConflict", err)
	}
	other := k.record(t, spec{})
	if err := s.PutRecord(ctx, tenantA, other, r.Latest.CID()); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("put of a new record with a prev: %v, want ErrConflict", err)
	}
	if _, err := s.Record(ctx, tenantA, other.ID); !errors.Is(err, dwn.ErrNotFound) {
		t.Fatalf("a refused put stored the record: %v", err)
	}
	got, _ := s.Record(ctx, tenantA, r.ID)
	sameRecord(t, got, r)
	put(t, s, tenantA, up, r.Latest.CID())
	got, _ = s.Record(ctx, tenantA, r.ID)
	sameRecord(t, got, up)
	if err := s.PutRecord(ctx, tenantA, r, r.Latest.CID()); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("put with a superseded prev: %v, want ErrConflict", err)
	}
}

func testCopies(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	r := k.record(t, spec{})
	want := r.Clone()
	put(t, s, tenantA, r, "")
	r.Data[0] ^= 0xff
	r.Schema = "https://example.com/changed"
	got, _ := s.Record(ctx, tenantA, want.ID)
	sameRecord(t, got, want)
	got.Data[0] ^= 0xff
	got.Author = "did:example:mallory"
	again, _ := s.Record(ctx, tenantA, want.ID)
	sameRecord(t, again, want)
	rs, _ := s.Query(ctx, tenantA, dwn.StoreQuery{Sort: dwn.CreatedAscending, Limit: 10})
	if len(rs) != 1 {
		t.Fatalf("query: %d records", len(rs))
	}
	rs[0].Data[0] ^= 0xff
	again, _ = s.Record(ctx, tenantA, want.ID)
	sameRecord(t, again, want)
}

func testTombstones(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	r := k.record(t, spec{created: 1})
	keep := k.record(t, spec{created: 2})
	put(t, s, tenantA, r, "")
	put(t, s, tenantA, keep, "")
	del, err := dwn.NewDelete(ctx, k.alice, tenantA, r.ID, dwn.WithTimestamp(k.base.Add(10*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	tomb := r.Clone()
	tomb.Deleted, tomb.Data, tomb.Latest, tomb.DateUpdated = true, nil, del, del.Timestamp()
	put(t, s, tenantA, tomb, r.Latest.CID())
	got, err := s.Record(ctx, tenantA, r.ID)
	if err != nil || !got.Deleted || got.Latest.CID() != del.CID() {
		t.Fatalf("tombstone: %+v, %v", got, err)
	}
	if ids := query(t, s, tenantA, dwn.StoreQuery{}); !slices.Equal(ids, []string{keep.ID}) {
		t.Fatalf("query returned a tombstone: %v", ids)
	}
}

// testReplace checks that a put replaces the whole record, whether it keeps the record's
// immutable properties (an update of its data and publication) or not: reads and every filter
// and sort see the new version, and none the old.
func testReplace(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	r := k.record(t, spec{schema: "https://example.com/a", created: 1})
	other := k.record(t, spec{schema: "https://example.com/a", created: 2})
	put(t, s, tenantA, r, "")
	put(t, s, tenantA, other, "")
	update := func(from *dwn.Record, minute int, data string) *dwn.Record {
		t.Helper()
		m, err := dwn.NewWrite(ctx, k.alice, tenantA, dwn.Write{Data: []byte(data), Update: from, Published: true},
			dwn.WithTimestamp(k.base.Add(time.Duration(minute)*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		d := m.Descriptor()
		u := from.Clone()
		u.Latest, u.Data, u.DataCID, u.DataSize = m, []byte(data), d.DataCID, d.DataSize
		u.Published, u.DatePublished, u.DateUpdated = true, d.DatePublished, m.Timestamp()
		return u
	}
	published := true
	u := update(r, 10, "version 2")
	put(t, s, tenantA, u, r.Latest.CID())
	got, err := s.Record(ctx, tenantA, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, got, u)
	if ids := query(t, s, tenantA, dwn.StoreQuery{Filter: dwn.Filter{Published: &published}}); !slices.Equal(ids, []string{r.ID}) {
		t.Fatalf("published records after an update: %v", ids)
	}
	if ids := query(t, s, tenantA, dwn.StoreQuery{Sort: dwn.UpdatedDescending}); !slices.Equal(ids, []string{r.ID, other.ID}) {
		t.Fatalf("records by update date after an update: %v", ids)
	}
	if ids := query(t, s, tenantA, dwn.StoreQuery{Filter: dwn.Filter{DateUpdated: &dwn.DateRange{From: u.DateUpdated}}}); !slices.Equal(ids, []string{r.ID}) {
		t.Fatalf("records updated since the update: %v", ids)
	}
	// A version with other immutable properties (a store does not judge them) replaces them too.
	v := update(u, 20, "version 3")
	v.Schema, v.Recipient = "https://example.com/b", k.bob.String()
	put(t, s, tenantA, v, u.Latest.CID())
	got, err = s.Record(ctx, tenantA, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, got, v)
	for _, c := range []struct {
		f    dwn.Filter
		want []string
	}{
		{dwn.Filter{Schema: "https://example.com/b"}, []string{r.ID}},
		{dwn.Filter{Schema: "https://example.com/a"}, []string{other.ID}},
		{dwn.Filter{Recipient: k.bob.String()}, []string{r.ID}},
	} {
		if ids := query(t, s, tenantA, dwn.StoreQuery{Filter: c.f}); !slices.Equal(ids, c.want) {
			t.Fatalf("query %+v after a replacement: %v, want %v", c.f, ids, c.want)
		}
	}
}

func testFilters(t *testing.T, k *kit, s dwn.Store) {
	const chat = "https://example.com/chat"
	bob := k.bob.String()
	yes, no := true, false
	root := k.record(t, spec{protocol: chat, path: "thread", schema: "https://example.com/thread", created: 1, published: true})
	msg := k.record(t, spec{protocol: chat, path: "thread/message", parent: root, recipient: bob, created: 2, updated: 9})
	reply := k.record(t, spec{protocol: chat, path: "thread/message/reply", parent: msg, created: 3, format: "application/json"})
	root2 := k.record(t, spec{protocol: chat, path: "thread", schema: "https://example.com/thread", created: 4})
	note := k.record(t, spec{schema: "https://example.com/note", created: 5, published: true})
	for _, r := range []*dwn.Record{root, msg, reply, root2, note} {
		put(t, s, tenantA, r, "")
	}
	dr := func(from, to int) *dwn.DateRange {
		r := &dwn.DateRange{}
		if from >= 0 {
			r.From = dwn.Timestamp(k.base.Add(time.Duration(from) * time.Minute))
		}
		if to >= 0 {
			r.To = dwn.Timestamp(k.base.Add(time.Duration(to) * time.Minute))
		}
		return r
	}
	cases := []struct {
		name string
		f    dwn.Filter
		want []*dwn.Record
	}{
		{"all", dwn.Filter{}, []*dwn.Record{root, msg, reply, root2, note}},
		{"protocol", dwn.Filter{Protocol: chat}, []*dwn.Record{root, msg, reply, root2}},
		{"protocolPath", dwn.Filter{Protocol: chat, ProtocolPath: "thread"}, []*dwn.Record{root, root2}},
		{"schema", dwn.Filter{Schema: "https://example.com/note"}, []*dwn.Record{note}},
		{"recipient", dwn.Filter{Recipient: bob}, []*dwn.Record{msg}},
		{"author", dwn.Filter{Author: k.alice.String()}, []*dwn.Record{root, msg, reply, root2, note}},
		{"other author", dwn.Filter{Author: bob}, nil},
		{"parentId", dwn.Filter{ParentID: root.ID}, []*dwn.Record{msg}},
		{"contextId covers descendants", dwn.Filter{ContextID: root.ContextID}, []*dwn.Record{root, msg, reply}},
		{"contextId of a child", dwn.Filter{ContextID: msg.ContextID}, []*dwn.Record{msg, reply}},
		{"contextId is not a string prefix", dwn.Filter{ContextID: root.ContextID[:len(root.ContextID)-2]}, nil},
		{"recordId", dwn.Filter{RecordID: reply.ID}, []*dwn.Record{reply}},
		{"dataFormat", dwn.Filter{DataFormat: "application/json"}, []*dwn.Record{reply}},
		{"published", dwn.Filter{Published: &yes}, []*dwn.Record{root, note}},
		{"unpublished", dwn.Filter{Published: &no}, []*dwn.Record{msg, reply, root2}},
		{"dateCreated from (inclusive)", dwn.Filter{DateCreated: dr(3, -1)}, []*dwn.Record{reply, root2, note}},
		{"dateCreated to (exclusive)", dwn.Filter{DateCreated: dr(-1, 3)}, []*dwn.Record{root, msg}},
		{"dateCreated range", dwn.Filter{DateCreated: dr(2, 4)}, []*dwn.Record{msg, reply}},
		{"datePublished", dwn.Filter{DatePublished: dr(0, 2)}, []*dwn.Record{root}},
		{"dateUpdated", dwn.Filter{DateUpdated: dr(6, -1)}, []*dwn.Record{msg}},
		{"several", dwn.Filter{Protocol: chat, Published: &no, DateCreated: dr(3, -1)}, []*dwn.Record{reply, root2}},
	}
	for _, c := range cases {
		got := query(t, s, tenantA, dwn.StoreQuery{Filter: c.f})
		if want := ids(c.want); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", c.name, got, want)
		}
		for _, r := range []*dwn.Record{root, msg, reply, root2, note} {
			if c.f.Matches(r) != slices.Contains(ids(c.want), r.ID) {
				t.Errorf("%s: Filter.Matches disagrees with the expected result on %s", c.name, r.ID)
			}
		}
	}
}

func testSortAndCursor(t *testing.T, k *kit, s dwn.Store) {
	var all []*dwn.Record
	// Several records share timestamps, so ties must be broken by record ID.
	for i := range 23 {
		r := k.record(t, spec{created: i / 3, updated: 30 - i/2, published: i%4 != 0, schema: "https://example.com/s"})
		put(t, s, tenantA, r, "")
		all = append(all, r)
	}
	for _, sort := range []dwn.DateSort{dwn.CreatedAscending, dwn.CreatedDescending, dwn.PublishedAscending, dwn.PublishedDescending, dwn.UpdatedAscending, dwn.UpdatedDescending} {
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b *dwn.Record) int {
			switch {
			case sort.Less(a, b):
				return -1
			case sort.Less(b, a):
				return 1
			}
			return 0
		})
		got := query(t, s, tenantA, dwn.StoreQuery{Sort: sort})
		if !slices.Equal(got, ids(want)) {
			t.Fatalf("%s: order\n got %v\nwant %v", sort, got, ids(want))
		}
		// Page through with cursors: the pages concatenate to the whole list.
		var paged []string
		var after *dwn.Cursor
		for page := 0; ; page++ {
			if page > 30 {
				t.Fatalf("%s: pagination does not end", sort)
			}
			rs, err := s.Query(context.Background(), tenantA, dwn.StoreQuery{Sort: sort, After: after, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) > 4 {
				t.Fatalf("%s: %d records for limit 4", sort, len(rs))
			}
			if len(rs) == 0 {
				break
			}
			paged = append(paged, ids(rs)...)
			last := rs[len(rs)-1]
			v := last.DateCreated
			switch sort {
			case dwn.PublishedAscending, dwn.PublishedDescending:
				v = last.DatePublished
			case dwn.UpdatedAscending, dwn.UpdatedDescending:
				v = last.DateUpdated
			}
			after = &dwn.Cursor{Value: v, RecordID: last.ID}
		}
		if !slices.Equal(paged, ids(want)) {
			t.Fatalf("%s: paged\n got %v\nwant %v", sort, paged, ids(want))
		}
	}
}

func configure(t *testing.T, k *kit, uri string, published bool, minute int) *dwn.Message {
	t.Helper()
	def := &dwn.Protocol{Protocol: uri, Published: published,
		Types:     map[string]dwn.ProtocolType{"post": {}},
		Structure: map[string]*dwn.RuleSet{"post": {Actions: []dwn.ActionRule{{Who: dwn.WhoAnyone, Can: []string{dwn.ActionRead}}}}}}
	m, err := dwn.NewProtocolsConfigure(context.Background(), k.alice, tenantA, def, dwn.WithTimestamp(k.base.Add(time.Duration(minute)*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testProtocols(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	b := configure(t, k, "https://example.com/b", true, 1)
	a := configure(t, k, "https://example.com/a", false, 2)
	a2 := configure(t, k, "https://example.com/a", true, 3)
	for _, m := range []*dwn.Message{b, a} {
		if err := s.PutProtocol(ctx, tenantA, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutProtocol(ctx, tenantA, a2, ""); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("PutProtocol over an existing one with prev \"\": %v", err)
	}
	if err := s.PutProtocol(ctx, tenantA, a2, b.CID()); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("PutProtocol with a wrong prev: %v", err)
	}
	got, err := s.Protocol(ctx, tenantA, "https://example.com/a")
	if err != nil || got.CID() != a.CID() {
		t.Fatalf("Protocol: %v, %v", got, err)
	}
	if err := s.PutProtocol(ctx, tenantA, a2, a.CID()); err != nil {
		t.Fatal(err)
	}
	got, err = s.Protocol(ctx, tenantA, "https://example.com/a")
	if err != nil || got.CID() != a2.CID() || !got.Descriptor().Definition.Published {
		t.Fatalf("Protocol after update: %v, %v", got, err)
	}
	list, err := s.Protocols(ctx, tenantA)
	if err != nil || len(list) != 2 || list[0].CID() != a2.CID() || list[1].CID() != b.CID() {
		t.Fatalf("Protocols: %v, %v", list, err)
	}
}

func testTenantIsolation(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	r := k.record(t, spec{published: true})
	put(t, s, tenantA, r, "")
	p := configure(t, k, "https://example.com/p", true, 1)
	if err := s.PutProtocol(ctx, tenantA, p, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, tenantB, r.ID); !errors.Is(err, dwn.ErrNotFound) {
		t.Fatalf("tenant B reads tenant A's record: %v", err)
	}
	if got := query(t, s, tenantB, dwn.StoreQuery{}); len(got) != 0 {
		t.Fatalf("tenant B's query sees %v", got)
	}
	if got := query(t, s, tenantB, dwn.StoreQuery{Filter: dwn.Filter{RecordID: r.ID}}); len(got) != 0 {
		t.Fatalf("tenant B's query by record ID sees %v", got)
	}
	if _, err := s.Protocol(ctx, tenantB, "https://example.com/p"); !errors.Is(err, dwn.ErrNotFound) {
		t.Fatalf("tenant B sees tenant A's protocol: %v", err)
	}
	if ps, _ := s.Protocols(ctx, tenantB); len(ps) != 0 {
		t.Fatalf("tenant B lists %d protocols", len(ps))
	}
	// A conditional put in B knows nothing of A's version.
	if err := s.PutRecord(ctx, tenantB, r, r.Latest.CID()); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("tenant B updates a record only A has: %v", err)
	}
	// The same record ID lives independently in both tenants.
	other := r.Clone()
	other.Data = []byte("B's copy")
	put(t, s, tenantB, other, "")
	got, _ := s.Record(ctx, tenantA, r.ID)
	sameRecord(t, got, r)
	got, _ = s.Record(ctx, tenantB, r.ID)
	sameRecord(t, got, other)
	// Tenants that differ only in case or by a prefix are different tenants.
	for _, tn := range []string{"did:example:TENANT-A", "did:example:tenant-", "did:example:tenant-a:x"} {
		if _, err := s.Record(ctx, tn, r.ID); !errors.Is(err, dwn.ErrNotFound) {
			t.Fatalf("tenant %s reads tenant A's record: %v", tn, err)
		}
	}
}

func testConcurrentPuts(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	r := k.record(t, spec{created: 1})
	ups := make([]*dwn.Record, 8)
	for i := range ups {
		u := k.record(t, spec{created: 1, updated: 2 + i})
		u.ID, u.Initial = r.ID, r.Initial
		ups[i] = u
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			err := s.PutRecord(ctx, tenantA, r, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, dwn.ErrConflict):
				t.Errorf("concurrent create: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent creates of one record succeeded, want 1", wins)
	}
	wins = 0
	var winner *dwn.Record
	for _, u := range ups {
		wg.Go(func() {
			err := s.PutRecord(ctx, tenantA, u, r.Latest.CID())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
				winner = u
			case !errors.Is(err, dwn.ErrConflict):
				t.Errorf("concurrent update: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent updates from one version succeeded, want 1", wins)
	}
	got, _ := s.Record(ctx, tenantA, r.ID)
	sameRecord(t, got, winner)
}

func testContext(t *testing.T, k *kit, s dwn.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := k.record(t, spec{})
	if err := s.PutRecord(ctx, tenantA, r, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("PutRecord with a cancelled context: %v", err)
	}
	if _, err := s.Record(context.Background(), tenantA, r.ID); !errors.Is(err, dwn.ErrNotFound) {
		t.Fatalf("a cancelled put stored the record: %v", err)
	}
	if _, err := s.Record(ctx, tenantA, r.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("Record with a cancelled context: %v", err)
	}
	if _, err := s.Query(ctx, tenantA, dwn.StoreQuery{Sort: dwn.CreatedAscending, Limit: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Query with a cancelled context: %v", err)
	}
	if _, err := s.Protocols(ctx, tenantA); !errors.Is(err, context.Canceled) {
		t.Fatalf("Protocols with a cancelled context: %v", err)
	}
}

func testClose(t *testing.T, k *kit, s dwn.Store) {
	ctx := context.Background()
	r := k.record(t, spec{})
	put(t, s, tenantA, r, "")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Record(ctx, tenantA, r.ID); !errors.Is(err, dwn.ErrClosed) {
		t.Fatalf("Record after Close: %v", err)
	}
	if err := s.PutRecord(ctx, tenantA, k.record(t, spec{}), ""); !errors.Is(err, dwn.ErrClosed) {
		t.Fatalf("PutRecord after Close: %v", err)
	}
	if _, err := s.Query(ctx, tenantA, dwn.StoreQuery{Sort: dwn.CreatedAscending, Limit: 1}); !errors.Is(err, dwn.ErrClosed) {
		t.Fatalf("Query after Close: %v", err)
	}
}

// testAccessVersion checks the contract of dwn.AccessVersioner, for stores that implement it:
// every protocol definition and every permissions record stored (created, updated, deleted)
// gives the tenant a version it never had, a refused put changes nothing, and a tenant's
// version is its own.
func testAccessVersion(t *testing.T, k *kit, s dwn.Store) {
	av, ok := s.(dwn.AccessVersioner)
	if !ok {
		t.Skip("the store keeps no access versions")
	}
	ctx := context.Background()
	version := func(tenant string) uint64 {
		t.Helper()
		v, err := av.AccessVersion(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	seen := map[uint64]bool{version(tenantA): true}
	changed := func(what string) {
		t.Helper()
		v := version(tenantA)
		if seen[v] {
			t.Fatalf("after %s the access version is %d, a version the tenant had before", what, v)
		}
		seen[v] = true
	}
	p := configure(t, k, "https://example.com/p", true, 1)
	if err := s.PutProtocol(ctx, tenantA, p, ""); err != nil {
		t.Fatal(err)
	}
	changed("a protocol installed")
	p2 := configure(t, k, "https://example.com/p", false, 2)
	if err := s.PutProtocol(ctx, tenantA, p2, p.CID()); err != nil {
		t.Fatal(err)
	}
	changed("a protocol configured again")
	grant := k.record(t, spec{protocol: dwn.PermissionsProtocol, path: "grant", recipient: k.bob.String(), format: "application/json", created: 3})
	put(t, s, tenantA, grant, "")
	changed("a grant written")
	rev := k.record(t, spec{protocol: dwn.PermissionsProtocol, path: "grant/revocation", format: "application/json", created: 4, parent: grant})
	put(t, s, tenantA, rev, "")
	changed("a revocation written")
	tomb := rev.Clone()
	tomb.Deleted, tomb.Data = true, nil
	put(t, s, tenantA, tomb, rev.Latest.CID())
	changed("a revocation deleted")

	before := version(tenantA)
	if err := s.PutProtocol(ctx, tenantA, p, ""); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("PutProtocol with a wrong prev: %v", err)
	}
	if err := s.PutRecord(ctx, tenantA, grant, ""); !errors.Is(err, dwn.ErrConflict) {
		t.Fatalf("PutRecord of an existing grant with prev \"\": %v", err)
	}
	if v := version(tenantA); v != before {
		t.Fatalf("refused puts moved the access version from %d to %d", before, v)
	}
	b := version(tenantB)
	if err := s.PutProtocol(ctx, tenantB, configure(t, k, "https://example.com/p", true, 5), ""); err != nil {
		t.Fatal(err)
	}
	if version(tenantA) != before {
		t.Fatal("a protocol installed in tenant B moved tenant A's access version")
	}
	if version(tenantB) == b {
		t.Fatal("a protocol installed in tenant B left its access version")
	}
}

package dwn

import (
	"bytes"
	"context"
	"strings"
)

// Record is the state of a record in a tenant: its identity and index properties (taken
// from its messages), the write that created it, its latest message (a write, or the delete
// that removed it) and the data of its latest write.
type Record struct {
	ID        string // the record ID
	ContextID string // the context ID of a protocol record ("" otherwise)
	Author    string // the author of the initial write

	Protocol      string
	ProtocolPath  string
	Schema        string
	Recipient     string
	ParentID      string
	DataFormat    string
	DataCID       string
	DataSize      int64
	Published     bool
	DateCreated   string // the initial write's timestamp
	DatePublished string // "" unless published
	DateUpdated   string // the latest message's timestamp

	// Deleted reports a tombstone: Latest is the delete, Data is nil. Tombstones are kept so
	// that replays of older writes are refused.
	Deleted bool

	Initial *Message // the initial write, without its data
	Latest  *Message // the latest write or delete, without data
	Data    []byte   // the data of the latest write; a query may leave it out (see Node)
}

// Clone returns a copy of r whose Data the caller may modify.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.Data = bytes.Clone(r.Data)
	return &c
}

// sortValue returns the property a sort order compares.
func (r *Record) sortValue(s DateSort) string {
	switch s {
	case PublishedAscending, PublishedDescending:
		return r.DatePublished
	case UpdatedAscending, UpdatedDescending:
		return r.DateUpdated
	}
	return r.DateCreated
}

// Matches reports whether the live record r matches every property set in f. Stores may
// use it to filter.
func (f *Filter) Matches(r *Record) bool {
	if r.Deleted {
		return false
	}
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(f.Protocol, r.Protocol) && eq(f.ProtocolPath, r.ProtocolPath) && eq(f.Schema, r.Schema) &&
		eq(f.Recipient, r.Recipient) && eq(f.Author, r.Author) && eq(f.ParentID, r.ParentID) &&
		eq(f.RecordID, r.ID) && eq(f.DataFormat, r.DataFormat) &&
		(f.ContextID == "" || r.ContextID == f.ContextID || strings.HasPrefix(r.ContextID, f.ContextID+"/")) &&
		(f.Published == nil || *f.Published == r.Published) &&
		f.DateCreated.Contains(r.DateCreated) &&
		(f.DatePublished == nil || (r.Published && f.DatePublished.Contains(r.DatePublished))) &&
		f.DateUpdated.Contains(r.DateUpdated)
}

// Cursor is a position in a sorted list of records: the sort value and record ID of the
// last record returned.
type Cursor struct {
	Value    string `json:"v"`
	RecordID string `json:"id"`
}

// StoreQuery asks a Store for one page of records.
type StoreQuery struct {
	Filter Filter
	Sort   DateSort // never empty when a Node asks
	After  *Cursor  // nil for the first page
	Limit  int      // > 0
}

// After reports whether r sorts strictly after cursor c in order s.
func (c *Cursor) After(r *Record, s DateSort) bool {
	if c == nil {
		return true
	}
	v := r.sortValue(s)
	if s.Descending() {
		return v < c.Value || (v == c.Value && r.ID < c.RecordID)
	}
	return v > c.Value || (v == c.Value && r.ID > c.RecordID)
}

// Less reports whether a sorts before b in order s (ties broken by record ID, in the same
// direction).
func (s DateSort) Less(a, b *Record) bool {
	va, vb := a.sortValue(s), b.sortValue(s)
	if s.Descending() {
		return va > vb || (va == vb && a.ID > b.ID)
	}
	return va < vb || (va == vb && a.ID < b.ID)
}

// Store keeps the records and protocol definitions of every tenant of a node. Package
// dwntest holds the conformance suite every implementation runs.
//
// Implementations MUST be safe for concurrent use. Every method is scoped to one tenant: a
// record or protocol stored for one tenant MUST NOT be visible through any method called
// with another. Methods MUST return ctx.Err() when ctx is done before they complete, and
// ErrClosed after Close. Records and messages handed to a store are not modified
// afterwards by the caller; records returned MUST be safe for the caller to modify (their
// Data in particular) without changing the store.
type Store interface {
	// Record returns the record with the given ID, tombstones included, or an error matching
	// ErrNotFound.
	Record(ctx context.Context, tenant, id string) (*Record, error)

	// PutRecord stores r (replacing the record with ID r.ID) if the CID of the record's
	// current Latest message is prev, or, with prev "", if the tenant has no record r.ID.
	// Otherwise it MUST return an error matching ErrConflict and change nothing. The
	// compare and the store are atomic.
	PutRecord(ctx context.Context, tenant string, r *Record, prev string) error

	// Query returns up to q.Limit live records (never tombstones) matching q.Filter (as
	// Filter.Matches does), ordered by q.Sort (as DateSort.Less does) and strictly after
	// q.After.
	Query(ctx context.Context, tenant string, q StoreQuery) ([]*Record, error)

	// Protocol returns the latest Protocols Configure message of the protocol URI, or an
	// error matching ErrNotFound.
	Protocol(ctx context.Context, tenant, uri string) (*Message, error)

	// PutProtocol stores m, a Protocols Configure message, as the definition of its
	// protocol if the CID of the one in place is prev ("" for none); otherwise it MUST
	// return an error matching ErrConflict and change nothing.
	PutProtocol(ctx context.Context, tenant string, m *Message, prev string) error

	// Protocols returns the tenant's protocol definitions, ordered by protocol URI.
	Protocols(ctx context.Context, tenant string) ([]*Message, error)

	// Close releases the store. It is idempotent.
	Close() error
}

package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Defaults of New.
const (
	// DefaultBucket is the KV bucket of the records; large entries go to the object store of
	// the same name with "_blobs" appended.
	DefaultBucket = "anya_dwn"
	// DefaultReplicas is the bucket's replication factor (1: a single server).
	DefaultReplicas = 1
	// DefaultInlineMax is the largest entry kept in the KV bucket itself.
	DefaultInlineMax = natsx.DefaultInlineMax
)

var (
	// ErrInvalidOption is wrapped by the *OptionError New returns for an invalid option.
	ErrInvalidOption = errors.New("natsstore: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Store.
	ErrNotConstructed = errors.New("natsstore: not constructed")
)

// OptionError names an option (or New's argument "js") whose value New refuses; nothing is
// constructed. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("natsstore: invalid option %s(%v): %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Store: it names the constructor. It
// matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "Store"
	Constructor string // "New"
}

func (e *NotConstructedError) Error() string {
	return "natsstore: a zero " + e.Type + " is not usable: create it with natsstore." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// Option configures New.
type Option func(*config)

type config struct {
	bucket    string
	replicas  int
	inlineMax int
	storage   jetstream.StorageType
}

// WithBucket names the KV bucket. Nodes sharing records use the same bucket. Defaults to
// DefaultBucket.
func WithBucket(name string) Option { return func(c *config) { c.bucket = name } }

// WithReplicas sets the replication factor in a JetStream cluster (1, 3 or 5). Defaults to
// DefaultReplicas.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithInlineMax sets the largest entry (a record with its data) kept in the KV bucket; larger
// ones go to the object store. Defaults to DefaultInlineMax.
func WithInlineMax(n int) Option { return func(c *config) { c.inlineMax = n } }

// WithMemoryStorage keeps the bucket in memory: lost when the server stops. Defaults to file
// storage.
func WithMemoryStorage() Option { return func(c *config) { c.storage = jetstream.MemoryStorage } }

// Store is a dwn.Store on a NATS JetStream KV bucket, shared by every node attached to the
// server. It is safe for concurrent use; it does not own the connection. Create it with New: the
// methods of a zero Store return a *NotConstructedError, and its Close returns nil.
type Store struct {
	kv    jetstream.KeyValue
	blobs natsx.Blobs

	mu     sync.RWMutex
	closed bool
}

var _ dwn.Store = (*Store)(nil)

// New returns a store on js, creating its bucket and object store if they do not exist.
func New(ctx context.Context, js jetstream.JetStream, opts ...Option) (*Store, error) {
	if js == nil {
		return nil, &OptionError{Option: "js", Reason: "must not be nil"}
	}
	cfg := config{bucket: DefaultBucket, replicas: DefaultReplicas, inlineMax: DefaultInlineMax, storage: jetstream.FileStorage}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	switch {
	case cfg.bucket == "" || len(cfg.bucket) > 64 || strings.Trim(cfg.bucket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "":
		return nil, &OptionError{Option: "WithBucket", Value: cfg.bucket, Reason: "want 1 to 64 of A-Z a-z 0-9 _ -"}
	case cfg.replicas < 1 || cfg.replicas > 5:
		return nil, &OptionError{Option: "WithReplicas", Value: cfg.replicas, Reason: "want 1 to 5"}
	case cfg.inlineMax < 1 || cfg.inlineMax > 8<<20:
		return nil, &OptionError{Option: "WithInlineMax", Value: cfg.inlineMax, Reason: "want 1 byte to 8 MiB"}
	}
	kv, err := natsx.OpenKV(ctx, js, natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{
		Bucket: cfg.bucket, Description: "anya dwn records", History: 1, Storage: cfg.storage, Replicas: cfg.replicas,
	}})
	if err != nil {
		return nil, fmt.Errorf("natsstore: bucket %s: %w", cfg.bucket, err)
	}
	obs, err := natsx.OpenObjectStore(ctx, js, jetstream.ObjectStoreConfig{
		Bucket: cfg.bucket + "_blobs", Description: "anya dwn records, large entries", Storage: cfg.storage, Replicas: cfg.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("natsstore: object store %s_blobs: %w", cfg.bucket, err)
	}
	return &Store{kv: kv, blobs: natsx.Blobs{Store: obs, InlineMax: cfg.inlineMax}}, nil
}

// Keys, every part escaped with natsx.EscapeKey (so tenants, IDs and URIs never collide and
// hold no dots):
//
//	r.<tenant>.<record id>                  the record
//	i.<tenant>.<dimension>.<value>.<id>     an index entry (empty)
//	p.<tenant>.<protocol uri>               the protocol definition in force
func esc(s string) string                { return natsx.EscapeKey(s) }
func recordKey(tenant, id string) string { return "r." + esc(tenant) + "." + esc(id) }
func protocolKey(tenant, uri string) string {
	return "p." + esc(tenant) + "." + esc(uri)
}
func indexKey(tenant, dim, value, id string) string {
	return "i." + esc(tenant) + "." + dim + "." + esc(value) + "." + esc(id)
}

// Index dimensions: the filter properties a query can be narrowed by before records are read.
const (
	dimProtocol  = "protocol"
	dimSchema    = "schema"
	dimRecipient = "recipient"
	dimParent    = "parent"
	dimContext   = "context" // the root of the context ID: a filter covers its descendants
)

func contextRoot(id string) string {
	root, _, _ := strings.Cut(id, "/")
	return root
}

// indexes returns the index entries of r.
func indexes(r *dwn.Record) [][2]string {
	var out [][2]string
	for _, d := range [][2]string{{dimProtocol, r.Protocol}, {dimSchema, r.Schema}, {dimRecipient, r.Recipient},
		{dimParent, r.ParentID}, {dimContext, contextRoot(r.ContextID)}} {
		if d[1] != "" {
			out = append(out, d)
		}
	}
	return out
}

// recordJSON is a record as the bucket keeps it: its properties, its messages in their wire
// form without data, and its data.
type recordJSON struct {
	ID            string          `json:"id"`
	ContextID     string          `json:"contextId,omitempty"`
	Author        string          `json:"author"`
	Protocol      string          `json:"protocol,omitempty"`
	ProtocolPath  string          `json:"protocolPath,omitempty"`
	Schema        string          `json:"schema,omitempty"`
	Recipient     string          `json:"recipient,omitempty"`
	ParentID      string          `json:"parentId,omitempty"`
	DataFormat    string          `json:"dataFormat,omitempty"`
	DataCID       string          `json:"dataCid,omitempty"`
	DataSize      int64           `json:"dataSize,omitempty"`
	Published     bool            `json:"published,omitempty"`
	DateCreated   string          `json:"dateCreated"`
	DatePublished string          `json:"datePublished,omitempty"`
	DateUpdated   string          `json:"dateUpdated"`
	Deleted       bool            `json:"deleted,omitempty"`
	Initial       json.RawMessage `json:"initial"`
	Latest        json.RawMessage `json:"latest"`
	InitialCID    string          `json:"initialCid"`
	LatestCID     string          `json:"latestCid"`
	Data          []byte          `json:"data,omitempty"`
	HasData       bool            `json:"hasData,omitempty"`
}

// wire returns the message's wire form without its encoded data (which the record keeps).
func wire(m *dwn.Message) (json.RawMessage, error) {
	data, err := m.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	if _, ok := fields["encodedData"]; !ok {
		return data, nil
	}
	delete(fields, "encodedData")
	return json.Marshal(fields)
}

func encodeRecord(r *dwn.Record) ([]byte, error) {
	initial, err := wire(r.Initial)
	if err != nil {
		return nil, err
	}
	latest, err := wire(r.Latest)
	if err != nil {
		return nil, err
	}
	return json.Marshal(recordJSON{ID: r.ID, ContextID: r.ContextID, Author: r.Author, Protocol: r.Protocol, ProtocolPath: r.ProtocolPath,
		Schema: r.Schema, Recipient: r.Recipient, ParentID: r.ParentID, DataFormat: r.DataFormat, DataCID: r.DataCID, DataSize: r.DataSize,
		Published: r.Published, DateCreated: r.DateCreated, DatePublished: r.DatePublished, DateUpdated: r.DateUpdated, Deleted: r.Deleted,
		Initial: initial, Latest: latest, InitialCID: r.Initial.CID(), LatestCID: r.Latest.CID(), Data: r.Data, HasData: r.Data != nil})
}

// decodeRecord turns a stored entry back into a record, checking that its messages parse and
// have the CIDs recorded for them.
func decodeRecord(data []byte) (*dwn.Record, error) {
	var j recordJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, err
	}
	initial, err := dwn.ParseMessage(j.Initial)
	if err != nil {
		return nil, fmt.Errorf("initial message: %w", err)
	}
	latest, err := dwn.ParseMessage(j.Latest)
	if err != nil {
		return nil, fmt.Errorf("latest message: %w", err)
	}
	if initial.CID() != j.InitialCID || latest.CID() != j.LatestCID {
		return nil, fmt.Errorf("stored messages do not have their recorded CIDs")
	}
	r := &dwn.Record{ID: j.ID, ContextID: j.ContextID, Author: j.Author, Protocol: j.Protocol, ProtocolPath: j.ProtocolPath,
		Schema: j.Schema, Recipient: j.Recipient, ParentID: j.ParentID, DataFormat: j.DataFormat, DataCID: j.DataCID, DataSize: j.DataSize,
		Published: j.Published, DateCreated: j.DateCreated, DatePublished: j.DatePublished, DateUpdated: j.DateUpdated, Deleted: j.Deleted,
		Initial: initial, Latest: latest, Data: j.Data}
	if j.HasData && r.Data == nil {
		r.Data = []byte{}
	}
	return r, nil
}

func (s *Store) enter(ctx context.Context) error {
	if s.kv == nil {
		return &NotConstructedError{Type: "Store", Constructor: "New"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return dwn.ErrClosed
	}
	return nil
}

func fail(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// record reads the entry of a record: the record and its KV revision.
func (s *Store) record(ctx context.Context, key string) (*dwn.Record, uint64, error) {
	e, err := s.kv.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	r, err := s.decodeEntry(ctx, e.Value())
	if err != nil {
		return nil, 0, err
	}
	return r, e.Revision(), nil
}

func (s *Store) decodeEntry(ctx context.Context, v []byte) (*dwn.Record, error) {
	data, err := s.blobs.Unwrap(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("natsstore: stored record: %w", err)
	}
	r, err := decodeRecord(data)
	if err != nil {
		return nil, fmt.Errorf("natsstore: stored record: %w", err)
	}
	return r, nil
}

// Record implements dwn.Store.
func (s *Store) Record(ctx context.Context, tenant, id string) (*dwn.Record, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	r, _, err := s.record(ctx, recordKey(tenant, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: record %s", dwn.ErrNotFound, id)
	}
	return r, fail(ctx, err)
}

// PutRecord implements dwn.Store: the record's entry is written by compare-and-set on the
// revision read with the previous latest message (create-only for prev ""). Its index entries
// are written first, so a stored record is always indexed; an entry left by a refused put (or
// an older version) only adds a candidate that queries check against the record and drop.
func (s *Store) PutRecord(ctx context.Context, tenant string, r *dwn.Record, prev string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if r.Initial == nil || r.Latest == nil {
		return &dwn.MessageError{Field: "record", Reason: "a stored record has its initial and latest messages"}
	}
	return fail(ctx, s.putRecord(ctx, tenant, r, prev))
}

func (s *Store) putRecord(ctx context.Context, tenant string, r *dwn.Record, prev string) error {
	key := recordKey(tenant, r.ID)
	cur, rev, err := s.record(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		if prev != "" {
			return &dwn.ConflictError{ID: r.ID, Reason: "record does not exist"}
		}
	case err != nil:
		return err
	case cur.Latest.CID() != prev:
		return &dwn.ConflictError{ID: r.ID, Reason: "record changed"}
	}
	for _, d := range indexes(r) {
		if _, err := s.kv.Put(ctx, indexKey(tenant, d[0], d[1], r.ID), nil); err != nil {
			return err
		}
	}
	data, err := encodeRecord(r)
	if err != nil {
		return err
	}
	v, err := s.blobs.Wrap(ctx, data)
	if err != nil {
		return err
	}
	if cur == nil {
		_, err = s.kv.Create(ctx, key, v)
	} else {
		_, err = s.kv.Update(ctx, key, v, rev)
	}
	if natsx.IsConflict(err) {
		return &dwn.ConflictError{ID: r.ID, Reason: "record changed"}
	}
	return err
}

// Query implements dwn.Store. It reads the candidates of the narrowest index the filter allows
// (the record itself for a record ID; the entries of one parent, context, recipient, schema or
// protocol; or every record of the tenant), keeps the live records that match the filter,
// sorts them and returns the page after the cursor.
func (s *Store) Query(ctx context.Context, tenant string, q dwn.StoreQuery) ([]*dwn.Record, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rs, err := s.query(ctx, tenant, q)
	return rs, fail(ctx, err)
}

func (s *Store) query(ctx context.Context, tenant string, q dwn.StoreQuery) ([]*dwn.Record, error) {
	if q.Sort == "" {
		q.Sort = dwn.CreatedAscending
	}
	cands, err := s.candidates(ctx, tenant, &q.Filter)
	if err != nil {
		return nil, err
	}
	out := cands[:0]
	for _, r := range cands {
		if q.Filter.Matches(r) && q.After.After(r, q.Sort) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *dwn.Record) int {
		switch {
		case q.Sort.Less(a, b):
			return -1
		case q.Sort.Less(b, a):
			return 1
		}
		return 0
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (s *Store) candidates(ctx context.Context, tenant string, f *dwn.Filter) ([]*dwn.Record, error) {
	if f.RecordID != "" {
		r, _, err := s.record(ctx, recordKey(tenant, f.RecordID))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []*dwn.Record{r}, nil
	}
	var dim, value string
	switch {
	case f.ParentID != "":
		dim, value = dimParent, f.ParentID
	case f.ContextID != "":
		dim, value = dimContext, contextRoot(f.ContextID)
	case f.Recipient != "":
		dim, value = dimRecipient, f.Recipient
	case f.Schema != "":
		dim, value = dimSchema, f.Schema
	case f.Protocol != "":
		dim, value = dimProtocol, f.Protocol
	}
	if dim == "" {
		return s.scan(ctx, "r."+esc(tenant)+".*")
	}
	keys, err := s.kv.ListKeysFiltered(ctx, "i."+esc(tenant)+"."+dim+"."+esc(value)+".*")
	if err != nil {
		return nil, err
	}
	defer keys.Stop()
	var ids []string
	for k := range keys.Keys() {
		ids = append(ids, k[strings.LastIndexByte(k, '.')+1:])
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make([]*dwn.Record, 0, len(ids))
	for _, id := range ids {
		r, _, err := s.record(ctx, "r."+esc(tenant)+"."+id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // an index entry of a put that was refused
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// scan reads every entry matching the key filter, in one watch.
func (s *Store) scan(ctx context.Context, filter string) ([]*dwn.Record, error) {
	w, err := s.kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	var out []*dwn.Record
	for e := range w.Updates() {
		if e == nil {
			return out, nil
		}
		r, err := s.decodeEntry(ctx, e.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("natsstore: watch ended early")
}

// Protocol implements dwn.Store.
func (s *Store) Protocol(ctx context.Context, tenant, uri string) (*dwn.Message, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	e, err := s.kv.Get(ctx, protocolKey(tenant, uri))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: protocol %s", dwn.ErrNotFound, uri)
	}
	if err != nil {
		return nil, fail(ctx, err)
	}
	m, err := dwn.ParseMessage(e.Value())
	if err != nil {
		return nil, fmt.Errorf("natsstore: stored protocol %s: %w", uri, err)
	}
	return m, nil
}

// PutProtocol implements dwn.Store by compare-and-set on the revision of the definition in
// force.
func (s *Store) PutProtocol(ctx context.Context, tenant string, m *dwn.Message, prev string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	def := m.Descriptor().Definition
	if def == nil {
		return &dwn.MessageError{Field: "definition", Reason: "a protocols configure message has a definition"}
	}
	key := protocolKey(tenant, def.Protocol)
	data, err := m.MarshalJSON()
	if err != nil {
		return err
	}
	e, err := s.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		if prev != "" {
			return &dwn.ConflictError{ID: def.Protocol, Reason: "protocol not configured"}
		}
		_, err = s.kv.Create(ctx, key, data)
	case err != nil:
		return fail(ctx, err)
	default:
		cur, perr := dwn.ParseMessage(e.Value())
		if perr != nil {
			return fmt.Errorf("natsstore: stored protocol %s: %w", def.Protocol, perr)
		}
		if cur.CID() != prev {
			return &dwn.ConflictError{ID: def.Protocol, Reason: "protocol changed"}
		}
		_, err = s.kv.Update(ctx, key, data, e.Revision())
	}
	if natsx.IsConflict(err) {
		return &dwn.ConflictError{ID: def.Protocol, Reason: "protocol changed"}
	}
	return fail(ctx, err)
}

// Protocols implements dwn.Store.
func (s *Store) Protocols(ctx context.Context, tenant string) ([]*dwn.Message, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	w, err := s.kv.Watch(ctx, "p."+esc(tenant)+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fail(ctx, err)
	}
	defer w.Stop()
	var out []*dwn.Message
	for e := range w.Updates() {
		if e == nil {
			slices.SortFunc(out, func(a, b *dwn.Message) int {
				return strings.Compare(a.Descriptor().Definition.Protocol, b.Descriptor().Definition.Protocol)
			})
			return out, nil
		}
		m, err := dwn.ParseMessage(e.Value())
		if err != nil {
			return nil, fmt.Errorf("natsstore: stored protocol: %w", err)
		}
		out = append(out, m)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("natsstore: watch ended early")
}

// Close implements dwn.Store. It does not close the connection.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

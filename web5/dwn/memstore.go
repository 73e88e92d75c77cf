package dwn

import (
	"context"
	"slices"
	"sort"
	"sync"
)

// MemoryStore is a Store held in memory, for tests and short-lived nodes. The zero value is
// an empty store, ready to use.
type MemoryStore struct {
	mu      sync.RWMutex
	closed  bool
	tenants map[string]*memTenant
}

type memTenant struct {
	records   map[string]*Record
	protocols map[string]*Message
	access    uint64 // the access version (see AccessVersioner)
}

var (
	_ AccessVersioner = (*MemoryStore)(nil)
	_ RecordBatcher   = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tenants: map[string]*memTenant{}}
}

func (s *MemoryStore) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Record implements Store.
func (s *MemoryStore) Record(ctx context.Context, tenant, id string) (*Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if t := s.tenants[tenant]; t != nil {
		if r := t.records[id]; r != nil {
			return r.Clone(), nil
		}
	}
	return nil, errRecordNotFound(id)
}

// PutRecord implements Store.
func (s *MemoryStore) PutRecord(ctx context.Context, tenant string, r *Record, prev string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.tenants == nil {
		s.tenants = map[string]*memTenant{}
	}
	t := s.tenants[tenant]
	if t == nil {
		t = &memTenant{records: map[string]*Record{}, protocols: map[string]*Message{}}
		s.tenants[tenant] = t
	}
	cur := t.records[r.ID]
	switch {
	case cur == nil && prev != "":
		return &ConflictError{ID: r.ID, Reason: "record does not exist"}
	case cur != nil && (cur.Latest == nil || cur.Latest.CID() != prev):
		return &ConflictError{ID: r.ID, Reason: "record changed"}
	}
	t.records[r.ID] = r.Clone()
	if r.Protocol == PermissionsProtocol {
		t.access++
	}
	return nil
}

// PutRecords implements RecordBatcher: every put is compared (with the ones before it in
// place) before any is stored.
func (s *MemoryStore) PutRecords(ctx context.Context, puts []RecordPut) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := checkPuts(puts); err != nil {
		return err
	}
	type key struct{ tenant, id string }
	pending := make(map[key]*Record, len(puts))
	for i, p := range puts {
		k := key{p.Tenant, p.Record.ID}
		cur, ok := pending[k]
		if !ok {
			if t := s.tenants[p.Tenant]; t != nil {
				cur = t.records[p.Record.ID]
			}
		}
		switch {
		case cur == nil && p.Prev != "":
			return &BatchError{Index: i, Err: &ConflictError{ID: p.Record.ID, Reason: "record does not exist"}}
		case cur != nil && (cur.Latest == nil || cur.Latest.CID() != p.Prev):
			return &BatchError{Index: i, Err: &ConflictError{ID: p.Record.ID, Reason: "record changed"}}
		}
		pending[k] = p.Record
	}
	if s.tenants == nil {
		s.tenants = map[string]*memTenant{}
	}
	for _, p := range puts {
		t := s.tenants[p.Tenant]
		if t == nil {
			t = &memTenant{records: map[string]*Record{}, protocols: map[string]*Message{}}
			s.tenants[p.Tenant] = t
		}
		t.records[p.Record.ID] = p.Record.Clone()
		if p.Record.Protocol == PermissionsProtocol {
			t.access++
		}
	}
	return nil
}

// Query implements Store.
func (s *MemoryStore) Query(ctx context.Context, tenant string, q StoreQuery) ([]*Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	t := s.tenants[tenant]
	if t == nil || q.Limit <= 0 {
		return nil, nil
	}
	var out []*Record
	for _, r := range t.records {
		if q.Filter.Matches(r) && q.After.After(r, q.Sort) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return q.Sort.Less(out[i], out[j]) })
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	for i, r := range out {
		out[i] = r.Clone()
	}
	return out, nil
}

// Protocol implements Store.
func (s *MemoryStore) Protocol(ctx context.Context, tenant, uri string) (*Message, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if t := s.tenants[tenant]; t != nil {
		if m := t.protocols[uri]; m != nil {
			return m, nil
		}
	}
	return nil, &notFoundError{what: "protocol " + uri}
}

// PutProtocol implements Store.
func (s *MemoryStore) PutProtocol(ctx context.Context, tenant string, m *Message, prev string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	uri, err := configuredProtocol(m)
	if err != nil {
		return err
	}
	if s.tenants == nil {
		s.tenants = map[string]*memTenant{}
	}
	t := s.tenants[tenant]
	if t == nil {
		t = &memTenant{records: map[string]*Record{}, protocols: map[string]*Message{}}
		s.tenants[tenant] = t
	}
	cur := t.protocols[uri]
	if (cur == nil && prev != "") || (cur != nil && cur.CID() != prev) {
		return &ConflictError{ID: uri, Reason: "protocol definition changed"}
	}
	t.protocols[uri] = m
	t.access++
	return nil
}

// AccessVersion implements AccessVersioner.
func (s *MemoryStore) AccessVersion(ctx context.Context, tenant string) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if t := s.tenants[tenant]; t != nil {
		return t.access, nil
	}
	return 0, nil
}

// Protocols implements Store.
func (s *MemoryStore) Protocols(ctx context.Context, tenant string) ([]*Message, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	uris := make([]string, 0, len(t.protocols))
	for u := range t.protocols {
		uris = append(uris, u)
	}
	slices.Sort(uris)
	out := make([]*Message, len(uris))
	for i, u := range uris {
		out[i] = t.protocols[u]
	}
	return out, nil
}

// Close implements Store. It is idempotent.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// configuredProtocol returns the protocol URI a Protocols Configure message installs.
func configuredProtocol(m *Message) (string, error) {
	if m == nil || m.desc.Interface != InterfaceProtocols || m.desc.Method != MethodConfigure || m.desc.Definition == nil {
		return "", invalid("message", "not a Protocols Configure message")
	}
	return m.desc.Definition.Protocol, nil
}

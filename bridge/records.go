package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Processor processes records-store messages for a tenant: a *dwn.Node.
type Processor interface {
	Process(ctx context.Context, tenant string, m *dwn.Message) (*dwn.Reply, error)
	// ProcessIfLatest processes a write only if the record's latest message is the one whose
	// CID is latest (see dwn.Node.ProcessIfLatest).
	ProcessIfLatest(ctx context.Context, tenant string, m *dwn.Message, latest string) (*dwn.Reply, error)
}

var _ Processor = (*dwn.Node)(nil)

// GrantFunc returns the ID of the permission grant that lets the client's author perform method
// (dwn.MethodWrite, MethodRead, MethodQuery or MethodDelete) on ProtocolURI records in tenant's
// store, or an error (ErrNoGrant when there is none).
type GrantFunc func(ctx context.Context, tenant, method string) (string, error)

// Grants are the permission grants a tenant gave the host for ProtocolURI (see Setup).
type Grants struct {
	Write, Read, Query, Delete string
}

// For returns the grant for a records method, "" for another.
func (g Grants) For(method string) string {
	switch method {
	case dwn.MethodWrite:
		return g.Write
	case dwn.MethodRead:
		return g.Read
	case dwn.MethodQuery:
		return g.Query
	case dwn.MethodDelete:
		return g.Delete
	}
	return ""
}

// GrantBook is an in-memory table of the grants tenants gave the host. Its Lookup method is a
// GrantFunc. The zero value is empty and ready; it is safe for concurrent use.
type GrantBook struct {
	mu sync.RWMutex
	m  map[string]Grants
}

// Add records tenant's grants, replacing earlier ones.
func (b *GrantBook) Add(tenant string, g Grants) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]Grants{}
	}
	b.m[tenant] = g
}

// Lookup is a GrantFunc over the book.
func (b *GrantBook) Lookup(_ context.Context, tenant, method string) (string, error) {
	b.mu.RLock()
	g, ok := b.m[tenant]
	b.mu.RUnlock()
	if id := g.For(method); ok && id != "" {
		return id, nil
	}
	return "", fmt.Errorf("%w: %s (%s)", ErrNoGrant, tenant, method)
}

// DefaultGrantValidity is how long the grants Setup gives last.
const DefaultGrantValidity = 10 * 365 * 24 * time.Hour

// Setup installs ProtocolURI in owner's tenant (unless it is there) and, when grantee is not
// empty and not the owner, gives grantee grants to write, read, query and delete the protocol's
// records until now+validity (validity <= 0 means DefaultGrantValidity). now nil means
// time.Now. Running it again installs nothing twice but gives new grants.
func Setup(ctx context.Context, node Processor, owner *did.BearerDID, grantee string, validity time.Duration, now func() time.Time) (Grants, error) {
	if node == nil || owner == nil {
		return Grants{}, errors.New("bridge: Setup needs a node and an owner")
	}
	if now == nil {
		now = time.Now
	}
	if validity <= 0 {
		validity = DefaultGrantValidity
	}
	tenant := owner.String()
	q, err := dwn.NewProtocolsQuery(ctx, owner, tenant, ProtocolURI, dwn.WithTimestamp(now()))
	if err != nil {
		return Grants{}, err
	}
	reply, err := node.Process(ctx, tenant, q)
	if err != nil {
		return Grants{}, fmt.Errorf("bridge: protocols of %s: %w", tenant, err)
	}
	if len(reply.Protocols) == 0 {
		msg, err := dwn.NewProtocolsConfigure(ctx, owner, tenant, Protocol(), dwn.WithTimestamp(now()))
		if err != nil {
			return Grants{}, err
		}
		if _, err := node.Process(ctx, tenant, msg); err != nil && !errors.Is(err, dwn.ErrConflict) {
			return Grants{}, fmt.Errorf("bridge: install %s for %s: %w", ProtocolURI, tenant, err)
		}
	}
	var g Grants
	if grantee == "" || grantee == tenant {
		return g, nil
	}
	for _, method := range []string{dwn.MethodWrite, dwn.MethodRead, dwn.MethodQuery, dwn.MethodDelete} {
		msg, err := dwn.NewGrant(ctx, owner, dwn.Grant{Grantee: grantee, Expires: now().Add(validity),
			Description: "anya bridges: " + method + " " + ProtocolURI,
			Scope:       dwn.Scope{Interface: dwn.InterfaceRecords, Method: method, Protocol: ProtocolURI}}, dwn.WithTimestamp(now()))
		if err != nil {
			return Grants{}, err
		}
		reply, err := node.Process(ctx, tenant, msg)
		if err != nil {
			return Grants{}, fmt.Errorf("bridge: grant %s to %s: %w", method, grantee, err)
		}
		switch method {
		case dwn.MethodWrite:
			g.Write = reply.Record.ID
		case dwn.MethodRead:
			g.Read = reply.Record.ID
		case dwn.MethodQuery:
			g.Query = reply.Record.ID
		case dwn.MethodDelete:
			g.Delete = reply.Record.ID
		}
	}
	return g, nil
}

// Option configures NewRecords.
type Option func(*config)

type config struct {
	grants GrantFunc
	now    func() time.Time
}

// WithGrants sets where the grants for other tenants come from. Defaults to none: the client
// acts only in its author's own tenant, and other tenants get ErrNoGrant.
func WithGrants(f GrantFunc) Option { return func(c *config) { c.grants = f } }

// WithClock sets the clock that dates messages. Defaults to time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Records writes, reads, queries and deletes ProtocolURI records in tenants' stores, signing
// every message as its author. It is safe for concurrent use.
type Records struct {
	node   Processor
	author *did.BearerDID
	cfg    config
}

// NewRecords returns a records client signing as author and sending to node.
func NewRecords(node Processor, author *did.BearerDID, opts ...Option) (*Records, error) {
	if node == nil {
		return nil, &OptionError{Option: "node", Value: nil, Reason: "nil"}
	}
	if author == nil {
		return nil, &OptionError{Option: "author", Value: nil, Reason: "nil"}
	}
	cfg := config{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now == nil {
		return nil, &OptionError{Option: "WithClock", Value: nil, Reason: "nil clock"}
	}
	return &Records{node: node, author: author, cfg: cfg}, nil
}

// Author returns the DID the client signs as.
func (r *Records) Author() string { return r.author.String() }

// opts returns the message options for method in tenant: the timestamp and, in another
// tenant, the grant.
func (r *Records) opts(ctx context.Context, tenant, method string) ([]dwn.MessageOption, error) {
	opts := []dwn.MessageOption{dwn.WithTimestamp(r.cfg.now())}
	if tenant == r.author.String() {
		return opts, nil
	}
	if r.cfg.grants == nil {
		return nil, fmt.Errorf("%w: %s (%s)", ErrNoGrant, tenant, method)
	}
	g, err := r.cfg.grants(ctx, tenant, method)
	if err != nil {
		return nil, err
	}
	return append(opts, dwn.WithPermissionGrant(g)), nil
}

// encode returns data as JSON: []byte and json.RawMessage as they are, anything else marshalled.
func encode(data any) ([]byte, error) {
	switch v := data.(type) {
	case []byte:
		return v, nil
	case json.RawMessage:
		return v, nil
	}
	return json.Marshal(data)
}

// WriteOption sets a property of a new record.
type WriteOption func(*writeConfig)

type writeConfig struct {
	w  dwn.Write
	at time.Time
}

// WithRecipient names the record's recipient. Defaults to none.
func WithRecipient(d string) WriteOption { return func(c *writeConfig) { c.w.Recipient = d } }

// WithCreatedAt sets the new record's creation time (its write's timestamp). A record's ID is
// derived from its author and its initial write, so the same data created by one author at
// the same path and time is one record whoever sends it first: a way for writers sharing a
// store to create a record once without coordinating (the later creates get the stored record
// back, or a dwn.ErrConflict once it was changed). In another tenant's store the time must not
// be before the grant the write invokes. Defaults to the client's clock.
func WithCreatedAt(t time.Time) WriteOption { return func(c *writeConfig) { c.at = t } }

// Create writes data (JSON: a []byte as it is, anything else marshalled) as a new record at path
// in tenant's store.
func (r *Records) Create(ctx context.Context, tenant, path string, data any, opts ...WriteOption) (*dwn.Record, error) {
	body, err := encode(data)
	if err != nil {
		return nil, err
	}
	mo, err := r.opts(ctx, tenant, dwn.MethodWrite)
	if err != nil {
		return nil, err
	}
	c := writeConfig{w: dwn.Write{Protocol: ProtocolURI, ProtocolPath: path, DataFormat: DataFormat, Data: body}}
	for _, o := range opts {
		o(&c)
	}
	if !c.at.IsZero() {
		mo = append(mo, dwn.WithTimestamp(c.at))
	}
	msg, err := dwn.NewWrite(ctx, r.author, tenant, c.w, mo...)
	if err != nil {
		return nil, err
	}
	return r.process(ctx, tenant, msg)
}

// Update replaces the data of rec (a record of tenant's store) with data.
func (r *Records) Update(ctx context.Context, tenant string, rec *dwn.Record, data any) (*dwn.Record, error) {
	msg, err := r.update(ctx, tenant, rec, data)
	if err != nil {
		return nil, err
	}
	return r.process(ctx, tenant, msg)
}

// update builds the write that replaces rec's data with data.
func (r *Records) update(ctx context.Context, tenant string, rec *dwn.Record, data any) (*dwn.Message, error) {
	body, err := encode(data)
	if err != nil {
		return nil, err
	}
	mo, err := r.opts(ctx, tenant, dwn.MethodWrite)
	if err != nil {
		return nil, err
	}
	return dwn.NewWrite(ctx, r.author, tenant, dwn.Write{Update: rec, Data: body}, mo...)
}

// UpdateIfLatest is Update carried out only if rec is still the record's latest version: when
// another writer changed the record since rec was read, it returns an error matching
// dwn.ErrConflict and changes nothing, so a caller merging its change into what it read never
// overwrites a change it did not see (read again, merge, retry).
func (r *Records) UpdateIfLatest(ctx context.Context, tenant string, rec *dwn.Record, data any) (*dwn.Record, error) {
	if rec == nil || rec.Latest == nil {
		return nil, fmt.Errorf("bridge: update of a record without its latest message")
	}
	msg, err := r.update(ctx, tenant, rec, data)
	if err != nil {
		return nil, err
	}
	latest := rec.Latest.CID()
	return r.processWith(ctx, tenant, msg, func(ctx context.Context) (*dwn.Reply, error) {
		return r.node.ProcessIfLatest(ctx, tenant, msg, latest)
	})
}

// process sends a write. A write already stored (the same message processed before) returns the
// stored record.
func (r *Records) process(ctx context.Context, tenant string, msg *dwn.Message) (*dwn.Record, error) {
	return r.processWith(ctx, tenant, msg, func(ctx context.Context) (*dwn.Reply, error) {
		return r.node.Process(ctx, tenant, msg)
	})
}

// processWith is process with the call that sends msg.
func (r *Records) processWith(ctx context.Context, tenant string, msg *dwn.Message, send func(context.Context) (*dwn.Reply, error)) (*dwn.Record, error) {
	reply, err := send(ctx)
	if err == nil {
		return reply.Record, nil
	}
	var conflict *dwn.ConflictError
	if !errors.As(err, &conflict) {
		return nil, err
	}
	rec, rerr := r.Read(ctx, tenant, msg.RecordID())
	if rerr != nil || rec.Latest == nil || rec.Latest.DescriptorCID() != msg.DescriptorCID() {
		return nil, err
	}
	return rec, nil
}

// Read returns a record of tenant's store with its data; a deleted or unknown one is ErrNotFound.
func (r *Records) Read(ctx context.Context, tenant, id string) (*dwn.Record, error) {
	mo, err := r.opts(ctx, tenant, dwn.MethodRead)
	if err != nil {
		return nil, err
	}
	msg, err := dwn.NewRead(ctx, r.author, tenant, id, mo...)
	if err != nil {
		return nil, err
	}
	reply, err := r.node.Process(ctx, tenant, msg)
	if errors.Is(err, dwn.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, id, tenant)
	}
	if err != nil {
		return nil, err
	}
	return reply.Record, nil
}

// Query returns every live record at path in tenant's store matching f (its Protocol and
// ProtocolPath are set here), oldest first, each with its data.
func (r *Records) Query(ctx context.Context, tenant, path string, f dwn.Filter) ([]*dwn.Record, error) {
	f.Protocol, f.ProtocolPath = ProtocolURI, path
	var out []*dwn.Record
	cursor := ""
	for {
		mo, err := r.opts(ctx, tenant, dwn.MethodQuery)
		if err != nil {
			return nil, err
		}
		msg, err := dwn.NewQuery(ctx, r.author, tenant, dwn.Query{Filter: f, Cursor: cursor}, mo...)
		if err != nil {
			return nil, err
		}
		reply, err := r.node.Process(ctx, tenant, msg)
		if err != nil {
			return nil, err
		}
		for _, rec := range reply.Records {
			if rec.Data == nil && rec.DataSize > 0 {
				full, err := r.Read(ctx, tenant, rec.ID)
				if err != nil {
					return nil, err
				}
				rec = full
			}
			out = append(out, rec)
		}
		if reply.Cursor == "" {
			return out, nil
		}
		cursor = reply.Cursor
	}
}

// Delete deletes a record of tenant's store. Deleting a record already deleted is not an error.
func (r *Records) Delete(ctx context.Context, tenant, id string) error {
	mo, err := r.opts(ctx, tenant, dwn.MethodDelete)
	if err != nil {
		return err
	}
	msg, err := dwn.NewDelete(ctx, r.author, tenant, id, mo...)
	if err != nil {
		return err
	}
	_, err = r.node.Process(ctx, tenant, msg)
	if errors.Is(err, dwn.ErrNotFound) {
		return nil
	}
	return err
}

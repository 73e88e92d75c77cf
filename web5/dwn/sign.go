package dwn

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn/internal/ipld"
)

// MessageOption adjusts a message the New* functions build.
type MessageOption func(*messageConfig)

type messageConfig struct {
	ts    time.Time
	grant string
}

// WithTimestamp sets the message timestamp. Defaults to the current time.
func WithTimestamp(t time.Time) MessageOption {
	return func(c *messageConfig) { c.ts = t }
}

// WithPermissionGrant invokes a permission grant (the record ID of a grant the tenant gave
// the author). Defaults to none: the author acts as owner or under the protocol's rules.
func WithPermissionGrant(grantID string) MessageOption {
	return func(c *messageConfig) { c.grant = grantID }
}

func newMessageConfig(opts []MessageOption) (messageConfig, error) {
	c := messageConfig{}
	for i, o := range opts {
		if o == nil {
			return c, &OptionError{Option: "MessageOption", Value: i, Reason: "nil option"}
		}
		o(&c)
	}
	if c.ts.IsZero() {
		c.ts = time.Now()
	}
	return c, nil
}

// Write describes a record write for NewWrite.
type Write struct {
	Data       []byte
	DataFormat string // a media type; required for a new record, kept from Update when empty
	Schema     string
	Protocol   string
	// ProtocolPath is the record's place in the protocol's structure ("thread/message").
	ProtocolPath string
	Recipient    string
	Published    bool
	// Parent is the parent record of a protocol record below the top level.
	Parent *Record
	// Update is the record this write replaces the data (and publication) of. Its identity
	// and immutable properties (protocol, path, schema, recipient, parent, creation date)
	// are kept; the timestamp is moved past its latest message if needed.
	Update *Record
}

// Query describes a records query for NewQuery.
type Query struct {
	Filter Filter
	Sort   DateSort // defaults to CreatedAscending
	Limit  int      // defaults to DefaultQueryLimit
	Cursor string   // the Cursor of the previous page's reply
}

// NewWrite builds and signs a Records Write message by author for tenant.
func NewWrite(ctx context.Context, author *did.BearerDID, tenant string, w Write, opts ...MessageOption) (*Message, error) {
	cfg, err := newMessageConfig(opts)
	if err != nil {
		return nil, err
	}
	ts := cfg.ts
	d := Descriptor{
		Interface: InterfaceRecords, Method: MethodWrite,
		DataFormat: w.DataFormat, DataCID: ipld.DataCID(w.Data), DataSize: int64(len(w.Data)),
	}
	var recordID, contextID string
	if u := w.Update; u != nil {
		if u.Deleted || u.Initial == nil {
			return nil, invalid("update", "record %s is deleted or incomplete", u.ID)
		}
		d.Protocol, d.ProtocolPath, d.Schema, d.Recipient, d.ParentID = u.Protocol, u.ProtocolPath, u.Schema, u.Recipient, u.ParentID
		d.DateCreated = u.DateCreated
		if d.DataFormat == "" {
			d.DataFormat = u.DataFormat
		}
		recordID, contextID = u.ID, u.ContextID
		if last, err := time.Parse(TimestampLayout, u.DateUpdated); err == nil && !ts.After(last) {
			ts = last.Add(time.Microsecond)
		}
		if w.Published && u.Published {
			d.DatePublished = u.DatePublished
		}
	} else {
		d.Protocol, d.ProtocolPath, d.Schema, d.Recipient = w.Protocol, w.ProtocolPath, w.Schema, w.Recipient
		if w.Parent != nil {
			d.ParentID = w.Parent.ID
		}
		d.DateCreated = Timestamp(ts)
	}
	d.MessageTimestamp = Timestamp(ts)
	if w.Published {
		d.Published = true
		if d.DatePublished == "" {
			d.DatePublished = d.MessageTimestamp
		}
	}
	desc, err := descriptorMap(&d)
	if err != nil {
		return nil, invalid("descriptor", "%v", err)
	}
	desc["dataSize"] = int64(len(w.Data))
	if author == nil {
		return nil, invalid("author", "nil")
	}
	if w.Update == nil {
		if recordID, err = entryID(desc, author.String()); err != nil {
			return nil, invalid("descriptor", "%v", err)
		}
		if d.Protocol != "" {
			contextID = recordID
			if w.Parent != nil {
				contextID = w.Parent.ContextID + "/" + recordID
			}
		}
	}
	entryOf := ""
	if w.Update == nil {
		entryOf = author.String() // recordID is the entry ID of this write by author
	}
	return sign(ctx, author, tenant, &d, desc, recordID, contextID, entryOf, cfg, w.Data, true)
}

// NewRead builds and signs a Records Read message for one record.
func NewRead(ctx context.Context, author *did.BearerDID, tenant, recordID string, opts ...MessageOption) (*Message, error) {
	return newSimple(ctx, author, tenant, MethodRead, recordID, opts)
}

// NewDelete builds and signs a Records Delete message for one record.
func NewDelete(ctx context.Context, author *did.BearerDID, tenant, recordID string, opts ...MessageOption) (*Message, error) {
	return newSimple(ctx, author, tenant, MethodDelete, recordID, opts)
}

func newSimple(ctx context.Context, author *did.BearerDID, tenant, method, recordID string, opts []MessageOption) (*Message, error) {
	cfg, err := newMessageConfig(opts)
	if err != nil {
		return nil, err
	}
	d := Descriptor{Interface: InterfaceRecords, Method: method, MessageTimestamp: Timestamp(cfg.ts), RecordID: recordID}
	desc, err := descriptorMap(&d)
	if err != nil {
		return nil, invalid("descriptor", "%v", err)
	}
	return sign(ctx, author, tenant, &d, desc, "", "", "", cfg, nil, false)
}

// NewQuery builds and signs a Records Query message.
func NewQuery(ctx context.Context, author *did.BearerDID, tenant string, q Query, opts ...MessageOption) (*Message, error) {
	cfg, err := newMessageConfig(opts)
	if err != nil {
		return nil, err
	}
	f := q.Filter
	d := Descriptor{Interface: InterfaceRecords, Method: MethodQuery, MessageTimestamp: Timestamp(cfg.ts), Filter: &f, DateSort: q.Sort}
	if q.Limit != 0 || q.Cursor != "" {
		d.Pagination = &Pagination{Limit: q.Limit, Cursor: q.Cursor}
	}
	desc, err := descriptorMap(&d)
	if err != nil {
		return nil, invalid("descriptor", "%v", err)
	}
	return sign(ctx, author, tenant, nil, desc, "", "", "", cfg, nil, false)
}

// NewProtocolsConfigure builds and signs a Protocols Configure message installing def.
func NewProtocolsConfigure(ctx context.Context, author *did.BearerDID, tenant string, def *Protocol, opts ...MessageOption) (*Message, error) {
	cfg, err := newMessageConfig(opts)
	if err != nil {
		return nil, err
	}
	if def == nil {
		return nil, invalid("descriptor.definition", "missing")
	}
	d := Descriptor{Interface: InterfaceProtocols, Method: MethodConfigure, MessageTimestamp: Timestamp(cfg.ts), Definition: def}
	desc, err := descriptorMap(&d)
	if err != nil {
		return nil, invalid("descriptor", "%v", err)
	}
	return sign(ctx, author, tenant, nil, desc, "", "", "", cfg, nil, false)
}

// NewProtocolsQuery builds and signs a Protocols Query message; protocol "" asks for all.
func NewProtocolsQuery(ctx context.Context, author *did.BearerDID, tenant, protocol string, opts ...MessageOption) (*Message, error) {
	cfg, err := newMessageConfig(opts)
	if err != nil {
		return nil, err
	}
	d := Descriptor{Interface: InterfaceProtocols, Method: MethodQuery, MessageTimestamp: Timestamp(cfg.ts)}
	if protocol != "" {
		d.Filter = &Filter{Protocol: protocol}
	}
	desc, err := descriptorMap(&d)
	if err != nil {
		return nil, invalid("descriptor", "%v", err)
	}
	return sign(ctx, author, tenant, nil, desc, "", "", "", cfg, nil, false)
}

// NewGrant builds and signs the write of a permission grant by owner, in owner's tenant.
func NewGrant(ctx context.Context, owner *did.BearerDID, g Grant, opts ...MessageOption) (*Message, error) {
	if owner == nil {
		return nil, invalid("author", "nil")
	}
	data, err := marshalGrant(g)
	if err != nil {
		return nil, invalid("grant", "%v", err)
	}
	if _, err := parseGrantData(data); err != nil {
		return nil, err
	}
	return NewWrite(ctx, owner, owner.String(), Write{
		Data: data, DataFormat: "application/json", Protocol: PermissionsProtocol, ProtocolPath: "grant", Recipient: g.Grantee,
	}, opts...)
}

// NewRevocation builds and signs the write that revokes a grant, by owner in owner's tenant.
func NewRevocation(ctx context.Context, owner *did.BearerDID, grant *Record, opts ...MessageOption) (*Message, error) {
	if owner == nil || grant == nil {
		return nil, invalid("grant", "nil")
	}
	return NewWrite(ctx, owner, owner.String(), Write{
		Data: []byte("{}"), DataFormat: "application/json", Protocol: PermissionsProtocol, ProtocolPath: "grant/revocation",
		Parent: grant, Recipient: grant.Recipient,
	}, opts...)
}

// sign signs a descriptor as author for tenant and assembles the message. desc is the
// descriptor in generic JSON form; d, when not nil, is the same descriptor typed (a Records
// Write, Read or Delete), which the message then takes as it is instead of decoding the
// signed JSON again. entryOf is the DID whose initial write recordID is the entry ID of ("" if
// not known). The message is checked as ParseMessage checks a received one.
func sign(ctx context.Context, author *did.BearerDID, tenant string, d *Descriptor, desc map[string]any, recordID, contextID, entryOf string, cfg messageConfig, data []byte, withData bool) (*Message, error) {
	if author == nil {
		return nil, invalid("author", "nil")
	}
	if err := checkDID("tenant", tenant); err != nil {
		return nil, err
	}
	rawDesc, err := json.Marshal(desc)
	if err != nil {
		return nil, invalid("descriptor", "%v", err)
	}
	descCBOR, err := ipld.DagCBOR(desc)
	if err != nil {
		return nil, invalid("descriptor", "%v", err)
	}
	descCID := ipld.CID(ipld.CodecDagCBOR, descCBOR)
	payload, err := json.Marshal(signaturePayload{DescriptorCID: descCID, RecordID: recordID, ContextID: contextID, PermissionGrantID: cfg.grant, Tenant: tenant})
	if err != nil {
		return nil, invalid("authorization", "%v", err)
	}
	compact, err := author.SignJWS(ctx, payload)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(compact, ".")
	w := wireMessage{
		RecordID: recordID, ContextID: contextID, Descriptor: rawDesc,
		Authorization: &authorization{Signature: &generalJWS{Payload: parts[1], Signatures: []jwsSignature{{Protected: parts[0], Signature: parts[2]}}}},
	}
	if d == nil || !typedExact(d) {
		if withData {
			s := b64.EncodeToString(data)
			w.EncodedData = &s
		}
		return fromWire(&w)
	}
	// The typed descriptor is what decoding rawDesc gives (its strings are valid UTF-8, which
	// JSON keeps as they are), and data is what its dataCid was computed from: neither is
	// read back. Everything else is checked as for a received message.
	m := &Message{recordID: recordID, contextID: contextID, rawDesc: rawDesc, descCID: descCID, desc: *d}
	if entryOf != "" && entryOf == author.String() {
		m.entryAuthor, m.entryInitial = entryOf, true
	}
	if err := m.finish(&w, desc, descCBOR); err != nil {
		return nil, err
	}
	if withData {
		m.data, m.hasData = bytes.Clone(data), true
		if m.data == nil {
			m.data = []byte{}
		}
	}
	return m, nil
}

// typedExact reports whether d is a Records Write, Read or Delete descriptor whose JSON form
// decodes back to d exactly: all its strings valid UTF-8 (json.Marshal replaces invalid bytes).
func typedExact(d *Descriptor) bool {
	switch d.Interface + "." + d.Method {
	case "Records.Write", "Records.Read", "Records.Delete":
	default:
		return false
	}
	if d.Filter != nil || d.Pagination != nil || d.Definition != nil || d.DateSort != "" {
		return false
	}
	for _, s := range [...]string{d.Interface, d.Method, d.MessageTimestamp, d.Protocol, d.ProtocolPath, d.Schema, d.Recipient,
		d.ParentID, d.DataCID, d.DataFormat, d.DateCreated, d.DatePublished, d.RecordID} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

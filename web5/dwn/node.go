package dwn

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn/internal/ipld"
)

// Defaults of New.
const (
	// DefaultMaxDataSize bounds the data of one record.
	DefaultMaxDataSize = 1 << 20
	// DefaultMaxMessageAge is how old a read or query message may be: older ones are refused
	// as replays.
	DefaultMaxMessageAge = 5 * time.Minute
	// DefaultMaxClockSkew is how far in the future a message timestamp may be.
	DefaultMaxClockSkew = 2 * time.Minute
	// DefaultPublishTimeout bounds the publication of one event on the bus.
	DefaultPublishTimeout = 5 * time.Second
)

// Query limits.
const (
	// DefaultQueryLimit is the page size of a query that sets none.
	DefaultQueryLimit = 100
	// MaxQueryLimit is the largest page size a query may ask for.
	MaxQueryLimit = 1000
	// MaxQueryDataSize is the largest data a query reply carries inline (as Decentralized
	// Web Nodes do); larger records come without Data: read them one by one.
	MaxQueryDataSize = 30000
)

// Option configures New.
type Option func(*config)

type config struct {
	store          Store
	storeSet       bool
	bus            *bus.Bus
	busSet         bool
	now            func() time.Time
	log            *slog.Logger
	maxData        int64
	maxAge         time.Duration
	maxSkew        time.Duration
	publishTimeout time.Duration
	tenantGate     func(ctx context.Context, tenant string) bool
	gateSet        bool
	tracerProv     trace.TracerProvider
	meterProv      metric.MeterProvider
}

// WithStore sets the store. Defaults to a SQLite store on a private in-memory database,
// which Close closes; pass a store opened on a file (OpenSQLiteStore) to keep records.
func WithStore(s Store) Option { return func(c *config) { c.store, c.storeSet = s, true } }

// WithBus publishes an Event on b for every write, delete and protocol installation (see
// Topic). Defaults to no bus: no events.
func WithBus(b *bus.Bus) Option { return func(c *config) { c.bus, c.busSet = b, true } }

// WithClock sets the clock grant expiry and message freshness are checked against.
// Defaults to time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets the logger. Defaults to discarding logs.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithMaxDataSize bounds the data of one record; it must be positive and at most
// MaxMessageSize/2. Defaults to DefaultMaxDataSize.
func WithMaxDataSize(n int64) Option { return func(c *config) { c.maxData = n } }

// WithMaxMessageAge sets how old a read or query message may be. Defaults to
// DefaultMaxMessageAge.
func WithMaxMessageAge(d time.Duration) Option { return func(c *config) { c.maxAge = d } }

// WithMaxClockSkew sets how far in the future a message timestamp may be. Defaults to
// DefaultMaxClockSkew.
func WithMaxClockSkew(d time.Duration) Option { return func(c *config) { c.maxSkew = d } }

// WithPublishTimeout bounds the publication of one event. Defaults to
// DefaultPublishTimeout.
func WithPublishTimeout(d time.Duration) Option { return func(c *config) { c.publishTimeout = d } }

// WithTenantGate restricts the DIDs the node serves as tenants: a message sent to a
// tenant for which gate returns false is refused with a *ForbiddenError. Defaults to
// serving every DID.
func WithTenantGate(gate func(ctx context.Context, tenant string) bool) Option {
	return func(c *config) { c.tenantGate, c.gateSet = gate, true }
}

// WithTracerProvider traces every message the node processes with tp: a span under the
// caller's — a workflow step's, say — named after its operation ([SpanRecordsWrite],
// [SpanRecordsQuery], ...), with anya.dwn.operation and anya.outcome, whether a write created
// its record, and how many records a query returned. Resolving the author's DID, the store's
// work and the event published on the bus happen inside it. Tenants, authors, record IDs,
// protocols, data and error texts are never recorded. A nil tp is the no-op provider. Defaults
// to OpenTelemetry's no-op provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProv = tp }
}

// WithMeterProvider counts the messages the node processes by operation and outcome
// (anya.dwn.messages) and records how long each took (anya.dwn.process.duration) with
// instruments of mp; cancelled calls are not counted. A nil mp is the no-op provider. Defaults
// to OpenTelemetry's no-op provider: nothing is reported.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProv = mp }
}

// validate checks the whole configuration.
func (c *config) validate() error {
	switch {
	case c.storeSet && (c.store == nil || isNilPointer(c.store)):
		return &OptionError{Option: "WithStore", Reason: "nil store"}
	case c.busSet && c.bus == nil:
		return &OptionError{Option: "WithBus", Reason: "nil bus"}
	case c.now == nil:
		return &OptionError{Option: "WithClock", Reason: "nil clock"}
	case c.log == nil:
		return &OptionError{Option: "WithLogger", Reason: "nil logger"}
	case c.maxData <= 0 || c.maxData > MaxMessageSize/2:
		return &OptionError{Option: "WithMaxDataSize", Value: c.maxData, Reason: "must be positive and at most MaxMessageSize/2"}
	case c.maxAge <= 0:
		return &OptionError{Option: "WithMaxMessageAge", Value: c.maxAge, Reason: "must be positive"}
	case c.maxSkew < 0:
		return &OptionError{Option: "WithMaxClockSkew", Value: c.maxSkew, Reason: "negative"}
	case c.publishTimeout <= 0:
		return &OptionError{Option: "WithPublishTimeout", Value: c.publishTimeout, Reason: "must be positive"}
	case c.gateSet && c.tenantGate == nil:
		return &OptionError{Option: "WithTenantGate", Reason: "nil gate"}
	}
	return nil
}

// isNilPointer reports whether v, an interface value, holds a nil pointer.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// Node is a records store serving many tenants (one per DID). It verifies every message
// against its author's DID, enforces tenant ownership, protocol rules and permission
// grants, and keeps records in a Store. It is safe for concurrent use and starts no
// goroutines. Build one with New: a zero Node's Process returns a *NotConstructedError.
type Node struct {
	resolver *did.Resolver
	cfg      config
	store    Store
	ownStore bool
	perms    *Protocol
	locks    [64]sync.Mutex
	closed   atomic.Bool

	// versions is the store when it keeps access versions (nil otherwise), and access the
	// protocol definitions and grants read at them.
	versions AccessVersioner
	access   accessCache
	tel      *nodeTelemetry // nil unless traced or metered
}

// New returns a node that verifies signatures with resolver. A nil resolver and invalid
// options are reported as *OptionError.
func New(resolver *did.Resolver, opts ...Option) (*Node, error) {
	if resolver == nil {
		return nil, &OptionError{Option: "resolver", Reason: "nil"}
	}
	cfg := config{
		now: time.Now, log: slog.New(slog.DiscardHandler),
		maxData: DefaultMaxDataSize, maxAge: DefaultMaxMessageAge, maxSkew: DefaultMaxClockSkew,
		publishTimeout: DefaultPublishTimeout,
	}
	for i, o := range opts {
		if o == nil {
			return nil, &OptionError{Option: "Option", Value: i, Reason: "nil option"}
		}
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tel, err := newNodeTelemetry(&cfg)
	if err != nil {
		return nil, err
	}
	n := &Node{resolver: resolver, cfg: cfg, store: cfg.store, perms: permissionsDefinition(), tel: tel}
	if n.store == nil {
		s, err := defaultStore()
		if err != nil {
			return nil, err
		}
		n.store, n.ownStore = s, true
	}
	n.versions, _ = n.store.(AccessVersioner)
	return n, nil
}

// open reports why n cannot take a message now: a zero Node, ctx done, or the node closed.
func (n *Node) open(ctx context.Context) error {
	if n == nil || n.store == nil {
		return errNodeNotConstructed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if n.closed.Load() {
		return ErrClosed
	}
	return nil
}

// errNodeNotConstructed is the error of a zero Node.
var errNodeNotConstructed = &NotConstructedError{Type: "dwn.Node", Constructor: "dwn.New"}

// Close closes the node, and the store if the node opened it. It is idempotent; a zero
// Node has nothing to close.
func (n *Node) Close() error {
	if n == nil || n.store == nil {
		return nil
	}
	if n.closed.Swap(true) {
		return nil
	}
	if n.ownStore {
		return n.store.Close()
	}
	return nil
}

// Reply is the outcome of a message.
type Reply struct {
	// Record is the record a Records Write, Read or Delete acted on (Read: with its data).
	Record *Record
	// Records is one page of a Records Query.
	Records []*Record
	// Cursor continues a Records Query on the next page; "" on the last page.
	Cursor string
	// Protocols are the Protocols Configure messages a Protocols Query found.
	Protocols []*Message
}

func (n *Node) now() time.Time { return n.cfg.now() }

func (n *Node) lock(tenant string) func() {
	mu := &n.locks[n.bucket(tenant)]
	mu.Lock()
	return mu.Unlock
}

// bucket is the index of tenant's lock in n.locks (FNV-1a of the tenant).
func (n *Node) bucket(tenant string) int {
	h := uint32(2166136261)
	for i := 0; i < len(tenant); i++ {
		h ^= uint32(tenant[i])
		h *= 16777619
	}
	return int(h % uint32(len(n.locks)))
}

// Process verifies and carries out a message sent to tenant. Errors are typed:
// *MessageError (malformed), *AuthError (unsigned or bad signature), *ForbiddenError (not
// allowed: wrong tenant, no rule, expired or revoked grant, ...), *ConflictError (a replay
// or an out-of-date message), ErrNotFound, ErrStale, or ctx.Err(). A refused message
// changes nothing.
func (n *Node) Process(ctx context.Context, tenant string, m *Message) (*Reply, error) {
	return n.processIf(ctx, tenant, m, "")
}

// ProcessIfLatest is Process for a Records.Write that updates a record, carried out only if the
// record's latest message is still the one whose CID is latest (a *Record's Latest.CID()): the
// compare-and-set a client needs to change a record it read without losing a change another
// writer made meanwhile (the protocol's own rule, the newer message wins, would keep the later
// of two writes made from the same read and drop the other's change). Otherwise — the record
// changed, was deleted or does not exist — it returns a *ConflictError and changes nothing.
// The check and the write are one step for the store (its compare-and-set on the previous
// message), so it holds across nodes sharing a store too.
func (n *Node) ProcessIfLatest(ctx context.Context, tenant string, m *Message, latest string) (*Reply, error) {
	if n == nil || n.store == nil {
		return nil, errNodeNotConstructed
	}
	if m != nil && (m.desc.Interface != InterfaceRecords || m.desc.Method != MethodWrite) {
		return nil, invalid("descriptor", "only a Records.Write is processed on a condition, not %s.%s", m.desc.Interface, m.desc.Method)
	}
	if latest == "" {
		return nil, invalid("latest", "the expected latest message's CID is empty")
	}
	return n.processIf(ctx, tenant, m, latest)
}

// processIf is Process with the condition of ProcessIfLatest ("" for none).
func (n *Node) processIf(ctx context.Context, tenant string, m *Message, latest string) (*Reply, error) {
	if err := n.open(ctx); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, invalid("message", "nil")
	}
	if n.tel != nil {
		return n.tel.process(ctx, m, func(ctx context.Context) (*Reply, error) { return n.process(ctx, tenant, m, latest) })
	}
	return n.process(ctx, tenant, m, latest)
}

// process is Process on a constructed, open node, for a message; latest is the condition of
// ProcessIfLatest ("" for none).
func (n *Node) process(ctx context.Context, tenant string, m *Message, latest string) (*Reply, error) {
	ctx, author, err := n.admit(ctx, tenant, m, nil)
	if err != nil {
		return nil, err
	}
	op := m.desc.Interface + "." + m.desc.Method
	switch op {
	case "Records.Write":
		return n.write(ctx, tenant, author, m, latest)
	case "Records.Read":
		return n.read(ctx, tenant, author, m)
	case "Records.Query":
		return n.query(ctx, tenant, author, m)
	case "Records.Delete":
		return n.delete(ctx, tenant, author, m)
	case "Protocols.Configure":
		return n.configure(ctx, tenant, author, m)
	case "Protocols.Query":
		return n.queryProtocols(ctx, tenant, author, m)
	}
	return nil, invalid("descriptor", "unknown interface and method %q", op)
}

// admit checks what every message must pass before its operation's rules: a tenant the node
// serves, the author's signature for that tenant, and a timestamp neither in the future nor,
// for reads and queries, too old. It returns the verified author and ctx carrying memo, the
// memo of the tenant's access version (a new one for this message when nil).
func (n *Node) admit(ctx context.Context, tenant string, m *Message, memo *versionMemo) (context.Context, string, error) {
	if err := checkDID("tenant", tenant); err != nil {
		return ctx, "", err
	}
	if n.cfg.tenantGate != nil && !n.cfg.tenantGate(ctx, tenant) {
		// Refused before the signature is checked: no author is named, as none is verified.
		return ctx, "", &ForbiddenError{Tenant: tenant, Action: m.desc.Interface + "." + m.desc.Method, Reason: "the node does not serve this tenant"}
	}
	author, err := n.authenticate(ctx, tenant, m)
	if err != nil {
		return ctx, "", err
	}
	if n.versions != nil {
		if memo == nil {
			memo = &versionMemo{}
		}
		ctx = context.WithValue(ctx, versionMemoKey{}, memo)
	}
	ts, err := parseTimestamp("descriptor.messageTimestamp", m.desc.MessageTimestamp)
	if err != nil {
		return ctx, "", err
	}
	now := n.now()
	if ts.After(now.Add(n.cfg.maxSkew)) {
		return ctx, "", invalid("descriptor.messageTimestamp", "more than %v in the future", n.cfg.maxSkew)
	}
	switch m.desc.Interface + "." + m.desc.Method {
	case "Records.Read", "Records.Query", "Protocols.Query":
		if now.Sub(ts) > n.cfg.maxAge {
			return ctx, "", &staleError{age: now.Sub(ts), max: n.cfg.maxAge}
		}
	}
	return ctx, author, nil
}

type staleError struct{ age, max time.Duration }

func (e *staleError) Error() string {
	return "dwn: message too old: " + e.age.Truncate(time.Second).String() + " > " + e.max.String()
}

func (e *staleError) Is(target error) bool { return target == ErrStale }

// authenticate verifies the message's signature against its author's DID document and its
// binding to tenant, and returns the author: the controller of the verification method
// whose key verified the signature, as the verifier reports it. The signature is the JWS
// ParseMessage read (header and payload read once, by package jose), so the kid that chose
// the key, the payload that binds the tenant and the author are one reading of the bytes.
func (n *Node) authenticate(ctx context.Context, tenant string, m *Message) (string, error) {
	if m.auth == nil || m.jws == nil {
		return "", &AuthError{Reason: "unsigned message"}
	}
	vm, err := n.resolver.Verify(ctx, m.jws)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", &AuthError{Reason: "signature of " + m.kid + " does not verify", Err: err}
	}
	author := vm.Controller
	if m.sig.Tenant != tenant {
		return "", &ForbiddenError{Author: author, Tenant: tenant, Action: m.desc.Interface + "." + m.desc.Method,
			Reason: "message is signed for tenant " + m.sig.Tenant}
	}
	return author, nil
}

// newer reports whether message m supersedes message cur: a later timestamp, or the same
// timestamp and a greater descriptor CID (so that every node picks the same winner). The
// signature plays no part: ES256 signatures are malleable (see package jose), and a
// second signature over a message must not make it a different, newer one.
func newer(m, cur *Message) bool {
	if m.desc.MessageTimestamp != cur.desc.MessageTimestamp {
		return m.desc.MessageTimestamp > cur.desc.MessageTimestamp
	}
	return m.descCID > cur.descCID
}

// same reports whether m and cur carry the same signed operation: the same descriptor
// (its CID covers everything the message asks for, timestamp included). Messages differing
// only in their signature bytes are the same message.
func same(m, cur *Message) bool { return cur != nil && m.descCID == cur.descCID }

// protocol returns the definition of an installed protocol (the built-in permissions
// protocol included).
// Definitions come from the tenant's access cache while the store's access version of the
// tenant is the one they were read at.
func (n *Node) protocol(ctx context.Context, tenant, uri string) (*Protocol, error) {
	if uri == PermissionsProtocol {
		return n.perms, nil
	}
	notInstalled := func() error {
		return &MessageError{Field: "descriptor.protocol", Reason: "protocol " + uri + " is not installed in the tenant"}
	}
	version, cached, err := n.accessVersion(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if cached {
		if def, ok := n.access.protocol(tenant, version, uri); ok {
			if def == nil {
				return nil, notInstalled()
			}
			return def, nil
		}
	}
	pm, err := n.store.Protocol(ctx, tenant, uri)
	var def *Protocol
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, err
	default:
		def = pm.desc.Definition
	}
	if cached {
		n.access.putProtocol(tenant, version, uri, def)
	}
	if def == nil {
		return nil, notInstalled()
	}
	return def, nil
}

// ancestors returns a lookup of the ancestors of a record with the given parent, by
// protocol path; it reads them from the store on first use.
func (n *Node) ancestors(ctx context.Context, tenant, parentID string) func(path string) *Record {
	var byPath map[string]*Record
	return func(path string) *Record {
		if byPath == nil {
			byPath = map[string]*Record{}
			id := parentID
			for range MaxProtocolDepth {
				if id == "" {
					break
				}
				r, err := n.store.Record(ctx, tenant, id)
				if err != nil {
					if !errors.Is(err, ErrNotFound) {
						n.cfg.log.WarnContext(ctx, "dwn: reading an ancestor record", "tenant", tenant, "record", id, "err", err)
					}
					break
				}
				if r.Deleted {
					break
				}
				byPath[r.ProtocolPath] = r
				id = r.ParentID
			}
		}
		return byPath[path]
	}
}

// allows reports whether protocol rules let requester perform action on record r.
func (n *Node) allows(ctx context.Context, tenant, requester, action string, r *Record) bool {
	if r.Protocol == "" {
		return false
	}
	def, err := n.protocol(ctx, tenant, r.Protocol)
	if err != nil {
		return false
	}
	rs, ok := def.ruleSet(r.ProtocolPath)
	return ok && rs.allows(action, requester, r.Recipient, n.ancestors(ctx, tenant, r.ParentID))
}

// visible reports whether requester may see record r through action (read or query)
// without a grant.
func (n *Node) visible(ctx context.Context, tenant, requester, action string, r *Record) bool {
	return requester == tenant || r.Published || r.Author == requester ||
		(r.Recipient != "" && r.Recipient == requester) || n.allows(ctx, tenant, requester, action, r)
}

func (n *Node) write(ctx context.Context, tenant, author string, m *Message, latest string) (*Reply, error) {
	unlock := n.lock(tenant)
	defer unlock()
	rec, prev, err := n.checkWrite(ctx, tenant, author, m, latest)
	if err != nil {
		return nil, err
	}
	if err := n.store.PutRecord(ctx, tenant, rec, prev); err != nil {
		return nil, err
	}
	n.emit(ctx, tenant, EventRecordWritten, m, rec)
	return &Reply{Record: rec.Clone()}, nil
}

// checkWrite applies the rules to a Records Write by author (verified) in tenant, whose lock
// the caller holds, and returns the record to store and the CID of the latest message it
// replaces ("" for a new record); latest is the condition of ProcessIfLatest ("" for none).
func (n *Node) checkWrite(ctx context.Context, tenant, author string, m *Message, latest string) (rec *Record, prev string, err error) {
	d := &m.desc
	forbid := func(reason string, err error) error {
		return &ForbiddenError{Author: author, Tenant: tenant, Action: "Records.Write", Reason: reason, Err: err}
	}
	if d.DataSize > n.cfg.maxData {
		return nil, "", invalid("descriptor.dataSize", "larger than %d bytes", n.cfg.maxData)
	}
	initial, err := m.isInitialWrite(author)
	if err != nil {
		return nil, "", err
	}
	if initial && d.DateCreated != d.MessageTimestamp {
		return nil, "", invalid("descriptor.dateCreated", "an initial write is created at its message timestamp")
	}
	owner := author == tenant
	if d.Protocol == PermissionsProtocol && !owner {
		return nil, "", forbid("only the tenant writes permission grants and revocations", nil)
	}
	cur, err := n.store.Record(ctx, tenant, m.recordID)
	switch {
	case errors.Is(err, ErrNotFound):
		cur = nil
	case err != nil:
		return nil, "", err
	}
	rec = &Record{
		ID: m.recordID, ContextID: m.contextID, Author: author,
		Protocol: d.Protocol, ProtocolPath: d.ProtocolPath, Schema: d.Schema, Recipient: d.Recipient, ParentID: d.ParentID,
		DataFormat: d.DataFormat, DataCID: d.DataCID, DataSize: d.DataSize, Published: d.Published,
		DateCreated: d.DateCreated, DatePublished: d.DatePublished, DateUpdated: d.MessageTimestamp,
		Latest: m.withoutData(),
	}
	if m.hasData {
		rec.Data = m.data // messages are immutable; the reply and the events carry copies
	}
	if latest != "" && (cur == nil || cur.Latest == nil || cur.Latest.cid != latest) {
		return nil, "", &ConflictError{ID: m.recordID, Reason: "the record's latest message is not the one expected"}
	}
	if cur == nil {
		if !initial {
			return nil, "", invalid("recordId", "record %s does not exist: the first write must be its initial write", m.recordID)
		}
		rec.Initial = m.withoutData()
		if err := n.authorizeCreate(ctx, tenant, author, m, rec); err != nil {
			return nil, "", err
		}
	} else {
		if cur.Deleted {
			return nil, "", &ConflictError{ID: m.recordID, Reason: "record was deleted at " + cur.DateUpdated}
		}
		if same(m, cur.Latest) || same(m, cur.Initial) {
			return nil, "", &ConflictError{ID: m.recordID, Reason: "message already processed"}
		}
		if !newer(m, cur.Latest) {
			return nil, "", &ConflictError{ID: m.recordID, Reason: "not newer than the record's latest message (" + cur.DateUpdated + ")"}
		}
		if err := checkImmutable(d, m.contextID, cur); err != nil {
			return nil, "", err
		}
		rec.Author, rec.Initial, rec.ContextID = cur.Author, cur.Initial, cur.ContextID
		if err := n.authorizeUpdate(ctx, tenant, author, m, cur); err != nil {
			return nil, "", err
		}
		prev = cur.Latest.cid
	}
	if rec.Data == nil {
		if cur == nil || d.DataCID != cur.DataCID || d.DataSize != cur.DataSize {
			return nil, "", invalid("encodedData", "missing (only an update keeping the data may leave it out)")
		}
		rec.Data = cur.Data
	}
	if d.Protocol != "" {
		if err := n.checkProtocolWrite(ctx, tenant, m, rec); err != nil {
			return nil, "", err
		}
	}
	return rec, prev, nil
}

func checkImmutable(d *Descriptor, contextID string, cur *Record) error {
	switch {
	case d.Protocol != cur.Protocol:
		return invalid("descriptor.protocol", "differs from the initial write")
	case d.ProtocolPath != cur.ProtocolPath:
		return invalid("descriptor.protocolPath", "differs from the initial write")
	case d.Schema != cur.Schema:
		return invalid("descriptor.schema", "differs from the initial write")
	case d.Recipient != cur.Recipient:
		return invalid("descriptor.recipient", "differs from the initial write")
	case d.ParentID != cur.ParentID:
		return invalid("descriptor.parentId", "differs from the initial write")
	case d.DateCreated != cur.DateCreated:
		return invalid("descriptor.dateCreated", "differs from the initial write")
	case contextID != cur.ContextID:
		return invalid("contextId", "differs from the initial write")
	}
	return nil
}

// authorizeCreate decides whether author may create record rec in tenant.
func (n *Node) authorizeCreate(ctx context.Context, tenant, author string, m *Message, rec *Record) error {
	if author == tenant {
		return nil
	}
	if g := m.sig.PermissionGrantID; g != "" {
		return n.checkGrant(ctx, tenant, author, g, InterfaceRecords, MethodWrite, rec.Protocol, m.desc.MessageTimestamp)
	}
	if rec.Protocol != "" && n.allows(ctx, tenant, author, ActionCreate, rec) {
		return nil
	}
	return &ForbiddenError{Author: author, Tenant: tenant, Action: "Records.Write", Reason: "no rule or grant lets the author create this record"}
}

// authorizeUpdate decides whether author may write a new version of record cur.
func (n *Node) authorizeUpdate(ctx context.Context, tenant, author string, m *Message, cur *Record) error {
	if author == cur.Author {
		if author == tenant {
			return nil
		}
		if g := m.sig.PermissionGrantID; g != "" {
			return n.checkGrant(ctx, tenant, author, g, InterfaceRecords, MethodWrite, cur.Protocol, m.desc.MessageTimestamp)
		}
		if n.allows(ctx, tenant, author, ActionUpdate, cur) {
			return nil
		}
		return &ForbiddenError{Author: author, Tenant: tenant, Action: "Records.Write", Reason: "no rule or grant lets the author update the record"}
	}
	if n.allows(ctx, tenant, author, ActionCoUpdate, cur) {
		return nil
	}
	return &ForbiddenError{Author: author, Tenant: tenant, Action: "Records.Write", Reason: "only the record's author (or a co-update rule) may update it"}
}

// checkProtocolWrite checks a protocol record against its definition: a known path, the
// type's schema, data formats and size, and a parent at the parent path.
func (n *Node) checkProtocolWrite(ctx context.Context, tenant string, m *Message, rec *Record) error {
	def, err := n.protocol(ctx, tenant, rec.Protocol)
	if err != nil {
		return err
	}
	rs, ok := def.ruleSet(rec.ProtocolPath)
	if !ok {
		return invalid("descriptor.protocolPath", "%s is not in protocol %s", rec.ProtocolPath, rec.Protocol)
	}
	segs, _ := splitPath(rec.ProtocolPath)
	typ := def.Types[segs[len(segs)-1]]
	if typ.Schema != "" && rec.Schema != typ.Schema {
		return invalid("descriptor.schema", "type %s requires schema %s", segs[len(segs)-1], typ.Schema)
	}
	if len(typ.DataFormats) > 0 && !contains(typ.DataFormats, rec.DataFormat) {
		return invalid("descriptor.dataFormat", "type %s allows %v", segs[len(segs)-1], typ.DataFormats)
	}
	if s := rs.Size; s != nil && (rec.DataSize < s.Min || (s.Max > 0 && rec.DataSize > s.Max)) {
		return invalid("descriptor.dataSize", "outside the type's $size")
	}
	if len(segs) == 1 {
		if rec.ParentID != "" {
			return invalid("descriptor.parentId", "a top-level protocol record has no parent")
		}
		if rec.ContextID != rec.ID {
			return invalid("contextId", "a top-level protocol record's context ID is its record ID")
		}
	} else {
		if rec.ParentID == "" {
			return invalid("descriptor.parentId", "missing for %s", rec.ProtocolPath)
		}
		parent, err := n.store.Record(ctx, tenant, rec.ParentID)
		if errors.Is(err, ErrNotFound) || (err == nil && parent.Deleted) {
			return invalid("descriptor.parentId", "parent record %s not found", rec.ParentID)
		}
		if err != nil {
			return err
		}
		if parent.Protocol != rec.Protocol || parent.ProtocolPath != joinPath(segs[:len(segs)-1]) {
			return invalid("descriptor.parentId", "parent record is not at %s", joinPath(segs[:len(segs)-1]))
		}
		if rec.ContextID != parent.ContextID+"/"+rec.ID {
			return invalid("contextId", "must be the parent's context ID followed by the record ID")
		}
	}
	if rec.Protocol == PermissionsProtocol {
		switch rec.ProtocolPath {
		case "grant":
			if rec.Recipient == "" {
				return invalid("descriptor.recipient", "a grant names its grantee as recipient")
			}
			if _, err := parseGrantData(rec.Data); err != nil {
				return err
			}
		case "grant/revocation":
			var v map[string]any
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return invalid("encodedData", "a revocation's data is a JSON object")
			}
		}
	}
	_ = m
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joinPath(segs []string) string {
	s := ""
	for i, p := range segs {
		if i > 0 {
			s += "/"
		}
		s += p
	}
	return s
}

func (n *Node) read(ctx context.Context, tenant, author string, m *Message) (*Reply, error) {
	r, err := n.store.Record(ctx, tenant, m.desc.RecordID)
	if err != nil {
		return nil, err
	}
	if r.Deleted {
		return nil, errRecordNotFound(m.desc.RecordID)
	}
	if g := m.sig.PermissionGrantID; g != "" && author != tenant {
		if err := n.checkGrant(ctx, tenant, author, g, InterfaceRecords, MethodRead, r.Protocol, m.desc.MessageTimestamp); err != nil {
			return nil, err
		}
	} else if !n.visible(ctx, tenant, author, ActionRead, r) {
		return nil, &ForbiddenError{Author: author, Tenant: tenant, Action: "Records.Read", Reason: "record is not published, not the author's or addressed to them, and no rule allows reading it"}
	}
	return &Reply{Record: r}, nil
}

func errRecordNotFound(id string) error {
	return &notFoundError{what: "record " + id}
}

type notFoundError struct{ what string }

func (e *notFoundError) Error() string        { return "dwn: not found: " + e.what }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

func encodeCursor(c Cursor) string {
	b, _ := json.Marshal(c)
	return b64.EncodeToString(b)
}

func decodeCursor(s string) (*Cursor, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, invalid("descriptor.pagination.cursor", "not a cursor")
	}
	var c Cursor
	if err := strictUnmarshal(b, &c); err != nil {
		return nil, invalid("descriptor.pagination.cursor", "not a cursor")
	}
	if c.Value != "" {
		if _, err := parseTimestamp("descriptor.pagination.cursor", c.Value); err != nil {
			return nil, err
		}
	}
	if _, err := ipld.Parse(c.RecordID); err != nil {
		return nil, invalid("descriptor.pagination.cursor", "not a cursor")
	}
	return &c, nil
}

func (n *Node) query(ctx context.Context, tenant, author string, m *Message) (*Reply, error) {
	d := &m.desc
	f := *d.Filter
	sort := d.DateSort
	if sort == "" {
		sort = CreatedAscending
	}
	limit := DefaultQueryLimit
	var after *Cursor
	if p := d.Pagination; p != nil {
		if p.Limit > 0 {
			limit = p.Limit
		}
		if p.Cursor != "" {
			c, err := decodeCursor(p.Cursor)
			if err != nil {
				return nil, err
			}
			after = c
		}
	}
	all := author == tenant
	if g := m.sig.PermissionGrantID; g != "" && !all {
		if err := n.checkGrant(ctx, tenant, author, g, InterfaceRecords, MethodQuery, f.Protocol, d.MessageTimestamp); err != nil {
			return nil, err
		}
		all = true
	}
	var out []*Record
	for len(out) <= limit {
		batch, err := n.store.Query(ctx, tenant, StoreQuery{Filter: f, Sort: sort, After: after, Limit: limit + 1})
		if err != nil {
			return nil, err
		}
		for _, r := range batch {
			if all || n.visible(ctx, tenant, author, ActionQuery, r) {
				out = append(out, r)
				if len(out) > limit {
					break
				}
			}
		}
		if len(batch) <= limit {
			break
		}
		last := batch[len(batch)-1]
		after = &Cursor{Value: last.sortValue(sort), RecordID: last.ID}
	}
	reply := &Reply{}
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		reply.Cursor = encodeCursor(Cursor{Value: last.sortValue(sort), RecordID: last.ID})
	}
	for _, r := range out {
		if r.DataSize > MaxQueryDataSize {
			r.Data = nil
		}
	}
	reply.Records = out
	return reply, nil
}

func (n *Node) delete(ctx context.Context, tenant, author string, m *Message) (*Reply, error) {
	id := m.desc.RecordID
	forbid := func(reason string) error {
		return &ForbiddenError{Author: author, Tenant: tenant, Action: "Records.Delete", Reason: reason}
	}
	unlock := n.lock(tenant)
	defer unlock()
	cur, err := n.store.Record(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if cur.Deleted {
		if same(m, cur.Latest) {
			return nil, &ConflictError{ID: id, Reason: "message already processed"}
		}
		return nil, errRecordNotFound(id)
	}
	if !newer(m, cur.Latest) {
		return nil, &ConflictError{ID: id, Reason: "not newer than the record's latest message (" + cur.DateUpdated + ")"}
	}
	if author != tenant {
		switch {
		case cur.Protocol == PermissionsProtocol:
			return nil, forbid("only the tenant deletes permission grants and revocations")
		case m.sig.PermissionGrantID != "":
			if err := n.checkGrant(ctx, tenant, author, m.sig.PermissionGrantID, InterfaceRecords, MethodDelete, cur.Protocol, m.desc.MessageTimestamp); err != nil {
				return nil, err
			}
		case n.allows(ctx, tenant, author, ActionCoDelete, cur):
		case cur.Author == author && n.allows(ctx, tenant, author, ActionDelete, cur):
		default:
			return nil, forbid("no rule or grant lets the author delete this record")
		}
	}
	tomb := cur.Clone()
	tomb.Deleted, tomb.Data, tomb.Latest, tomb.DateUpdated = true, nil, m, m.desc.MessageTimestamp
	if err := n.store.PutRecord(ctx, tenant, tomb, cur.Latest.cid); err != nil {
		return nil, err
	}
	n.emit(ctx, tenant, EventRecordDeleted, m, tomb)
	return &Reply{Record: tomb.Clone()}, nil
}

func (n *Node) configure(ctx context.Context, tenant, author string, m *Message) (*Reply, error) {
	def := m.desc.Definition
	if def.Protocol == PermissionsProtocol {
		return nil, invalid("descriptor.definition.protocol", "%s is built in", PermissionsProtocol)
	}
	if author != tenant {
		g := m.sig.PermissionGrantID
		if g == "" {
			return nil, &ForbiddenError{Author: author, Tenant: tenant, Action: "Protocols.Configure", Reason: "only the tenant, or a grantee, installs protocols"}
		}
		if err := n.checkGrant(ctx, tenant, author, g, InterfaceProtocols, MethodConfigure, def.Protocol, m.desc.MessageTimestamp); err != nil {
			return nil, err
		}
	}
	unlock := n.lock(tenant)
	defer unlock()
	prev := ""
	cur, err := n.store.Protocol(ctx, tenant, def.Protocol)
	switch {
	case err == nil:
		if same(m, cur) {
			return nil, &ConflictError{ID: def.Protocol, Reason: "message already processed"}
		}
		if !newer(m, cur) {
			return nil, &ConflictError{ID: def.Protocol, Reason: "not newer than the installed definition (" + cur.desc.MessageTimestamp + ")"}
		}
		prev = cur.cid
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	if err := n.store.PutProtocol(ctx, tenant, m, prev); err != nil {
		return nil, err
	}
	n.emit(ctx, tenant, EventProtocolConfigured, m, nil)
	return &Reply{Protocols: []*Message{m}}, nil
}

func (n *Node) queryProtocols(ctx context.Context, tenant, author string, m *Message) (*Reply, error) {
	uri := ""
	if m.desc.Filter != nil {
		uri = m.desc.Filter.Protocol
	}
	all := author == tenant
	if g := m.sig.PermissionGrantID; g != "" && !all {
		if err := n.checkGrant(ctx, tenant, author, g, InterfaceProtocols, MethodQuery, uri, m.desc.MessageTimestamp); err != nil {
			return nil, err
		}
		all = true
	}
	var list []*Message
	if uri != "" {
		pm, err := n.store.Protocol(ctx, tenant, uri)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if pm != nil {
			list = []*Message{pm}
		}
	} else {
		var err error
		if list, err = n.store.Protocols(ctx, tenant); err != nil {
			return nil, err
		}
	}
	out := list[:0:0]
	for _, pm := range list {
		if all || pm.desc.Definition.Published {
			out = append(out, pm)
		}
	}
	return &Reply{Protocols: out}, nil
}

package dwn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn/internal/ipld"
	"github.com/anya-org/anya-go/web5/internal/fastjson"
	"github.com/anya-org/anya-go/web5/jose"
)

// Interfaces and methods of messages.
const (
	InterfaceRecords   = "Records"
	InterfaceProtocols = "Protocols"

	MethodWrite     = "Write"
	MethodRead      = "Read"
	MethodQuery     = "Query"
	MethodDelete    = "Delete"
	MethodConfigure = "Configure"
)

// TimestampLayout is the form of every timestamp in a message: UTC with microseconds, as
// Decentralized Web Nodes write them, so that timestamps sort as strings.
const TimestampLayout = "2006-01-02T15:04:05.000000Z"

// MaxMessageSize bounds the JSON form of a message ParseMessage accepts (encoded data
// included).
const MaxMessageSize = 8 << 20

// Timestamp formats t as a message timestamp.
func Timestamp(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(TimestampLayout) }

func parseTimestamp(field, s string) (time.Time, error) {
	t, err := time.Parse(TimestampLayout, s)
	if err != nil || t.Format(TimestampLayout) != s {
		return time.Time{}, invalid(field, "not a timestamp of the form %s", TimestampLayout)
	}
	return t, nil
}

// Descriptor is the signed description of what a message asks for. Which properties may
// appear depends on the interface and method (see ParseMessage).
type Descriptor struct {
	Interface        string `json:"interface"`
	Method           string `json:"method"`
	MessageTimestamp string `json:"messageTimestamp"`

	// Records Write.
	Protocol      string `json:"protocol,omitempty"`
	ProtocolPath  string `json:"protocolPath,omitempty"`
	Schema        string `json:"schema,omitempty"`
	Recipient     string `json:"recipient,omitempty"`
	ParentID      string `json:"parentId,omitempty"`
	DataCID       string `json:"dataCid,omitempty"`
	DataSize      int64  `json:"dataSize,omitempty"`
	DataFormat    string `json:"dataFormat,omitempty"`
	DateCreated   string `json:"dateCreated,omitempty"`
	Published     bool   `json:"published,omitempty"`
	DatePublished string `json:"datePublished,omitempty"`

	// Records Read and Delete.
	RecordID string `json:"recordId,omitempty"`

	// Records Query and Protocols Query.
	Filter     *Filter     `json:"filter,omitempty"`
	DateSort   DateSort    `json:"dateSort,omitempty"`
	Pagination *Pagination `json:"pagination,omitempty"`

	// Protocols Configure.
	Definition *Protocol `json:"definition,omitempty"`
}

// Filter selects records. Every non-empty property must match: ContextID matches the
// context and everything under it; date ranges include From and exclude To.
type Filter struct {
	Protocol      string     `json:"protocol,omitempty"`
	ProtocolPath  string     `json:"protocolPath,omitempty"`
	Schema        string     `json:"schema,omitempty"`
	Recipient     string     `json:"recipient,omitempty"`
	Author        string     `json:"author,omitempty"`
	ParentID      string     `json:"parentId,omitempty"`
	ContextID     string     `json:"contextId,omitempty"`
	RecordID      string     `json:"recordId,omitempty"`
	DataFormat    string     `json:"dataFormat,omitempty"`
	Published     *bool      `json:"published,omitempty"`
	DateCreated   *DateRange `json:"dateCreated,omitempty"`
	DatePublished *DateRange `json:"datePublished,omitempty"`
	DateUpdated   *DateRange `json:"dateUpdated,omitempty"`
}

// DateRange is a range of message timestamps: From included, To excluded; either may be
// empty.
type DateRange struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Contains reports whether ts lies in the range.
func (r *DateRange) Contains(ts string) bool {
	return r == nil || ((r.From == "" || ts >= r.From) && (r.To == "" || ts < r.To))
}

// Pagination asks for one page of query results: at most Limit records after Cursor (the
// Cursor of the previous page's reply).
type Pagination struct {
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// DateSort orders query results.
type DateSort string

// Sort orders.
const (
	CreatedAscending    DateSort = "createdAscending"
	CreatedDescending   DateSort = "createdDescending"
	PublishedAscending  DateSort = "publishedAscending"
	PublishedDescending DateSort = "publishedDescending"
	UpdatedAscending    DateSort = "updatedAscending"
	UpdatedDescending   DateSort = "updatedDescending"
)

func (s DateSort) valid() bool {
	switch s {
	case CreatedAscending, CreatedDescending, PublishedAscending, PublishedDescending, UpdatedAscending, UpdatedDescending:
		return true
	}
	return false
}

// Descending reports whether s sorts newest first.
func (s DateSort) Descending() bool {
	return s == CreatedDescending || s == PublishedDescending || s == UpdatedDescending
}

// Message is a signed request to a node: a descriptor, the author's signature over it and,
// for a write, the record's data. Messages are immutable: build them with the New*
// functions or ParseMessage, and send their JSON form (MarshalJSON) over any transport.
type Message struct {
	recordID  string
	contextID string
	desc      Descriptor
	rawDesc   json.RawMessage // the descriptor exactly as signed
	descCID   string
	auth      *generalJWS
	jws       *jose.JWS // the authorization as package jose read it; the node verifies this
	sig       signaturePayload
	claimed   string // the DID the kid names (not verified by parsing)
	kid       string
	data      []byte
	hasData   bool
	cid       string

	// entryAuthor is the DID (the claimed author, if any) for which entryInitial was
	// computed: whether the record ID is the one an initial write by entryAuthor gets.
	entryAuthor  string
	entryInitial bool
}

// generalJWS is the JWS JSON serialization with one signature, as DWN messages carry it.
type generalJWS struct {
	Payload    string         `json:"payload"`
	Signatures []jwsSignature `json:"signatures"`
}

type jwsSignature struct {
	Protected string `json:"protected"`
	Signature string `json:"signature"`
}

type authorization struct {
	Signature *generalJWS `json:"signature"`
}

// signaturePayload is what the author signs: the descriptor's CID and the message's
// identity, bound to one tenant.
type signaturePayload struct {
	DescriptorCID     string `json:"descriptorCid"`
	RecordID          string `json:"recordId,omitempty"`
	ContextID         string `json:"contextId,omitempty"`
	PermissionGrantID string `json:"permissionGrantId,omitempty"`
	Tenant            string `json:"tenant"`
}

type wireMessage struct {
	RecordID      string          `json:"recordId,omitempty"`
	ContextID     string          `json:"contextId,omitempty"`
	Descriptor    json.RawMessage `json:"descriptor"`
	Authorization *authorization  `json:"authorization,omitempty"`
	EncodedData   *string         `json:"encodedData,omitempty"`
}

var b64 = base64.RawURLEncoding

// Interface returns the descriptor's interface ("Records" or "Protocols").
func (m *Message) Interface() string { return m.desc.Interface }

// Method returns the descriptor's method ("Write", "Read", ...).
func (m *Message) Method() string { return m.desc.Method }

// Descriptor returns a copy of the descriptor.
func (m *Message) Descriptor() Descriptor { return m.desc }

// RecordID returns the record ID of a write (for reads and deletes, see Descriptor).
func (m *Message) RecordID() string { return m.recordID }

// ContextID returns the context ID of a protocol record's write.
func (m *Message) ContextID() string { return m.contextID }

// Author returns the DID the message claims as its author — the DID of the kid in its
// protected header — or "" for an unsigned message. ParseMessage does not verify the
// signature; a node does, and acts for the controller of the verification method whose key
// verified it (the records it stores carry that author), never for this claim.
func (m *Message) Author() string { return m.claimed }

// Tenant returns the tenant the message is signed for.
func (m *Message) Tenant() string { return m.sig.Tenant }

// PermissionGrantID returns the ID of the grant the author invokes, if any.
func (m *Message) PermissionGrantID() string { return m.sig.PermissionGrantID }

// Timestamp returns the message timestamp.
func (m *Message) Timestamp() string { return m.desc.MessageTimestamp }

// CID returns the content ID of the message (its dag-cbor form without encoded data).
func (m *Message) CID() string { return m.cid }

// DescriptorCID returns the content ID of the descriptor, which the signature covers.
func (m *Message) DescriptorCID() string { return m.descCID }

// Data returns a copy of the encoded data a write carries, and whether it carries any.
func (m *Message) Data() ([]byte, bool) { return bytes.Clone(m.data), m.hasData }

// MarshalJSON writes the message in its wire form.
func (m *Message) MarshalJSON() ([]byte, error) {
	// What json.Marshal(m.wire(true)) writes, byte for byte, without reflection: the
	// descriptor is the compact, escaped JSON it was signed or read as.
	n := len(m.rawDesc) + len(m.recordID) + len(m.contextID) + 128
	if m.auth != nil {
		n += len(m.auth.Payload) + 64
		for _, s := range m.auth.Signatures {
			n += len(s.Protected) + len(s.Signature) + 32
		}
	}
	if m.hasData {
		n += b64.EncodedLen(len(m.data)) + 16
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	if m.recordID != "" {
		b = appendJSONString(append(b, `"recordId":`...), m.recordID)
		b = append(b, ',')
	}
	if m.contextID != "" {
		b = appendJSONString(append(b, `"contextId":`...), m.contextID)
		b = append(b, ',')
	}
	b = append(b, `"descriptor":`...)
	if len(m.rawDesc) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, m.rawDesc...)
	}
	if a := m.auth; a != nil {
		b = appendJSONString(append(b, `,"authorization":{"signature":{"payload":`...), a.Payload)
		b = append(b, `,"signatures":`...)
		if a.Signatures == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, s := range a.Signatures {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(append(b, `{"protected":`...), s.Protected)
				b = appendJSONString(append(b, `,"signature":`...), s.Signature)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, "}}"...)
	}
	if m.hasData {
		b = append(b, `,"encodedData":"`...)
		b = b64.AppendEncode(b, m.data)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as encoding/json writes a string: printable ASCII other than '"',
// '\\', '<', '>' and '&' as it is, anything else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (m *Message) wire(withData bool) wireMessage {
	w := wireMessage{RecordID: m.recordID, ContextID: m.contextID, Descriptor: m.rawDesc}
	if m.auth != nil {
		w.Authorization = &authorization{Signature: m.auth}
	}
	if withData && m.hasData {
		s := b64.EncodeToString(m.data)
		w.EncodedData = &s
	}
	return w
}

// withoutData returns the message without its encoded data (as stores keep it: data is
// stored beside the record).
func (m *Message) withoutData() *Message {
	if !m.hasData {
		return m
	}
	c := *m
	c.data, c.hasData = nil, false
	return &c
}

// Fields each descriptor may carry, by interface and method.
var descriptorFields = map[string][]string{
	"Records.Write":       {"protocol", "protocolPath", "schema", "recipient", "parentId", "dataCid", "dataSize", "dataFormat", "dateCreated", "published", "datePublished"},
	"Records.Read":        {"recordId"},
	"Records.Delete":      {"recordId"},
	"Records.Query":       {"filter", "dateSort", "pagination"},
	"Protocols.Configure": {"definition"},
	"Protocols.Query":     {"filter"},
}

// ParseMessage decodes and checks the wire form of a message: the structure, the
// descriptor's properties for its interface and method, timestamps, DIDs and CIDs, the data
// against its CID, and the signature payload against the descriptor. It does not verify the
// signature (a node does, resolving the author's DID). Errors are *MessageError values
// (or *ProtocolError for a bad protocol definition).
//
// The message is read once by the SDK's strict JSON reader: a member name that repeats
// anywhere in it — in the descriptor, the signature payload or the protected header —
// exactly or in another letter case ("kid" and "KID"), is refused (the *MessageError
// unwraps to a *jose.DuplicateMemberError), and property names must be spelled exactly.
func ParseMessage(data []byte) (*Message, error) {
	if len(data) > MaxMessageSize {
		return nil, invalid("message", "larger than %d bytes", MaxMessageSize)
	}
	v, err := fastjson.UnmarshalNumbers(data)
	if err != nil {
		return nil, invalidJSON("message", err)
	}
	w, err := wireFromJSON(v)
	if err != nil {
		return nil, err
	}
	return fromWire(w)
}

// wireFromJSON reads the wire form from the strict reader's value, with exact names.
func wireFromJSON(v any) (*wireMessage, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("message", "not a JSON object")
	}
	w := &wireMessage{}
	for k, x := range obj {
		var err error
		switch k {
		case "recordId":
			w.RecordID, err = jsonString("recordId", x)
		case "contextId":
			w.ContextID, err = jsonString("contextId", x)
		case "encodedData":
			var s string
			s, err = jsonString("encodedData", x)
			w.EncodedData = &s
		case "descriptor":
			if _, isObj := x.(map[string]any); !isObj {
				return nil, invalid("descriptor", "not an object")
			}
			// The canonical re-encoding of the value read: no repeated names, numbers kept
			// as written.
			if w.Descriptor, err = json.Marshal(x); err != nil {
				return nil, invalid("descriptor", "%v", err)
			}
		case "authorization":
			w.Authorization, err = authorizationFromJSON(x)
		default:
			return nil, invalid(k, "unknown property")
		}
		if err != nil {
			return nil, err
		}
	}
	return w, nil
}

func jsonString(field string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", invalid(field, "not a string")
	}
	return s, nil
}

// jsonObject checks that v is an object whose member names are among names.
func jsonObject(field string, v any, names ...string) (map[string]any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalid(field, "not an object")
	}
	for k := range obj {
		if !slices.Contains(names, k) {
			return nil, invalid(field+"."+k, "unknown property")
		}
	}
	return obj, nil
}

func authorizationFromJSON(v any) (*authorization, error) {
	a, err := jsonObject("authorization", v, "signature")
	if err != nil {
		return nil, err
	}
	sv, ok := a["signature"]
	if !ok {
		return &authorization{}, nil
	}
	sig, err := jsonObject("authorization.signature", sv, "payload", "signatures")
	if err != nil {
		return nil, err
	}
	g := &generalJWS{}
	if p, ok := sig["payload"]; ok {
		if g.Payload, err = jsonString("authorization.signature.payload", p); err != nil {
			return nil, err
		}
	}
	if l, ok := sig["signatures"]; ok {
		list, isList := l.([]any)
		if !isList {
			return nil, invalid("authorization.signature.signatures", "not a list")
		}
		for i, e := range list {
			field := fmt.Sprintf("authorization.signature.signatures[%d]", i)
			o, err := jsonObject(field, e, "protected", "signature")
			if err != nil {
				return nil, err
			}
			var js jwsSignature
			if x, ok := o["protected"]; ok {
				if js.Protected, err = jsonString(field+".protected", x); err != nil {
					return nil, err
				}
			}
			if x, ok := o["signature"]; ok {
				if js.Signature, err = jsonString(field+".signature", x); err != nil {
					return nil, err
				}
			}
			g.Signatures = append(g.Signatures, js)
		}
	}
	return &authorization{Signature: g}, nil
}

// strictUnmarshal decodes data into v refusing unknown properties, repeated or case-variant
// member names, and names that match a field only in another letter case.
func strictUnmarshal(data []byte, v any) error { return fastjson.DecodeKnown(data, v) }

func fromWire(w *wireMessage) (*Message, error) {
	if len(w.Descriptor) == 0 || string(w.Descriptor) == "null" {
		return nil, invalid("descriptor", "missing")
	}
	generic, err := ipld.DecodeJSON(w.Descriptor)
	if err != nil {
		return nil, invalidJSON("descriptor", err)
	}
	obj, ok := generic.(map[string]any)
	if !ok {
		return nil, invalid("descriptor", "not an object")
	}
	descCBOR, err := ipld.DagCBOR(obj)
	if err != nil {
		return nil, invalid("descriptor", "%v", err)
	}
	m := &Message{recordID: w.RecordID, contextID: w.ContextID, rawDesc: bytes.Clone(w.Descriptor),
		descCID: ipld.CID(ipld.CodecDagCBOR, descCBOR)}
	// Names first: the typed decoding below must not be the one to decide what a name means.
	if err := exactKeys("descriptor", obj); err != nil {
		return nil, err
	}
	// The descriptor was read by the strict reader above (obj); the typed decoding checks the
	// names against that reading rather than reading the bytes again.
	if err := fastjson.DecodeKnownValue(w.Descriptor, obj, &m.desc); err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, invalid("descriptor", "%v", err)
	}
	if err := m.finish(w, obj, descCBOR); err != nil {
		return nil, err
	}
	return m, nil
}

// finish checks and completes a message whose descriptor is read (m.desc, from obj, the
// strict reader's value of m.rawDesc, whose dag-cbor is descCBOR): the descriptor's
// properties, the data w carries, the record and context IDs, the authorization, and the
// message's CID.
func (m *Message) finish(w *wireMessage, obj map[string]any, descCBOR []byte) error {
	op := m.desc.Interface + "." + m.desc.Method
	allowed, ok := descriptorFields[op]
	if !ok {
		return invalid("descriptor", "unknown interface and method %q", op)
	}
	// Property names must be spelled exactly (encoding/json matches them case-insensitively).
	for k := range obj {
		if k != "interface" && k != "method" && k != "messageTimestamp" && !slices.Contains(allowed, k) {
			return invalid("descriptor."+k, "not allowed in a %s message", op)
		}
	}
	if _, err := parseTimestamp("descriptor.messageTimestamp", m.desc.MessageTimestamp); err != nil {
		return err
	}
	if err := m.checkDescriptor(obj); err != nil {
		return err
	}
	if w.EncodedData != nil {
		if op != "Records.Write" {
			return invalid("encodedData", "only a write carries data")
		}
		d, err := b64.DecodeString(*w.EncodedData)
		if err != nil {
			return invalid("encodedData", "not base64url without padding")
		}
		if int64(len(d)) != m.desc.DataSize || ipld.DataCID(d) != m.desc.DataCID {
			return invalid("encodedData", "does not match dataCid and dataSize")
		}
		m.data, m.hasData = d, true
	}
	if op == "Records.Write" {
		if m.recordID == "" {
			return invalid("recordId", "missing in a write")
		}
		if err := checkCID("recordId", m.recordID); err != nil {
			return err
		}
		if m.contextID != "" {
			if err := checkContextID(m.contextID); err != nil {
				return err
			}
		}
	} else if m.recordID != "" || m.contextID != "" {
		return invalid("recordId", "only a write carries a record ID or context ID at the top level")
	}
	if w.Authorization != nil {
		if err := m.parseAuthorization(w.Authorization); err != nil {
			return err
		}
	}
	cid, err := messageCID(m, descCBOR)
	if err != nil {
		return err
	}
	m.cid = cid
	if op == "Records.Write" && m.claimed != "" && m.entryAuthor != m.claimed {
		// The record ID a write by its claimed author would have if it were the initial
		// write, computed here from the descriptor already read (isInitialWrite uses it when
		// the verified author is that DID).
		id, err := entryID(obj, m.claimed)
		if err != nil {
			return invalid("descriptor", "%v", err)
		}
		m.entryAuthor, m.entryInitial = m.claimed, id == m.recordID
	}
	return nil
}

// Property names of the nested objects of a descriptor. encoding/json matches names
// case-insensitively; the signed form must use exactly these.
var (
	rangeKeys      = []string{"from", "to"}
	filterKeys     = []string{"protocol", "protocolPath", "schema", "recipient", "author", "parentId", "contextId", "recordId", "dataFormat", "published", "dateCreated", "datePublished", "dateUpdated"}
	paginationKeys = []string{"limit", "cursor"}
	definitionKeys = []string{"protocol", "published", "types", "structure"}
	typeKeys       = []string{"schema", "dataFormats"}
	ruleKeys       = []string{"who", "of", "can"}
	sizeKeys       = []string{"min", "max"}
)

// exactKeys checks the property names of the nested objects of a descriptor.
func exactKeys(at string, desc map[string]any) error {
	check := func(path string, v any, keys []string) error {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // the typed decoding reports the wrong type
		}
		for k := range obj {
			if !slices.Contains(keys, k) {
				return invalid(path+"."+k, "unknown property")
			}
		}
		return nil
	}
	if f, ok := desc["filter"].(map[string]any); ok {
		if err := check(at+".filter", f, filterKeys); err != nil {
			return err
		}
		for _, r := range []string{"dateCreated", "datePublished", "dateUpdated"} {
			if err := check(at+".filter."+r, f[r], rangeKeys); err != nil {
				return err
			}
		}
	}
	if err := check(at+".pagination", desc["pagination"], paginationKeys); err != nil {
		return err
	}
	def, ok := desc["definition"].(map[string]any)
	if !ok {
		return nil
	}
	if err := check(at+".definition", def, definitionKeys); err != nil {
		return err
	}
	if types, ok := def["types"].(map[string]any); ok {
		for name, t := range types {
			if err := check(at+".definition.types."+name, t, typeKeys); err != nil {
				return err
			}
		}
	}
	var walk func(path string, level any, depth int) error
	walk = func(path string, level any, depth int) error {
		obj, ok := level.(map[string]any)
		if !ok || depth > MaxProtocolDepth {
			return nil
		}
		for k, v := range obj {
			switch k {
			case "$actions":
				rules, _ := v.([]any)
				for _, r := range rules {
					if err := check(path+".$actions", r, ruleKeys); err != nil {
						return err
					}
				}
			case "$size":
				if err := check(path+".$size", v, sizeKeys); err != nil {
					return err
				}
			default:
				if err := walk(path+"."+k, v, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if structure, ok := def["structure"].(map[string]any); ok {
		for k, v := range structure {
			if err := walk(at+".definition.structure."+k, v, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// messageCID returns the CID of m: the dag-cbor of its wire form without data (m.wire(false)
// read as JSON), written from its parts, descCBOR being the dag-cbor of its descriptor. The
// members are written in dag-cbor order: recordId, contextId, descriptor, authorization (and
// in it payload before signatures, protected before signature).
func messageCID(m *Message, descCBOR []byte) (string, error) {
	n, size := 1, len(descCBOR)+len(m.recordID)+len(m.contextID)+64
	if m.recordID != "" {
		n++
	}
	if m.contextID != "" {
		n++
	}
	a := m.auth
	if a != nil {
		n++
		size += len(a.Payload) + 48
		for _, s := range a.Signatures {
			size += len(s.Protected) + len(s.Signature) + 32
		}
	}
	b := ipld.AppendMapHead(make([]byte, 0, size), n)
	if m.recordID != "" {
		b = ipld.AppendString(ipld.AppendString(b, "recordId"), m.recordID)
	}
	if m.contextID != "" {
		b = ipld.AppendString(ipld.AppendString(b, "contextId"), m.contextID)
	}
	b = append(ipld.AppendString(b, "descriptor"), descCBOR...)
	if a != nil {
		b = ipld.AppendMapHead(ipld.AppendString(b, "authorization"), 1)
		b = ipld.AppendMapHead(ipld.AppendString(b, "signature"), 2)
		b = ipld.AppendString(ipld.AppendString(b, "payload"), a.Payload)
		b = ipld.AppendListHead(ipld.AppendString(b, "signatures"), len(a.Signatures))
		for _, s := range a.Signatures {
			b = ipld.AppendMapHead(b, 2)
			b = ipld.AppendString(ipld.AppendString(b, "protected"), s.Protected)
			b = ipld.AppendString(ipld.AppendString(b, "signature"), s.Signature)
		}
	}
	return ipld.CID(ipld.CodecDagCBOR, b), nil
}

func checkCID(field, s string) error {
	if _, err := ipld.Parse(s); err != nil {
		return invalid(field, "not a CIDv1 (base32, sha2-256)")
	}
	return nil
}

func checkContextID(s string) error {
	parts := strings.Split(s, "/")
	if len(parts) > MaxProtocolDepth {
		return invalid("contextId", "deeper than %d", MaxProtocolDepth)
	}
	for _, p := range parts {
		if err := checkCID("contextId", p); err != nil {
			return err
		}
	}
	return nil
}

func checkDID(field, s string) error {
	if _, err := did.Parse(s); err != nil {
		return invalid(field, "not a DID")
	}
	return nil
}

// checkURI checks a protocol or schema URI: an absolute URI without whitespace.
func checkURI(field, s string) error {
	i := strings.IndexByte(s, ':')
	if i < 1 || len(s) > 2048 || strings.ContainsAny(s, " \t\r\n\"<>\\^`{|}") {
		return invalid(field, "not an absolute URI")
	}
	return nil
}

func (m *Message) checkDescriptor(obj map[string]any) error {
	d := &m.desc
	switch d.Interface + "." + d.Method {
	case "Records.Write":
		if d.DataFormat == "" || len(d.DataFormat) > 256 {
			return invalid("descriptor.dataFormat", "missing or too long")
		}
		if _, ok := obj["dataSize"]; !ok || d.DataSize < 0 {
			return invalid("descriptor.dataSize", "missing or negative")
		}
		if err := checkCID("descriptor.dataCid", d.DataCID); err != nil {
			return err
		}
		if _, err := parseTimestamp("descriptor.dateCreated", d.DateCreated); err != nil {
			return err
		}
		if d.DatePublished != "" {
			if _, err := parseTimestamp("descriptor.datePublished", d.DatePublished); err != nil {
				return err
			}
		}
		if d.Published != (d.DatePublished != "") {
			return invalid("descriptor.published", "published and datePublished go together")
		}
		if d.Schema != "" {
			if err := checkURI("descriptor.schema", d.Schema); err != nil {
				return err
			}
		}
		if d.Recipient != "" {
			if err := checkDID("descriptor.recipient", d.Recipient); err != nil {
				return err
			}
		}
		if d.Protocol == "" {
			if d.ProtocolPath != "" || d.ParentID != "" {
				return invalid("descriptor.protocolPath", "protocolPath and parentId need a protocol")
			}
			return nil
		}
		if err := checkURI("descriptor.protocol", d.Protocol); err != nil {
			return err
		}
		if _, err := splitPath(d.ProtocolPath); err != nil {
			return invalid("descriptor.protocolPath", "%v", err)
		}
		if d.ParentID != "" {
			return checkCID("descriptor.parentId", d.ParentID)
		}
		return nil
	case "Records.Read", "Records.Delete":
		return checkCID("descriptor.recordId", d.RecordID)
	case "Records.Query":
		if d.Filter == nil {
			return invalid("descriptor.filter", "missing")
		}
		if d.DateSort != "" && !d.DateSort.valid() {
			return invalid("descriptor.dateSort", "unknown order %q", d.DateSort)
		}
		if p := d.Pagination; p != nil && (p.Limit < 0 || p.Limit > MaxQueryLimit) {
			return invalid("descriptor.pagination.limit", "must be between 0 and %d", MaxQueryLimit)
		}
		return checkFilter(d.Filter)
	case "Protocols.Configure":
		if d.Definition == nil {
			return invalid("descriptor.definition", "missing")
		}
		return d.Definition.Validate()
	case "Protocols.Query":
		if f := d.Filter; f != nil {
			if *f != (Filter{Protocol: f.Protocol}) {
				return invalid("descriptor.filter", "a protocols query filters on protocol only")
			}
			if f.Protocol != "" {
				return checkURI("descriptor.filter.protocol", f.Protocol)
			}
		}
	}
	return nil
}

func checkFilter(f *Filter) error {
	for name, r := range map[string]*DateRange{"dateCreated": f.DateCreated, "datePublished": f.DatePublished, "dateUpdated": f.DateUpdated} {
		if r == nil {
			continue
		}
		for _, ts := range []string{r.From, r.To} {
			if ts == "" {
				continue
			}
			if _, err := parseTimestamp("descriptor.filter."+name, ts); err != nil {
				return err
			}
		}
	}
	if f.Author != "" {
		if err := checkDID("descriptor.filter.author", f.Author); err != nil {
			return err
		}
	}
	if f.Recipient != "" {
		if err := checkDID("descriptor.filter.recipient", f.Recipient); err != nil {
			return err
		}
	}
	if f.ProtocolPath != "" && f.Protocol == "" {
		return invalid("descriptor.filter.protocolPath", "needs a protocol")
	}
	return nil
}

func (m *Message) parseAuthorization(a *authorization) error {
	g := a.Signature
	if g == nil {
		return invalid("authorization.signature", "missing")
	}
	if len(g.Signatures) != 1 {
		return invalid("authorization.signature.signatures", "exactly one signature is required")
	}
	s := g.Signatures[0]
	// The protected header is read here, once, by package jose, the reader the signature
	// check uses: the node verifies this parsed JWS and takes the author from the
	// verification method that verified it.
	j, err := jose.ParseJWS(s.Protected + "." + g.Payload + "." + s.Signature)
	if err != nil {
		var de *jose.DuplicateMemberError
		if errors.As(err, &de) {
			return invalidJSON("authorization.signature.signatures[0].protected", de)
		}
		return &MessageError{Field: "authorization.signature", Reason: "not a JWS", Err: err}
	}
	u, err := did.ParseURL(j.Header.KeyID)
	if err != nil || u.Fragment == "" {
		return invalid("authorization.signature.signatures[0].protected.kid", "not a DID URL with a fragment")
	}
	sig, err := parseSignaturePayload(j.Payload)
	if err != nil {
		return err
	}
	m.sig = sig
	switch {
	case m.sig.DescriptorCID != m.descCID:
		return invalid("authorization.signature.payload.descriptorCid", "does not match the descriptor")
	case m.sig.RecordID != m.recordID:
		return invalid("authorization.signature.payload.recordId", "does not match the message")
	case m.sig.ContextID != m.contextID:
		return invalid("authorization.signature.payload.contextId", "does not match the message")
	}
	if err := checkDID("authorization.signature.payload.tenant", m.sig.Tenant); err != nil {
		return err
	}
	if m.sig.PermissionGrantID != "" {
		if err := checkCID("authorization.signature.payload.permissionGrantId", m.sig.PermissionGrantID); err != nil {
			return err
		}
	}
	m.auth = &generalJWS{Payload: g.Payload, Signatures: []jwsSignature{s}}
	m.jws = j
	m.kid = j.Header.KeyID
	m.claimed = u.DID.String()
	return nil
}

// parseSignaturePayload reads the signed payload with the strict reader and exact names.
func parseSignaturePayload(b []byte) (signaturePayload, error) {
	const field = "authorization.signature.payload"
	v, err := fastjson.Unmarshal(b)
	if err != nil {
		return signaturePayload{}, invalidJSON(field, err)
	}
	obj, err := jsonObject(field, v, "descriptorCid", "recordId", "contextId", "permissionGrantId", "tenant")
	if err != nil {
		return signaturePayload{}, err
	}
	var p signaturePayload
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"descriptorCid", &p.DescriptorCID}, {"recordId", &p.RecordID}, {"contextId", &p.ContextID}, {"permissionGrantId", &p.PermissionGrantID}, {"tenant", &p.Tenant}} {
		if x, ok := obj[f.name]; ok {
			if *f.dst, err = jsonString(field+"."+f.name, x); err != nil {
				return signaturePayload{}, err
			}
		}
	}
	return p, nil
}

// descriptorMap returns the descriptor in generic JSON form.
func descriptorMap(d *Descriptor) (map[string]any, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	v, err := ipld.DecodeJSON(b)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// entryID is the record ID an initial write gets: the CID of its descriptor with the
// author added.
func entryID(desc map[string]any, author string) (string, error) {
	in := maps.Clone(desc)
	in["author"] = author
	id, err := ipld.CBORCID(in)
	if err != nil {
		return "", fmt.Errorf("dwn: record ID: %w", err)
	}
	return id, nil
}

// isInitialWrite reports whether a write is the one that created its record, when author
// (the verified author) wrote it.
func (m *Message) isInitialWrite(author string) (bool, error) {
	if author != "" && author == m.entryAuthor {
		return m.entryInitial, nil
	}
	obj, err := ipld.DecodeJSON(m.rawDesc)
	if err != nil {
		return false, invalid("descriptor", "%v", err)
	}
	id, err := entryID(obj.(map[string]any), author)
	if err != nil {
		return false, invalid("descriptor", "%v", err)
	}
	return id == m.recordID, nil
}

package vc

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// Base contexts and types.
const (
	ContextV1               = "https://www.w3.org/2018/credentials/v1"
	ContextV2               = "https://www.w3.org/ns/credentials/v2"
	TypeCredential          = "VerifiableCredential"
	TypePresentation        = "VerifiablePresentation"
	TypeEnvelopedCredential = "EnvelopedVerifiableCredential"
)

// Version is a W3C Verifiable Credentials Data Model version.
type Version int

// Data model versions.
const (
	V1 Version = 1 // VC Data Model 1.1
	V2 Version = 2 // VC Data Model 2.0
)

func (v Version) String() string {
	if v == V2 {
		return "2.0"
	}
	return "1.1"
}

// Credential is a verifiable credential in the VC Data Model 1.1 or 2.0. Version follows
// from the first @context entry. Dates that are absent are the zero time. Properties this
// type does not name are kept, raw, in Extra.
type Credential struct {
	Context           []any // strings (URLs) or objects
	ID                string
	Type              []string
	Issuer            Issuer
	IssuanceDate      time.Time // 1.1
	ExpirationDate    time.Time // 1.1
	ValidFrom         time.Time // 2.0
	ValidUntil        time.Time // 2.0
	CredentialSubject []Subject
	CredentialStatus  []Status
	CredentialSchema  []Schema
	Extra             map[string]json.RawMessage
}

// Issuer is the issuer property: a URI, or an object with an id and more properties.
type Issuer struct {
	ID    string
	Extra map[string]json.RawMessage // other properties of an issuer object
}

// Subject is one credentialSubject: claims about a subject, with an optional "id".
type Subject map[string]any

// ID returns the subject's id, or "".
func (s Subject) ID() string {
	id, _ := s["id"].(string)
	return id
}

// Status is a credentialStatus entry (BitstringStatusListEntry, StatusList2021Entry, ...).
type Status struct {
	ID                   string `json:"id,omitempty"`
	Type                 string `json:"type"`
	StatusPurpose        string `json:"statusPurpose,omitempty"`
	StatusListIndex      string `json:"statusListIndex,omitempty"`
	StatusListCredential string `json:"statusListCredential,omitempty"`
	StatusSize           int    `json:"statusSize,omitempty"`
}

// Schema is a credentialSchema entry.
type Schema struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Version returns the data model version, from the first @context entry.
func (c *Credential) Version() Version {
	if len(c.Context) > 0 && c.Context[0] == ContextV2 {
		return V2
	}
	return V1
}

// HasType reports whether t is one of the credential's types.
func (c *Credential) HasType(t string) bool {
	for _, x := range c.Type {
		if x == t {
			return true
		}
	}
	return false
}

// ValidityPeriod returns when the credential starts and stops being valid (zero when
// unbounded): issuanceDate and expirationDate for 1.1, validFrom and validUntil for 2.0.
func (c *Credential) ValidityPeriod() (from, until time.Time) {
	if c.Version() == V2 {
		return c.ValidFrom, c.ValidUntil
	}
	return c.IssuanceDate, c.ExpirationDate
}

// ParseCredential decodes a credential from JSON and validates it against its data model.
func ParseCredential(data []byte) (*Credential, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, invalid("credential", "not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, invalid("credential", "%v", err)
	}
	return fromRaw(raw)
}

// Validate checks the credential against its data model (1.1 or 2.0).
func (c *Credential) Validate() error {
	b, err := c.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = ParseCredential(b)
	return err
}

// UnmarshalJSON decodes and validates a credential.
func (c *Credential) UnmarshalJSON(b []byte) error {
	p, err := ParseCredential(b)
	if err != nil {
		return err
	}
	*c = *p
	return nil
}

// MarshalJSON writes the credential with its known properties first and Extra after.
func (c Credential) MarshalJSON() ([]byte, error) {
	var w objWriter
	w.field("@context", c.Context)
	if c.ID != "" {
		w.field("id", c.ID)
	}
	w.field("type", c.Type)
	if c.Issuer.ID != "" || len(c.Issuer.Extra) > 0 {
		w.field("issuer", c.Issuer)
	}
	w.date("issuanceDate", c.IssuanceDate)
	w.date("expirationDate", c.ExpirationDate)
	w.date("validFrom", c.ValidFrom)
	w.date("validUntil", c.ValidUntil)
	if len(c.CredentialSubject) == 1 {
		w.field("credentialSubject", c.CredentialSubject[0])
	} else if len(c.CredentialSubject) > 1 {
		w.field("credentialSubject", c.CredentialSubject)
	}
	if len(c.CredentialStatus) == 1 {
		w.field("credentialStatus", c.CredentialStatus[0])
	} else if len(c.CredentialStatus) > 1 {
		w.field("credentialStatus", c.CredentialStatus)
	}
	if len(c.CredentialSchema) == 1 {
		w.field("credentialSchema", c.CredentialSchema[0])
	} else if len(c.CredentialSchema) > 1 {
		w.field("credentialSchema", c.CredentialSchema)
	}
	w.extra(c.Extra)
	return w.finish()
}

// MarshalJSON writes a bare URI when the issuer has no other properties.
func (i Issuer) MarshalJSON() ([]byte, error) {
	if len(i.Extra) == 0 {
		return json.Marshal(i.ID)
	}
	var w objWriter
	w.field("id", i.ID)
	w.extra(i.Extra)
	return w.finish()
}

// objWriter writes a JSON object field by field, keeping the first error.
type objWriter struct {
	buf bytes.Buffer
	err error
	n   int
}

func (w *objWriter) field(name string, v any) {
	if w.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.err = err
		return
	}
	w.raw(name, b)
}

func (w *objWriter) raw(name string, b []byte) {
	if w.n == 0 {
		w.buf.WriteByte('{')
	} else {
		w.buf.WriteByte(',')
	}
	w.n++
	nb, _ := json.Marshal(name)
	w.buf.Write(nb)
	w.buf.WriteByte(':')
	w.buf.Write(b)
}

func (w *objWriter) date(name string, t time.Time) {
	if !t.IsZero() {
		w.field(name, formatDate(t))
	}
}

func (w *objWriter) extra(m map[string]json.RawMessage) {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w.raw(n, m[n])
	}
}

func (w *objWriter) finish() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.n == 0 {
		return []byte("{}"), nil
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}

func formatDate(t time.Time) string { return t.Format(time.RFC3339Nano) }

// parseDate reads an RFC 3339 date-time with a time zone (an XML Schema dateTimeStamp).
func parseDate(field string, raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, invalid(field, "must be a date-time string")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid(field, "%q is not an RFC 3339 date-time with a time zone", s)
	}
	return t, nil
}

// isURI reports whether s is an absolute URI: scheme ":" something, no whitespace.
func isURI(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if j == 0 && !alpha || !(alpha || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return !strings.ContainsAny(s, " \t\r\n\"<>\\^`{|}")
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// stringOrList reads a string or a list of strings.
func stringOrList(field string, raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid(field, "%v", err)
		}
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil || l == nil {
		return nil, invalid(field, "must be a string or a list of strings")
	}
	return l, nil
}

// objectOrList reads an object or a list of objects as raw JSON objects.
func objectOrList(field string, raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		return []json.RawMessage{raw}, nil
	}
	var l []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &l) != nil {
		return nil, invalid(field, "must be an object or a list of objects")
	}
	for _, e := range l {
		e = bytes.TrimSpace(e)
		if len(e) == 0 || e[0] != '{' {
			return nil, invalid(field, "must be an object or a list of objects")
		}
	}
	return l, nil
}

// fromRaw validates the top-level properties of a credential and builds it.
func fromRaw(raw map[string]json.RawMessage) (*Credential, error) {
	c := &Credential{}
	ctxRaw, ok := raw["@context"]
	if !ok {
		return nil, invalid("@context", "missing")
	}
	if bytes.HasPrefix(bytes.TrimSpace(ctxRaw), []byte(`"`)) {
		var s string
		_ = json.Unmarshal(ctxRaw, &s)
		c.Context = []any{s}
	} else if err := json.Unmarshal(ctxRaw, &c.Context); err != nil || c.Context == nil {
		return nil, invalid("@context", "must be a URL or a list")
	}
	if len(c.Context) == 0 {
		return nil, invalid("@context", "is empty")
	}
	var v Version
	switch c.Context[0] {
	case ContextV1:
		v = V1
	case ContextV2:
		v = V2
	default:
		return nil, invalid("@context", "first item must be %s or %s", ContextV1, ContextV2)
	}
	for i, e := range c.Context {
		switch x := e.(type) {
		case string:
			if !isURI(x) {
				return nil, invalid("@context", "item %d is not a URL", i)
			}
		case map[string]any:
		default:
			return nil, invalid("@context", "item %d is neither a URL nor an object", i)
		}
	}
	if r, ok := raw["id"]; ok {
		if err := json.Unmarshal(r, &c.ID); err != nil {
			return nil, invalid("id", "must be a single URI")
		}
		if !isURI(c.ID) {
			return nil, invalid("id", "%q is not a URI", c.ID)
		}
	}
	r, ok := raw["type"]
	if !ok {
		return nil, invalid("type", "missing")
	}
	types, err := stringOrList("type", r)
	if err != nil {
		return nil, err
	}
	if len(types) == 0 {
		return nil, invalid("type", "is empty")
	}
	c.Type = types
	if !c.HasType(TypeCredential) {
		return nil, invalid("type", "must include %s", TypeCredential)
	}
	r, ok = raw["issuer"]
	if !ok {
		return nil, invalid("issuer", "missing")
	}
	if c.Issuer, err = parseIssuer(r); err != nil {
		return nil, err
	}
	dates := []struct {
		name     string
		dst      *time.Time
		required bool
	}{{"issuanceDate", &c.IssuanceDate, true}, {"expirationDate", &c.ExpirationDate, false}}
	if v == V2 {
		for _, name := range []string{"issuanceDate", "expirationDate"} {
			if _, ok := raw[name]; ok {
				return nil, invalid(name, "is a 1.1 property; 2.0 credentials use validFrom and validUntil")
			}
		}
		dates = []struct {
			name     string
			dst      *time.Time
			required bool
		}{{"validFrom", &c.ValidFrom, false}, {"validUntil", &c.ValidUntil, false}}
	}
	for _, d := range dates {
		r, ok := raw[d.name]
		if !ok || isNull(r) {
			if d.required {
				return nil, invalid(d.name, "missing")
			}
			continue
		}
		if *d.dst, err = parseDate(d.name, r); err != nil {
			return nil, err
		}
	}
	if v == V2 && !c.ValidFrom.IsZero() && !c.ValidUntil.IsZero() && c.ValidUntil.Before(c.ValidFrom) {
		return nil, invalid("validUntil", "is before validFrom")
	}
	r, ok = raw["credentialSubject"]
	if !ok || isNull(r) {
		return nil, invalid("credentialSubject", "missing")
	}
	subjects, err := objectOrList("credentialSubject", r)
	if err != nil {
		return nil, err
	}
	if len(subjects) == 0 {
		return nil, invalid("credentialSubject", "is empty")
	}
	for _, s := range subjects {
		var sub Subject
		if err := json.Unmarshal(s, &sub); err != nil {
			return nil, invalid("credentialSubject", "%v", err)
		}
		if idv, ok := sub["id"]; ok {
			id, isStr := idv.(string)
			if !isStr || !isURI(id) {
				return nil, invalid("credentialSubject.id", "must be a URI")
			}
		}
		c.CredentialSubject = append(c.CredentialSubject, sub)
	}
	if r, ok := raw["credentialStatus"]; ok && !isNull(r) {
		entries, err := objectOrList("credentialStatus", r)
		if err != nil {
			return nil, err
		}
		if v == V1 && bytes.HasPrefix(bytes.TrimSpace(r), []byte("[")) && len(entries) != 1 {
			return nil, invalid("credentialStatus", "1.1 allows one status object")
		}
		for _, e := range entries {
			var st Status
			if err := json.Unmarshal(e, &st); err != nil {
				return nil, invalid("credentialStatus", "%v", err)
			}
			if st.Type == "" {
				return nil, invalid("credentialStatus.type", "missing")
			}
			if st.ID == "" && v == V1 {
				return nil, invalid("credentialStatus.id", "missing")
			}
			if st.ID != "" && !isURI(st.ID) {
				return nil, invalid("credentialStatus.id", "%q is not a URI", st.ID)
			}
			c.CredentialStatus = append(c.CredentialStatus, st)
		}
	}
	if r, ok := raw["credentialSchema"]; ok && !isNull(r) {
		entries, err := objectOrList("credentialSchema", r)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			var s Schema
			if err := json.Unmarshal(e, &s); err != nil {
				return nil, invalid("credentialSchema", "%v", err)
			}
			if !isURI(s.ID) {
				return nil, invalid("credentialSchema.id", "missing or not a URI")
			}
			if s.Type == "" {
				return nil, invalid("credentialSchema.type", "missing")
			}
			c.CredentialSchema = append(c.CredentialSchema, s)
		}
	}
	if v == V2 {
		for _, name := range []string{"name", "description"} {
			if r, ok := raw[name]; ok {
				r = bytes.TrimSpace(r)
				if len(r) == 0 || (r[0] != '"' && r[0] != '{' && r[0] != '[') {
					return nil, invalid(name, "must be a string or a language value")
				}
			}
		}
	}
	for k, val := range raw {
		switch k {
		case "@context", "id", "type", "issuer", "issuanceDate", "expirationDate", "validFrom", "validUntil",
			"credentialSubject", "credentialStatus", "credentialSchema":
			continue
		}
		if c.Extra == nil {
			c.Extra = make(map[string]json.RawMessage)
		}
		c.Extra[k] = val
	}
	return c, nil
}

func parseIssuer(r json.RawMessage) (Issuer, error) {
	r = bytes.TrimSpace(r)
	switch {
	case len(r) > 0 && r[0] == '"':
		var s string
		_ = json.Unmarshal(r, &s)
		if !isURI(s) {
			return Issuer{}, invalid("issuer", "%q is not a URI", s)
		}
		return Issuer{ID: s}, nil
	case len(r) > 0 && r[0] == '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r, &m); err != nil {
			return Issuer{}, invalid("issuer", "%v", err)
		}
		var id string
		if err := json.Unmarshal(m["id"], &id); err != nil || !isURI(id) {
			return Issuer{}, invalid("issuer.id", "missing or not a URI")
		}
		delete(m, "id")
		if len(m) == 0 {
			m = nil
		}
		return Issuer{ID: id, Extra: m}, nil
	}
	return Issuer{}, invalid("issuer", "must be a URI or an object with an id")
}

package vc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
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
	Extra             map[string]any
}

// Issuer is the issuer property: a URI, or an object with an id and more properties.
type Issuer struct {
	ID    string
	Extra map[string]any // other properties of an issuer object
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
	v, err := fastjson.Unmarshal(data)
	if err != nil {
		return nil, invalid("credential", "%v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("credential", "not a JSON object")
	}
	return fromMap(m)
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

func (w *objWriter) extra(m map[string]any) {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w.field(n, m[n])
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

// formatDate writes an RFC 3339 date-time.
func formatDate(t time.Time) string { return t.Format(time.RFC3339Nano) }

// parseDate reads an RFC 3339 date-time with a time zone (an XML Schema dateTimeStamp).
func parseDate(field string, v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
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

// checkTypes checks the type property of a credential or presentation: every type is a
// term or an absolute URI — non-empty, without whitespace or control characters, not a
// JSON-LD keyword — and appears once. A verifier matching types (pex filters, HasType)
// must not meet "" or "VerifiableCredential" twice, which different consumers count
// differently.
func checkTypes(types []string) error {
	for i, t := range types {
		if err := checkType(t); err != nil {
			return invalid("type", "item %d %q %s", i, clipType(t), err.Error())
		}
		for _, prev := range types[:i] {
			if prev == t {
				return invalid("type", "%q appears twice", clipType(t))
			}
		}
	}
	return nil
}

func checkType(t string) error {
	if t == "" {
		return errors.New("is empty")
	}
	if len(t) > 2048 {
		return errors.New("is longer than 2048 bytes")
	}
	for _, r := range t {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError || strings.ContainsRune("\"<>\\^`{|}", r) {
			return fmt.Errorf("contains %q", r)
		}
	}
	if strings.HasPrefix(t, "@") {
		return errors.New("is a JSON-LD keyword, not a type")
	}
	if strings.ContainsRune(t, ':') && !isURI(t) {
		return errors.New("is neither a term nor an absolute URI")
	}
	return nil
}

func clipType(t string) string {
	if len(t) > 64 {
		return t[:64] + "…"
	}
	return t
}

// stringOrList reads a string or a list of strings.
func stringOrList(field string, v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, invalid(field, "must be a string or a list of strings")
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, invalid(field, "must be a string or a list of strings")
}

// objectOrList reads an object or a list of objects.
func objectOrList(field string, v any) ([]map[string]any, error) {
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}, nil
	case []any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, invalid(field, "must be an object or a list of objects")
			}
			out[i] = m
		}
		return out, nil
	}
	return nil, invalid(field, "must be an object or a list of objects")
}

func optString(m map[string]any, field, key string) (string, error) {
	v, ok := m[key]
	if !ok {
		return "", nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", invalid(field, "must be a string")
	}
	return s, nil
}

var knownCredentialProps = map[string]bool{
	"@context": true, "id": true, "type": true, "issuer": true, "issuanceDate": true, "expirationDate": true,
	"validFrom": true, "validUntil": true, "credentialSubject": true, "credentialStatus": true, "credentialSchema": true,
}

type dateProp struct {
	name     string
	dst      *time.Time
	required bool
}

// fromMap validates the properties of a decoded credential and builds it.
func fromMap(raw map[string]any) (*Credential, error) {
	c := &Credential{}
	ctxv, ok := raw["@context"]
	if !ok {
		return nil, invalid("@context", "missing")
	}
	switch x := ctxv.(type) {
	case string:
		c.Context = []any{x}
	case []any:
		c.Context = x
	default:
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
		id, isStr := r.(string)
		if !isStr {
			return nil, invalid("id", "must be a single URI")
		}
		if !isURI(id) {
			return nil, invalid("id", "%q is not a URI", id)
		}
		c.ID = id
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
	if err := checkTypes(types); err != nil {
		return nil, err
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
	var dates [2]dateProp
	if v == V2 {
		for _, name := range []string{"issuanceDate", "expirationDate"} {
			if _, ok := raw[name]; ok {
				return nil, invalid(name, "is a 1.1 property; 2.0 credentials use validFrom and validUntil")
			}
		}
		dates = [2]dateProp{{"validFrom", &c.ValidFrom, false}, {"validUntil", &c.ValidUntil, false}}
	} else {
		dates = [2]dateProp{{"issuanceDate", &c.IssuanceDate, true}, {"expirationDate", &c.ExpirationDate, false}}
	}
	for _, d := range dates {
		r, ok := raw[d.name]
		if !ok || r == nil {
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
	if !ok || r == nil {
		return nil, invalid("credentialSubject", "missing")
	}
	subjects, err := objectOrList("credentialSubject", r)
	if err != nil {
		return nil, err
	}
	if len(subjects) == 0 {
		return nil, invalid("credentialSubject", "is empty")
	}
	c.CredentialSubject = make([]Subject, len(subjects))
	for i, sub := range subjects {
		if idv, ok := sub["id"]; ok {
			id, isStr := idv.(string)
			if !isStr || !isURI(id) {
				return nil, invalid("credentialSubject.id", "must be a URI")
			}
		}
		c.CredentialSubject[i] = Subject(sub)
	}
	if r, ok := raw["credentialStatus"]; ok && r != nil {
		entries, err := objectOrList("credentialStatus", r)
		if err != nil {
			return nil, err
		}
		if _, isList := r.([]any); v == V1 && isList && len(entries) != 1 {
			return nil, invalid("credentialStatus", "1.1 allows one status object")
		}
		for _, e := range entries {
			st, err := parseStatus(e)
			if err != nil {
				return nil, err
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
	if r, ok := raw["credentialSchema"]; ok && r != nil {
		entries, err := objectOrList("credentialSchema", r)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			var s Schema
			if s.ID, err = optString(e, "credentialSchema.id", "id"); err != nil {
				return nil, err
			}
			if s.Type, err = optString(e, "credentialSchema.type", "type"); err != nil {
				return nil, err
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
				switch r.(type) {
				case string, map[string]any, []any:
				default:
					return nil, invalid(name, "must be a string or a language value")
				}
			}
		}
	}
	for k, val := range raw {
		if knownCredentialProps[k] {
			continue
		}
		if c.Extra == nil {
			c.Extra = make(map[string]any)
		}
		c.Extra[k] = val
	}
	return c, nil
}

func parseStatus(e map[string]any) (Status, error) {
	var st Status
	var err error
	for _, f := range [...]struct {
		key string
		dst *string
	}{{"id", &st.ID}, {"type", &st.Type}, {"statusPurpose", &st.StatusPurpose}, {"statusListIndex", &st.StatusListIndex}, {"statusListCredential", &st.StatusListCredential}} {
		if *f.dst, err = optString(e, "credentialStatus."+f.key, f.key); err != nil {
			return Status{}, err
		}
	}
	if sz, ok := e["statusSize"]; ok {
		f, isNum := sz.(float64)
		if !isNum || f < 1 || f > 64 || f != float64(int(f)) {
			return Status{}, invalid("credentialStatus.statusSize", "must be an integer from 1 to 64")
		}
		st.StatusSize = int(f)
	}
	return st, nil
}

func parseIssuer(r any) (Issuer, error) {
	switch x := r.(type) {
	case string:
		if !isURI(x) {
			return Issuer{}, invalid("issuer", "%q is not a URI", x)
		}
		return Issuer{ID: x}, nil
	case map[string]any:
		id, ok := x["id"].(string)
		if !ok || !isURI(id) {
			return Issuer{}, invalid("issuer.id", "missing or not a URI")
		}
		var extra map[string]any
		for k, v := range x {
			if k == "id" {
				continue
			}
			if extra == nil {
				extra = make(map[string]any)
			}
			extra[k] = v
		}
		return Issuer{ID: id, Extra: extra}, nil
	}
	return Issuer{}, invalid("issuer", "must be a URI or an object with an id")
}

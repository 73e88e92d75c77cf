package did

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
	"github.com/anya-org/anya-go/web5/internal/multikey"
	"github.com/anya-org/anya-go/web5/jose"
)

// ContextV1 is the DID Core JSON-LD context.
const ContextV1 = "https://www.w3.org/ns/did/v1"

// Verification method types.
const (
	// TypeJsonWebKey is the VC-JOSE-COSE verification method type with a publicKeyJwk.
	TypeJsonWebKey = "JsonWebKey"
	// TypeJsonWebKey2020 is the older name of TypeJsonWebKey; read like it.
	TypeJsonWebKey2020 = "JsonWebKey2020"
	// TypeMultikey carries a publicKeyMultibase.
	TypeMultikey = "Multikey"
	// TypeEd25519VerificationKey2020 carries an Ed25519 publicKeyMultibase.
	TypeEd25519VerificationKey2020 = "Ed25519VerificationKey2020"
	// TypeEcdsaSecp256k1RecoveryMethod2020 names a blockchain account (did:pkh).
	TypeEcdsaSecp256k1RecoveryMethod2020 = "EcdsaSecp256k1RecoveryMethod2020"
	// Legacy types carrying a publicKeyBase58, read for older did:web documents.
	TypeEd25519VerificationKey2018        = "Ed25519VerificationKey2018"
	TypeX25519KeyAgreementKey2019         = "X25519KeyAgreementKey2019"
	TypeEcdsaSecp256k1VerificationKey2019 = "EcdsaSecp256k1VerificationKey2019"
)

// Relationship is a verification relationship.
type Relationship string

// Verification relationships.
const (
	Authentication       Relationship = "authentication"
	AssertionMethod      Relationship = "assertionMethod"
	KeyAgreement         Relationship = "keyAgreement"
	CapabilityInvocation Relationship = "capabilityInvocation"
	CapabilityDelegation Relationship = "capabilityDelegation"
)

// AllRelationships returns the verification relationships in document order.
func AllRelationships() []Relationship {
	return []Relationship{Authentication, AssertionMethod, KeyAgreement, CapabilityInvocation, CapabilityDelegation}
}

// Document is a DID document (DID Core 1.0). Verification relationships hold references
// (absolute DID URLs or "#fragment"); a method embedded in a relationship is moved into
// VerificationMethod when the document is decoded.
//
// A Document returned by a Resolver may be shared with other callers: treat it as read-only.
type Document struct {
	Context              any                  `json:"@context,omitempty"`
	ID                   string               `json:"id"`
	AlsoKnownAs          []string             `json:"alsoKnownAs,omitempty"`
	Controller           OneOrMany            `json:"controller,omitempty"`
	VerificationMethod   []VerificationMethod `json:"verificationMethod,omitempty"`
	Authentication       []string             `json:"authentication,omitempty"`
	AssertionMethod      []string             `json:"assertionMethod,omitempty"`
	KeyAgreement         []string             `json:"keyAgreement,omitempty"`
	CapabilityInvocation []string             `json:"capabilityInvocation,omitempty"`
	CapabilityDelegation []string             `json:"capabilityDelegation,omitempty"`
	Service              []Service            `json:"service,omitempty"`
}

// VerificationMethod is a public key (or account) a DID controller can prove control of.
type VerificationMethod struct {
	ID                  string    `json:"id"`
	Type                string    `json:"type"`
	Controller          string    `json:"controller"`
	PublicKeyJwk        *jose.JWK `json:"publicKeyJwk,omitempty"`
	PublicKeyMultibase  string    `json:"publicKeyMultibase,omitempty"`
	PublicKeyBase58     string    `json:"publicKeyBase58,omitempty"`
	BlockchainAccountID string    `json:"blockchainAccountId,omitempty"`
}

// Service is a service endpoint. ServiceEndpoint is a URI string, a map, or a list of them.
type Service struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	ServiceEndpoint any    `json:"serviceEndpoint"`
}

// Endpoints returns the service's string endpoints.
func (s Service) Endpoints() []string {
	switch v := s.ServiceEndpoint.(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		var out []string
		for _, e := range v {
			if str, ok := e.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

// OneOrMany is a set of strings written as one string or a list (the controller property).
// It marshals one element as a string.
type OneOrMany []string

// MarshalJSON writes one element as a string and several as a list.
func (o OneOrMany) MarshalJSON() ([]byte, error) {
	if len(o) == 1 {
		return json.Marshal(o[0])
	}
	return json.Marshal([]string(o))
}

// UnmarshalJSON reads a string or a list of strings.
func (o *OneOrMany) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*o = OneOrMany{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("must be a string or a list of strings")
	}
	*o = l
	return nil
}

// UnmarshalJSON decodes a document, moving methods embedded in verification relationships
// into VerificationMethod (an embedded method whose ID clashes with a different listed
// method is an error). Member names must be spelled exactly and may not repeat, exactly or
// in another letter case: a document has one meaning for every reader.
func (d *Document) UnmarshalJSON(b []byte) error {
	type plain Document
	var raw struct {
		plain
		Authentication       []json.RawMessage `json:"authentication,omitempty"`
		AssertionMethod      []json.RawMessage `json:"assertionMethod,omitempty"`
		KeyAgreement         []json.RawMessage `json:"keyAgreement,omitempty"`
		CapabilityInvocation []json.RawMessage `json:"capabilityInvocation,omitempty"`
		CapabilityDelegation []json.RawMessage `json:"capabilityDelegation,omitempty"`
	}
	if err := fastjson.Decode(b, &raw); err != nil {
		return err
	}
	*d = Document(raw.plain)
	lists := []struct {
		in  []json.RawMessage
		out *[]string
		rel Relationship
	}{
		{raw.Authentication, &d.Authentication, Authentication},
		{raw.AssertionMethod, &d.AssertionMethod, AssertionMethod},
		{raw.KeyAgreement, &d.KeyAgreement, KeyAgreement},
		{raw.CapabilityInvocation, &d.CapabilityInvocation, CapabilityInvocation},
		{raw.CapabilityDelegation, &d.CapabilityDelegation, CapabilityDelegation},
	}
	for _, l := range lists {
		if l.in == nil {
			continue
		}
		refs := make([]string, 0, len(l.in))
		for _, item := range l.in {
			item = bytes.TrimSpace(item)
			if len(item) > 0 && item[0] == '"' {
				var s string
				if err := json.Unmarshal(item, &s); err != nil {
					return err
				}
				refs = append(refs, s)
				continue
			}
			var vm VerificationMethod
			if err := fastjson.Decode(item, &vm); err != nil {
				return fmt.Errorf("%s: entry is neither a reference nor a verification method: %w", l.rel, err)
			}
			if existing, ok := d.FindMethod(vm.ID); ok {
				if !sameMethod(*existing, vm) {
					return docErr(string(l.rel), fmt.Sprintf("embedded method %q clashes with a listed method", vm.ID))
				}
			} else {
				d.VerificationMethod = append(d.VerificationMethod, vm)
			}
			refs = append(refs, vm.ID)
		}
		*l.out = refs
	}
	return nil
}

func sameMethod(a, b VerificationMethod) bool {
	if a.ID != b.ID || a.Type != b.Type || a.Controller != b.Controller || a.PublicKeyMultibase != b.PublicKeyMultibase ||
		a.PublicKeyBase58 != b.PublicKeyBase58 || a.BlockchainAccountID != b.BlockchainAccountID {
		return false
	}
	if (a.PublicKeyJwk == nil) != (b.PublicKeyJwk == nil) {
		return false
	}
	if a.PublicKeyJwk == nil {
		return true
	}
	return a.PublicKeyJwk.X == b.PublicKeyJwk.X && a.PublicKeyJwk.Y == b.PublicKeyJwk.Y && a.PublicKeyJwk.Curve == b.PublicKeyJwk.Curve
}

// Relationship returns the references listed under relationship r.
func (d *Document) Relationship(r Relationship) []string {
	switch r {
	case Authentication:
		return d.Authentication
	case AssertionMethod:
		return d.AssertionMethod
	case KeyAgreement:
		return d.KeyAgreement
	case CapabilityInvocation:
		return d.CapabilityInvocation
	case CapabilityDelegation:
		return d.CapabilityDelegation
	}
	return nil
}

func (d *Document) relationshipPtr(r Relationship) *[]string {
	switch r {
	case Authentication:
		return &d.Authentication
	case AssertionMethod:
		return &d.AssertionMethod
	case KeyAgreement:
		return &d.KeyAgreement
	case CapabilityInvocation:
		return &d.CapabilityInvocation
	case CapabilityDelegation:
		return &d.CapabilityDelegation
	}
	return nil
}

// AddVerificationMethod appends vm and lists it under the given relationships.
func (d *Document) AddVerificationMethod(vm VerificationMethod, rels ...Relationship) {
	d.VerificationMethod = append(d.VerificationMethod, vm)
	for _, r := range rels {
		if p := d.relationshipPtr(r); p != nil {
			*p = append(*p, vm.ID)
		}
	}
}

// sameRef reports whether references a and b, each absolute or relative ("#frag") to the
// document docID, name the same thing. It does not allocate.
func sameRef(docID, a, b string) bool {
	if a == b {
		return true
	}
	switch {
	case strings.HasPrefix(a, "#") && !strings.HasPrefix(b, "#"):
		return len(b) == len(docID)+len(a) && strings.HasPrefix(b, docID) && b[len(docID):] == a
	case strings.HasPrefix(b, "#") && !strings.HasPrefix(a, "#"):
		return len(a) == len(docID)+len(b) && strings.HasPrefix(a, docID) && a[len(docID):] == b
	}
	return false
}

// AbsoluteRef returns ref as an absolute DID URL relative to the document.
func (d *Document) AbsoluteRef(ref string) string {
	if strings.HasPrefix(ref, "#") {
		return d.ID + ref
	}
	return ref
}

// FindMethod returns the verification method with ID ref (absolute, or "#fragment").
func (d *Document) FindMethod(ref string) (*VerificationMethod, bool) {
	for i := range d.VerificationMethod {
		if sameRef(d.ID, d.VerificationMethod[i].ID, ref) {
			return &d.VerificationMethod[i], true
		}
	}
	return nil, false
}

// FindService returns the service with ID ref (absolute, or "#fragment").
func (d *Document) FindService(ref string) (*Service, bool) {
	for i := range d.Service {
		if sameRef(d.ID, d.Service[i].ID, ref) {
			return &d.Service[i], true
		}
	}
	return nil, false
}

// Authorizes reports whether the method ref is listed under relationship r.
func (d *Document) Authorizes(ref string, r Relationship) bool {
	for _, x := range d.Relationship(r) {
		if sameRef(d.ID, x, ref) {
			return true
		}
	}
	return false
}

// PublicKey returns the method's public key as a validated JWK, converting a
// publicKeyMultibase. A publicKeyJwk carrying a private part is rejected.
func (vm *VerificationMethod) PublicKey() (jose.JWK, error) {
	switch {
	case vm.PublicKeyJwk != nil:
		k := *vm.PublicKeyJwk
		if k.IsPrivate() {
			return jose.JWK{}, docErr("publicKeyJwk", "contains private key material")
		}
		if err := k.Validate(); err != nil {
			return jose.JWK{}, err
		}
		return k, nil
	case vm.PublicKeyMultibase != "":
		k, err := multikey.JWK(vm.PublicKeyMultibase)
		if err != nil {
			return jose.JWK{}, err
		}
		return k, nil
	case vm.PublicKeyBase58 != "":
		var c jose.Curve
		switch vm.Type {
		case TypeEd25519VerificationKey2018:
			c = jose.Ed25519
		case TypeX25519KeyAgreementKey2019:
			c = jose.X25519
		case TypeEcdsaSecp256k1VerificationKey2019:
			c = jose.Secp256k1
		default:
			return jose.JWK{}, docErr("publicKeyBase58", fmt.Sprintf("type %q is not read", vm.Type))
		}
		raw := base58.Decode(vm.PublicKeyBase58)
		if len(raw) == 0 || base58.Encode(raw) != vm.PublicKeyBase58 {
			return jose.JWK{}, docErr("publicKeyBase58", "not base58")
		}
		return jose.PublicJWK(c, raw)
	}
	return jose.JWK{}, docErr("verificationMethod", fmt.Sprintf("%q has no public key", vm.ID))
}

// Validate checks the document against the DID Core data model: a valid id; verification
// methods with unique, valid IDs, a controller, and exactly one usable public key (or a
// blockchain account) and no private key material; relationships that reference methods
// of this document that exist; services with unique IDs, a type and an endpoint.
func (d *Document) Validate() error {
	if _, err := Parse(d.ID); err != nil {
		return docErr("id", err.Error())
	}
	for _, c := range d.Controller {
		if _, err := Parse(c); err != nil {
			return docErr("controller", err.Error())
		}
	}
	seen := make(map[string]bool, len(d.VerificationMethod)+len(d.Service))
	for i := range d.VerificationMethod {
		vm := &d.VerificationMethod[i]
		abs := d.AbsoluteRef(vm.ID)
		if u, err := ParseURL(abs); err != nil || u.IsDID() {
			return docErr("verificationMethod", fmt.Sprintf("id %q is not a DID URL", clip(vm.ID)))
		}
		if seen[abs] {
			return docErr("verificationMethod", fmt.Sprintf("id %q is used twice", clip(vm.ID)))
		}
		seen[abs] = true
		if vm.Type == "" {
			return docErr("verificationMethod", fmt.Sprintf("%q has no type", clip(vm.ID)))
		}
		if _, err := Parse(vm.Controller); err != nil {
			return docErr("verificationMethod", fmt.Sprintf("%q: controller: %v", clip(vm.ID), err))
		}
		n := 0
		for _, set := range []bool{vm.PublicKeyJwk != nil, vm.PublicKeyMultibase != "", vm.PublicKeyBase58 != "", vm.BlockchainAccountID != ""} {
			if set {
				n++
			}
		}
		if n > 1 {
			return docErr("verificationMethod", fmt.Sprintf("%q has more than one kind of verification material", clip(vm.ID)))
		}
		// Material this package reads must be valid; other kinds (publicKeyHex, ...) are kept
		// but cannot verify anything.
		if vm.PublicKeyJwk != nil || vm.PublicKeyMultibase != "" || vm.PublicKeyBase58 != "" {
			if _, err := vm.PublicKey(); err != nil {
				return docErr("verificationMethod", fmt.Sprintf("%q: %v", clip(vm.ID), err))
			}
		}
	}
	for _, r := range AllRelationships() {
		for _, ref := range d.Relationship(r) {
			abs := d.AbsoluteRef(ref)
			if _, err := ParseURL(abs); err != nil {
				return docErr(string(r), fmt.Sprintf("reference %q: %v", clip(ref), err))
			}
			if strings.HasPrefix(abs, d.ID+"#") || strings.HasPrefix(abs, d.ID+"/") || strings.HasPrefix(abs, d.ID+"?") {
				if _, ok := d.FindMethod(abs); !ok {
					return docErr(string(r), fmt.Sprintf("reference %q names no verification method", clip(ref)))
				}
			}
		}
	}
	for _, s := range d.Service {
		abs := d.AbsoluteRef(s.ID)
		if s.ID == "" {
			return docErr("service", "service without id")
		}
		if seen[abs] {
			return docErr("service", fmt.Sprintf("id %q is used twice", clip(s.ID)))
		}
		seen[abs] = true
		if s.Type == "" {
			return docErr("service", fmt.Sprintf("%q has no type", clip(s.ID)))
		}
		if s.ServiceEndpoint == nil {
			return docErr("service", fmt.Sprintf("%q has no serviceEndpoint", clip(s.ID)))
		}
	}
	return nil
}

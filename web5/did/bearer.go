package did

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
	"github.com/anya-org/anya-go/web5/jose"
)

// BearerDID is a DID whose private keys a key manager holds: it can sign as the DID.
// Build one with a method package's Create, with Import, or with NewBearerDID: the methods
// of a zero BearerDID that need keys return a *NotConstructedError.
type BearerDID struct {
	DID        DID
	Document   *Document
	KeyManager jose.KeyManager
	// Metadata is method-specific (for did:dht: published, types, gateways ...); it travels
	// in the portable form.
	Metadata map[string]any

	keys map[string]string // absolute verification method ID -> key manager key ID
}

// NewBearerDID binds a document to a key manager. keys maps verification method IDs
// (absolute or "#fragment") to key IDs of km; when keys is nil the key IDs are taken to be
// the RFC 7638 thumbprints of the methods' public keys (as MemoryKeyManager names them)
// and every method whose key km holds is bound. Every bound key is checked to be the
// method's public key. At least one method must be bound.
func NewBearerDID(ctx context.Context, doc *Document, km jose.KeyManager, keys map[string]string) (*BearerDID, error) {
	if doc == nil {
		return nil, &OptionError{Option: "doc", Reason: "nil"}
	}
	if km == nil || isNilPointer(km) {
		return nil, &OptionError{Option: "km", Reason: "nil"}
	}
	d, err := Parse(doc.ID)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	b := &BearerDID{DID: d, Document: doc, KeyManager: km, keys: make(map[string]string)}
	if keys != nil {
		for ref, keyID := range keys {
			vm, ok := doc.FindMethod(ref)
			if !ok {
				return nil, &OptionError{Option: "keys", Value: clip(ref), Reason: "no such verification method"}
			}
			if err := b.bind(ctx, vm, keyID); err != nil {
				return nil, err
			}
		}
	} else {
		for i := range doc.VerificationMethod {
			vm := &doc.VerificationMethod[i]
			if _, err := vm.PublicKey(); err != nil {
				continue // no key this package reads
			}
			pub, err := vm.PublicKey()
			if err != nil {
				return nil, err
			}
			tp, err := pub.Thumbprint()
			if err != nil {
				return nil, err
			}
			if err := b.bind(ctx, vm, tp); err != nil {
				if errors.Is(err, jose.ErrKeyNotFound) {
					continue
				}
				return nil, err
			}
		}
	}
	if len(b.keys) == 0 {
		return nil, fmt.Errorf("%w: the key manager holds none of the document's keys", ErrNoSigningKey)
	}
	return b, nil
}

func (b *BearerDID) bind(ctx context.Context, vm *VerificationMethod, keyID string) error {
	held, err := b.KeyManager.PublicKey(ctx, keyID)
	if err != nil {
		return err
	}
	pub, err := vm.PublicKey()
	if err != nil {
		return err
	}
	if held.Curve != pub.Curve || held.X != pub.X || held.Y != pub.Y {
		return &OptionError{Option: "keys", Value: keyID, Reason: fmt.Sprintf("not the public key of %q", clip(vm.ID))}
	}
	b.keys[b.Document.AbsoluteRef(vm.ID)] = keyID
	return nil
}

// errBearerNotConstructed is the error of a zero BearerDID.
var errBearerNotConstructed = &NotConstructedError{Type: "did.BearerDID", Constructor: "did.NewBearerDID (or a method package's Create, or did.Import)"}

func (b *BearerDID) constructed() bool {
	return b != nil && b.Document != nil && b.KeyManager != nil && b.keys != nil
}

// String returns the DID ("" for a zero BearerDID).
func (b *BearerDID) String() string {
	if b == nil || b.DID.IsZero() {
		return ""
	}
	return b.DID.String()
}

// KeyID returns the key manager key ID bound to a verification method.
func (b *BearerDID) KeyID(methodID string) (string, bool) {
	if !b.constructed() {
		return "", false
	}
	id, ok := b.keys[b.Document.AbsoluteRef(methodID)]
	return id, ok
}

// SignerOption selects the key a BearerDID signs with.
type SignerOption func(*signerConfig)

type signerConfig struct {
	method string
	rel    Relationship
}

// WithMethod signs with the verification method of that ID (absolute or "#fragment").
// Defaults to the first bound method listed under the relationship (see ForRelationship).
func WithMethod(id string) SignerOption { return func(c *signerConfig) { c.method = id } }

// ForRelationship signs with the first bound method listed under rel. Defaults to
// AssertionMethod.
func ForRelationship(rel Relationship) SignerOption { return func(c *signerConfig) { c.rel = rel } }

// Signer returns a jose.Signer for one of the DID's keys. Its KeyID is the absolute
// verification method ID, so JWS headers carry a kid that dereferences in the DID document.
// By default it is the first bound method listed under assertionMethod; a document that
// lists no verification relationships at all falls back to its first bound method.
func (b *BearerDID) Signer(ctx context.Context, opts ...SignerOption) (jose.Signer, error) {
	if !b.constructed() {
		return nil, errBearerNotConstructed
	}
	cfg := signerConfig{rel: AssertionMethod}
	for _, o := range opts {
		if o == nil {
			return nil, &OptionError{Option: "SignerOption", Reason: "nil option"}
		}
		o(&cfg)
	}
	var vmID string
	switch {
	case cfg.method != "":
		vmID = b.Document.AbsoluteRef(cfg.method)
		if _, ok := b.keys[vmID]; !ok {
			return nil, fmt.Errorf("%w: no key for %q", ErrNoSigningKey, clip(cfg.method))
		}
	default:
		for _, ref := range b.Document.Relationship(cfg.rel) {
			if _, ok := b.keys[b.Document.AbsoluteRef(ref)]; ok {
				vmID = b.Document.AbsoluteRef(ref)
				break
			}
		}
		if vmID == "" && !b.hasRelationships() {
			for i := range b.Document.VerificationMethod {
				id := b.Document.AbsoluteRef(b.Document.VerificationMethod[i].ID)
				if _, ok := b.keys[id]; ok {
					vmID = id
					break
				}
			}
		}
		if vmID == "" {
			return nil, fmt.Errorf("%w: no bound key listed under %s", ErrNoSigningKey, cfg.rel)
		}
	}
	return jose.KeyManagerSigner(ctx, b.KeyManager, b.keys[vmID], vmID)
}

func (b *BearerDID) hasRelationships() bool {
	for _, r := range AllRelationships() {
		if len(b.Document.Relationship(r)) > 0 {
			return true
		}
	}
	return false
}

// SignJWS signs payload as the DID with its default key (see Signer; to pick another key,
// pass b.Signer(ctx, WithMethod(...)) to jose.SignJWS) and returns a compact JWS.
func (b *BearerDID) SignJWS(ctx context.Context, payload []byte, opts ...jose.SignOption) (string, error) {
	s, err := b.Signer(ctx)
	if err != nil {
		return "", err
	}
	return jose.SignJWS(ctx, s, payload, opts...)
}

// SignJWT signs claims as the DID with its default key. Claims are a jose.Claims, a struct
// embedding it, or a map.
func (b *BearerDID) SignJWT(ctx context.Context, claims any, opts ...jose.SignOption) (string, error) {
	s, err := b.Signer(ctx)
	if err != nil {
		return "", err
	}
	return jose.SignJWT(ctx, s, claims, opts...)
}

// PortableDID is a DID with its document, private keys and metadata, in the JSON form
// Web5 SDKs exchange: {"uri", "document", "privateKeys", "metadata"}. It holds private
// keys: write it only where secrets belong.
type PortableDID struct {
	URI         string         `json:"uri"`
	Document    *Document      `json:"document"`
	PrivateKeys []jose.JWK     `json:"privateKeys"`
	Metadata    map[string]any `json:"metadata"`
}

// Export returns the portable form of the DID. The key manager must implement
// jose.KeyExporter: exporting private keys is always an explicit act.
func (b *BearerDID) Export(ctx context.Context) (*PortableDID, error) {
	if !b.constructed() {
		return nil, errBearerNotConstructed
	}
	ex, ok := b.KeyManager.(jose.KeyExporter)
	if !ok {
		return nil, &OptionError{Option: "KeyManager", Value: fmt.Sprintf("%T", b.KeyManager), Reason: "does not export keys (jose.KeyExporter)"}
	}
	p := &PortableDID{URI: b.DID.String(), Document: b.Document, Metadata: b.Metadata}
	if p.Metadata == nil {
		p.Metadata = map[string]any{}
	}
	for i := range b.Document.VerificationMethod {
		keyID, ok := b.keys[b.Document.AbsoluteRef(b.Document.VerificationMethod[i].ID)]
		if !ok {
			continue
		}
		k, err := ex.ExportKey(ctx, keyID)
		if err != nil {
			return nil, err
		}
		p.PrivateKeys = append(p.PrivateKeys, k)
	}
	return p, nil
}

// ParsePortableDID decodes and validates a portable DID: uri, document, privateKeys and
// metadata must all be present; uri must be a DID equal to the document id; every
// private key must be valid and be the key of one of the document's verification methods.
func ParsePortableDID(data []byte) (*PortableDID, error) {
	var raw map[string]json.RawMessage
	if err := fastjson.Decode(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPortableDID, err)
	}
	for _, f := range []string{"uri", "document", "privateKeys", "metadata"} {
		if v, ok := raw[f]; !ok || string(v) == "null" {
			return nil, fmt.Errorf("%w: %s is missing", ErrInvalidPortableDID, f)
		}
	}
	var p PortableDID
	if err := fastjson.Decode(data, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPortableDID, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks a portable DID (see ParsePortableDID).
func (p *PortableDID) Validate() error {
	if _, err := Parse(p.URI); err != nil {
		return fmt.Errorf("%w: uri: %v", ErrInvalidPortableDID, err)
	}
	if p.Document == nil {
		return fmt.Errorf("%w: document is missing", ErrInvalidPortableDID)
	}
	if p.Document.ID != p.URI {
		return fmt.Errorf("%w: document id %q is not the uri", ErrInvalidPortableDID, clip(p.Document.ID))
	}
	if err := p.Document.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidPortableDID, err)
	}
	if len(p.PrivateKeys) == 0 {
		return fmt.Errorf("%w: privateKeys is empty", ErrInvalidPortableDID)
	}
	if p.Metadata == nil {
		return fmt.Errorf("%w: metadata is missing", ErrInvalidPortableDID)
	}
	for i, k := range p.PrivateKeys {
		if !k.IsPrivate() {
			return fmt.Errorf("%w: privateKeys[%d] has no private part", ErrInvalidPortableDID, i)
		}
		if err := k.Validate(); err != nil {
			return fmt.Errorf("%w: privateKeys[%d]: %v", ErrInvalidPortableDID, i, err)
		}
		if !p.hasMethodFor(k) {
			return fmt.Errorf("%w: privateKeys[%d] belongs to no verification method", ErrInvalidPortableDID, i)
		}
	}
	return nil
}

func (p *PortableDID) hasMethodFor(k jose.JWK) bool {
	for i := range p.Document.VerificationMethod {
		pub, err := p.Document.VerificationMethod[i].PublicKey()
		if err == nil && pub.Curve == k.Curve && pub.X == k.X && pub.Y == k.Y {
			return true
		}
	}
	return false
}

// Import loads a portable DID into a key manager and returns the bearer DID. km must
// implement jose.KeyImporter; nil means a new jose.MemoryKeyManager.
func Import(ctx context.Context, p *PortableDID, km jose.KeyManager) (*BearerDID, error) {
	if p == nil {
		return nil, &OptionError{Option: "p", Reason: "nil"}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if km == nil {
		km = jose.NewMemoryKeyManager()
	}
	imp, ok := km.(jose.KeyImporter)
	if !ok {
		return nil, &OptionError{Option: "km", Value: fmt.Sprintf("%T", km), Reason: "does not import keys (jose.KeyImporter)"}
	}
	keys := make(map[string]string)
	for _, k := range p.PrivateKeys {
		keyID, err := imp.ImportKey(ctx, k)
		if err != nil {
			return nil, err
		}
		for i := range p.Document.VerificationMethod {
			vm := &p.Document.VerificationMethod[i]
			pub, err := vm.PublicKey()
			if err == nil && pub.Curve == k.Curve && pub.X == k.X && pub.Y == k.Y {
				keys[p.Document.AbsoluteRef(vm.ID)] = keyID
			}
		}
	}
	b, err := NewBearerDID(ctx, p.Document, km, keys)
	if err != nil {
		return nil, err
	}
	b.Metadata = p.Metadata
	return b, nil
}

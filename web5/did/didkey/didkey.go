package didkey

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/internal/multikey"
	"github.com/anya-org/anya-go/web5/jose"
)

// Method is the method name.
const Method = "key"

// TTL is how long resolvers may cache a did:key document: it never changes.
const TTL = 24 * time.Hour

// DefaultEncryptionKeyDerivation is the default of WithEncryptionKeyDerivation: documents
// list a key agreement method, as the specification's examples and test vectors do.
const DefaultEncryptionKeyDerivation = true

// Option configures New, Expand and Create.
type Option func(*config)

type config struct {
	noDerivation bool // the zero config derives, as DefaultEncryptionKeyDerivation says
}

// WithEncryptionKeyDerivation is the specification's enableEncryptionKeyDerivation option
// of its Document Creation Algorithm: when enabled, the document of an Ed25519 did:key adds
// the X25519 key derived from it (jose.X25519FromEd25519) as a second verification method,
// "#" and its multibase value, under keyAgreement, and the document of a secp256k1, P-256,
// P-384 or P-521 did:key lists its key under keyAgreement too (the key agrees keys itself,
// by ECDH, as the specification's test vectors list it). An X25519 did:key is under
// keyAgreement either way, and only there. Defaults to DefaultEncryptionKeyDerivation.
func WithEncryptionKeyDerivation(enable bool) Option {
	return func(c *config) { c.noDerivation = !enable }
}

func apply(opts []Option) config {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg
}

// Resolver resolves did:key DIDs. The zero value is ready to use and resolves with the
// defaults.
type Resolver struct{ cfg config }

var _ did.MethodResolver = Resolver{}

// New returns a did:key resolver. Its one option cannot be invalid, so New returns no error
// (a nil option is ignored).
func New(opts ...Option) Resolver { return Resolver{cfg: apply(opts)} }

// Method returns "key".
func (Resolver) Method() string { return Method }

// Resolve expands a did:key into its document.
func (r Resolver) Resolve(ctx context.Context, d did.DID) (*did.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	doc, err := expand(d, r.cfg)
	if err != nil {
		return nil, err
	}
	return &did.Result{Document: doc, TTL: TTL}, nil
}

// Expand builds the document of a did:key with the specification's Document Creation
// Algorithm. Every verification method is a JsonWebKey whose ID is the DID, "#" and the
// multibase value of its key. A signing key (Ed25519, secp256k1, P-256, P-384, P-521) is
// listed under authentication, assertionMethod, capabilityInvocation and
// capabilityDelegation; keyAgreement follows WithEncryptionKeyDerivation. An invalid key
// (see jose.PublicJWK) is an invalidPublicKey error, an unsupported key type an invalidDid
// one.
func Expand(d did.DID, opts ...Option) (*did.Document, error) {
	return expand(d, apply(opts))
}

func expand(d did.DID, cfg config) (*did.Document, error) {
	if d.Method != Method {
		return nil, did.NewError(did.CodeMethodNotSupported, d.String(), errors.New("not a did:key"))
	}
	c, raw, err := multikey.Decode(d.ID)
	if err != nil {
		return nil, did.NewError(did.CodeInvalidDID, d.String(), err)
	}
	pub, err := jose.PublicJWK(c, raw)
	if err != nil {
		return nil, did.NewError(did.CodeInvalidPublicKey, d.String(), err)
	}
	pub.Algorithm = jose.AlgorithmFor(c)
	id := d.String()
	doc := &did.Document{Context: []any{did.ContextV1}, ID: id}
	vm := did.VerificationMethod{ID: id + "#" + d.ID, Type: did.TypeJsonWebKey, Controller: id, PublicKeyJwk: &pub}
	if c == jose.X25519 {
		doc.AddVerificationMethod(vm, did.KeyAgreement)
		return doc, nil
	}
	rels := []did.Relationship{did.Authentication, did.AssertionMethod, did.CapabilityInvocation, did.CapabilityDelegation}
	switch {
	case cfg.noDerivation:
		doc.AddVerificationMethod(vm, rels...)
	case c == jose.Ed25519:
		doc.AddVerificationMethod(vm, rels...)
		x, err := jose.X25519FromEd25519(pub)
		if err != nil {
			return nil, did.NewError(did.CodeInvalidPublicKey, d.String(), err)
		}
		xRaw, err := base64.RawURLEncoding.DecodeString(x.X)
		if err != nil {
			return nil, did.NewError(did.CodeInternalError, d.String(), err)
		}
		mb, err := multikey.Encode(jose.X25519, xRaw)
		if err != nil {
			return nil, did.NewError(did.CodeInternalError, d.String(), err)
		}
		doc.AddVerificationMethod(did.VerificationMethod{ID: id + "#" + mb, Type: did.TypeJsonWebKey, Controller: id, PublicKeyJwk: &x}, did.KeyAgreement)
	default:
		doc.AddVerificationMethod(vm, append(rels, did.KeyAgreement)...)
	}
	return doc, nil
}

// FromPublicKey returns the did:key of a public key.
func FromPublicKey(k jose.JWK) (did.DID, error) {
	mk, err := multikey.FromJWK(k.Public())
	if err != nil {
		return did.DID{}, err
	}
	return did.DID{Method: Method, ID: mk}, nil
}

// Create generates a key on curve c (Ed25519, X25519, secp256k1, P-256, P-384 or P-521) in
// km and returns the did:key bearing it, its document expanded with opts. The bearer DID
// signs with that key; a derived X25519 key agreement key has no private key in km.
func Create(ctx context.Context, km jose.KeyManager, c jose.Curve, opts ...Option) (*did.BearerDID, error) {
	if km == nil {
		return nil, &did.OptionError{Option: "km", Reason: "nil"}
	}
	keyID, err := km.GenerateKey(ctx, c)
	if err != nil {
		return nil, err
	}
	pub, err := km.PublicKey(ctx, keyID)
	if err != nil {
		return nil, err
	}
	d, err := FromPublicKey(pub)
	if err != nil {
		return nil, err
	}
	doc, err := Expand(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("didkey: expand new DID: %w", err)
	}
	return did.NewBearerDID(ctx, doc, km, map[string]string{doc.VerificationMethod[0].ID: keyID})
}

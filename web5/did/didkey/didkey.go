package didkey

import (
	"context"
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

// Resolver resolves did:key DIDs. The zero value is ready to use.
type Resolver struct{}

var _ did.MethodResolver = Resolver{}

// New returns a did:key resolver.
func New() Resolver { return Resolver{} }

// Method returns "key".
func (Resolver) Method() string { return Method }

// Resolve expands a did:key into its document.
func (Resolver) Resolve(ctx context.Context, d did.DID) (*did.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	doc, err := Expand(d)
	if err != nil {
		return nil, err
	}
	return &did.Result{Document: doc, TTL: TTL}, nil
}

// Expand builds the document of a did:key.
func Expand(d did.DID) (*did.Document, error) {
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
	doc := &did.Document{
		Context: []any{did.ContextV1},
		ID:      id,
	}
	vm := did.VerificationMethod{ID: id + "#" + d.ID, Type: did.TypeJsonWebKey, Controller: id, PublicKeyJwk: &pub}
	if c == jose.X25519 {
		doc.AddVerificationMethod(vm, did.KeyAgreement)
	} else {
		doc.AddVerificationMethod(vm, did.Authentication, did.AssertionMethod, did.CapabilityInvocation, did.CapabilityDelegation)
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

// Create generates a key on curve c in km and returns the did:key bearing it.
func Create(ctx context.Context, km jose.KeyManager, c jose.Curve) (*did.BearerDID, error) {
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
	doc, err := Expand(d)
	if err != nil {
		return nil, fmt.Errorf("didkey: expand new DID: %w", err)
	}
	return did.NewBearerDID(ctx, doc, km, map[string]string{doc.VerificationMethod[0].ID: keyID})
}

package didjwk

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
)

// Method is the method name.
const Method = "jwk"

// TTL is how long resolvers may cache a did:jwk document: it never changes.
const TTL = 24 * time.Hour

var b64 = base64.RawURLEncoding.Strict()

// Resolver resolves did:jwk DIDs. The zero value is ready to use.
type Resolver struct{}

var _ did.MethodResolver = Resolver{}

// New returns a did:jwk resolver.
func New() Resolver { return Resolver{} }

// Method returns "jwk".
func (Resolver) Method() string { return Method }

// Resolve expands a did:jwk into its document.
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

// Expand builds the document of a did:jwk.
func Expand(d did.DID) (*did.Document, error) {
	if d.Method != Method {
		return nil, did.NewError(did.CodeMethodNotSupported, d.String(), errors.New("not a did:jwk"))
	}
	if strings.ContainsRune(d.ID, ':') || strings.ContainsRune(d.ID, '%') {
		return nil, did.NewError(did.CodeInvalidDID, d.String(), errors.New("the id is not base64url"))
	}
	raw, err := b64.DecodeString(d.ID)
	if err != nil {
		return nil, did.NewError(did.CodeInvalidDID, d.String(), errors.New("the id is not base64url"))
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, did.NewError(did.CodeInvalidDID, d.String(), errors.New("the id is not a JSON object"))
	}
	var k jose.JWK
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, did.NewError(did.CodeInvalidDID, d.String(), fmt.Errorf("the id is not a JWK: %w", err))
	}
	if k.IsPrivate() {
		return nil, did.NewError(did.CodeInvalidDID, d.String(), errors.New("the JWK holds a private key"))
	}
	if err := k.Validate(); err != nil {
		return nil, did.NewError(did.CodeInvalidPublicKey, d.String(), err)
	}
	id := d.String()
	doc := &did.Document{Context: []any{did.ContextV1}, ID: id}
	vm := did.VerificationMethod{ID: id + "#0", Type: did.TypeJsonWebKey, Controller: id, PublicKeyJwk: &k}
	var rels []did.Relationship
	enc := k.Use == "enc" || k.Curve == jose.X25519
	if k.Use != "sig" {
		rels = append(rels, did.KeyAgreement)
	}
	if !enc {
		rels = append(rels, did.Authentication, did.AssertionMethod, did.CapabilityInvocation, did.CapabilityDelegation)
	}
	doc.AddVerificationMethod(vm, rels...)
	return doc, nil
}

// FromPublicKey returns the did:jwk of a public key. The JWK is written as given (minus
// any private part), so kid, alg and use travel inside the DID.
func FromPublicKey(k jose.JWK) (did.DID, error) {
	k = k.Public()
	if err := k.Validate(); err != nil {
		return did.DID{}, err
	}
	raw, err := json.Marshal(k)
	if err != nil {
		return did.DID{}, err
	}
	return did.DID{Method: Method, ID: b64.EncodeToString(raw)}, nil
}

// Create generates a key on curve c in km and returns the did:jwk bearing it. The JWK in
// the DID carries alg and use "sig" for signing curves, use "enc" for X25519.
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
	pub.KeyID = ""
	pub.Use = "sig"
	pub.Algorithm = jose.AlgorithmFor(c)
	if c == jose.X25519 {
		pub.Use = "enc"
	}
	d, err := FromPublicKey(pub)
	if err != nil {
		return nil, err
	}
	doc, err := Expand(d)
	if err != nil {
		return nil, fmt.Errorf("didjwk: expand new DID: %w", err)
	}
	return did.NewBearerDID(ctx, doc, km, map[string]string{doc.VerificationMethod[0].ID: keyID})
}

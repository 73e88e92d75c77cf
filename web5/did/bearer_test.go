package did

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/jose"
)

func bearer(t testing.TB, id string, curves ...jose.Curve) *BearerDID {
	t.Helper()
	doc, km := newDoc(t, id, curves...)
	b, err := NewBearerDID(context.Background(), doc, km, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBearerSignVerifyJWT(t *testing.T) {
	ctx := context.Background()
	alice := bearer(t, "did:test:alice", jose.Secp256k1, jose.Ed25519)
	mallory := bearer(t, "did:test:mallory", jose.Ed25519)
	m := &staticMethod{docs: map[string]*Document{alice.DID.String(): alice.Document, mallory.DID.String(): mallory.Document}}
	r := newResolver(t, m)

	tok, err := alice.SignJWT(ctx, jose.Claims{Issuer: "did:test:alice", Expiry: jose.NewNumericDate(time.Now().Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	jwt, vm, err := r.VerifyJWT(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if vm.ID != "did:test:alice#key-0" || jwt.Header.KeyID != vm.ID || jwt.Header.Algorithm != jose.AlgES256K {
		t.Fatalf("signed with %s (%s)", vm.ID, jwt.Header.Algorithm)
	}

	// A kid of another DID is refused even though the signature is good.
	forged, err := mallory.SignJWT(ctx, jose.Claims{Issuer: "did:test:alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.VerifyJWT(ctx, forged); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("kid from another DID: %v", err)
	}
	// Missing iss.
	noIss, _ := alice.SignJWT(ctx, jose.Claims{Subject: "x"})
	if _, _, err := r.VerifyJWT(ctx, noIss); !errors.Is(err, jose.ErrInvalidClaim) {
		t.Fatalf("no iss: %v", err)
	}
	// Expired, through the claims options.
	_, _, err = r.VerifyJWT(ctx, tok, WithClaimsValidation(jose.WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) })))
	if !errors.Is(err, jose.ErrTokenExpired) {
		t.Fatalf("expired: %v", err)
	}
	// A key not listed under assertionMethod cannot sign assertions.
	s, err := alice.Signer(ctx, WithMethod("#key-1"))
	if err != nil {
		t.Fatal(err)
	}
	alice.Document.AssertionMethod = alice.Document.AssertionMethod[:1]
	tok2, _ := jose.SignJWT(ctx, s, jose.Claims{Issuer: "did:test:alice"})
	if _, _, err := r.VerifyJWT(ctx, tok2); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("key outside assertionMethod: %v", err)
	}
	if _, _, err := r.VerifyJWT(ctx, tok2, WithPurpose(Authentication)); err != nil {
		t.Fatalf("key under authentication: %v", err)
	}
	if _, _, err := r.VerifyJWT(ctx, tok2, WithAnyPurpose()); err != nil {
		t.Fatalf("any purpose: %v", err)
	}
	// A tampered payload fails.
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "Q") + "Q." + parts[2]
	if _, _, err := r.VerifyJWT(ctx, tampered); err == nil {
		t.Fatal("tampered token verified")
	}
}

func TestVerifyJWSDetachedAndDeactivated(t *testing.T) {
	ctx := context.Background()
	alice := bearer(t, "did:test:alice", jose.Ed25519)
	m := &staticMethod{docs: map[string]*Document{alice.DID.String(): alice.Document}}
	r := newResolver(t, m, WithoutCache())
	payload := []byte("record-cid")
	tok, err := alice.SignJWS(ctx, payload, jose.WithDetached())
	if err != nil {
		t.Fatal(err)
	}
	j, vm, err := r.VerifyJWS(ctx, tok, WithDetachedPayload(payload), WithPurpose(Authentication))
	if err != nil || string(j.Payload) != "record-cid" || vm.Controller != "did:test:alice" {
		t.Fatalf("%v %v", j, err)
	}
	if _, _, err := r.VerifyJWS(ctx, tok, WithDetachedPayload([]byte("other"))); !errors.Is(err, jose.ErrInvalidSignature) {
		t.Fatalf("other payload: %v", err)
	}
	m.meta = map[string]DocumentMetadata{alice.DID.String(): {Deactivated: true}}
	if _, _, err := r.VerifyJWS(ctx, tok, WithDetachedPayload(payload)); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("deactivated DID: %v", err)
	}
	// No kid.
	s, _ := alice.Signer(ctx)
	noKid, _ := jose.SignJWS(ctx, s, payload, jose.WithKeyID(""))
	if _, _, err := r.VerifyJWS(ctx, noKid); !errors.Is(err, jose.ErrMalformed) {
		t.Fatalf("no kid: %v", err)
	}
	relKid, _ := jose.SignJWS(ctx, s, payload, jose.WithKeyID("#key-0"))
	if _, _, err := r.VerifyJWS(ctx, relKid); !errors.Is(err, ErrInvalidDIDURL) {
		t.Fatalf("relative kid: %v", err)
	}
}

func TestBearerDIDBinding(t *testing.T) {
	ctx := context.Background()
	doc, km := newDoc(t, "did:test:alice", jose.Ed25519)
	_, otherKM := newDoc(t, "did:test:bob", jose.Ed25519)
	if _, err := NewBearerDID(ctx, doc, otherKM, nil); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("key manager without the keys: %v", err)
	}
	otherID, _ := otherKM.GenerateKey(ctx, jose.Ed25519)
	if _, err := NewBearerDID(ctx, doc, otherKM, map[string]string{"#key-0": otherID}); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("wrong key bound: %v", err)
	}
	if _, err := NewBearerDID(ctx, doc, km, map[string]string{"#nope": "x"}); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("unknown method: %v", err)
	}
	b, err := NewBearerDID(ctx, doc, km, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Signer(ctx, ForRelationship(KeyAgreement)); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("no keyAgreement signer: %v", err)
	}
	if _, err := b.Signer(ctx, WithMethod("#other")); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("unknown method signer: %v", err)
	}
	// A document with no relationships signs with its first bound key.
	doc.Authentication, doc.AssertionMethod, doc.CapabilityInvocation, doc.CapabilityDelegation = nil, nil, nil, nil
	s, err := b.Signer(ctx)
	if err != nil || s.KeyID() != "did:test:alice#key-0" {
		t.Fatalf("fallback signer: %v", err)
	}
}

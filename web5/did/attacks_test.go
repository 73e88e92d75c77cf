package did

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/web5/jose"
)

// TestAttacks lists the attacks on verifying a signature as a DID, one named row each:
// who signed must be the DID whose document lists the verifying key, under the purpose
// asked for, and nothing in the token may say otherwise.
func TestAttacks(t *testing.T) {
	ctx := context.Background()
	alice := bearer(t, "did:test:alice", jose.Ed25519, jose.Secp256k1)
	mallory := bearer(t, "did:test:mallory", jose.Ed25519)
	// The impostor lists under assertionMethod a key whose controller it says is Alice.
	impostor := bearer(t, "did:test:impostor", jose.Ed25519)
	impostor.Document.VerificationMethod[0].Controller = "did:test:alice"
	// Carol's key is listed under keyAgreement only.
	carol := bearer(t, "did:test:carol", jose.Ed25519)
	carol.Document.AssertionMethod, carol.Document.Authentication = nil, nil
	carol.Document.KeyAgreement = []string{"did:test:carol#key-0"}
	gone := bearer(t, "did:test:gone", jose.Ed25519)
	m := &staticMethod{
		docs: map[string]*Document{},
		meta: map[string]DocumentMetadata{"did:test:gone": {Deactivated: true}},
	}
	for _, b := range []*BearerDID{alice, mallory, impostor, carol, gone} {
		m.docs[b.DID.String()] = b.Document
	}
	r := newResolver(t, m, WithoutCache())
	aliceEd, _ := alice.Signer(ctx, WithMethod("#key-0"))
	aliceK1, _ := alice.Signer(ctx, WithMethod("#key-1"))
	mallorySigner, _ := mallory.Signer(ctx)
	impostorSigner, _ := impostor.Signer(ctx)
	carolSigner, _ := carol.Signer(ctx, WithMethod("#key-0"))
	goneSigner, _ := gone.Signer(ctx)

	b64 := base64.RawURLEncoding
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	sign := func(s jose.Signer, header, payload string) string {
		input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
		sig, err := s.Sign(ctx, []byte(input))
		if err != nil {
			t.Fatal(err)
		}
		return input + "." + b64.EncodeToString(sig)
	}
	hdr := func(alg, kid string) string { return `{"alg":"` + alg + `","kid":` + q(kid) + `}` }
	jwtClaims := func(iss string, extra string) string {
		return `{"iss":` + q(iss) + `,"sub":"did:example:sub"` + extra + `}`
	}
	good := sign(aliceEd, hdr("EdDSA", aliceEd.KeyID()), jwtClaims("did:test:alice", ""))
	if _, vm, err := r.VerifyJWT(ctx, good); err != nil || vm.Controller != "did:test:alice" || vm.ID != "did:test:alice#key-0" {
		t.Fatalf("the unforged token: %v %+v", err, vm)
	}

	type row struct {
		name  string
		token string
		jwt   bool
		want  []error
	}
	rows := []row{
		{"header kid and KID: Mallory signs, KID names Alice", sign(mallorySigner, `{"alg":"EdDSA","kid":`+q(mallorySigner.KeyID())+`,"KID":`+q(aliceEd.KeyID())+`}`, jwtClaims("did:test:alice", "")), true, []error{jose.ErrDuplicateMember, jose.ErrMalformed}},
		{"header KID and kid", sign(mallorySigner, `{"alg":"EdDSA","KID":`+q(aliceEd.KeyID())+`,"kid":`+q(mallorySigner.KeyID())+`}`, "x"), false, []error{jose.ErrDuplicateMember}},
		{"header Kid", sign(mallorySigner, `{"alg":"EdDSA","kid":`+q(mallorySigner.KeyID())+`,"Kid":`+q(aliceEd.KeyID())+`}`, "x"), false, []error{jose.ErrDuplicateMember}},
		{"header Kelvin-sign kid", sign(mallorySigner, `{"alg":"EdDSA","kid":`+q(mallorySigner.KeyID())+`,"\u212Aid":`+q(aliceEd.KeyID())+`}`, "x"), false, []error{jose.ErrDuplicateMember}},
		{"header kid twice", sign(mallorySigner, `{"alg":"EdDSA","kid":`+q(mallorySigner.KeyID())+`,"kid":`+q(aliceEd.KeyID())+`}`, "x"), false, []error{jose.ErrDuplicateMember}},
		{"header alg and ALG", sign(mallorySigner, `{"alg":"EdDSA","ALG":"none","kid":`+q(mallorySigner.KeyID())+`}`, "x"), false, []error{jose.ErrDuplicateMember}},
		{"claims iss and ISS", sign(mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), `{"iss":"did:test:mallory","ISS":"did:test:alice"}`), true, []error{jose.ErrDuplicateMember}},
		{"claims sub and Sub", sign(aliceEd, hdr("EdDSA", aliceEd.KeyID()), `{"iss":"did:test:alice","sub":"did:example:a","Sub":"did:example:b"}`), true, []error{jose.ErrDuplicateMember}},
		{"foreign kid: Mallory's key, Alice as issuer", sign(mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), jwtClaims("did:test:alice", "")), true, []error{ErrNotAuthorized}},
		{"Mallory's key under Alice's kid", sign(mallorySigner, hdr("EdDSA", aliceEd.KeyID()), jwtClaims("did:test:alice", "")), true, []error{jose.ErrInvalidSignature}},
		{"verification method controlled by another DID", sign(impostorSigner, hdr("EdDSA", impostorSigner.KeyID()), jwtClaims("did:test:impostor", "")), true, []error{ErrNotAuthorized}},
		{"key not listed under the purpose", sign(carolSigner, hdr("EdDSA", carolSigner.KeyID()), jwtClaims("did:test:carol", "")), true, []error{ErrNotAuthorized}},
		{"deactivated DID", sign(goneSigner, hdr("EdDSA", goneSigner.KeyID()), jwtClaims("did:test:gone", "")), true, []error{ErrNotAuthorized}},
		{"kid of a DID nobody resolves", sign(mallorySigner, hdr("EdDSA", "did:test:nobody#key-0"), "x"), false, []error{ErrNotFound}},
		{"kid naming a service, not a key", sign(mallorySigner, hdr("EdDSA", "did:test:alice#dwn"), "x"), false, []error{ErrNotFound}},
		{"relative kid", sign(aliceEd, hdr("EdDSA", "#key-0"), "x"), false, []error{ErrInvalidDIDURL}},
		{"no kid", sign(aliceEd, `{"alg":"EdDSA"}`, "x"), false, []error{jose.ErrMalformed}},
		{"alg none", b64.EncodeToString([]byte(hdr("none", aliceEd.KeyID()))) + "." + b64.EncodeToString([]byte("x")) + ".AA", false, []error{jose.ErrUnsupportedAlgorithm}},
		{"curve swap: ES256K header on an Ed25519 key", sign(aliceK1, hdr("ES256K", aliceEd.KeyID()), "x"), false, []error{jose.ErrAlgorithmMismatch}},
		{"curve swap: EdDSA header on a secp256k1 key", sign(aliceEd, hdr("EdDSA", aliceK1.KeyID()), "x"), false, []error{jose.ErrAlgorithmMismatch}},
		{"critical extension", sign(aliceEd, `{"alg":"EdDSA","kid":`+q(aliceEd.KeyID())+`,"crit":["exp"],"exp":1}`, "x"), false, []error{jose.ErrMalformed}},
		{"unencoded payload", sign(aliceEd, `{"alg":"EdDSA","kid":`+q(aliceEd.KeyID())+`,"b64":false}`, "x"), false, []error{jose.ErrMalformed}},
		{"100k-deep header", sign(aliceEd, `{"alg":"EdDSA","kid":`+q(aliceEd.KeyID())+`,"x":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`, "x"), false, []error{jose.ErrMalformed}},
		{"100k-deep claims", sign(aliceEd, hdr("EdDSA", aliceEd.KeyID()), `{"iss":"did:test:alice","x":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`), true, []error{jose.ErrInvalidClaim}},
		{"expired token", sign(aliceEd, hdr("EdDSA", aliceEd.KeyID()), jwtClaims("did:test:alice", `,"exp":1000`)), true, []error{jose.ErrTokenExpired}},
		{"not-yet-valid token", sign(aliceEd, hdr("EdDSA", aliceEd.KeyID()), jwtClaims("did:test:alice", `,"nbf":99999999999`)), true, []error{jose.ErrTokenNotYetValid}},
		{"token for an audience the verifier did not name", sign(aliceEd, hdr("EdDSA", aliceEd.KeyID()), jwtClaims("did:test:alice", `,"aud":"did:example:someone"`)), true, []error{jose.ErrInvalidClaim}},
	}
	// HS256 keyed with the public key (as JSON and as its x).
	for _, secret := range []string{alice.Document.VerificationMethod[0].PublicKeyJwk.X, string(mustJSON(t, alice.Document.VerificationMethod[0].PublicKeyJwk))} {
		input := b64.EncodeToString([]byte(hdr("HS256", aliceEd.KeyID()))) + "." + b64.EncodeToString([]byte(jwtClaims("did:test:alice", "")))
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(input))
		rows = append(rows, row{"HS256 keyed with Alice's public key", input + "." + b64.EncodeToString(mac.Sum(nil)), true, []error{jose.ErrUnsupportedAlgorithm}})
	}
	// High-S: the malleable twin of a valid ES256K signature.
	k1 := sign(aliceK1, hdr("ES256K", aliceK1.KeyID()), "x")
	if _, _, err := r.VerifyJWS(ctx, k1); err != nil {
		t.Fatalf("the low-S original: %v", err)
	}
	parts := strings.Split(k1, ".")
	sig, _ := b64.DecodeString(parts[2])
	s := new(big.Int).SetBytes(sig[32:])
	high := append(append([]byte(nil), sig[:32]...), new(big.Int).Sub(btcec.S256().N, s).FillBytes(make([]byte, 32))...)
	rows = append(rows, row{"high-S ES256K signature", parts[0] + "." + parts[1] + "." + b64.EncodeToString(high), false, []error{jose.ErrHighS, jose.ErrInvalidSignature}})

	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			var vm *VerificationMethod
			if tc.jwt {
				_, vm, err = r.VerifyJWT(ctx, tc.token)
			} else {
				_, vm, err = r.VerifyJWS(ctx, tc.token)
			}
			if err == nil {
				t.Fatalf("verified as %s", vm.Controller)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Fatalf("refused with %v, want an error matching %v", err, w)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package vc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/internal/vectors"
	"github.com/anya-org/anya-go/web5/jose"
)

func vectorVerifier(t testing.TB, opts ...VerifierOption) *Verifier {
	t.Helper()
	r, err := did.NewResolver(did.WithMethods(didkey.New(), didjwk.New()))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(r, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The 19 error cases of credentials/create.json are data-model violations, each caught by
// a named property. The expected field per case documents which rule rejects it.
var createErrorFields = map[string]string{
	"bad no credential subject":                              "credentialSubject",
	"bad missing context":                                    "@context",
	"bad first context item":                                 "@context",
	"bad multiple id values":                                 "id",
	"bad id must be a uri":                                   "id",
	"bad type must have at least one value":                  "type",
	"bad type must have VerifiableCredential as first value": "type",
	"bad issuance date":                                      "issuanceDate",
	"bad multiple issuers":                                   "issuer",
	"bad issuer must be uri":                                 "issuer",
	"bad issuer as object without id":                        "issuer.id",
	"bad issuer as numeric id":                               "issuer",
	"bad missing issuance date":                              "issuanceDate",
	"bad missing issuer":                                     "issuer",
	"bad expiration date with multiple values":               "expirationDate",
	"bad expiration date value":                              "expirationDate",
	"bad credential status with missing id":                  "credentialStatus.id",
	"bad credential status with missing type":                "credentialStatus.type",
	"bad credential status as a string":                      "credentialStatus",
}

func TestVectorsCredentialsCreate(t *testing.T) {
	v := vectorVerifier(t)
	ctx := context.Background()
	errorCases := 0
	vectors.Run(t, "testdata/web5-spec/credentials/create.json", 21, func(t *testing.T, vec vectors.Vector) {
		var in struct {
			SignerPortableDID json.RawMessage `json:"signerPortableDid"`
			Credential        json.RawMessage `json:"credential"`
		}
		vectors.Decode(t, vec.Input, &in)
		cred, err := ParseCredential(in.Credential)
		if vec.Errors {
			errorCases++
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a ValidationError", err)
			}
			if want := createErrorFields[vec.Description]; ve.Field != want {
				t.Fatalf("rejected on %q (%s), want %q", ve.Field, ve.Reason, want)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p, err := did.ParsePortableDID(in.SignerPortableDID)
		if err != nil {
			t.Fatal(err)
		}
		issuer, err := did.Import(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		token, err := cred.Sign(ctx, issuer)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(ctx, token)
		if err != nil {
			t.Fatalf("our VC-JWT does not verify: %v", err)
		}
		var want string
		vectors.Decode(t, vec.Output, &want)
		// The expected JWT was produced by web5-kt: same key, same credential. Its signature
		// must verify with the DID's key, and since Ed25519 is deterministic, signing its
		// signing input with the imported key must give its signature byte for byte.
		wj, err := jose.ParseJWT(want)
		if err != nil {
			t.Fatal(err)
		}
		vm, _, err := v.resolver.VerificationMethod(ctx, wj.Header.KeyID, "")
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := vm.PublicKey()
		if err := wj.Verify(pub); err != nil {
			t.Fatalf("expected token does not verify: %v", err)
		}
		keyID, _ := issuer.KeyID(vm.ID)
		sig, err := issuer.KeyManager.Sign(ctx, keyID, []byte(wj.SigningInput()))
		if err != nil || !bytes.Equal(sig, wj.Signature) {
			t.Fatal("signing the expected token's input does not reproduce its signature")
		}
		// Both tokens carry the same credential and the same iss and sub.
		var wantClaims struct {
			jose.Claims
			VC json.RawMessage `json:"vc"`
		}
		_ = wj.DecodeClaims(&wantClaims)
		wantCred, err := ParseCredential(wantClaims.VC)
		if err != nil {
			t.Fatal(err)
		}
		if !jsonEqual(t, got, wantCred) || !jsonEqual(t, got, cred) {
			t.Fatalf("credential differs:\n got %s\nwant %s", mustJSON(got), mustJSON(wantCred))
		}
		ours, _ := jose.ParseJWT(token)
		if ours.Claims.Issuer != wantClaims.Issuer || ours.Claims.Subject != wantClaims.Subject {
			t.Fatalf("iss/sub %s %s, want %s %s", ours.Claims.Issuer, ours.Claims.Subject, wantClaims.Issuer, wantClaims.Subject)
		}
	})
	if errorCases != 19 {
		t.Fatalf("%d error cases, want 19", errorCases)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	var x, y any
	_ = json.Unmarshal([]byte(mustJSON(a)), &x)
	_ = json.Unmarshal([]byte(mustJSON(b)), &y)
	return reflect.DeepEqual(x, y)
}

// verifyErrors lists what rejects each failing verify vector.
var verifyErrors = map[string]error{
	"bad vcJwt structure":                ErrInvalidToken,
	"bad missing alg":                    ErrInvalidToken,
	"bad missing kid":                    ErrInvalidToken,
	"invalid signature":                  jose.ErrInvalidSignature,
	"invalid signature from another jwt": jose.ErrInvalidSignature,
	"invalid issuer":                     ErrInvalidToken,
	"signature from a different jwt":     jose.ErrInvalidSignature,
	"no typ header":                      ErrInvalidToken,
	"invalid typ header":                 ErrInvalidToken,
	"empty issuer":                       ErrInvalidCredential,
	"issuance date in future":            ErrNotYetValid,
	"no context":                         ErrInvalidCredential,
	"missing base context":               ErrInvalidCredential,
	"no type":                            ErrInvalidCredential,
	"missing base type":                  ErrInvalidCredential,
	"jti does not match id":              ErrInvalidToken,
}

func runVerifyVectors(t *testing.T, path string, want int, decodeInput func(t *testing.T, raw json.RawMessage) string) {
	v := vectorVerifier(t)
	vectors.Run(t, path, want, func(t *testing.T, vec vectors.Vector) {
		token := decodeInput(t, vec.Input)
		c, err := v.Verify(context.Background(), token)
		if !vec.Errors {
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if c.Issuer.ID == "" || len(c.CredentialSubject) == 0 {
				t.Fatalf("credential %+v", c)
			}
			return
		}
		want, ok := verifyErrors[vec.Description]
		if !ok {
			t.Fatalf("no expected error recorded for %q (got %v)", vec.Description, err)
		}
		if !errors.Is(err, want) {
			t.Fatalf("got %v, want %v", err, want)
		}
	})
}

func TestVectorsCredentialsVerify(t *testing.T) {
	runVerifyVectors(t, "testdata/web5-spec/credentials/verify.json", 12, func(t *testing.T, raw json.RawMessage) string {
		var in struct {
			VCJWT string `json:"vcJwt"`
		}
		vectors.Decode(t, raw, &in)
		return in.VCJWT
	})
}

func TestVectorsVCJWTVerify(t *testing.T) {
	runVerifyVectors(t, "testdata/web5-spec/vc_jwt/verify.json", 10, func(t *testing.T, raw json.RawMessage) string {
		var s string
		vectors.Decode(t, raw, &s)
		return s
	})
}

func TestVectorsVCJWTDecode(t *testing.T) {
	decodeErrors := map[string]error{
		"fail to decode jwt":  ErrInvalidToken,
		"no claims":           ErrInvalidToken,
		"no vc claim":         ErrInvalidToken,
		"vc claim wrong type": ErrInvalidCredential,
	}
	vectors.Run(t, "testdata/web5-spec/vc_jwt/decode.json", 5, func(t *testing.T, vec vectors.Vector) {
		var in string
		vectors.Decode(t, vec.Input, &in)
		c, err := Decode(in)
		if vec.Errors {
			if want := decodeErrors[vec.Description]; !errors.Is(err, want) {
				t.Fatalf("got %v, want %v", err, want)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !c.HasType("TBDeveloperCredential") || c.CredentialSubject[0]["username"] != "nitro" || !strings.HasPrefix(c.Issuer.ID, "did:key:") {
			t.Fatalf("%+v", c)
		}
	})
}

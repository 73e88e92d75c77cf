package vc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/netguard"
)

// docMethod resolves the documents given to it (one method, in memory).
type docMethod struct {
	name string
	docs map[string]*did.Document
}

func (m docMethod) Method() string { return m.name }

func (m docMethod) Resolve(ctx context.Context, d did.DID) (*did.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	doc, ok := m.docs[d.String()]
	if !ok {
		return nil, did.NewError(did.CodeNotFound, d.String(), nil)
	}
	return &did.Result{Document: doc, TTL: -1}, nil
}

// signRaw signs the compact JWS made of the raw header and payload JSON with s.
func signRaw(t *testing.T, s jose.Signer, header string, payload []byte) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64(payload)
	sig, err := s.Sign(context.Background(), []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

// v1Payload is the payload of a 1.1 VC-JWT issued by iss, with the given credential types.
func v1Payload(iss string, types any) map[string]any {
	return map[string]any{
		"iss": iss, "sub": "did:example:subject", "nbf": t0.Add(-time.Hour).Unix(), "iat": t0.Add(-time.Hour).Unix(),
		"vc": map[string]any{
			"@context": []any{ContextV1}, "type": types, "issuer": iss,
			"issuanceDate": t0.Add(-time.Hour).Format(time.RFC3339), "credentialSubject": map[string]any{"id": "did:example:subject"},
		},
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAttacks lists every attack on credential and presentation verification the SDK
// defends against, one named row each: malformed types, forged issuers and holders
// (parser differentials, foreign kids, keys controlled by another DID), algorithm
// confusion, malleable signatures, validity periods, hostile JSON, and URLs in credentials
// that point into the verifier's own network.
func TestAttacks(t *testing.T) {
	ctx := context.Background()
	alice, mallory := bearer(t, jose.Ed25519), bearer(t, jose.Ed25519)
	bob := bearer(t, jose.Secp256k1)
	aliceSigner, _ := alice.Signer(ctx)
	mallorySigner, _ := mallory.Signer(ctx)
	bobSigner, _ := bob.Signer(ctx)

	// An impostor document listing, under assertionMethod, a key it says Alice controls.
	keyHolder := bearer(t, jose.Ed25519)
	impostorSigner, _ := keyHolder.Signer(ctx)
	pub := *keyHolder.Document.VerificationMethod[0].PublicKeyJwk
	const impostor = "did:example:impostor"
	impostorDoc := &did.Document{ID: impostor}
	impostorDoc.AddVerificationMethod(did.VerificationMethod{ID: impostor + "#key", Type: did.TypeJsonWebKey, Controller: alice.String(), PublicKeyJwk: &pub}, did.AssertionMethod, did.Authentication)
	r, err := did.NewResolver(did.WithMethods(didkey.New(), didjwk.New(), docMethod{"example", map[string]*did.Document{impostor: impostorDoc}}))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(r, WithClock(at(t0)), WithAudience("did:example:verifier"))
	if err != nil {
		t.Fatal(err)
	}
	q := func(s string) string { return string(mustMarshal(t, s)) }
	hdr := func(alg, kid string) string { return `{"alg":"` + alg + `","kid":` + q(kid) + `,"typ":"JWT"}` }
	good := mustMarshal(t, v1Payload(alice.String(), []any{TypeCredential, "NameCredential"}))
	if _, err := v.Verify(ctx, signRaw(t, aliceSigner, hdr("EdDSA", aliceSigner.KeyID()), good)); err != nil {
		t.Fatalf("the unforged credential: %v", err)
	}

	refused := func(t *testing.T, tok string, want ...error) error {
		t.Helper()
		c, err := v.Verify(ctx, tok)
		if err == nil {
			t.Fatalf("accepted a credential issued by %s typed %q", c.Issuer.ID, c.Type)
		}
		for _, w := range want {
			if !errors.Is(err, w) {
				t.Fatalf("refused with %v, want an error matching %v", err, w)
			}
		}
		return err
	}

	// Types: non-empty, unique, URIs or terms; refused on issue and on verify.
	for _, tc := range []struct {
		name  string
		types []string
	}{
		{"an empty type", []string{""}},
		{"a duplicated type", []string{"NameCredential", "NameCredential"}},
		{"VerifiableCredential twice", []string{TypeCredential}},
		{"a type with a space", []string{"Name Credential"}},
		{"a type that is only whitespace", []string{" "}},
		{"a type with a control character", []string{"Name\x00Credential"}},
		{"a type with a newline", []string{"Name\nCredential"}},
		{"a type that is not a URI", []string{"https://example.com/a b"}},
	} {
		t.Run("credential typed with "+tc.name+" is not issued", func(t *testing.T) {
			for _, ver := range []Version{V1, V2} {
				if c, err := New(alice.String(), Subject{"id": "did:example:x"}, WithVersion(ver), WithType(tc.types...)); !errors.Is(err, ErrInvalidCredential) {
					t.Fatalf("%s: New: %v (types %q)", ver, err, typesOf(c))
				}
			}
			c, _ := New(alice.String(), Subject{"id": "did:example:x"})
			c.Type = append(c.Type, tc.types...)
			if _, err := c.Sign(ctx, alice); !errors.Is(err, ErrInvalidCredential) {
				t.Fatalf("Sign: %v", err)
			}
		})
		t.Run("credential typed with "+tc.name+" is not verified", func(t *testing.T) {
			types := []any{TypeCredential}
			for _, ty := range tc.types {
				types = append(types, ty)
			}
			tok := signRaw(t, aliceSigner, hdr("EdDSA", aliceSigner.KeyID()), mustMarshal(t, v1Payload(alice.String(), types)))
			err := refused(t, tok, ErrInvalidCredential)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "type" {
				t.Fatalf("%v is not a *ValidationError on type", err)
			}
		})
		t.Run("presentation typed with "+tc.name, func(t *testing.T) {
			types := tc.types
			if tc.name == "VerifiableCredential twice" {
				types = []string{TypePresentation}
			}
			if _, err := NewPresentation(alice.String(), nil, WithPresentationType(types...)); !errors.Is(err, ErrInvalidCredential) {
				t.Fatalf("NewPresentation: %v", err)
			}
			vpTypes := []any{TypePresentation}
			for _, ty := range types {
				vpTypes = append(vpTypes, ty)
			}
			payload := mustMarshal(t, map[string]any{"iss": alice.String(), "aud": "did:example:verifier", "iat": t0.Unix(),
				"vp": map[string]any{"@context": []any{ContextV1}, "type": vpTypes, "holder": alice.String()}})
			tok := signRaw(t, aliceSigner, hdr("EdDSA", aliceSigner.KeyID()), payload)
			if _, _, err := v.VerifyPresentation(ctx, tok); !errors.Is(err, ErrInvalidCredential) {
				t.Fatalf("VerifyPresentation: %v", err)
			}
		})
	}

	// Forged issuers.
	t.Run("header kid and KID: Mallory signs, KID names Alice", func(t *testing.T) {
		tok := signRaw(t, mallorySigner, `{"alg":"EdDSA","kid":`+q(mallorySigner.KeyID())+`,"KID":`+q(aliceSigner.KeyID())+`,"typ":"JWT"}`,
			mustMarshal(t, v1Payload(alice.String(), []any{TypeCredential})))
		refused(t, tok, jose.ErrDuplicateMember)
	})
	t.Run("header KID and kid: Alice's kid first", func(t *testing.T) {
		tok := signRaw(t, mallorySigner, `{"alg":"EdDSA","KID":`+q(aliceSigner.KeyID())+`,"kid":`+q(mallorySigner.KeyID())+`,"typ":"JWT"}`,
			mustMarshal(t, v1Payload(alice.String(), []any{TypeCredential})))
		refused(t, tok, jose.ErrDuplicateMember)
	})
	t.Run("header Kelvin-sign kid", func(t *testing.T) {
		tok := signRaw(t, mallorySigner, `{"alg":"EdDSA","kid":`+q(mallorySigner.KeyID())+`,"\u212Aid":`+q(aliceSigner.KeyID())+`,"typ":"JWT"}`,
			mustMarshal(t, v1Payload(alice.String(), []any{TypeCredential})))
		refused(t, tok, jose.ErrDuplicateMember)
	})
	t.Run("claims vc and VC: two credentials in one token", func(t *testing.T) {
		own := v1Payload(mallory.String(), []any{TypeCredential})
		own["VC"] = v1Payload(alice.String(), []any{TypeCredential, "AdminCredential"})["vc"]
		tok := signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), mustMarshal(t, own))
		refused(t, tok, jose.ErrDuplicateMember)
	})
	t.Run("claims iss and ISS", func(t *testing.T) {
		p := string(mustMarshal(t, v1Payload(mallory.String(), []any{TypeCredential})))
		p = strings.Replace(p, `"iss":`, `"ISS":`+q(alice.String())+`,"iss":`, 1)
		refused(t, signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), []byte(p)), jose.ErrDuplicateMember)
	})
	t.Run("credential issuer and Issuer", func(t *testing.T) {
		p := string(mustMarshal(t, v1Payload(mallory.String(), []any{TypeCredential})))
		p = strings.Replace(p, `"issuer":`, `"Issuer":`+q(alice.String())+`,"issuer":`, 1)
		refused(t, signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), []byte(p)), jose.ErrDuplicateMember)
	})
	t.Run("vc+jwt credential member twice", func(t *testing.T) {
		c, _ := New(mallory.String(), Subject{"id": "did:example:x"}, WithVersion(V2), ValidFrom(t0.Add(-time.Hour)))
		p := string(mustMarshal(t, c))
		p = strings.Replace(p, `"issuer":`, `"issuer":`+q(alice.String())+`,"issuer":`, 1)
		refused(t, signRaw(t, mallorySigner, `{"alg":"EdDSA","kid":`+q(mallorySigner.KeyID())+`,"typ":"vc+jwt"}`, []byte(p)), jose.ErrDuplicateMember)
	})
	t.Run("foreign kid: Mallory's key, Alice as issuer", func(t *testing.T) {
		refused(t, signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), good), did.ErrNotAuthorized)
	})
	t.Run("Mallory's key under Alice's kid", func(t *testing.T) {
		refused(t, signRaw(t, mallorySigner, hdr("EdDSA", aliceSigner.KeyID()), good), jose.ErrInvalidSignature)
	})
	t.Run("verification method controlled by another DID", func(t *testing.T) {
		own := mustMarshal(t, v1Payload(impostor, []any{TypeCredential}))
		refused(t, signRaw(t, impostorSigner, hdr("EdDSA", impostor+"#key"), own), did.ErrNotAuthorized)
	})
	t.Run("alg none", func(t *testing.T) {
		refused(t, b64([]byte(hdr("none", aliceSigner.KeyID())))+"."+b64(good)+".AA", jose.ErrUnsupportedAlgorithm)
	})
	t.Run("HS256 keyed with the issuer's public key", func(t *testing.T) {
		pub := *alice.Document.VerificationMethod[0].PublicKeyJwk
		input := b64([]byte(hdr("HS256", aliceSigner.KeyID()))) + "." + b64(good)
		for _, secret := range []string{pub.X, string(mustMarshal(t, pub))} {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(input))
			refused(t, input+"."+b64(mac.Sum(nil)), jose.ErrUnsupportedAlgorithm)
		}
	})
	t.Run("curve swap: ES256K header on an Ed25519 key", func(t *testing.T) {
		refused(t, signRaw(t, bobSigner, hdr("ES256K", aliceSigner.KeyID()), good), jose.ErrAlgorithmMismatch)
	})
	t.Run("high-S ES256K signature", func(t *testing.T) {
		tok := signRaw(t, bobSigner, hdr("ES256K", bobSigner.KeyID()), mustMarshal(t, v1Payload(bob.String(), []any{TypeCredential})))
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("the low-S original: %v", err)
		}
		parts := strings.Split(tok, ".")
		sig, _ := b64Decode(parts[2])
		n := btcec.S256().N
		s := new(big.Int).SetBytes(sig[32:])
		high := append(append([]byte(nil), sig[:32]...), new(big.Int).Sub(n, s).FillBytes(make([]byte, 32))...)
		refused(t, parts[0]+"."+parts[1]+"."+b64(high), jose.ErrHighS, jose.ErrInvalidSignature)
	})
	t.Run("expired credential", func(t *testing.T) {
		p := v1Payload(alice.String(), []any{TypeCredential})
		p["exp"] = t0.Add(-time.Minute * 30).Unix()
		p["vc"].(map[string]any)["expirationDate"] = t0.Add(-time.Minute * 30).Format(time.RFC3339)
		refused(t, signRaw(t, aliceSigner, hdr("EdDSA", aliceSigner.KeyID()), mustMarshal(t, p)), ErrExpired)
	})
	t.Run("not-yet-valid credential", func(t *testing.T) {
		p := v1Payload(alice.String(), []any{TypeCredential})
		p["nbf"] = t0.Add(time.Hour).Unix()
		p["vc"].(map[string]any)["issuanceDate"] = t0.Add(time.Hour).Format(time.RFC3339)
		refused(t, signRaw(t, aliceSigner, hdr("EdDSA", aliceSigner.KeyID()), mustMarshal(t, p)), ErrNotYetValid)
	})
	t.Run("100k-deep JSON payload", func(t *testing.T) {
		deep := []byte(`{"vc":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)
		refused(t, signRaw(t, aliceSigner, hdr("EdDSA", aliceSigner.KeyID()), deep), ErrInvalidToken)
	})

	// Presentations.
	cred, _ := New(alice.String(), Subject{"id": mallory.String()}, ValidFrom(t0.Add(-time.Hour)))
	credTok, _ := cred.Sign(ctx, alice, WithIssuedAt(t0))
	vp := func(holder string, extra func(m map[string]any)) []byte {
		m := map[string]any{"iss": holder, "aud": "did:example:verifier", "iat": t0.Unix(), "nonce": "n-1",
			"vp": map[string]any{"@context": []any{ContextV1}, "type": []any{TypePresentation}, "holder": holder, "verifiableCredential": []any{credTok}}}
		if extra != nil {
			extra(m)
		}
		return mustMarshal(t, m)
	}
	if _, _, err := v.VerifyPresentation(ctx, signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), vp(mallory.String(), nil)), ExpectNonce("n-1")); err != nil {
		t.Fatalf("the unforged presentation: %v", err)
	}
	presRefused := func(t *testing.T, tok string, want error, checks ...PresentationCheck) {
		t.Helper()
		if _, _, err := v.VerifyPresentation(ctx, tok, checks...); !errors.Is(err, want) {
			t.Fatalf("VerifyPresentation: %v, want %v", err, want)
		}
	}
	t.Run("presentation signed by someone other than its holder", func(t *testing.T) {
		presRefused(t, signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), vp(alice.String(), nil)), ErrInvalidToken)
	})
	t.Run("presentation holder and Holder", func(t *testing.T) {
		p := strings.Replace(string(vp(mallory.String(), nil)), `"holder":`, `"Holder":`+q(alice.String())+`,"holder":`, 1)
		presRefused(t, signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), []byte(p)), jose.ErrDuplicateMember)
	})
	t.Run("presentation replayed with another nonce", func(t *testing.T) {
		presRefused(t, signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), vp(mallory.String(), nil)), ErrInvalidToken, ExpectNonce("n-2"))
	})
	t.Run("presentation for another audience", func(t *testing.T) {
		tok := signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), vp(mallory.String(), func(m map[string]any) { m["aud"] = "did:example:other" }))
		presRefused(t, tok, ErrInvalidToken)
	})
	t.Run("expired presentation", func(t *testing.T) {
		tok := signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), vp(mallory.String(), func(m map[string]any) { m["exp"] = t0.Add(-time.Hour).Unix() }))
		presRefused(t, tok, ErrExpired)
	})
	t.Run("presentation carrying a forged credential", func(t *testing.T) {
		forged := signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), good)
		tok := signRaw(t, mallorySigner, hdr("EdDSA", mallorySigner.KeyID()), vp(mallory.String(), func(m map[string]any) {
			m["vp"].(map[string]any)["verifiableCredential"] = []any{forged}
		}))
		presRefused(t, tok, did.ErrNotAuthorized)
	})

	fetchAttacks(t)
}

// fetchAttacks are the rows of TestAttacks for the server-side request forgeries a
// credential could make a verifier commit through the URLs it carries (status lists,
// schemas).
func fetchAttacks(t *testing.T) {
	ctx := context.Background()
	issuer := bearer(t, jose.Ed25519)
	var hit atomic.Bool
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hit.Store(true) }))
	t.Cleanup(local.Close)
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(make([]byte, MaxFetchSize+1))
	}))
	t.Cleanup(big.Close)
	lists, err := HTTPStatusLists()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := HTTPSchemas()
	if err != nil {
		t.Fatal(err)
	}
	withStatus := func(url string) string {
		c, err := New(issuer.String(), Subject{"id": "did:example:x"}, ValidFrom(t0.Add(-time.Hour)), WithStatus(NewStatusEntry(V1, url, 7, PurposeRevocation)))
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := c.Sign(ctx, issuer, WithIssuedAt(t0))
		return tok
	}
	withSchema := func(url string) string {
		c, err := New(issuer.String(), Subject{"id": "did:example:x"}, ValidFrom(t0.Add(-time.Hour)), WithSchema(url, TypeJsonSchema))
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := c.Sign(ctx, issuer, WithIssuedAt(t0))
		return tok
	}
	statusV := vectorVerifier(t, WithClock(at(t0)), WithStatusCheck(lists))
	schemaV := vectorVerifier(t, WithClock(at(t0)), WithSchemaCheck(schemas))
	for _, tc := range []struct {
		name string
		v    *Verifier
		tok  string
		want []error
	}{
		{"status list on loopback", statusV, withStatus(local.URL + "/list"), []error{ErrStatus, netguard.ErrForbiddenAddress}},
		{"status list at the cloud metadata address", statusV, withStatus("http://169.254.169.254/latest/meta-data/"), []error{ErrStatus, netguard.ErrForbiddenAddress}},
		{"status list on a private network", statusV, withStatus("http://10.1.2.3/list"), []error{ErrStatus, netguard.ErrForbiddenAddress}},
		{"status list on an IPv4-mapped loopback", statusV, withStatus("http://[::ffff:127.0.0.1]:" + local.URL[strings.LastIndexByte(local.URL, ':')+1:] + "/list"), []error{ErrStatus, netguard.ErrForbiddenAddress}},
		{"status list behind a name for loopback", statusV, withStatus("http://localhost:" + local.URL[strings.LastIndexByte(local.URL, ':')+1:] + "/list"), []error{ErrStatus, netguard.ErrForbiddenAddress}},
		{"status list from a file URL", statusV, withStatus("file:///etc/passwd"), []error{ErrStatus, netguard.ErrScheme}},
		{"schema on loopback", schemaV, withSchema(local.URL + "/schema.json"), []error{ErrSchema, netguard.ErrForbiddenAddress}},
		{"schema on a private network", schemaV, withSchema("http://192.168.0.10/schema.json"), []error{ErrSchema, netguard.ErrForbiddenAddress}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(ctx, tc.tok)
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Fatalf("Verify: %v, want an error matching %v", err, w)
				}
			}
		})
	}
	if hit.Load() {
		t.Fatal("a refused fetch reached the loopback server")
	}
	t.Run("oversized status list", func(t *testing.T) {
		open, err := HTTPStatusLists(netguard.WithAllowPrivateNetworks())
		if err != nil {
			t.Fatal(err)
		}
		v := vectorVerifier(t, WithClock(at(t0)), WithStatusCheck(open))
		if _, err := v.Verify(ctx, withStatus(big.URL+"/list")); !errors.Is(err, ErrStatus) || !errors.Is(err, netguard.ErrTooLarge) {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("invalid fetch options", func(t *testing.T) {
		if _, err := HTTPStatusLists(netguard.WithTimeout(-1)); !errors.Is(err, ErrInvalidOption) {
			t.Fatalf("HTTPStatusLists: %v", err)
		}
		if _, err := HTTPSchemas(netguard.WithMaxRedirects(-1)); !errors.Is(err, ErrInvalidOption) {
			t.Fatalf("HTTPSchemas: %v", err)
		}
	})
}

func typesOf(c *Credential) []string {
	if c == nil {
		return nil
	}
	return c.Type
}

func b64Decode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

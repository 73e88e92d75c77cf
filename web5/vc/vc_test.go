package vc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/netguard"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

func bearer(t testing.TB, c jose.Curve) *did.BearerDID {
	t.Helper()
	b, err := didkey.Create(context.Background(), jose.NewMemoryKeyManager(), c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignVerifyBothVersions(t *testing.T) {
	ctx := context.Background()
	v := vectorVerifier(t, WithClock(at(t0)))
	for _, ver := range []Version{V1, V2} {
		for _, crv := range []jose.Curve{jose.Ed25519, jose.Secp256k1, jose.P256} {
			t.Run(fmt.Sprintf("%s/%s", ver, crv), func(t *testing.T) {
				issuer := bearer(t, crv)
				c, err := New(issuer.String(), Subject{"id": "did:example:alice", "name": "Alice"},
					WithVersion(ver), WithType("NameCredential"), ValidFrom(t0.Add(-time.Hour)), ValidUntil(t0.Add(time.Hour)))
				if err != nil {
					t.Fatal(err)
				}
				tok, err := c.Sign(ctx, issuer, WithIssuedAt(t0))
				if err != nil {
					t.Fatal(err)
				}
				j, _ := jose.ParseJWS(tok)
				wantTyp := map[Version]string{V1: TypJWT, V2: TypVCJWT}[ver]
				if j.Header.Type != wantTyp {
					t.Fatalf("typ %q, want %q", j.Header.Type, wantTyp)
				}
				got, err := v.Verify(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				if got.Version() != ver || got.CredentialSubject[0]["name"] != "Alice" || !jsonEqual(t, got, c) {
					t.Fatalf("round trip: %s", mustJSON(got))
				}
				// Outside the validity period.
				late := vectorVerifier(t, WithClock(at(t0.Add(2*time.Hour))))
				if _, err := late.Verify(ctx, tok); !errors.Is(err, ErrExpired) {
					t.Fatalf("expired: %v", err)
				}
				early := vectorVerifier(t, WithClock(at(t0.Add(-2*time.Hour))))
				if _, err := early.Verify(ctx, tok); !errors.Is(err, ErrNotYetValid) {
					t.Fatalf("not yet valid: %v", err)
				}
			})
		}
	}
}

func TestIssuerBinding(t *testing.T) {
	ctx := context.Background()
	v := vectorVerifier(t)
	alice, mallory := bearer(t, jose.Ed25519), bearer(t, jose.Ed25519)
	c, _ := New(alice.String(), Subject{"id": "did:example:x"})
	if _, err := c.Sign(ctx, mallory); !errors.Is(err, ErrInvalidCredential) {
		t.Fatalf("signing another issuer's credential: %v", err)
	}
	// Mallory signs a credential claiming Alice as issuer, with Mallory's key: rejected.
	s, _ := mallory.Signer(ctx)
	payload, _ := json.Marshal(v1Claims{Claims: jose.Claims{Issuer: alice.String()}, VC: c})
	forged, _ := jose.SignJWS(ctx, s, payload, jose.WithType("JWT"))
	if _, err := v.Verify(ctx, forged); !errors.Is(err, did.ErrNotAuthorized) {
		t.Fatalf("kid of another DID: %v", err)
	}
	// An ES256K header over Alice's Ed25519 signature.
	as, _ := alice.Signer(ctx)
	good, _ := c.Sign(ctx, alice)
	parts := strings.Split(good, ".")
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256K", "kid": as.KeyID(), "typ": "JWT"})
	input := b64(hdr) + "." + parts[1]
	sig, _ := alice.KeyManager.Sign(ctx, mustKeyID(t, alice), []byte(input))
	if _, err := v.Verify(ctx, input+"."+b64(sig)); !errors.Is(err, jose.ErrAlgorithmMismatch) {
		t.Fatalf("ES256K over Ed25519: %v", err)
	}
	for _, alg := range []string{"none", "HS256"} {
		hdr, _ := json.Marshal(map[string]string{"alg": alg, "kid": as.KeyID(), "typ": "JWT"})
		tok := b64(hdr) + "." + parts[1] + "." + parts[2]
		if _, err := v.Verify(ctx, tok); !errors.Is(err, jose.ErrUnsupportedAlgorithm) {
			t.Fatalf("alg %s: %v", alg, err)
		}
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustKeyID(t *testing.T, b *did.BearerDID) string {
	id, ok := b.KeyID(b.Document.VerificationMethod[0].ID)
	if !ok {
		t.Fatal("no key")
	}
	return id
}

func TestPresentationBothVersions(t *testing.T) {
	ctx := context.Background()
	v := vectorVerifier(t, WithAudience("did:example:verifier"))
	issuer, holder := bearer(t, jose.Ed25519), bearer(t, jose.Secp256k1)
	for _, ver := range []Version{V1, V2} {
		t.Run(ver.String(), func(t *testing.T) {
			c, _ := New(issuer.String(), Subject{"id": holder.String(), "age": 42}, WithVersion(ver))
			tok, _ := c.Sign(ctx, issuer)
			p, err := NewPresentation(holder.String(), []string{tok}, WithPresentationVersion(ver), WithProperty("presentation_submission", map[string]string{"id": "s"}))
			if err != nil {
				t.Fatal(err)
			}
			vp, err := p.Sign(ctx, holder, WithAudienceClaim("did:example:verifier"), WithNonce("n-123"), ExpiresIn(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			got, creds, err := v.VerifyPresentation(ctx, vp, ExpectNonce("n-123"))
			if err != nil {
				t.Fatal(err)
			}
			if got.Holder != holder.String() || len(creds) != 1 || creds[0].CredentialSubject[0]["age"] != float64(42) || got.Extra["presentation_submission"] == nil {
				t.Fatalf("%+v %+v", got, creds)
			}
			if _, _, err := v.VerifyPresentation(ctx, vp, ExpectNonce("other")); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("wrong nonce: %v", err)
			}
			other := vectorVerifier(t, WithAudience("did:example:someone-else"))
			if _, _, err := other.VerifyPresentation(ctx, vp); err == nil {
				t.Fatal("presentation for another audience accepted")
			}
			// The issuer cannot present as the holder.
			if _, err := p.Sign(ctx, issuer); !errors.Is(err, ErrInvalidCredential) {
				t.Fatalf("presenting as someone else: %v", err)
			}
		})
	}
	// A presentation carrying a tampered credential fails as a whole.
	c, _ := New(issuer.String(), Subject{"id": holder.String()})
	tok, _ := c.Sign(ctx, issuer)
	bad := tok[:len(tok)-4] + "AAAA"
	p, _ := NewPresentation(holder.String(), []string{bad})
	vp, _ := p.Sign(ctx, holder, WithAudienceClaim("did:example:verifier"))
	if _, _, err := v.VerifyPresentation(ctx, vp); !errors.Is(err, jose.ErrInvalidSignature) {
		t.Fatalf("tampered credential in presentation: %v", err)
	}
}

// statusServer serves status list credentials from a map, counting fetches.
type statusServer struct {
	lists   map[string]string
	fetches atomic.Int64
}

func (s *statusServer) FetchStatusList(_ context.Context, url string) (string, error) {
	s.fetches.Add(1)
	tok, ok := s.lists[url]
	if !ok {
		return "", errors.New("404")
	}
	return tok, nil
}

func TestStatusListRevocation(t *testing.T) {
	ctx := context.Background()
	issuer, other := bearer(t, jose.Ed25519), bearer(t, jose.Ed25519)
	for _, ver := range []Version{V1, V2} {
		t.Run(ver.String(), func(t *testing.T) {
			const url = "https://status.example/list/1"
			srv := &statusServer{lists: map[string]string{}}
			v := vectorVerifier(t, WithStatusCheck(srv))
			list := NewStatusList(0)
			if list.Len() != MinStatusListSize {
				t.Fatalf("len %d", list.Len())
			}
			publish := func(l *StatusList, by *did.BearerDID, purpose string) {
				lc, err := NewStatusListCredential(ver, by.String(), url, purpose, l, t0)
				if err != nil {
					t.Fatal(err)
				}
				srv.lists[url], err = lc.Sign(ctx, by)
				if err != nil {
					t.Fatal(err)
				}
			}
			cred := func(index int, purpose string) string {
				c, err := New(issuer.String(), Subject{"id": "did:example:x"}, WithVersion(ver), WithStatus(NewStatusEntry(ver, url, index, purpose)))
				if err != nil {
					t.Fatal(err)
				}
				tok, _ := c.Sign(ctx, issuer)
				return tok
			}
			publish(list, issuer, PurposeRevocation)
			if _, err := v.Verify(ctx, cred(94567, PurposeRevocation)); err != nil {
				t.Fatalf("not revoked: %v", err)
			}
			_ = list.Set(94567, true)
			publish(list, issuer, PurposeRevocation)
			_, err := v.Verify(ctx, cred(94567, PurposeRevocation))
			var se *StatusError
			if !errors.Is(err, ErrRevoked) || !errors.As(err, &se) || se.Index != 94567 {
				t.Fatalf("revoked: %v", err)
			}
			if _, err := v.Verify(ctx, cred(94566, PurposeRevocation)); err != nil {
				t.Fatalf("neighbour entry: %v", err)
			}
			// Suspension list.
			publish(list, issuer, PurposeSuspension)
			if _, err := v.Verify(ctx, cred(94567, PurposeSuspension)); !errors.Is(err, ErrSuspended) {
				t.Fatalf("suspended: %v", err)
			}
			// Purpose mismatch, list from another issuer, index out of range, missing list.
			if _, err := v.Verify(ctx, cred(1, PurposeRevocation)); !errors.Is(err, ErrStatus) {
				t.Fatalf("purpose mismatch: %v", err)
			}
			publish(list, other, PurposeRevocation)
			if _, err := v.Verify(ctx, cred(1, PurposeRevocation)); !errors.Is(err, ErrStatus) {
				t.Fatalf("list from another issuer: %v", err)
			}
			publish(list, issuer, PurposeRevocation)
			if _, err := v.Verify(ctx, cred(MinStatusListSize, PurposeRevocation)); !errors.Is(err, ErrStatus) {
				t.Fatalf("index out of range: %v", err)
			}
			delete(srv.lists, url)
			if _, err := v.Verify(ctx, cred(1, PurposeRevocation)); !errors.Is(err, ErrStatus) {
				t.Fatalf("unreachable list: %v", err)
			}
			// Without WithStatusCheck, status is not looked at.
			if _, err := vectorVerifier(t).Verify(ctx, cred(94567, PurposeRevocation)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStatusListEncoding(t *testing.T) {
	l := NewStatusList(0)
	for _, i := range []int{0, 7, 8, 131071} {
		_ = l.Set(i, true)
	}
	for _, v := range []Version{V1, V2} {
		enc, err := l.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if (v == V2) != strings.HasPrefix(enc, "u") {
			t.Fatalf("%s: multibase prefix: %s", v, enc[:4])
		}
		back, err := DecodeStatusList(enc)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 1, 6, 7, 8, 9, 131070, 131071} {
			got, _ := back.Get(i)
			want := i == 0 || i == 7 || i == 8 || i == 131071
			if got != want {
				t.Fatalf("%s: entry %d = %v", v, i, got)
			}
		}
	}
	if l.bits[0] != 0x81 || l.bits[1] != 0x80 {
		t.Fatalf("bit order: %08b %08b (entry 0 is the leftmost bit)", l.bits[0], l.bits[1])
	}
	// The BitstringStatusList example: a 16 KiB list with nothing set.
	empty := "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
	el, err := DecodeStatusList(empty)
	if err != nil || el.Len() != MinStatusListSize {
		t.Fatalf("spec example list: %v", err)
	}
	for _, bad := range []string{"u!!!", "uAAAA", ""} {
		if _, err := DecodeStatusList(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
	if err := l.Set(-1, true); err == nil {
		t.Fatal("negative index")
	}
}

func TestSchemaCheck(t *testing.T) {
	ctx := context.Background()
	issuer := bearer(t, jose.Ed25519)
	const schemaURL = "https://schemas.example/email.json"
	var loads atomic.Int64
	loader := SchemaLoaderFunc(func(_ context.Context, url string) ([]byte, error) {
		loads.Add(1)
		if url != schemaURL {
			return nil, errors.New("not found")
		}
		return []byte(`{
			"$schema": "https://json-schema.org/draft/2020-12/schema",
			"type": "object",
			"properties": {"credentialSubject": {"type": "object", "required": ["email"],
				"properties": {"email": {"type": "string", "pattern": "^[^@]+@[^@]+$"}}}},
			"required": ["credentialSubject"]}`), nil
	})
	v := vectorVerifier(t, WithSchemaCheck(loader))
	sign := func(sub Subject, schemaType string) string {
		c, err := New(issuer.String(), sub, WithSchema(schemaURL, schemaType))
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := c.Sign(ctx, issuer)
		return tok
	}
	if _, err := v.Verify(ctx, sign(Subject{"email": "a@b.example"}, TypeJsonSchema)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, sign(Subject{"email": "not-an-email"}, TypeJsonSchema)); !errors.Is(err, ErrSchema) {
		t.Fatalf("pattern: %v", err)
	}
	if _, err := v.Verify(ctx, sign(Subject{"name": "x"}, TypeJsonSchema2023)); !errors.Is(err, ErrSchema) {
		t.Fatalf("required: %v", err)
	}
	if _, err := v.Verify(ctx, sign(Subject{"email": "a@b.example"}, "ZkpSchema")); !errors.Is(err, ErrSchema) {
		t.Fatalf("unknown schema type: %v", err)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d schema loads, want 1 (compiled once)", n)
	}
}

func TestDataModelRules(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"@context":          []any{ContextV2},
			"type":              []any{"VerifiableCredential"},
			"issuer":            map[string]any{"id": "did:example:issuer", "name": "Issuer"},
			"credentialSubject": []any{map[string]any{"id": "did:example:a"}, map[string]any{"id": "did:example:b"}},
			"credentialStatus":  map[string]any{"type": "BitstringStatusListEntry"},
			"validFrom":         "2025-01-01T00:00:00Z",
			"name":              "A credential",
		}
	}
	raw, _ := json.Marshal(base())
	c, err := ParseCredential(raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != V2 || c.Issuer.Extra["name"] == nil || len(c.CredentialSubject) != 2 || c.Extra["name"] != "A credential" {
		t.Fatalf("%+v", c)
	}
	out, _ := json.Marshal(c)
	if !jsonEqual(t, json.RawMessage(out), json.RawMessage(raw)) {
		t.Fatalf("round trip\n got %s\nwant %s", out, raw)
	}
	bad := map[string]func(m map[string]any){
		"issuanceDate in 2.0":   func(m map[string]any) { m["issuanceDate"] = "2025-01-01T00:00:00Z" },
		"validUntil < from":     func(m map[string]any) { m["validUntil"] = "2024-01-01T00:00:00Z" },
		"date without zone":     func(m map[string]any) { m["validFrom"] = "2025-01-01T00:00:00" },
		"subject id not URI":    func(m map[string]any) { m["credentialSubject"] = map[string]any{"id": "alice"} },
		"empty subject list":    func(m map[string]any) { m["credentialSubject"] = []any{} },
		"status without type":   func(m map[string]any) { m["credentialStatus"] = map[string]any{"id": "https://x"} },
		"schema without id":     func(m map[string]any) { m["credentialSchema"] = map[string]any{"type": "JsonSchema"} },
		"numeric name":          func(m map[string]any) { m["name"] = 5 },
		"context not URL":       func(m map[string]any) { m["@context"] = []any{ContextV2, "not a url"} },
		"context number":        func(m map[string]any) { m["@context"] = []any{ContextV2, 5} },
		"type not strings":      func(m map[string]any) { m["type"] = []any{"VerifiableCredential", 5} },
		"subject not an object": func(m map[string]any) { m["credentialSubject"] = "did:example:a" },
	}
	for name, f := range bad {
		m := base()
		f(m)
		raw, _ := json.Marshal(m)
		if _, err := ParseCredential(raw); !errors.Is(err, ErrInvalidCredential) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, s := range []string{``, `[]`, `"x"`, `{`, `null`} {
		if _, err := ParseCredential([]byte(s)); !errors.Is(err, ErrInvalidCredential) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	before := time.Now().UTC().Truncate(time.Second)
	c, err := New("did:example:issuer", Subject{"name": "x"}, WithContext("https://www.w3.org/2018/credentials/examples/v1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "urn:uuid:") || len(c.ID) != 45 || c.IssuanceDate.Before(before) || c.IssuanceDate.After(time.Now()) || c.Version() != V1 || len(c.Context) != 2 {
		t.Fatalf("%+v", c)
	}
	if c, err := New("did:example:issuer", Subject{"name": "x"}, ValidFrom(t0)); err != nil || !c.IssuanceDate.Equal(t0) {
		t.Fatalf("ValidFrom: %+v %v", c, err)
	}
	if _, err := New("not a uri", Subject{}); !errors.Is(err, ErrInvalidCredential) {
		t.Fatal(err)
	}
	if _, err := NewVerifier(nil); !errors.Is(err, ErrInvalidOption) {
		t.Fatal(err)
	}
}

// Invalid options are *OptionError values naming the option, from the call that takes them.
func TestOptionsValidated(t *testing.T) {
	r, err := did.NewResolver(did.WithMethods(didkey.New()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	issuer, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	cred, _ := New(issuer.String(), Subject{"id": "did:example:bob"})
	for _, c := range []struct {
		name   string
		err    func() error
		option string
	}{
		{"nil clock", func() error { _, err := NewVerifier(r, WithClock(nil)); return err }, "WithClock"},
		{"negative leeway", func() error { _, err := NewVerifier(r, WithLeeway(-time.Second)); return err }, "WithLeeway"},
		{"nil verifier option", func() error { _, err := NewVerifier(r, nil); return err }, "VerifierOption"},
		{"nil credential option", func() error { _, err := New(issuer.String(), Subject{}, nil); return err }, "Option"},
		{"nil sign option", func() error { _, err := cred.Sign(ctx, issuer, nil); return err }, "SignOption"},
		{"negative ExpiresIn", func() error {
			p, _ := NewPresentation(issuer.String(), nil)
			_, err := p.Sign(ctx, issuer, ExpiresIn(-time.Minute))
			return err
		}, "ExpiresIn"},
		{"property that is not JSON", func() error {
			_, err := NewPresentation(issuer.String(), nil, WithProperty("x", make(chan int)))
			return err
		}, "WithProperty"},
		{"nil presentation check", func() error {
			v, _ := NewVerifier(r)
			_, _, err := v.VerifyPresentation(ctx, "x", nil)
			return err
		}, "PresentationCheck"},
		{"invalid fetcher option", func() error { _, err := HTTPStatusLists(netguard.WithTimeout(-1)); return err }, "netguard.WithTimeout"},
	} {
		err := c.err()
		var oe *OptionError
		if !errors.Is(err, ErrInvalidOption) || !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("%s: %v, want an *OptionError naming %s", c.name, err, c.option)
		}
	}
	// The signing time is the token's iat.
	tok, err := cred.Sign(ctx, issuer, WithIssuedAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := jose.ParseJWT(tok)
	if !j.Claims.IssuedAt.Equal(t0) {
		t.Fatalf("iat %v, want %v", j.Claims.IssuedAt, t0)
	}
}

func TestVerifyWithDIDJWKHolder(t *testing.T) {
	// Subjects named by other methods verify the same way.
	ctx := context.Background()
	issuer, err := didjwk.Create(ctx, jose.NewMemoryKeyManager(), jose.P256)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := New(issuer.String(), Subject{"id": "did:example:x"}, WithVersion(V2))
	tok, _ := c.Sign(ctx, issuer)
	if _, err := vectorVerifier(t).Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
}

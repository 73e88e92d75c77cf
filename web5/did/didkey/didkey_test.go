package didkey

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didtest"
	"github.com/anya-org/anya-go/web5/internal/multikey"
	"github.com/anya-org/anya-go/web5/jose"
)

func TestConformance(t *testing.T) {
	// Ed25519 did:keys of the identity point and of a non-canonical encoding (y = p).
	identity, nonCanonical := make([]byte, 32), bytes.Repeat([]byte{0xff}, 32)
	identity[0] = 1
	nonCanonical[0], nonCanonical[31] = 0xed, 0x7f
	badEd := func(raw []byte) string {
		mb, err := multikey.Encode(jose.Ed25519, raw)
		if err != nil {
			t.Fatal(err)
		}
		return "did:key:" + mb
	}
	didtest.Run(t, didtest.Harness{
		Method: New(),
		Existing: []string{
			"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY",
			"did:key:zQ3shkpavjKRewoBk6arPJnhA87ZzhLDEWgVvZKNHK6QqVJDB",
			"did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
			"did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc",
			"did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9",                          // P-384
			"did:key:z2J9gaYxrKVpdoG9A4gRnmpnRCcxU6agDtFVVBVdn1JedouoZN7SzcyREXXzWgt3gGiwpoHq7K68X4m32D8HgzG8wv3sY5j7", // P-521
		},
		Invalid: []string{
			"did:key:abc",   // not base58btc multibase
			"did:key:z6Mk",  // too short
			"did:key:z0OIl", // not base58
			"did:key:zQ3sh111111111111111111111111111111111111111111111",                     // secp256k1 point not on the curve
			"did:key:z3tE9wVuJwDuJe4JdNGiSJgHjzxcN81hYjpub3YRabQca8HuDNYafHADL2iwhJZkW6wgcf", // bls12_381-g1-pub (0xea): a codec jose has no key type for
			badEd(identity),     // the Ed25519 identity point
			badEd(nonCanonical), // y = p: a non-canonical encoding of y = 0
		},
	})
}

// Keys from the did:key specification's examples (w3c-ccg/did-method-key) and from the
// web5-spec credentials vectors (did:key issuers with the JWK next to them).
func TestKnownKeys(t *testing.T) {
	cases := []struct {
		did  string
		crv  jose.Curve
		x, y string
	}{
		{"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY", jose.Ed25519, "DzpSEyU0w1Myn3lA_piHAI6OrFAnZuEsTwMUPCTwMc8", ""},
		{"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", jose.Ed25519, "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik", ""},
		{"did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169", jose.P256, "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI", "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU"},
		{"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", jose.Secp256k1, "h0wVx_2iDlOcblulc8E5iEw1EYh5n1RYtLQfeSTyNc0", "O2EATIGbu6DezKFptj5scAIRntgfecanVNXxat1rnwE"},
	}
	for _, c := range cases {
		doc, err := Expand(did.MustParse(c.did))
		if err != nil {
			t.Fatalf("%s: %v", c.did, err)
		}
		k := doc.VerificationMethod[0].PublicKeyJwk
		if k.Curve != c.crv || k.X != c.x || k.Y != c.y {
			t.Errorf("%s: got %s %s %s", c.did, k.Curve, k.X, k.Y)
		}
		back, err := FromPublicKey(*k)
		if err != nil || back.String() != c.did {
			t.Errorf("%s: FromPublicKey = %s %v", c.did, back, err)
		}
	}
}

func TestCreateSignsResolvable(t *testing.T) {
	ctx := context.Background()
	r, err := did.NewResolver(did.WithMethods(New()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []jose.Curve{jose.Ed25519, jose.Secp256k1, jose.P256, jose.P384, jose.P521} {
		b, err := Create(ctx, jose.NewMemoryKeyManager(), c)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := b.SignJWT(ctx, jose.Claims{Issuer: b.String()})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.VerifyJWT(ctx, tok); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	x, err := Create(ctx, jose.NewMemoryKeyManager(), jose.X25519)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := Expand(x.DID)
	if len(doc.KeyAgreement) != 1 || len(doc.AssertionMethod) != 0 || len(doc.VerificationMethod) != 1 {
		t.Fatalf("X25519 relationships: %+v", doc)
	}
	// An Ed25519 did:key also agrees keys, with the X25519 key derived from its key; the
	// bearer DID holds no private key for that one, and signs with its Ed25519 key.
	ed, err := Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	if len(ed.Document.VerificationMethod) != 2 || len(ed.Document.KeyAgreement) != 1 {
		t.Fatalf("Ed25519 document: %+v", ed.Document)
	}
	if _, ok := ed.KeyID(ed.Document.KeyAgreement[0]); ok {
		t.Fatal("the derived key agreement key is bound to a key of the key manager")
	}
	plain, err := Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519, WithEncryptionKeyDerivation(false))
	if err != nil || len(plain.Document.VerificationMethod) != 1 || len(plain.Document.KeyAgreement) != 0 {
		t.Fatalf("Ed25519 without derivation: %+v %v", plain, err)
	}
	// A resolver without derivation resolves the same DID to the plain document.
	res, err := New(WithEncryptionKeyDerivation(false)).Resolve(ctx, ed.DID)
	if err != nil || len(res.Document.VerificationMethod) != 1 {
		t.Fatalf("resolver without derivation: %+v %v", res, err)
	}
	if _, err := x.Signer(ctx); !errors.Is(err, did.ErrNoSigningKey) {
		t.Fatalf("X25519 signer: %v", err)
	}
}

func BenchmarkResolve(b *testing.B) {
	ctx := context.Background()
	d := did.MustParse("did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY")
	uncached, _ := did.NewResolver(did.WithMethods(New()), did.WithoutCache())
	cached, _ := did.NewResolver(did.WithMethods(New()))
	b.Run("method", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (Resolver{}).Resolve(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resolver-uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := uncached.Resolve(ctx, d.String()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resolver-cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cached.Resolve(ctx, d.String()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

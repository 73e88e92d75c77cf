package didkey

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
)

// vectorFile is testdata/did-method-key/vectors.json: the did:key specification's test
// vectors (see the README there for their provenance).
type vectorFile struct {
	Ed25519X25519 []struct {
		DID                string
		Seed               string
		PublicKeyBase58    string
		KeyAgreement       string
		KeyAgreementBase58 string
	} `json:"ed25519-x25519"`
	Ed25519JWK []struct {
		DID           string
		X             string
		KeyAgreement  string
		KeyAgreementX string
	} `json:"ed25519-jwk"`
	Secp256k1 []struct {
		DID              string
		Seed             string
		PublicKeyBase58  string
		PrivateKeyBase58 string
	} `json:"secp256k1"`
	X25519 []struct {
		DID             string
		PublicKeyBase58 string
	} `json:"x25519"`
	NIST []struct {
		DID string
		JWK jose.JWK
	} `json:"nist-curves"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/did-method-key/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// relationships returns the fragments of doc's methods listed under each relationship.
func relationships(doc *did.Document) map[did.Relationship][]string {
	out := map[did.Relationship][]string{}
	for _, r := range did.AllRelationships() {
		for _, ref := range doc.Relationship(r) {
			out[r] = append(out[r], doc.AbsoluteRef(ref)[len(doc.ID)+1:])
		}
	}
	return out
}

func rawX(t *testing.T, k *jose.JWK) []byte {
	t.Helper()
	raw, err := k.PublicKeyBytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

var signing = []did.Relationship{did.Authentication, did.AssertionMethod, did.CapabilityInvocation, did.CapabilityDelegation}

func TestSpecVectors(t *testing.T) {
	v := loadVectors(t)
	ctx := context.Background()

	t.Run("ed25519-x25519", func(t *testing.T) {
		for _, c := range v.Ed25519X25519 {
			d := did.MustParse(c.DID)
			doc, err := Expand(d)
			if err != nil {
				t.Fatalf("%s: %v", c.DID, err)
			}
			if len(doc.VerificationMethod) != 2 {
				t.Fatalf("%s: %d methods, want the key and its derived X25519 key", c.DID, len(doc.VerificationMethod))
			}
			rels := relationships(doc)
			for _, r := range signing {
				if !slices.Equal(rels[r], []string{d.ID}) {
					t.Errorf("%s: %s = %v", c.DID, r, rels[r])
				}
			}
			if !slices.Equal(rels[did.KeyAgreement], []string{c.KeyAgreement}) {
				t.Errorf("%s: keyAgreement = %v, want %s", c.DID, rels[did.KeyAgreement], c.KeyAgreement)
			}
			x := doc.VerificationMethod[1].PublicKeyJwk
			if c.KeyAgreementBase58 != "" && (x.Curve != jose.X25519 || string(rawX(t, x)) != string(base58.Decode(c.KeyAgreementBase58))) {
				t.Errorf("%s: derived key %s", c.DID, x)
			}
			if c.PublicKeyBase58 != "" && string(rawX(t, doc.VerificationMethod[0].PublicKeyJwk)) != string(base58.Decode(c.PublicKeyBase58)) {
				t.Errorf("%s: key %s", c.DID, doc.VerificationMethod[0].PublicKeyJwk)
			}
			if c.Seed != "" {
				seed, _ := hex.DecodeString(c.Seed)
				pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
				back, err := FromPublicKey(jose.JWK{KeyType: jose.KeyTypeOKP, Curve: jose.Ed25519, X: b64(pub)})
				if err != nil || back != d {
					t.Errorf("%s: the DID of seed %s is %s (%v)", c.DID, c.Seed, back, err)
				}
			}
			// Without derivation, the document has the Ed25519 key alone.
			plain, err := Expand(d, WithEncryptionKeyDerivation(false))
			if err != nil || len(plain.VerificationMethod) != 1 || len(plain.KeyAgreement) != 0 {
				t.Errorf("%s without derivation: %+v %v", c.DID, plain, err)
			}
		}
		for _, c := range v.Ed25519JWK {
			doc, err := Expand(did.MustParse(c.DID))
			if err != nil {
				t.Fatal(err)
			}
			if k := doc.VerificationMethod[0].PublicKeyJwk; k.X != c.X {
				t.Errorf("%s: x %s, want %s", c.DID, k.X, c.X)
			}
			if k := doc.VerificationMethod[1].PublicKeyJwk; k.X != c.KeyAgreementX || doc.VerificationMethod[1].ID != c.DID+"#"+c.KeyAgreement {
				t.Errorf("%s: key agreement %s %s", c.DID, doc.VerificationMethod[1].ID, k.X)
			}
		}
	})

	t.Run("secp256k1", func(t *testing.T) {
		for _, c := range v.Secp256k1 {
			d := did.MustParse(c.DID)
			doc, err := Expand(d)
			if err != nil {
				t.Fatalf("%s: %v", c.DID, err)
			}
			rels := relationships(doc)
			for _, r := range append(slices.Clone(signing), did.KeyAgreement) {
				if !slices.Equal(rels[r], []string{d.ID}) {
					t.Errorf("%s: %s = %v", c.DID, r, rels[r])
				}
			}
			if string(rawX(t, doc.VerificationMethod[0].PublicKeyJwk)) != string(base58.Decode(c.PublicKeyBase58)) {
				t.Errorf("%s: key %s", c.DID, doc.VerificationMethod[0].PublicKeyJwk)
			}
			seed, _ := hex.DecodeString(c.Seed)
			if string(seed) != string(base58.Decode(c.PrivateKeyBase58)) {
				t.Errorf("%s: seed and private key differ", c.DID)
			}
			_, pub := btcec.PrivKeyFromBytes(seed)
			if string(pub.SerializeCompressed()) != string(base58.Decode(c.PublicKeyBase58)) {
				t.Errorf("%s: the private key is not the key's", c.DID)
			}
		}
	})

	t.Run("x25519", func(t *testing.T) {
		for _, c := range v.X25519 {
			d := did.MustParse(c.DID)
			doc, err := Expand(d)
			if err != nil {
				t.Fatalf("%s: %v", c.DID, err)
			}
			rels := relationships(doc)
			if len(rels) != 1 || !slices.Equal(rels[did.KeyAgreement], []string{d.ID}) {
				t.Errorf("%s: relationships %v, want keyAgreement only", c.DID, rels)
			}
			if string(rawX(t, doc.VerificationMethod[0].PublicKeyJwk)) != string(base58.Decode(c.PublicKeyBase58)) {
				t.Errorf("%s: key %s", c.DID, doc.VerificationMethod[0].PublicKeyJwk)
			}
		}
	})

	t.Run("nist-curves", func(t *testing.T) {
		r, err := did.NewResolver(did.WithMethods(New()))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range v.NIST {
			d := did.MustParse(c.DID)
			doc, err := Expand(d)
			if err != nil {
				t.Fatalf("%s: %v", c.DID, err)
			}
			k := doc.VerificationMethod[0].PublicKeyJwk
			if k.Curve != c.JWK.Curve || k.X != c.JWK.X || k.Y != c.JWK.Y || k.Algorithm != jose.AlgorithmFor(c.JWK.Curve) {
				t.Errorf("%s: key %s, want %s", c.DID, k, c.JWK.Public())
			}
			rels := relationships(doc)
			for _, r := range append(slices.Clone(signing), did.KeyAgreement) {
				if !slices.Equal(rels[r], []string{d.ID}) {
					t.Errorf("%s: %s = %v", c.DID, r, rels[r])
				}
			}
			if back, err := FromPublicKey(c.JWK); err != nil || back != d {
				t.Errorf("%s: FromPublicKey = %s %v", c.DID, back, err)
			}
			// The published private key signs as the DID, and the signature verifies
			// through resolution.
			km := jose.NewMemoryKeyManager()
			if _, err := km.ImportKey(ctx, c.JWK); err != nil {
				t.Fatalf("%s: %v", c.DID, err)
			}
			b, err := did.NewBearerDID(ctx, doc, km, nil)
			if err != nil {
				t.Fatalf("%s: %v", c.DID, err)
			}
			tok, err := b.SignJWT(ctx, jose.Claims{Issuer: c.DID})
			if err != nil {
				t.Fatalf("%s: %v", c.DID, err)
			}
			_, vm, err := r.VerifyJWT(ctx, tok)
			if err != nil || vm.Controller != c.DID {
				t.Errorf("%s: verify: %v", c.DID, err)
			}
		}
	})
}

func b64(b []byte) string {
	k, _ := jose.PublicJWK(jose.Ed25519, b)
	return k.X
}

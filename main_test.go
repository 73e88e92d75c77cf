package anya_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	if os.Getenv(distChildEnv) != "" {
		os.Exit(distChild())
	}
	goleak.VerifyTestMain(m)
}

// fixedDID returns a did:key (Ed25519) derived from name: the same DID and key in every run
// and every process.
func fixedDID(name string) (*did.BearerDID, error) {
	ctx := context.Background()
	seed := sha256.Sum256([]byte("anya test identity " + name))
	priv := ed25519.NewKeyFromSeed(seed[:])
	b64 := base64.RawURLEncoding
	jwk := jose.JWK{KeyType: jose.KeyTypeOKP, Curve: jose.Ed25519, X: b64.EncodeToString(priv.Public().(ed25519.PublicKey)),
		D: b64.EncodeToString(seed[:])}
	km := jose.NewMemoryKeyManager()
	if _, err := km.ImportKey(ctx, jwk); err != nil {
		return nil, err
	}
	d, err := didkey.FromPublicKey(jwk.Public())
	if err != nil {
		return nil, err
	}
	doc, err := didkey.Expand(d)
	if err != nil {
		return nil, err
	}
	return did.NewBearerDID(ctx, doc, km, nil)
}

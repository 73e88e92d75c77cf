package jose_test

import (
	"context"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/internal/apitest"
	"github.com/anya-org/anya-go/web5/jose"
)

// Zero values are usable (MemoryKeyManager) or plain data whose methods do not panic.
func TestZeroValues(t *testing.T) {
	apitest.Zeros(t, ".",
		apitest.Zero{Value: new(jose.MemoryKeyManager), Args: map[string][]any{"GenerateKey": {jose.Ed25519}}},
		apitest.Zero{Value: new(jose.JWK), Args: map[string][]any{"UnmarshalJSON": {[]byte(`{}`)}}},
		apitest.Zero{Value: new(jose.JWS)},
		apitest.Zero{Value: new(jose.JWT), Args: map[string][]any{"DecodeClaims": {new(jose.Claims)}}},
		apitest.Zero{Value: new(jose.Claims)},
		apitest.Zero{Value: new(jose.NumericDate), Args: map[string][]any{"UnmarshalJSON": {[]byte(`1`)}, "In": {time.UTC}}},
	)
	var km jose.MemoryKeyManager
	id, err := km.GenerateKey(context.Background(), jose.P521)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := km.Sign(context.Background(), id, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

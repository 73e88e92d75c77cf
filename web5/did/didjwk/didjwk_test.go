package didjwk

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didtest"
	"github.com/anya-org/anya-go/web5/internal/vectors"
	"github.com/anya-org/anya-go/web5/jose"
)

func TestVectorsResolve(t *testing.T) {
	r, err := did.NewResolver(did.WithMethods(New()))
	if err != nil {
		t.Fatal(err)
	}
	vectors.Run(t, "testdata/web5-spec/did_jwk/resolve.json", 3, func(t *testing.T, v vectors.Vector) {
		var in string
		vectors.Decode(t, v.Input, &in)
		res, err := r.Resolve(context.Background(), in)
		if v.Errors != (err != nil) {
			t.Fatalf("err %v, errors %v", err, v.Errors)
		}
		got, _ := json.Marshal(res)
		assertSameJSON(t, got, v.Output)
	})
}

// assertSameJSON compares two JSON values structurally.
func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestConformance(t *testing.T) {
	didtest.Run(t, didtest.Harness{
		Method: New(),
		Existing: []string{
			"did:jwk:eyJrdHkiOiJPS1AiLCJ1c2UiOiJzaWciLCJjcnYiOiJFZDI1NTE5Iiwia2lkIjoiVnRTSFhQbEtEdzFFRW9PajVYTjNYV2hqU1BZVk52WC1lNHZqUk8weVlKQSIsIngiOiJpejcwc3ZTTHhOWmhzRHhlSlFfam5PVmJYM0tGTmtjQmNNaldqWm1YRXNBIiwiYWxnIjoiRWREU0EifQ",
			"did:jwk:eyJrdHkiOiJFQyIsInVzZSI6InNpZyIsImNydiI6InNlY3AyNTZrMSIsImtpZCI6ImkzU1BSQnRKS292SEZzQmFxTTkydGk2eFFDSkxYM0U3WUNld2lIVjJDU2ciLCJ4IjoidmRyYnoyRU96dmJMRFZfLWtMNGVKdDdWSS04VEZaTm1BOVlnV3p2aGg3VSIsInkiOiJWTEZxUU1aUF9Bc3B1Y1hvV1gyLWJHWHBBTzFmUTVMbjE5VjVSQXhyZ3ZVIiwiYWxnIjoiRVMyNTZLIn0",
		},
		Invalid: []string{
			"did:jwk:hehe",
			"did:jwk:eyJrdHkiOiJPS1AifQ", // {"kty":"OKP"}: no curve
			"did:jwk:W10",                // []
			"did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwieCI6IkFBQUEifQ", // x too short
		},
	})
}

func TestCreateAndRelationships(t *testing.T) {
	ctx := context.Background()
	for _, c := range []jose.Curve{jose.Ed25519, jose.Secp256k1, jose.P256, jose.P384, jose.P521, jose.X25519} {
		b, err := Create(ctx, jose.NewMemoryKeyManager(), c)
		if err != nil {
			t.Fatal(err)
		}
		doc := b.Document
		if c == jose.X25519 {
			if len(doc.KeyAgreement) != 1 || len(doc.Authentication) != 0 {
				t.Fatalf("X25519: %+v", doc)
			}
			continue
		}
		if len(doc.KeyAgreement) != 0 || len(doc.AssertionMethod) != 1 {
			t.Fatalf("%s: %+v", c, doc)
		}
	}
	// Without use, the spec lists the key under all five relationships.
	k := jose.JWK{KeyType: "EC", Curve: jose.P256, X: "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI", Y: "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU"}
	d, _ := FromPublicKey(k)
	doc, err := Expand(d)
	if err != nil || len(doc.KeyAgreement) != 1 || len(doc.CapabilityDelegation) != 1 {
		t.Fatalf("%+v %v", doc, err)
	}
	// A did:jwk with a private key is refused outright.
	priv, _ := json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"})
	if _, err := Expand(did.DID{Method: Method, ID: b64.EncodeToString(priv)}); !errors.Is(err, did.ErrInvalidDID) {
		t.Fatalf("private did:jwk: %v", err)
	}
}

package did_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/internal/apitest"
)

// Every exported type's zero value is either usable or answers every method with a
// *NotConstructedError naming its constructor; none panics.
func TestZeroValues(t *testing.T) {
	const kid = "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"
	apitest.Zeros(t, ".",
		apitest.Zero{Value: new(did.Resolver), NotConstructed: did.ErrNotConstructed, Args: map[string][]any{
			"Resolve":            {"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"},
			"Dereference":        {kid},
			"VerificationMethod": {kid, did.AssertionMethod},
		}},
		apitest.Zero{Value: new(did.BearerDID), NotConstructed: did.ErrNotConstructed, Args: map[string][]any{
			"SignJWS": {[]byte("x")},
			"SignJWT": {map[string]any{"iss": "did:example:x"}},
		}},
		apitest.Zero{Value: new(did.MemoryCache), Args: map[string][]any{"Set": {"k", &did.Result{}, time.Minute}}},
		apitest.Zero{Value: new(did.SharedCache), Args: map[string][]any{"Set": {"k", &did.Result{}, time.Minute}}},
		apitest.Zero{Value: new(did.DID)},
		apitest.Zero{Value: new(did.URL)},
		apitest.Zero{Value: new(did.Document), Args: map[string][]any{"UnmarshalJSON": {[]byte(`{}`)}}},
		apitest.Zero{Value: new(did.VerificationMethod)},
		apitest.Zero{Value: new(did.Service)},
		apitest.Zero{Value: new(did.Result), Args: map[string][]any{"UnmarshalJSON": {[]byte(`{}`)}}},
		apitest.Zero{Value: new(did.PortableDID)},
	)

	// The usable zero values work.
	ctx := context.Background()
	var c did.MemoryCache
	c.Set(ctx, "k", &did.Result{}, time.Minute)
	if _, ok := c.Get(ctx, "k"); !ok || c.Len() != 1 {
		t.Fatal("a zero MemoryCache does not cache")
	}
	// The error of a zero Resolver names the constructor and is a resolution error.
	var r did.Resolver
	res, err := r.Resolve(ctx, "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY")
	var ne *did.NotConstructedError
	var re *did.ResolutionError
	if !errors.As(err, &ne) || ne.Constructor != "did.NewResolver" || !errors.As(err, &re) || res == nil || res.ResolutionMetadata.Error != did.CodeInternalError {
		t.Fatalf("zero Resolver: %v %+v", err, res)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

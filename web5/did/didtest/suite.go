package didtest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
)

// Harness describes a method resolver under test.
type Harness struct {
	// Method is the resolver under test.
	Method did.MethodResolver
	// Existing are DIDs of the method that must resolve (at least one).
	Existing []string
	// Missing is a well-formed DID of the method that does not exist and must fail with
	// notFound. Leave it empty for methods where every well-formed DID resolves.
	Missing string
	// Invalid are DIDs of the method that are malformed for it and must fail with
	// invalidDid or invalidPublicKey.
	Invalid []string
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Method == nil || len(h.Existing) == 0 {
		t.Fatal("didtest: Harness needs a Method and at least one Existing DID")
	}
	ctx := context.Background()
	name := h.Method.Method()

	t.Run("MethodName", func(t *testing.T) {
		if _, err := did.Parse("did:" + name + ":x"); err != nil || strings.ContainsRune(name, ':') {
			t.Fatalf("Method() = %q is not a valid method name", name)
		}
	})

	t.Run("ResolveExisting", func(t *testing.T) {
		for _, s := range h.Existing {
			d := did.MustParse(s)
			if d.Method != name {
				t.Fatalf("Existing DID %s is not of method %s", s, name)
			}
			res, err := h.Method.Resolve(ctx, d)
			if err != nil {
				t.Fatalf("resolve %s: %v", s, err)
			}
			checkResult(t, s, res)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		if h.Missing == "" {
			t.Skip("every well-formed DID of this method resolves")
		}
		_, err := h.Method.Resolve(ctx, did.MustParse(h.Missing))
		if !errors.Is(err, did.ErrNotFound) {
			t.Fatalf("resolve %s: %v, want notFound", h.Missing, err)
		}
		wantCode(t, err, did.CodeNotFound)
	})

	t.Run("Invalid", func(t *testing.T) {
		if len(h.Invalid) == 0 {
			t.Skip("no invalid DIDs given")
		}
		for _, s := range h.Invalid {
			d, err := did.Parse(s)
			if err != nil {
				t.Fatalf("Invalid DID %q must be a syntactically valid DID: %v", s, err)
			}
			_, err = h.Method.Resolve(ctx, d)
			if !errors.Is(err, did.ErrInvalidDID) && !errors.Is(err, did.ErrInvalidPublicKey) {
				t.Errorf("resolve %s: %v, want invalidDid or invalidPublicKey", s, err)
			}
			var re *did.ResolutionError
			if !errors.As(err, &re) {
				t.Errorf("resolve %s: %T is not a *did.ResolutionError", s, err)
			}
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := h.Method.Resolve(cctx, did.MustParse(h.Existing[0]))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("resolve with a canceled context: %v, want context.Canceled", err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 8*len(h.Existing))
		for range 8 {
			for _, s := range h.Existing {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := h.Method.Resolve(ctx, did.MustParse(s)); err != nil {
						errs <- err
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("ThroughResolver", func(t *testing.T) {
		r, err := did.NewResolver(did.WithMethods(h.Method), did.WithoutCache())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range h.Existing {
			res, err := r.Resolve(ctx, s)
			if err != nil {
				t.Fatalf("did.Resolver: %v", err)
			}
			for _, vm := range res.Document.VerificationMethod {
				d, err := r.Dereference(ctx, res.Document.AbsoluteRef(vm.ID))
				if err != nil || d.VerificationMethod == nil {
					t.Fatalf("dereference %s: %v", vm.ID, err)
				}
			}
		}
		other := "did:" + name + "x:abc"
		if _, err := r.Resolve(ctx, other); !errors.Is(err, did.ErrMethodNotSupported) {
			t.Fatalf("resolve %s: %v, want methodNotSupported", other, err)
		}
	})
}

func checkResult(t *testing.T, s string, res *did.Result) {
	t.Helper()
	if res == nil || res.Document == nil {
		t.Fatalf("%s: no document", s)
	}
	doc := res.Document
	if doc.ID != s {
		t.Fatalf("%s: document id %q", s, doc.ID)
	}
	if res.ResolutionMetadata.Error != "" {
		t.Fatalf("%s: success with error %q", s, res.ResolutionMetadata.Error)
	}
	if err := doc.Validate(); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	for _, vm := range doc.VerificationMethod {
		u, err := did.ParseURL(doc.AbsoluteRef(vm.ID))
		if err != nil || u.DID.String() != s {
			t.Errorf("%s: verification method %q is not a DID URL of the DID", s, vm.ID)
		}
		if vm.PublicKeyJwk != nil && vm.PublicKeyJwk.IsPrivate() {
			t.Errorf("%s: verification method %q leaks a private key", s, vm.ID)
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("%s: marshal result: %v", s, err)
	}
	var back did.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: unmarshal result: %v", s, err)
	}
	b2, _ := json.Marshal(back)
	if !reflect.DeepEqual(normalize(t, b), normalize(t, b2)) {
		t.Fatalf("%s: result does not survive a JSON round trip:\n%s\n%s", s, b, b2)
	}
}

func normalize(t *testing.T, b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var re *did.ResolutionError
	if !errors.As(err, &re) || re.Code != code {
		t.Fatalf("%v is not a *did.ResolutionError with code %s", err, code)
	}
}

package netguard_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/anya-org/anya-go/web5/internal/apitest"
	"github.com/anya-org/anya-go/web5/netguard"
)

// The zero Client is the default one: usable, and guarded.
func TestZeroValues(t *testing.T) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://127.0.0.1:1/x", nil)
	apitest.Zeros(t, ".", apitest.Zero{Value: new(netguard.Client), Args: map[string][]any{
		"Get":   {"http://127.0.0.1:1/x", ""},
		"Fetch": {req},
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var c netguard.Client
	if _, err := c.Get(context.Background(), srv.URL, ""); !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Fatalf("zero Client reached loopback: %v", err)
	}
	if c.HTTPClient() == nil || c.HTTPClient().Timeout != netguard.DefaultTimeout {
		t.Fatal("zero Client has no default HTTP client")
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

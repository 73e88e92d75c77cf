package diddht_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/internal/apitest"
	"github.com/anya-org/anya-go/web5/jose"
)

func TestZeroValues(t *testing.T) {
	id := "x4mhmiw1ertr5un35g6qrd1wsmcmg9sd3kjeyufqs8t6i3rmkxoy"
	signed := &diddht.Message{V: []byte{0}}
	apitest.Zeros(t, ".",
		apitest.Zero{Value: new(diddht.Client), NotConstructed: did.ErrNotConstructed, Args: map[string][]any{
			"Resolve":    {did.DID{Method: "dht", ID: id}},
			"Publish":    {&did.BearerDID{}},
			"Deactivate": {&did.BearerDID{}},
			"Put":        {id, signed},
			"Get":        {id},
		}},
		apitest.Zero{Value: new(diddht.Gateway), NotConstructed: did.ErrNotConstructed, Args: map[string][]any{
			"ServeHTTP": {httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/"+id, nil)},
			"Store":     {id, signed},
		}},
		apitest.Zero{Value: new(diddht.SQLiteGatewayStore), NotConstructed: did.ErrNotConstructed, Args: map[string][]any{
			"Save": {id, []*diddht.Message{signed}},
		}},
		apitest.Zero{Value: new(diddht.Message)},
		apitest.Zero{Value: new(diddht.Previous)},
		apitest.Zero{Value: new(diddht.Packet)},
	)
	// A zero Gateway answers every request with the error naming its constructor.
	rec := httptest.NewRecorder()
	new(diddht.Gateway).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+id, nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "diddht.NewGateway") {
		t.Fatalf("zero Gateway: %d %s", rec.Code, rec.Body)
	}
}

func TestDocs(t *testing.T) { apitest.Docs(t, ".") }

// The package has one option type for its two constructors: an option of the other one is
// an *did.OptionError naming it, and nil values are refused.
func TestOptionsValidated(t *testing.T) {
	for _, c := range []struct {
		name   string
		build  func() error
		option string
	}{
		{"WithMaxRecords on a Client", func() error { _, err := diddht.NewClient("http://gw.example", diddht.WithMaxRecords(5)); return err }, "WithMaxRecords"},
		{"WithHistory on a Client", func() error { _, err := diddht.NewClient("http://gw.example", diddht.WithHistory(5)); return err }, "WithHistory"},
		{"WithHTTPClient on a Gateway", func() error { _, err := diddht.NewGateway(diddht.WithHTTPClient(http.DefaultClient)); return err }, "WithHTTPClient"},
		{"WithAuthoritativeGateways on a Gateway", func() error { _, err := diddht.NewGateway(diddht.WithAuthoritativeGateways()); return err }, "WithAuthoritativeGateways"},
		{"nil clock", func() error { _, err := diddht.NewGateway(diddht.WithClock(nil)); return err }, "WithClock"},
		{"nil logger", func() error { _, err := diddht.NewClient("http://gw.example", diddht.WithLogger(nil)); return err }, "WithLogger"},
		{"nil HTTP client", func() error { _, err := diddht.NewClient("http://gw.example", diddht.WithHTTPClient(nil)); return err }, "WithHTTPClient"},
		{"zero history", func() error { _, err := diddht.NewGateway(diddht.WithHistory(0)); return err }, "WithHistory"},
		{"not an http URL", func() error { _, err := diddht.NewClient("ftp://gw.example"); return err }, "gatewayURL"},
		{"nil create option", func() error { _, err := diddht.Create(t.Context(), jose.NewMemoryKeyManager(), nil); return err }, "CreateOption"},
	} {
		err := c.build()
		var oe *did.OptionError
		if !errors.Is(err, did.ErrInvalidOption) || !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("%s: %v, want an *OptionError naming %s", c.name, err, c.option)
		}
	}
	// WithClock and WithLogger configure both.
	if _, err := diddht.NewGateway(diddht.WithClock(nil), diddht.WithLogger(slog.Default())); err == nil {
		t.Fatal("nil clock accepted")
	}
	if _, err := diddht.NewClient("http://gw.example", diddht.WithLogger(slog.Default())); err != nil {
		t.Fatal(err)
	}
}

package diddht

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/anya-org/anya-go/web5/jose"
)

// handlerTransport calls an http.Handler in-process, with no sockets.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// BenchmarkCreatePublishResolve measures did:dht create → publish → resolve through the
// in-process gateway: called in-process (no sockets) and over loopback HTTP.
func BenchmarkCreatePublishResolve(b *testing.B) {
	ctx := context.Background()
	gw, _ := NewGateway(WithMaxRecords(1 << 30))
	srv := httptest.NewServer(gw)
	defer srv.Close()
	inproc, _ := NewClient("http://gateway.invalid", WithHTTPClient(&http.Client{Transport: handlerTransport{gw}}))
	loopback, _ := NewClient(srv.URL, WithHTTPClient(srv.Client()))
	for _, c := range []struct {
		name   string
		client *Client
	}{{"in-process", inproc}, {"loopback-http", loopback}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			km := jose.NewMemoryKeyManager()
			for b.Loop() {
				bd, err := Create(ctx, km, WithService("dwn", "DecentralizedWebNode", "https://dwn.example.com"))
				if err != nil {
					b.Fatal(err)
				}
				if err := c.client.Publish(ctx, bd); err != nil {
					b.Fatal(err)
				}
				res, err := c.client.Resolve(ctx, bd.DID)
				if err != nil || res.Document.ID != bd.DID.String() {
					b.Fatal(err)
				}
			}
		})
	}
}

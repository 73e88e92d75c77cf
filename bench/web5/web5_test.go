// Package web5bench measures the Web5 layer against its bars, side by side with the anchor
// in one run: VC-JWT verification (Ed25519 issuer, did:key) against the bare
// ed25519.Verify of the same signature over the same bytes; did:key resolution; did:dht
// create → publish → resolve through the in-process gateway.
package web5bench

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/vc"
)

type fixture struct {
	token    string
	pub      ed25519.PublicKey
	input    []byte
	sig      []byte
	verifier *vc.Verifier
}

func newFixture(b *testing.B) *fixture {
	ctx := context.Background()
	issuer, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		b.Fatal(err)
	}
	c, err := vc.New(issuer.String(), vc.Subject{"id": "did:key:zQ3shkpavjKRewoBk6arPJnhA87ZzhLDEWgVvZKNHK6QqVJDB", "localRespect": "high", "legit": true}, vc.WithType("StreetCred"))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := c.Sign(ctx, issuer)
	if err != nil {
		b.Fatal(err)
	}
	j, _ := jose.ParseJWS(tok)
	k, _ := issuer.Document.VerificationMethod[0].PublicKey()
	raw, _ := k.PublicKeyBytes()
	r, _ := did.NewResolver(did.WithMethods(didkey.New()))
	v, _ := vc.NewVerifier(r)
	f := &fixture{token: tok, pub: raw, input: []byte(j.SigningInput()), sig: j.Signature, verifier: v}
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkVCVerify: impl=ed25519 is the anchor (bare signature check), impl=anya is
// vc.Verifier.Verify of the VC-JWT carrying that signature (parse, resolve the did:key kid
// through the resolver cache, check alg and key, verify, validate the claims and the
// credential). Bar: anya ≥ 0.85× the anchor's throughput.
func BenchmarkVCVerify(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	b.Run("impl=ed25519", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ed25519.Verify(f.pub, f.input, f.sig) {
				b.Fatal("bad signature")
			}
		}
	})
	b.Run("impl=anya", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.verifier.Verify(ctx, f.token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVCVerifyRatio interleaves anchor and vc.Verify one for one and reports the
// throughput ratio from each one's 10th-percentile time, which load from other processes
// barely moves (means do).
func BenchmarkVCVerifyRatio(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	var anchor, verify []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		if !ed25519.Verify(f.pub, f.input, f.sig) {
			b.Fatal("bad signature")
		}
		t1 := time.Now()
		if _, err := f.verifier.Verify(ctx, f.token); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		anchor = append(anchor, t1.Sub(t0))
		verify = append(verify, t2.Sub(t1))
	}
	pa, pv := p10(anchor), p10(verify)
	b.ReportMetric(float64(pa.Nanoseconds()), "anchor-p10-ns")
	b.ReportMetric(float64(pv.Nanoseconds()), "verify-p10-ns")
	b.ReportMetric(float64(pa)/float64(pv), "throughput-ratio")
}

func p10(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/10]
}

// BenchmarkDIDKeyResolve: the method alone, through a resolver without cache, and through
// the default (cached) resolver. Bar: ≤ 5 µs.
func BenchmarkDIDKeyResolve(b *testing.B) {
	ctx := context.Background()
	d := did.MustParse("did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY")
	uncached, _ := did.NewResolver(did.WithMethods(didkey.New()), did.WithoutCache())
	cached, _ := did.NewResolver(did.WithMethods(didkey.New()))
	b.Run("impl=method", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (didkey.Resolver{}).Resolve(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=resolver-uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := uncached.Resolve(ctx, d.String()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=resolver-cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cached.Resolve(ctx, d.String()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// handlerTransport calls the gateway in-process, with no sockets.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// BenchmarkDIDDHT: create (Ed25519 identity key, one service) → publish (BEP44-signed DNS
// packet) → resolve (fetch, verify the signature, decode) through the in-process gateway,
// called in-process and over loopback HTTP. Bar: ≤ 1 ms.
func BenchmarkDIDDHT(b *testing.B) {
	ctx := context.Background()
	gw, _ := diddht.NewGateway(diddht.WithMaxRecords(1 << 30))
	srv := httptest.NewServer(gw)
	defer srv.Close()
	inproc, _ := diddht.NewClient("http://gateway.invalid", diddht.WithHTTPClient(&http.Client{Transport: handlerTransport{gw}}))
	loopback, _ := diddht.NewClient(srv.URL, diddht.WithHTTPClient(srv.Client()))
	for _, c := range []struct {
		name   string
		client *diddht.Client
	}{{"transport=in-process", inproc}, {"transport=loopback-http", loopback}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			km := jose.NewMemoryKeyManager()
			for b.Loop() {
				bd, err := diddht.Create(ctx, km, diddht.WithService("dwn", "DecentralizedWebNode", "https://dwn.example.com"))
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

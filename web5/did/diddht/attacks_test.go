package diddht

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/netguard"
)

// errLog keeps the "err" attributes of the records logged through it.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (h *errLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *errLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *errLog) WithGroup(string) slog.Handler            { return h }
func (h *errLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" {
			h.mu.Lock()
			h.errs = append(h.errs, err)
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

// TestAttacks lists the attacks on did:dht resolution, one named row each: BEP44 items
// altered or signed by another key, packets that break the identity binding or say one
// thing two ways, and documents that point the resolver into the host's own network.
func TestAttacks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	alice := createPublished(t, f)
	stored, err := f.client.Get(ctx, alice.DID.ID)
	if err != nil {
		t.Fatal(err)
	}
	identity, err := IdentityKey(alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := Create(ctx, jose.NewMemoryKeyManager())
	if err != nil {
		t.Fatal(err)
	}
	mallorySigner, _ := mallory.Signer(ctx, did.WithMethod("#0"))
	aliceSigner, _ := alice.Signer(ctx, did.WithMethod("#0"))

	// served resolves alice's DID through a gateway that answers m.
	served := func(t *testing.T, m *Message) error {
		t.Helper()
		body, _ := m.MarshalBinary()
		c, err := NewClient("http://gateway.invalid", WithHTTPClient(&http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Status: "200 OK", Body: ioNopCloser(body), Request: r}, nil
		})}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Resolve(ctx, alice.DID)
		return err
	}
	resign := func(t *testing.T, s jose.Signer, seq int64, v []byte) *Message {
		t.Helper()
		m, err := SignMessage(ctx, s, seq, v)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if err := served(t, stored); err != nil {
		t.Fatalf("the stored record: %v", err)
	}
	for _, tc := range []struct {
		name string
		m    func(t *testing.T) *Message
		want error
	}{
		{"DNS packet changed after signing", func(t *testing.T) *Message {
			m := *stored
			m.V = bytes.Clone(stored.V)
			m.V[len(m.V)-3] ^= 1
			return &m
		}, ErrInvalidSignature},
		{"sequence number changed after signing", func(t *testing.T) *Message {
			m := *stored
			m.Seq++
			return &m
		}, ErrInvalidSignature},
		{"signature bytes changed", func(t *testing.T) *Message {
			m := *stored
			m.Sig[0] ^= 1
			return &m
		}, ErrInvalidSignature},
		{"Alice's packet signed by Mallory's key", func(t *testing.T) *Message {
			return resign(t, mallorySigner, stored.Seq+1, stored.V)
		}, ErrInvalidSignature},
		{"Mallory's record served for Alice's DID", func(t *testing.T) *Message {
			p, _ := packetOf(mallory)
			v, _ := p.Marshal()
			return resign(t, mallorySigner, stored.Seq+1, v)
		}, ErrInvalidSignature},
		{"Mallory's packet signed by Alice's key (k0 is not the identity key)", func(t *testing.T) *Message {
			p, _ := packetOf(mallory)
			v, _ := p.Marshal()
			return resign(t, aliceSigner, stored.Seq+1, v)
		}, ErrInvalidPacket},
		{"root properties in two letter cases", func(t *testing.T) *Message {
			recs, _ := ParseRecords(stored.V)
			for i := range recs {
				if strings.HasPrefix(recs[i].Name, "_did.") {
					recs[i].Data = []string{recs[i].Data[0] + ";VM=k0"}
				}
			}
			v, err := MarshalRecords(recs)
			if err != nil {
				t.Fatal(err)
			}
			return resign(t, aliceSigner, stored.Seq+1, v)
		}, ErrInvalidPacket},
		{"key record in two letter cases", func(t *testing.T) *Message {
			recs, _ := ParseRecords(stored.V)
			var extra Record
			for _, r := range recs {
				if r.Name == "_k0._did." {
					extra = Record{Name: "_K0._DID.", Type: "TXT", TTL: r.TTL, Data: []string{"t=0;k=" + b64.EncodeToString(make([]byte, 32))}}
				}
			}
			v, err := MarshalRecords(append(recs, extra))
			if err != nil {
				t.Fatal(err)
			}
			return resign(t, aliceSigner, stored.Seq+1, v)
		}, ErrInvalidPacket},
		{"key properties in two letter cases", func(t *testing.T) *Message {
			recs, _ := ParseRecords(stored.V)
			for i := range recs {
				if recs[i].Name == "_k0._did." {
					recs[i].Data = []string{recs[i].Data[0] + ";K=" + b64.EncodeToString(make([]byte, 32))}
				}
			}
			v, err := MarshalRecords(recs)
			if err != nil {
				t.Fatal(err)
			}
			return resign(t, aliceSigner, stored.Seq+1, v)
		}, ErrInvalidPacket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m(t)
			if err := served(t, m); !errors.Is(err, tc.want) || !errors.Is(err, did.ErrInternal) {
				t.Fatalf("Resolve: %v, want %v", err, tc.want)
			}
			if err := f.gw.Store(alice.DID.ID, m); err == nil {
				t.Fatal("the gateway stored it")
			}
		})
	}
	t.Run("truncated and oversized items", func(t *testing.T) {
		body, _ := stored.MarshalBinary()
		for _, b := range [][]byte{body[:71], append(body, make([]byte, MaxPacketSize)...)} {
			if _, err := ParseMessage(b); err == nil {
				t.Fatalf("%d bytes accepted", len(b))
			}
		}
	})
	t.Run("verification of the stored item with another identity", func(t *testing.T) {
		if err := stored.Verify(ed25519.PublicKey(make([]byte, 32))); !errors.Is(err, ErrInvalidSignature) {
			t.Fatal(err)
		}
		if err := stored.Verify(identity); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("registration with members in two letter cases", func(t *testing.T) {
		body := `{"did":"did:dht:` + alice.DID.ID + `","DID":"did:dht:` + mallory.DID.ID + `","sig":"","seq":1,"v":""}`
		req, _ := http.NewRequest(http.MethodPut, f.srv.URL+"/did/"+alice.DID.ID, strings.NewReader(body))
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})

	// Authoritative gateways are named by the document: its author chooses them.
	for _, host := range []string{"localhost", "127.0.0.1", "169.254.169.254", "10.0.0.1", "192.168.1.1", "[::1]", "[::ffff:127.0.0.1]", "100.64.0.1"} {
		t.Run("authoritative gateway "+host, func(t *testing.T) {
			log := &errLog{}
			c, err := NewClient(f.srv.URL, WithHTTPClient(f.srv.Client()), WithClock(func() time.Time { return f.now }), WithAuthoritativeGateways(), WithLogger(slog.New(log)))
			if err != nil {
				t.Fatal(err)
			}
			b := createPublished(t, f)
			p, _ := packetOf(b)
			p.Gateways = []string{host}
			v, err := p.Marshal()
			if err != nil {
				t.Skipf("%s is not a name a packet can carry: %v", host, err)
			}
			s, _ := b.Signer(ctx, did.WithMethod("#0"))
			f.now = f.now.Add(time.Second)
			m := resign(t, s, f.now.Unix(), v)
			if err := f.gw.Store(b.DID.ID, m); err != nil {
				t.Fatal(err)
			}
			res, err := c.Resolve(ctx, b.DID)
			if err != nil {
				t.Fatal(err)
			}
			if res.ResolutionMetadata.Gateway != c.Gateway() {
				t.Fatalf("resolved through %s", res.ResolutionMetadata.Gateway)
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			if len(log.errs) != 1 || !errors.Is(log.errs[0], netguard.ErrForbiddenAddress) {
				t.Fatalf("the gateway %s was not refused: %v", host, log.errs)
			}
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func ioNopCloser(b []byte) *nopCloser { return &nopCloser{bytes.NewReader(b)} }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

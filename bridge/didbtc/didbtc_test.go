package didbtc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/didbtc"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/web5test"
)

// roundTrip serves requests with a handler in process.
type roundTrip struct{ h http.Handler }

func (rt roundTrip) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	rt.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// dhtClient returns a did:dht client on net's gateway whose clock moves one second per call,
// so that publishing twice in a row gives increasing sequence numbers.
func dhtClient(t testing.TB, net *web5test.Network) *diddht.Client {
	t.Helper()
	var sec atomic.Int64
	sec.Store(time.Now().Unix())
	c, err := diddht.NewClient("http://gateway.invalid", diddht.WithHTTPClient(&http.Client{Transport: roundTrip{net.Gateway}}),
		diddht.WithClock(func() time.Time { return time.Unix(sec.Add(1), 0) }))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func resolve(t testing.TB, r *did.Resolver, id string) *did.Document {
	t.Helper()
	res, err := r.Resolve(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return res.Document
}

func TestPublishDHT(t *testing.T) {
	ctx := context.Background()
	net := web5test.NewNetwork(t)
	client := dhtClient(t, net)
	b, err := diddht.Create(ctx, jose.NewMemoryKeyManager(), diddht.WithService("dwn", "DecentralizedWebNode", "https://dwn.example"))
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Publish(ctx, b); err != nil {
		t.Fatal(err)
	}
	key := bitcointest.KeyFromSeed("dht identity")
	nb, err := didbtc.Publish(ctx, client, b, key.PubKey(), bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	doc := resolve(t, net.Resolver(t), b.String())
	keys, err := didbtc.Keys(doc, bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	if len(keys) != 1 || !keys[0].PublicKey.IsEqual(key.PubKey()) || keys[0].MethodID != b.String()+"#btc" {
		t.Fatalf("keys %+v", keys)
	}
	if len(keys[0].Claimed) != 1 || !keys[0].Claimed[0].Equal(want) {
		t.Fatalf("claimed %v, want %s", keys[0].Claimed, want)
	}
	if _, ok := doc.FindService("#dwn"); !ok {
		t.Fatal("the service was lost")
	}
	// The identity key still signs as the DID.
	if _, err := nb.SignJWS(ctx, []byte("still me")); err != nil {
		t.Fatal(err)
	}
	// A new key replaces the old one and its did:pkh; the mainnet did:pkh of another
	// publication stays.
	nb, err = didbtc.Publish(ctx, client, nb, key.PubKey(), bitcoin.Mainnet, didbtc.WithAddressType(bitcoin.P2TR))
	if err != nil {
		t.Fatal(err)
	}
	key2 := bitcointest.KeyFromSeed("dht identity 2")
	if _, err := didbtc.Publish(ctx, client, nb, key2.PubKey(), bitcoin.Regtest); err != nil {
		t.Fatal(err)
	}
	doc = resolve(t, net.Resolver(t), b.String())
	keys, err = didbtc.Keys(doc, bitcoin.Regtest)
	if err != nil || len(keys) != 1 || !keys[0].PublicKey.IsEqual(key2.PubKey()) || len(keys[0].Claimed) != 1 {
		t.Fatalf("after rotation: %v %+v", err, keys)
	}
	if len(doc.AlsoKnownAs) != 2 {
		t.Fatalf("alsoKnownAs %v", doc.AlsoKnownAs)
	}
	// The mainnet did:pkh names the old key's address: no key of the document derives it now.
	main, err := didbtc.Keys(doc, bitcoin.Mainnet)
	if err != nil || len(main[0].Claimed) != 0 {
		t.Fatalf("mainnet claims %v %+v", err, main)
	}
}

func TestDerivedDocuments(t *testing.T) {
	ctx := context.Background()
	key := bitcointest.KeyFromSeed("derived")
	for _, method := range []string{"jwk", "key"} {
		t.Run(method, func(t *testing.T) {
			b, err := didbtc.NewDID(ctx, nil, key, method)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := didbtc.Keys(b.Document, bitcoin.Regtest)
			if err != nil || len(keys) != 1 || !keys[0].PublicKey.IsEqual(key.PubKey()) {
				t.Fatalf("%v %+v", err, keys)
			}
			addrs, err := keys[0].Addresses(bitcoin.Regtest)
			if err != nil || len(addrs) != 4 {
				t.Fatalf("%v %v", err, addrs)
			}
			for _, a := range addrs {
				if !keys[0].Owns(a) {
					t.Fatalf("key does not own %s", a)
				}
			}
			same, err := didbtc.AddKey(ctx, b, key.PubKey(), bitcoin.Regtest)
			if err != nil || same != b {
				t.Fatalf("AddKey of the DID's own key: %v", err)
			}
			other := bitcointest.KeyFromSeed("other")
			if _, err := didbtc.AddKey(ctx, b, other.PubKey(), bitcoin.Regtest); !errors.Is(err, didbtc.ErrImmutableDocument) {
				t.Fatalf("another key: %v", err)
			}
			// The DID signs with its Bitcoin key (ES256K).
			s, err := b.Signer(ctx)
			if err != nil || s.Algorithm() != jose.AlgES256K {
				t.Fatalf("signer: %v", err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	key := bitcointest.KeyFromSeed("owner")
	other := bitcointest.KeyFromSeed("someone else")
	mine, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	theirs, _ := bitcoin.NewP2WPKH(other.PubKey(), bitcoin.Regtest)
	mainnetMine, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Mainnet)
	pkh := func(a bitcoin.Address, net bitcoin.Network) string {
		d, err := didpkh.FromAddress(didpkh.ChainOf(net.Params()), a.String())
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	withKey := func(aka ...string) *did.Document {
		b, err := didbtc.NewDID(ctx, nil, key, "jwk")
		if err != nil {
			t.Fatal(err)
		}
		doc := *b.Document
		doc.AlsoKnownAs = aka
		return &doc
	}
	t.Run("a DID without a Bitcoin key", func(t *testing.T) {
		alice := web5test.Alice(t)
		_, err := didbtc.Keys(alice.Document, bitcoin.Regtest)
		var nk *didbtc.NoKeyError
		if !errors.As(err, &nk) || nk.DID != alice.String() || !errors.Is(err, didbtc.ErrNoBitcoinKey) {
			t.Fatalf("got %v", err)
		}
		if _, err := didbtc.Primary(alice.Document, bitcoin.Regtest); !errors.Is(err, didbtc.ErrNoBitcoinKey) {
			t.Fatalf("Primary: %v", err)
		}
	})
	t.Run("a did:pkh account is not a key", func(t *testing.T) {
		d, _ := didpkh.FromAddress(didpkh.Regtest, mine.String())
		res, err := didpkh.New().Resolve(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := didbtc.Keys(res.Document, bitcoin.Regtest); !errors.Is(err, didbtc.ErrNoBitcoinKey) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("claimed address of someone else is ignored", func(t *testing.T) {
		keys, err := didbtc.Keys(withKey(pkh(theirs, bitcoin.Regtest)), bitcoin.Regtest)
		if err != nil || len(keys[0].Claimed) != 0 {
			t.Fatalf("%v %+v", err, keys)
		}
	})
	t.Run("claim on another network is ignored", func(t *testing.T) {
		keys, err := didbtc.Keys(withKey(pkh(mainnetMine, bitcoin.Mainnet)), bitcoin.Regtest)
		if err != nil || len(keys[0].Claimed) != 0 {
			t.Fatalf("%v %+v", err, keys)
		}
	})
	t.Run("duplicate claims count once", func(t *testing.T) {
		p := pkh(mine, bitcoin.Regtest)
		keys, err := didbtc.Keys(withKey(p, p, "did:pkh:bogus", "not a did"), bitcoin.Regtest)
		if err != nil || len(keys[0].Claimed) != 1 {
			t.Fatalf("%v %+v", err, keys)
		}
	})
	t.Run("nil document, bad network", func(t *testing.T) {
		if _, err := didbtc.Keys(nil, bitcoin.Regtest); !errors.Is(err, didbtc.ErrInvalidArgument) {
			t.Fatalf("nil: %v", err)
		}
		if _, err := didbtc.Keys(withKey(), 0); !errors.Is(err, didbtc.ErrInvalidArgument) {
			t.Fatalf("network 0: %v", err)
		}
	})
	t.Run("unsupported method", func(t *testing.T) {
		doc := &did.Document{ID: "did:web:example.com"}
		km := jose.NewMemoryKeyManager()
		kid, _ := km.GenerateKey(ctx, jose.Ed25519)
		pub, _ := km.PublicKey(ctx, kid)
		doc.AddVerificationMethod(did.VerificationMethod{ID: "#0", Type: did.TypeJsonWebKey, Controller: doc.ID, PublicKeyJwk: &pub})
		b, err := did.NewBearerDID(ctx, doc, km, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := didbtc.AddKey(ctx, b, key.PubKey(), bitcoin.Regtest); !errors.Is(err, didbtc.ErrUnsupportedMethod) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("an Ed25519 did:key cannot take a Bitcoin key", func(t *testing.T) {
		b, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
		if _, err := didbtc.AddKey(ctx, b, key.PubKey(), bitcoin.Regtest); !errors.Is(err, didbtc.ErrImmutableDocument) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("address type without a single-key form", func(t *testing.T) {
		b, _ := diddht.Create(ctx, jose.NewMemoryKeyManager())
		if _, err := didbtc.AddKey(ctx, b, key.PubKey(), bitcoin.Regtest, didbtc.WithAddressType(bitcoin.P2WSH)); !errors.Is(err, didbtc.ErrInvalidArgument) {
			t.Fatalf("got %v", err)
		}
		if _, err := didbtc.NewDID(ctx, nil, key, "dht"); !errors.Is(err, didbtc.ErrUnsupportedMethod) {
			t.Fatalf("NewDID dht: %v", err)
		}
		var nilKey *btcec.PrivateKey
		if _, err := didbtc.NewDID(ctx, nil, nilKey, "jwk"); !errors.Is(err, didbtc.ErrInvalidArgument) {
			t.Fatalf("NewDID nil key: %v", err)
		}
	})
}

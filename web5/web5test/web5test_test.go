package web5test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didtest"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/vc"
)

// The fixed DIDs must not change between runs or releases: downstream tests may name them.
func TestFixedDIDsAreStable(t *testing.T) {
	for name, c := range map[string]struct {
		f    func(testing.TB) *did.BearerDID
		want string
	}{
		"Alice":  {Alice, aliceDID},
		"Issuer": {Issuer, issuerDID},
		"Carol":  {Carol, carolDID},
	} {
		a, b := c.f(t), c.f(t)
		if a.String() != b.String() || a.String() != c.want {
			t.Errorf("%s: %s then %s, want %s", name, a, b, c.want)
		}
		if a.KeyManager == b.KeyManager {
			t.Errorf("%s: calls share a key manager", name)
		}
	}
	if b1, b2 := Bob(t), Bob(t); b1.String() != b2.String() || b1.DID.Method != "jwk" {
		t.Error("Bob is not a stable did:jwk")
	}
}

const (
	aliceDID  = "did:key:z6MkrFUB8cnQV6DU6ESLKHJYefs2JR3dxPEiEJCgHm6hYHDZ"
	issuerDID = "did:key:z6MkwPnLSk7agaHZCFCvhgwiikMz7p7KePR5p4RSKLBdHNRC"
	carolDID  = "did:dht:9aw7s3pzrfr3i6to6ak98zk1sbi1am9ejcta7suz9rtrsyyaw7qy"
)

func TestNetwork(t *testing.T) {
	ctx := context.Background()
	n := NewNetwork(t)
	alice, bob, carol, issuer := Alice(t), Bob(t), Carol(t), Issuer(t)
	n.Publish(t, carol)
	web := &did.Document{ID: "did:web:shop.example"}
	n.Serve(web)
	r := n.Resolver(t)
	for _, d := range []string{alice.String(), bob.String(), carol.String(), issuer.String(), web.ID,
		"did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6"} {
		if _, err := r.Resolve(ctx, d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	if _, err := r.Resolve(ctx, "did:web:other.example"); !errors.Is(err, did.ErrNotFound) {
		t.Fatalf("unserved did:web: %v", err)
	}
	// Carol's secp256k1 assertion key issues a credential about Alice; Alice presents it.
	s, err := carol.Signer(ctx)
	if err != nil || s.Algorithm() != jose.AlgEdDSA && s.Algorithm() != jose.AlgES256K {
		t.Fatalf("%v %v", s, err)
	}
	c, _ := vc.New(carol.String(), vc.Subject{"id": alice.String(), "member": true})
	tok, err := c.Sign(ctx, carol, vc.WithSignerOptions(did.WithMethod("#sig")))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := vc.NewPresentation(alice.String(), []string{tok})
	vp, _ := p.Sign(ctx, alice)
	if _, creds, err := n.Verifier(t).VerifyPresentation(ctx, vp); err != nil || len(creds) != 1 {
		t.Fatalf("presentation: %v", err)
	}
}

func TestMethodConformance(t *testing.T) {
	m := NewMethod("example")
	m.Put(&did.Document{ID: "did:example:123"})
	didtest.Run(t, didtest.Harness{Method: m, Existing: []string{"did:example:123"}, Missing: "did:example:456"})
	m.Deactivate("did:example:123")
	res, _ := m.Resolve(context.Background(), did.MustParse("did:example:123"))
	if !res.DocumentMetadata.Deactivated {
		t.Fatal("not deactivated")
	}
	m.Delete("did:example:123")
	if _, err := m.Resolve(context.Background(), did.MustParse("did:example:123")); !errors.Is(err, did.ErrNotFound) {
		t.Fatal(err)
	}
}

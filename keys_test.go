package anya_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/keystore"
)

// A host that restarts keeps its identities: the Manager created them with their keys in its
// key store (encrypted under the host's passphrase), linked and paid from them; a new Manager on
// the same data directory with the same passphrase holds their keys again — it signs as their
// DIDs and with their Bitcoin keys, resolves their did:dht documents from the gateway's stored
// records, trusts the links its own host DID issued, and pays from them. With another passphrase
// it does not start.
func TestIdentitiesSurviveARestart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	opts := func(extra ...anya.Option) []anya.Option {
		return append([]anya.Option{anya.WithDataDir(dir), anya.WithChain(sim)}, extra...)
	}
	pass := anya.WithPassphrase([]byte("correct horse battery staple"))
	m, err := anya.New(opts(pass)...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, m: m, sim: sim, now: time.Now}
	if e.alice, err = m.NewIdentity(ctx); err != nil {
		t.Fatal(err)
	}
	if e.bob, err = m.NewIdentity(ctx); err != nil {
		t.Fatal(err)
	}
	e.mine(1, e.alice)
	e.mine(100, nil)
	e.aliceLink = e.link(e.alice)
	if p := e.pay("before-restart", e.alice, e.bob, 40_000); p.Outcome != anya.OutcomeSent {
		t.Fatalf("payment before the restart: %+v", p)
	}
	host, alice, bob := m.Host().String(), e.alice.String(), e.bob.String()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// Another passphrase, or none, does not open the keys.
	if _, err := anya.New(opts(anya.WithPassphrase([]byte("battery staple")))...); !errors.Is(err, keystore.ErrWrongKey) {
		t.Fatalf("New with another passphrase: %v, want keystore.ErrWrongKey", err)
	}
	if _, err := anya.New(opts(anya.WithKEK(make([]byte, keystore.KEKSize)))...); !errors.Is(err, keystore.ErrWrongKey) {
		t.Fatalf("New with a KEK instead: %v, want keystore.ErrWrongKey", err)
	}
	bare, err := anya.New(opts()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bare.NewIdentity(ctx); !errors.Is(err, anya.ErrNoKeyStore) {
		t.Fatalf("NewIdentity on a data directory without a key store: %v, want ErrNoKeyStore", err)
	}
	if _, err := bare.Identity(alice); !errors.Is(err, anya.ErrUnknownIdentity) {
		t.Fatalf("a Manager without the key store holds alice's keys: %v", err)
	}
	_ = bare.Close()

	m2, err := anya.New(opts(pass)...)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if got := m2.Host().String(); got != host {
		t.Fatalf("the host's DID changed across the restart: %s, was %s", got, host)
	}
	if got := m2.Identities(); !slices.Contains(got, alice) || !slices.Contains(got, bob) {
		t.Fatalf("identities after the restart: %q", got)
	}
	a, err := m2.Identity(alice)
	if err != nil {
		t.Fatal(err)
	}
	// It resolves alice's DID ...
	res, err := m2.Resolver().Resolve(ctx, alice)
	if err != nil || res.Document.ID != alice {
		t.Fatalf("resolve alice after the restart: %+v %v", res, err)
	}
	// ... signs as it ...
	jws, err := a.DID.SignJWS(ctx, []byte("signed after a restart"))
	if err != nil {
		t.Fatal(err)
	}
	if _, vm, err := m2.Resolver().VerifyJWS(ctx, jws); err != nil || vm.Controller != alice {
		t.Fatalf("alice's signature after the restart: %v", err)
	}
	// ... still trusts the link it issued, proves alice's address again with her Bitcoin key ...
	w := &env{t: t, ctx: ctx, m: m2, sim: sim, now: time.Now}
	v, err := m2.Execute(ctx, anya.VerifyLink{DID: alice, Address: a.Address.String()})
	if err != nil || !v.(*anya.LinkVerification).Verified {
		t.Fatalf("alice's link after the restart: %+v %v", v, err)
	}
	w.link(a)
	// ... and pays from her coins.
	b, err := m2.Identity(bob)
	if err != nil {
		t.Fatal(err)
	}
	if p := w.pay("after-restart", a, b, 30_000); p.Outcome != anya.OutcomeSent {
		t.Fatalf("payment after the restart: %+v", p)
	}
	if _, err := m2.Identity("did:dht:unknown"); !errors.Is(err, anya.ErrUnknownIdentity) {
		t.Fatalf("an unknown identity: %v", err)
	}
}

package link_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/link"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/vc"
	"github.com/anya-org/anya-go/web5/web5test"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type party struct {
	id   *did.BearerDID
	key  *btcec.PrivateKey
	addr bitcoin.Address
}

type world struct {
	net      *web5test.Network
	resolver *did.Resolver
	host     *did.BearerDID
	records  *bridge.Records
	book     *bridge.GrantBook
	node     *dwn.Node
	clk      *clock
	alice    *party
	bob      *party
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{net: web5test.NewNetwork(t), clk: &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}, book: &bridge.GrantBook{}}
	w.resolver = w.net.Resolver(t)
	var err error
	if w.node, err = dwn.New(w.resolver); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.node.Close() })
	w.host = web5test.Issuer(t)
	if _, err := bridge.Setup(ctx, w.node, w.host, "", 0, nil); err != nil {
		t.Fatal(err)
	}
	mk := func(id *did.BearerDID, seed string) *party {
		key := bitcointest.KeyFromSeed(seed)
		addr, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
		g, err := bridge.Setup(ctx, w.node, id, w.host.String(), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.book.Add(id.String(), g)
		return &party{id: id, key: key, addr: addr}
	}
	w.alice = mk(web5test.Alice(t), "alice btc")
	w.bob = mk(web5test.Bob(t), "bob btc")
	w.records, _ = bridge.NewRecords(w.node, w.host, bridge.WithGrants(w.book.Lookup))
	return w
}

func (w *world) linker(t *testing.T, opts ...link.Option) *link.Linker {
	t.Helper()
	l, err := link.New(context.Background(), w.host, w.resolver, w.records, bitcoin.Regtest,
		append([]link.Option{link.WithClock(w.clk.Now), link.WithChallengeKey([]byte("a challenge key of 32 bytes....."))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// proof answers a challenge on both sides.
func proof(t *testing.T, l *link.Linker, p *party) link.Proof {
	t.Helper()
	ch, err := l.Challenge(p.id.String(), p.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, p, ch)
}

func sign(t *testing.T, p *party, ch string) link.Proof {
	t.Helper()
	sig, err := bitcoin.SignMessage(p.key, p.addr, ch)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.id.Signer(context.Background(), did.ForRelationship(did.Authentication))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.SignJWS(context.Background(), s, []byte(ch))
	if err != nil {
		t.Fatal(err)
	}
	return link.Proof{DID: p.id.String(), Address: p.addr.String(), Challenge: ch, BIP322: sig, JWS: jws}
}

func TestLinkVerifyRevoke(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	l := w.linker(t)
	lk, err := l.Link(ctx, proof(t, l, w.alice))
	if err != nil {
		t.Fatal(err)
	}
	if lk.Method != w.alice.id.Document.VerificationMethod[0].ID || !lk.LinkedAt.Equal(w.clk.Now().Truncate(time.Second)) || lk.RecordID == "" {
		t.Fatalf("link %+v", lk)
	}
	// Stored in Alice's store.
	recs, err := w.records.Query(ctx, w.alice.id.String(), bridge.PathLink, dwn.Filter{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("%v %d", err, len(recs))
	}
	got, err := l.Verify(ctx, lk.Credential, w.alice.id.String(), w.alice.addr.String())
	if err != nil || got.Method != lk.Method || got.StatusIndex != lk.StatusIndex {
		t.Fatalf("verify: %v %+v", err, got)
	}
	// Reverse lookup: the same address linked to two DIDs.
	w.bob.key, w.bob.addr = w.alice.key, w.alice.addr
	if _, err := l.Link(ctx, proof(t, l, w.bob)); err != nil {
		t.Fatal(err)
	}
	dids := l.Index().DIDs(w.alice.addr.String())
	if len(dids) != 2 || dids[0] != w.alice.id.String() || dids[1] != w.bob.id.String() {
		t.Fatalf("DIDs of the address %v", dids)
	}
	if got := l.Index().Owners(w.alice.addr.PkScript()); len(got) != 2 {
		t.Fatalf("owners %v", got)
	}
	if a := l.Index().Addresses(w.bob.id.String()); len(a) != 1 || a[0] != w.alice.addr.String() {
		t.Fatalf("addresses of bob %v", a)
	}
	meta := l.Index().Lookup(w.alice.addr.String())
	if meta[0].Method == "" || meta[0].LinkedAt.IsZero() || meta[0].Credential != "" {
		t.Fatalf("metadata %+v", meta[0])
	}

	// Revoke Alice's link: its credential fails on the next verification, at once.
	if err := l.Revoke(ctx, w.alice.id.String(), w.alice.addr.String()); err != nil {
		t.Fatal(err)
	}
	_, err = l.Verify(ctx, lk.Credential, w.alice.id.String(), w.alice.addr.String())
	if !errors.Is(err, link.ErrRevoked) || !errors.Is(err, vc.ErrRevoked) {
		t.Fatalf("revoked link verified: %v", err)
	}
	if dids := l.Index().DIDs(w.alice.addr.String()); len(dids) != 1 || dids[0] != w.bob.id.String() {
		t.Fatalf("after revocation %v", dids)
	}
	if err := l.Revoke(ctx, w.alice.id.String(), w.alice.addr.String()); !errors.Is(err, link.ErrNotLinked) {
		t.Fatalf("second revocation: %v", err)
	}

	// A restarted host reloads the list and the links: the revocation holds.
	l2 := w.linker(t)
	if err := l2.Load(ctx, w.alice.id.String(), w.bob.id.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := l2.Verify(ctx, lk.Credential, w.alice.id.String(), w.alice.addr.String()); !errors.Is(err, link.ErrRevoked) {
		t.Fatalf("after restart: %v", err)
	}
	if dids := l2.Index().DIDs(w.alice.addr.String()); len(dids) != 1 || dids[0] != w.bob.id.String() {
		t.Fatalf("reloaded index %v", dids)
	}
	// New links after the restart take fresh revocation entries.
	w.alice.key = bitcointest.KeyFromSeed("alice second")
	w.alice.addr, _ = bitcoin.NewP2WPKH(w.alice.key.PubKey(), bitcoin.Regtest)
	lk3, err := l2.Link(ctx, proof(t, l2, w.alice))
	if err != nil || lk3.StatusIndex != 2 {
		t.Fatalf("%v %+v", err, lk3)
	}
}

// Attacks on a link proof: each row is refused with the check that catches it.
func TestLinkAttacks(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	l := w.linker(t)
	carol := web5test.Carol(t)
	w.net.Publish(t, carol)
	mallory := bitcointest.KeyFromSeed("mallory")
	good := func() link.Proof { return proof(t, l, w.alice) }
	rows := []struct {
		name string
		p    func() link.Proof
		want error
	}{
		{"challenge for another DID", func() link.Proof {
			p := good()
			p.DID = w.bob.id.String()
			return p
		}, link.ErrChallenge},
		{"challenge for another address", func() link.Proof {
			p := good()
			p.Address = w.bob.addr.String()
			return p
		}, link.ErrChallenge},
		{"forged nonce", func() link.Proof {
			p := good()
			i := strings.LastIndex(p.Challenge, "Nonce: ")
			return sign(t, w.alice, p.Challenge[:i]+"Nonce: "+strings.Repeat("0", 64))
		}, link.ErrChallenge},
		{"not canonical", func() link.Proof {
			p := good()
			return sign(t, w.alice, p.Challenge+"\n")
		}, link.ErrChallenge},
		{"issued by another linker", func() link.Proof {
			other, _ := link.New(ctx, w.host, w.resolver, w.records, bitcoin.Regtest, link.WithClock(w.clk.Now))
			ch, _ := other.Challenge(w.alice.id.String(), w.alice.addr.String())
			return sign(t, w.alice, ch)
		}, link.ErrChallenge},
		{"address signature by another key", func() link.Proof {
			p := good()
			p.BIP322, _ = bitcoin.SignMessage(mallory, w.alice.addr, p.Challenge)
			return p
		}, link.ErrProof},
		{"address signature of other bytes", func() link.Proof {
			p := good()
			p.BIP322, _ = bitcoin.SignMessage(w.alice.key, w.alice.addr, "something else")
			return p
		}, link.ErrProof},
		{"JWS by another DID", func() link.Proof {
			p := good()
			p.JWS = sign(t, w.bob, p.Challenge).JWS
			return p
		}, link.ErrProof},
		{"JWS over other bytes", func() link.Proof {
			p := good()
			s, _ := w.alice.id.Signer(ctx, did.ForRelationship(did.Authentication))
			p.JWS, _ = jose.SignJWS(ctx, s, []byte("other"))
			return p
		}, link.ErrProof},
		{"JWS by a key not listed under authentication", func() link.Proof {
			key := bitcointest.KeyFromSeed("carol addr")
			addr, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
			ch, _ := l.Challenge(carol.String(), addr.String())
			bip, _ := bitcoin.SignMessage(key, addr, ch)
			s, _ := carol.Signer(ctx, did.WithMethod("#sig")) // assertionMethod only
			jws, _ := jose.SignJWS(ctx, s, []byte(ch))
			return link.Proof{DID: carol.String(), Address: addr.String(), Challenge: ch, BIP322: bip, JWS: jws}
		}, link.ErrProof},
		{"no JWS", func() link.Proof { p := good(); p.JWS = ""; return p }, link.ErrProof},
		{"no address signature", func() link.Proof { p := good(); p.BIP322 = ""; return p }, link.ErrProof},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := l.Link(ctx, r.p())
			var ce *link.CheckError
			if !errors.Is(err, r.want) || !errors.As(err, &ce) {
				t.Fatalf("got %v, want %v", err, r.want)
			}
		})
	}
	t.Run("expired challenge", func(t *testing.T) {
		p := good()
		w.clk.Add(link.DefaultChallengeTTL + time.Second)
		defer w.clk.Add(-(link.DefaultChallengeTTL + time.Second))
		if _, err := l.Link(ctx, p); !errors.Is(err, link.ErrChallenge) {
			t.Fatalf("got %v", err)
		}
	})
	if got := l.Index().DIDs(w.alice.addr.String()); len(got) != 0 {
		t.Fatalf("a refused proof was indexed: %v", got)
	}
	if recs, _ := w.records.Query(ctx, w.alice.id.String(), bridge.PathLink, dwn.Filter{}); len(recs) != 0 {
		t.Fatalf("a refused proof was stored: %d", len(recs))
	}
}

// Attacks on a presented credential.
func TestVerifyAttacks(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	l := w.linker(t)
	lk, err := l.Link(ctx, proof(t, l, w.alice))
	if err != nil {
		t.Fatal(err)
	}
	a, addr := w.alice.id.String(), w.alice.addr.String()
	t.Run("for another DID", func(t *testing.T) {
		if _, err := l.Verify(ctx, lk.Credential, w.bob.id.String(), addr); !errors.Is(err, link.ErrCredential) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("for another address", func(t *testing.T) {
		if _, err := l.Verify(ctx, lk.Credential, a, w.bob.addr.String()); !errors.Is(err, link.ErrCredential) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("altered payload", func(t *testing.T) {
		parts := strings.Split(lk.Credential, ".")
		parts[1] = parts[1][:len(parts[1])-2] + "AA"
		if _, err := l.Verify(ctx, strings.Join(parts, "."), a, addr); !errors.Is(err, link.ErrCredential) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("issued by someone the verifier does not trust", func(t *testing.T) {
		rogue := web5test.Carol(t)
		w.net.Publish(t, rogue)
		if _, err := bridge.Setup(ctx, w.node, rogue, "", 0, nil); err != nil {
			t.Fatal(err)
		}
		g, err := bridge.Setup(ctx, w.node, w.alice.id, rogue.String(), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		var rb bridge.GrantBook
		rb.Add(a, g)
		rr, _ := bridge.NewRecords(w.node, rogue, bridge.WithGrants(rb.Lookup))
		rl, err := link.New(ctx, rogue, w.resolver, rr, bitcoin.Regtest, link.WithClock(w.clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		ch, _ := rl.Challenge(a, addr)
		p := sign(t, w.alice, ch)
		rogueLink, err := rl.Link(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Verify(ctx, rogueLink.Credential, a, addr); !errors.Is(err, link.ErrCredential) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		w.clk.Add(link.DefaultValidity + time.Hour)
		defer w.clk.Add(-(link.DefaultValidity + time.Hour))
		if _, err := l.Verify(ctx, lk.Credential, a, addr); !errors.Is(err, link.ErrCredential) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOptions(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for name, opt := range map[string]link.Option{
		"WithChallengeKey": link.WithChallengeKey([]byte("short")),
		"WithClock":        link.WithClock(nil),
		"WithChallengeTTL": link.WithChallengeTTL(0),
		"WithValidity":     link.WithValidity(-1),
		"WithStatusList":   link.WithStatusList("", 10),
		"WithLogger":       link.WithLogger(nil),
	} {
		var oe *link.OptionError
		if _, err := link.New(ctx, w.host, w.resolver, w.records, bitcoin.Regtest, opt); !errors.As(err, &oe) || oe.Option != name {
			t.Errorf("%s: %v", name, err)
		}
	}
	l := w.linker(t)
	if _, err := l.Challenge("not a did", w.alice.addr.String()); !errors.Is(err, link.ErrInvalidArgument) {
		t.Errorf("bad DID: %v", err)
	}
	main, _ := bitcoin.NewP2WPKH(w.alice.key.PubKey(), bitcoin.Mainnet)
	if _, err := l.Challenge(w.alice.id.String(), main.String()); !errors.Is(err, link.ErrInvalidArgument) {
		t.Errorf("mainnet address: %v", err)
	}
}

// Proofs from outside never panic: every refusal is a typed *CheckError.
func FuzzLinkProof(f *testing.F) {
	ctx := context.Background()
	key := bitcointest.KeyFromSeed("fuzz")
	addr, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	alice := web5test.Alice(f)
	r, _ := did.NewResolver(did.WithMethods(didkey.New()))
	rs := &nopRecords{}
	l, err := link.New(ctx, web5test.Issuer(f), r, rs, bitcoin.Regtest, link.WithChallengeKey([]byte("a challenge key of 32 bytes.....")))
	if err != nil {
		f.Fatal(err)
	}
	ch, _ := l.Challenge(alice.String(), addr.String())
	sig, _ := bitcoin.SignMessage(key, addr, ch)
	f.Add(ch, sig, "eyJhbGciOiJFZERTQSJ9.e30.AAAA")
	f.Add("anya two-way address link\nDID: x\nAddress: y\nIssued: z\nNonce: n", "", "")
	f.Fuzz(func(t *testing.T, challenge, bip322, jws string) {
		_, err := l.Link(ctx, link.Proof{DID: alice.String(), Address: addr.String(), Challenge: challenge, BIP322: bip322, JWS: jws})
		var ce *link.CheckError
		if err == nil || !errors.As(err, &ce) {
			t.Fatalf("got %v", err)
		}
	})
}

// nopRecords stores nothing: the fuzzed proofs never get that far.
type nopRecords struct{}

func (nopRecords) Create(context.Context, string, string, any, ...bridge.WriteOption) (*dwn.Record, error) {
	return &dwn.Record{ID: "x"}, nil
}
func (nopRecords) UpdateIfLatest(context.Context, string, *dwn.Record, any) (*dwn.Record, error) {
	return &dwn.Record{ID: "x"}, nil
}
func (nopRecords) Query(context.Context, string, string, dwn.Filter) ([]*dwn.Record, error) {
	return nil, nil
}

// Two linkers of one issuer on one records store (two hosts), both started before any link:
// each hands out entries of the revocation list the other did not, sees the other's
// revocations at once, keeps them when it writes the list, and finds the other's links by DID
// (Refresh, and Revoke of a link its index does not hold).
func TestLinkSharedStore(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a, b := w.linker(t, link.WithSharedStore(true)), w.linker(t, link.WithSharedStore(true))
	alice, bob := w.alice.id.String(), w.bob.id.String()
	lkA, err := a.Link(ctx, proof(t, a, w.alice))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(ctx, lkA.Credential, alice, w.alice.addr.String()); err != nil {
		t.Fatalf("B does not verify A's link: %v", err)
	}
	if got := b.Index().Addresses(alice); len(got) != 0 {
		t.Fatalf("B's index holds %v before it read Alice's store", got)
	}
	if err := b.Refresh(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if got := b.Index().DIDs(w.alice.addr.String()); len(got) != 1 || got[0] != alice {
		t.Fatalf("B's index after Refresh: %v", got)
	}
	// B's challenge, answered, links on A too (one challenge key), and B's links take entries A
	// did not hand out.
	lkB, err := b.Link(ctx, proof(t, b, w.bob))
	if err != nil {
		t.Fatal(err)
	}
	if lkB.StatusIndex == lkA.StatusIndex {
		t.Fatalf("B handed out A's revocation entry %d again", lkA.StatusIndex)
	}
	// A revokes Alice's link: B refuses it at once.
	if err := a.Revoke(ctx, alice, w.alice.addr.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(ctx, lkA.Credential, alice, w.alice.addr.String()); !errors.Is(err, link.ErrRevoked) {
		t.Fatalf("B after A revoked: %v", err)
	}
	_, token := b.StatusList()
	if fetched, err := b.FetchStatusList(ctx, "urn:anya:links:"+w.host.String()+":revocations"); err != nil || fetched != token {
		t.Fatalf("FetchStatusList: %v (the list B holds changed under it)", err)
	}
	// A revokes Bob's link, which only B indexed: A finds it in Bob's store. B's Alice
	// revocation written before stays.
	if err := a.Revoke(ctx, bob, w.bob.addr.String()); err != nil {
		t.Fatalf("A revoking B's link: %v", err)
	}
	for name, l := range map[string]*link.Linker{"A": a, "B": b} {
		if _, err := l.Verify(ctx, lkB.Credential, bob, w.bob.addr.String()); !errors.Is(err, link.ErrRevoked) {
			t.Errorf("%s verifies Bob's revoked link: %v", name, err)
		}
		if _, err := l.Verify(ctx, lkA.Credential, alice, w.alice.addr.String()); !errors.Is(err, link.ErrRevoked) {
			t.Errorf("%s verifies Alice's revoked link: %v", name, err)
		}
	}
	// Refresh drops what was revoked elsewhere; a revocation already made is not an error.
	if err := b.Refresh(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if got := b.Index().Addresses(alice); len(got) != 0 {
		t.Fatalf("B's index keeps Alice's revoked link: %v", got)
	}
	if err := b.Revoke(ctx, bob, w.bob.addr.String()); err != nil {
		t.Fatalf("B revoking what A revoked: %v", err)
	}
	// A third linker sharing the store hands out the next entry after both.
	c := w.linker(t, link.WithSharedStore(true))
	w.alice.key = bitcointest.KeyFromSeed("alice third")
	w.alice.addr, _ = bitcoin.NewP2WPKH(w.alice.key.PubKey(), bitcoin.Regtest)
	lkC, err := c.Link(ctx, proof(t, c, w.alice))
	if err != nil || lkC.StatusIndex == lkA.StatusIndex || lkC.StatusIndex == lkB.StatusIndex {
		t.Fatalf("third linker: %v %+v", err, lkC)
	}
	if _, err := a.Verify(ctx, lkC.Credential, alice, w.alice.addr.String()); err != nil {
		t.Fatalf("A verifying the third linker's link: %v", err)
	}
}

// Without WithSharedStore, a linker is the list's only writer: Revoke of a link its index
// does not hold is ErrNotLinked without a look at the store.
func TestLinkNotShared(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a, b := w.linker(t), w.linker(t)
	if _, err := a.Link(ctx, proof(t, a, w.alice)); err != nil {
		t.Fatal(err)
	}
	if err := b.Revoke(ctx, w.alice.id.String(), w.alice.addr.String()); !errors.Is(err, link.ErrNotLinked) {
		t.Fatalf("revoke of a link the index lacks: %v", err)
	}
}

// Linkers of one issuer that take their entries from one counter (WithEntries) give links made
// at the same moment distinct entries: revoking one leaves the others verifying.
func TestLinkEntries(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	var (
		mu      sync.Mutex
		counter int
	)
	next := func(_ context.Context, floor int) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		e := max(counter, floor)
		counter = e + 1
		return e, nil
	}
	linkers := []*link.Linker{w.linker(t, link.WithSharedStore(true), link.WithEntries(next)),
		w.linker(t, link.WithSharedStore(true), link.WithEntries(next))}
	parties, links := linkAtOnce(t, w, linkers, 6, "alice entry ")
	if err := linkers[0].Revoke(ctx, w.alice.id.String(), parties[1].addr.String()); err != nil {
		t.Fatal(err)
	}
	for i, lk := range links {
		_, err := linkers[1].Verify(ctx, lk.Credential, w.alice.id.String(), parties[i].addr.String())
		if revoked := errors.Is(err, link.ErrRevoked); revoked != (i == 1) || (err != nil && !revoked) {
			t.Errorf("link %d (entry %d) after revoking link 1: %v", i, lk.StatusIndex, err)
		}
	}
	// A counter that fails fails the link, which stores nothing.
	broken := w.linker(t, link.WithEntries(func(context.Context, int) (int, error) { return 0, errors.New("counter down") }))
	if _, err := broken.Link(ctx, proof(t, broken, w.bob)); err == nil || !strings.Contains(err.Error(), "counter down") {
		t.Fatalf("link with a failing counter: %v", err)
	}
	if recs, err := w.records.Query(ctx, w.bob.id.String(), bridge.PathLink, dwn.Filter{}); err != nil || len(recs) != 0 {
		t.Fatalf("bob's links after a failed link: %d %v", len(recs), err)
	}
}

// Linkers sharing a store that link and revoke at the same moment, each from what it last
// read of the revocation list (its own counter, no WithEntries): no entry is handed out twice
// and no revocation is lost — each write of the list is a compare-and-set on the version read,
// and the one that loses reads the list again, merges and writes again. A linker started
// afterwards refuses exactly the revoked links.
func TestLinkSharedStoreRace(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	linkers := []*link.Linker{w.linker(t, link.WithSharedStore(true)), w.linker(t, link.WithSharedStore(true)),
		w.linker(t, link.WithSharedStore(true))}
	parties, links := linkAtOnce(t, w, linkers, 9, "alice race ")
	var wg sync.WaitGroup
	// Every linker revokes one link at the same moment (each finds it in Alice's store).
	revoked := map[int]bool{0: true, 4: true, 8: true}
	for i := range revoked {
		l := linkers[(i+1)%len(linkers)]
		wg.Go(func() {
			if err := l.Revoke(ctx, w.alice.id.String(), parties[i].addr.String()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	late := w.linker(t, link.WithSharedStore(true))
	for _, l := range append(linkers, late) {
		for i, lk := range links {
			_, err := l.Verify(ctx, lk.Credential, w.alice.id.String(), parties[i].addr.String())
			if got := errors.Is(err, link.ErrRevoked); got != revoked[i] || (err != nil && !got) {
				t.Errorf("link %d (entry %d, revoked %v): %v", i, lk.StatusIndex, revoked[i], err)
			}
		}
	}
}

// countingRecords counts the reads of the revocation list.
type countingRecords struct {
	link.Records
	mu    sync.Mutex
	lists int
}

func (c *countingRecords) Query(ctx context.Context, tenant, path string, f dwn.Filter) ([]*dwn.Record, error) {
	if path == bridge.PathStatusList {
		c.mu.Lock()
		c.lists++
		c.mu.Unlock()
	}
	return c.Records.Query(ctx, tenant, path, f)
}

// A linker sharing the store loads many stored links with one read of the revocation list, and
// leaves out those revoked in it.
func TestLinkLoadReadsListOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a := w.linker(t, link.WithSharedStore(true))
	const n = 5
	parties := make([]*party, n)
	for i := range n {
		key := bitcointest.KeyFromSeed("alice load " + string(rune('a'+i)))
		addr, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
		parties[i] = &party{id: w.alice.id, key: key, addr: addr}
		if _, err := a.Link(ctx, proof(t, a, parties[i])); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Revoke(ctx, w.alice.id.String(), parties[2].addr.String()); err != nil {
		t.Fatal(err)
	}
	counted := &countingRecords{Records: w.records}
	b, err := link.New(ctx, w.host, w.resolver, counted, bitcoin.Regtest, link.WithClock(w.clk.Now),
		link.WithChallengeKey([]byte("a challenge key of 32 bytes.....")), link.WithSharedStore(true))
	if err != nil {
		t.Fatal(err)
	}
	counted.lists = 0
	if err := b.Load(ctx, w.alice.id.String()); err != nil {
		t.Fatal(err)
	}
	if counted.lists != 1 {
		t.Fatalf("Load of %d links read the revocation list %d times, want 1", n, counted.lists)
	}
	if got := b.Index().Addresses(w.alice.id.String()); len(got) != n-1 || slices.Contains(got, parties[2].addr.String()) {
		t.Fatalf("loaded %v: want the %d links but the revoked one", got, n-1)
	}
}

// linkAtOnce links n addresses of Alice's (keys from seed) at the same moment, through the
// linkers in turn, and checks that no revocation list entry was handed out twice.
func linkAtOnce(t *testing.T, w *world, linkers []*link.Linker, n int, seed string) ([]*party, []*link.Link) {
	t.Helper()
	ctx := context.Background()
	parties := make([]*party, n)
	links := make([]*link.Link, n)
	var wg sync.WaitGroup
	for i := range n {
		key := bitcointest.KeyFromSeed(seed + string(rune('a'+i)))
		addr, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
		parties[i] = &party{id: w.alice.id, key: key, addr: addr}
		l := linkers[i%len(linkers)]
		p := proof(t, l, parties[i])
		wg.Go(func() {
			var err error
			if links[i], err = l.Link(ctx, p); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	seen := map[int]bool{}
	for _, lk := range links {
		if seen[lk.StatusIndex] {
			t.Fatalf("entry %d handed out twice", lk.StatusIndex)
		}
		seen[lk.StatusIndex] = true
	}
	return parties, links
}

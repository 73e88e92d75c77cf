package anya_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	bridgeanchor "github.com/anya-org/anya-go/bridge/anchor"
	"github.com/anya-org/anya-go/bridge/didbtc"
	"github.com/anya-org/anya-go/bridge/learn"
	"github.com/anya-org/anya-go/bridge/link"
	"github.com/anya-org/anya-go/bridge/multisig"
	"github.com/anya-org/anya-go/bridge/trigger"
	"github.com/anya-org/anya-go/bridge/utxo"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/jose"
)

// An identity's Bitcoin key is in its DID document, for every method NewIdentity creates:
// anyone resolving the DID finds the key whose P2WPKH address is the identity's, and a did:dht
// lists that address's did:pkh in alsoKnownAs. A method NewIdentity cannot create is refused.
func TestIdentityBitcoinKeyInDocument(t *testing.T) {
	m, err := anya.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	ctx := t.Context()
	for _, method := range []string{"dht", "jwk", "key"} {
		t.Run(method, func(t *testing.T) {
			id, err := m.NewIdentity(ctx, anya.WithIdentityMethod(method))
			if err != nil {
				t.Fatal(err)
			}
			if id.DID.DID.Method != method {
				t.Fatalf("DID %s, want did:%s", id, method)
			}
			res, err := m.Resolver().Resolve(ctx, id.String())
			if err != nil {
				t.Fatal(err)
			}
			k, err := didbtc.Primary(res.Document, m.Network())
			if err != nil {
				t.Fatalf("no Bitcoin key in %s's document: %v", id, err)
			}
			if !k.Owns(id.Address) {
				t.Fatalf("the document's key %s does not own the identity's address %s", k.MethodID, id.Address)
			}
			if method == "dht" && (len(k.Claimed) != 1 || k.Claimed[0].String() != id.Address.String()) {
				t.Fatalf("alsoKnownAs claims %v, want %s", k.Claimed, id.Address)
			}
			// The key links: both proofs, the DID's JWS made by the Manager with the DID's key
			// (ES256K for did:jwk and did:key).
			l, err := m.LinkIdentity(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Links().Index().DIDs(id.Address.String()); !slices.Equal(got, []string{id.String()}) {
				t.Fatalf("reverse lookup of %s: %v", id.Address, got)
			}
			if !strings.HasPrefix(l.Method, id.String()+"#") {
				t.Fatalf("link signed by %q, not a method of %s", l.Method, id)
			}
		})
	}
	var oe *anya.OptionError
	if _, err := m.NewIdentity(ctx, anya.WithIdentityMethod("web")); !errors.As(err, &oe) || oe.Option != "WithIdentityMethod" {
		t.Fatalf("did:web identity: %v, want an *OptionError naming WithIdentityMethod", err)
	}
}

// A multisig wallet is built from DIDs' documents and kept in every registered participant's
// store; a DID that publishes no Bitcoin key is refused, naming it.
func TestMultisigFromDIDs(t *testing.T) {
	e := newEnv(t)
	w, err := e.m.Multisig(e.ctx, 2, []string{e.alice.String(), e.bob.String()})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []*anya.Identity{e.alice, e.bob} {
		recs := e.bridgeRecords(id, bridge.PathWallet)
		if len(recs) != 1 {
			t.Fatalf("%d wallet records in %s's store", len(recs), id)
		}
		ws, err := multisig.Load(e.ctx, e.m.BridgeRecords(), id.String())
		if err != nil || len(ws) != 1 || ws[0].Address().String() != w.Address().String() {
			t.Fatalf("wallet in %s's store: %v %v", id, ws, err)
		}
	}
	// The host's DID is an Ed25519 did:key: no Bitcoin key.
	_, err = e.m.Multisig(e.ctx, 2, []string{e.alice.String(), e.m.Host().String()})
	var pe *multisig.ParticipantError
	if !errors.As(err, &pe) || !errors.Is(err, didbtc.ErrNoBitcoinKey) || !strings.Contains(err.Error(), e.m.Host().String()) {
		t.Fatalf("a DID without a Bitcoin key: %v", err)
	}
}

// A link proves control of both sides: a JWS the host is given must be the DID's, over the
// challenge; one by another DID or over other bytes is refused with ErrProof, and nothing is
// stored or indexed.
func TestTwoWayLinkProofs(t *testing.T) {
	e := newEnv(t)
	bob, addr := e.bob.String(), e.bob.Address.String()
	ch, err := e.m.Challenge(bob, addr)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := e.bob.SignChallenge(ch)
	if err != nil {
		t.Fatal(err)
	}
	jws := func(b *did.BearerDID, payload string) string {
		s, err := b.Signer(e.ctx, did.ForRelationship(did.Authentication))
		if err != nil {
			t.Fatal(err)
		}
		out, err := jose.SignJWS(e.ctx, s, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for name, bad := range map[string]string{
		"JWS by another DID":   jws(e.alice.DID, ch),
		"JWS over other bytes": jws(e.bob.DID, "another challenge"),
		"not a JWS":            "x.y.z",
	} {
		_, err := e.m.Link(e.ctx, anya.BitcoinToWeb5{DID: bob, Address: addr, Challenge: ch, Signature: sig, JWS: bad})
		var ce *link.CheckError
		if !errors.Is(err, anya.ErrProof) || !errors.As(err, &ce) || ce.Check != "jws" {
			t.Errorf("%s: %v, want ErrProof from the jws check", name, err)
		}
	}
	if recs := e.bridgeRecords(e.bob, bridge.PathLink); len(recs) != 0 || len(e.m.Links().Index().DIDs(addr)) != 0 {
		t.Fatalf("refused links left %d records, index %v", len(recs), e.m.Links().Index().DIDs(addr))
	}
	l, err := e.m.Link(e.ctx, anya.BitcoinToWeb5{DID: bob, Address: addr, Challenge: ch, Signature: sig, JWS: jws(e.bob.DID, ch)})
	if err != nil {
		t.Fatal(err)
	}
	meta := e.m.Links().Index().Lookup(addr)
	if len(meta) != 1 || meta[0].DID != bob || meta[0].Method != l.Method || meta[0].LinkedAt.IsZero() || meta[0].Credential != "" {
		t.Fatalf("address metadata %+v", meta)
	}
	if got := e.m.Links().Index().Addresses(bob); !slices.Equal(got, []string{addr}) {
		t.Fatalf("DID → addresses: %v", got)
	}
}

// Revoking a link counts at the next verification, cached verdicts or not: VerifyLink says
// link_revoked, a payment from the address is unverified, the reverse lookup forgets the
// address and the UTXO bridge stops keeping its record.
func TestRevokedLink(t *testing.T) {
	e := newEnv(t)
	alice, addr := e.alice.String(), e.alice.Address.String()
	v, err := e.m.VerifyLink(e.ctx, anya.VerifyLink{DID: alice, Address: addr})
	if err != nil || !v.Verified {
		t.Fatalf("before: %+v %v", v, err)
	}
	e.settle()
	if len(e.bridgeRecords(e.alice, bridge.PathUTXOs)) != 1 {
		t.Fatal("no UTXO record for the linked address")
	}
	if err := e.m.RevokeLink(e.ctx, alice, addr); err != nil {
		t.Fatal(err)
	}
	v, err = e.m.VerifyLink(e.ctx, anya.VerifyLink{DID: alice, Address: addr})
	if err != nil || v.Verified || v.Refusal == nil || v.Refusal.Reason != anya.ReasonLinkRevoked {
		t.Fatalf("after revocation: %+v %v", v, err)
	}
	p := e.pay("after-revocation", e.alice, e.bob, 10_000)
	if p.Outcome != anya.OutcomeUnverified || p.Refusal.Reason != anya.ReasonLinkRevoked {
		t.Fatalf("payment after revocation: %s %+v", p.Outcome, p.Refusal)
	}
	if got := e.m.Links().Index().DIDs(addr); len(got) != 0 {
		t.Fatalf("the revoked address still looks up %v", got)
	}
	if n := len(e.bridgeRecords(e.alice, bridge.PathUTXOs)); n != 0 {
		t.Fatalf("%d UTXO records after revocation", n)
	}
	if err := e.m.RevokeLink(e.ctx, alice, addr); !errors.Is(err, link.ErrNotLinked) {
		t.Fatalf("revoking again: %v", err)
	}
}

// The bridges follow the chain: a payment to a linked address confirmed in a block is in the
// payee's UTXO record and recorded as a transaction in its store; a reorg that takes the block
// back undoes both; the transaction confirming again in another block does both again.
func TestBridgesFollowBlocksAndReorgs(t *testing.T) {
	e := newEnv(t)
	e.link(e.bob)
	p := e.pay("reorg-1", e.alice, e.bob, 50_000)
	if p.Outcome != anya.OutcomeSent {
		t.Fatalf("%s %+v", p.Outcome, p.Refusal)
	}
	txid := mustHash(t, p.Txid)
	first := e.mineOne()
	if c, ok := coinOf(e.coins(e.bob), txid); !ok || c.Block != first {
		t.Fatalf("bob's UTXO record lacks the payment confirmed in %s: %+v", first, c)
	}
	recs := e.txRecords(e.bob, p.Txid)
	if len(recs) != 1 || recs[0].BlockHash != first.String() || recs[0].Address != e.bob.Address.String() {
		t.Fatalf("bob's transaction records %+v", recs)
	}
	// A reorg leaves the payment out of the new branch.
	if _, err := e.sim.Reorg(1, 2, simchain.Exclude(txid)); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if hasTx(e.coins(e.bob), txid) {
		t.Fatal("the reorged-out payment is still in bob's UTXO record")
	}
	if recs := e.txRecords(e.bob, p.Txid); len(recs) != 0 {
		t.Fatalf("the reorged-out transaction is still recorded: %+v", recs)
	}
	// It confirms again, in another block.
	again := e.mineOne()
	if !hasTx(e.coins(e.bob), txid) {
		t.Fatal("the payment confirmed again is not in bob's UTXO record")
	}
	if recs := e.txRecords(e.bob, p.Txid); len(recs) != 1 || recs[0].BlockHash != again.String() {
		t.Fatalf("after confirming again: %+v", recs)
	}
}

// mineOne mines a block, waits for the bridges to process it and returns its hash.
func (e *env) mineOne() chainhash.Hash {
	e.t.Helper()
	hs, err := e.sim.Mine(1)
	if err != nil {
		e.t.Fatal(err)
	}
	e.settle()
	return hs[0]
}

// coins returns id's UTXO set as the bridge keeps it for its address.
func (e *env) coins(id *anya.Identity) map[wire.OutPoint]utxo.Coin {
	e.t.Helper()
	set, ok := e.m.UTXOs().Set(id.String(), id.Address)
	if !ok {
		e.t.Fatalf("no UTXO record for %s", id)
	}
	// The record in the store says the same.
	recs := e.bridgeRecords(id, bridge.PathUTXOs)
	if len(recs) != 1 {
		e.t.Fatalf("%d UTXO records in %s's store", len(recs), id)
	}
	var stored utxo.Set
	if err := json.Unmarshal(recs[0].Data, &stored); err != nil || len(stored.UTXOs) != len(set.UTXOs) {
		e.t.Fatalf("stored UTXO record %+v (%v), in memory %d coins", stored, err, len(set.UTXOs))
	}
	out := map[wire.OutPoint]utxo.Coin{}
	for _, c := range set.UTXOs {
		out[c.OutPoint] = c
	}
	return out
}

func hasTx(set map[wire.OutPoint]utxo.Coin, txid chainhash.Hash) bool {
	_, ok := coinOf(set, txid)
	return ok
}

// coinOf returns the coin of set that txid created.
func coinOf(set map[wire.OutPoint]utxo.Coin, txid chainhash.Hash) (utxo.Coin, bool) {
	for op, c := range set {
		if op.Hash == txid {
			return c, true
		}
	}
	return utxo.Coin{}, false
}

// txRecords returns the transaction records of txid in id's store.
func (e *env) txRecords(id *anya.Identity, txid string) []anya.TxRecord {
	e.t.Helper()
	var out []anya.TxRecord
	for _, r := range e.bridgeRecords(id, bridge.PathTx) {
		var tr anya.TxRecord
		if err := json.Unmarshal(r.Data, &tr); err != nil {
			e.t.Fatal(err)
		}
		if tr.Txid == txid {
			out = append(out, tr)
		}
	}
	return out
}

func mustHash(t *testing.T, s string) chainhash.Hash {
	t.Helper()
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		t.Fatal(err)
	}
	return *h
}

// The host's triggers, read from YAML, fire on the chain's transactions with their side
// effect run once per event: firing the same event again returns the first result. A
// definition that does not compile fails New, naming every problem.
func TestHostTriggers(t *testing.T) {
	defs, err := trigger.ParseDefinitions([]byte(`
- name: pays-linked
  on: bitcoin.tx
  when: "size(data.linked_dids) > 0 && data.amount_sat > 1000"
  action: count
  cross: {from: bitcoin, to: web5, action: web5.record_tx}
  params: {txid: data.txid, amount_sat: data.amount_sat}
`))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		runs = map[string]int{}
	)
	count := trigger.Action{Run: func(_ context.Context, eventID string, data map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		runs[eventID]++
		return data["txid"], nil
	}}
	e := newEnv(t, anya.WithTriggers(defs...), anya.WithTriggerAction("count", count))
	e.link(e.bob)
	p := e.pay("trigger-1", e.alice, e.bob, 20_000)
	blk := e.mineOne()
	id := trigger.KindTx + "/" + p.Txid + "/" + blk.String()
	mu.Lock()
	n := runs[id]
	mu.Unlock()
	if n != 1 {
		t.Fatalf("the host's trigger ran %d times on %s (%v)", n, id, runs)
	}
	info, err := e.m.Chain().Tx(e.ctx, mustHash(t, p.Txid))
	if err != nil {
		t.Fatal(err)
	}
	ev := trigger.TxEvent(info.Tx, info.Block, e.m.Network(), e.m.Links().Index().Owners, time.Now())
	outs, err := e.m.Triggers().Fire(e.ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range outs {
		if o.Trigger == "pays-linked" {
			found = true
			if !o.Repeated || o.Result != p.Txid {
				t.Fatalf("firing again: %+v, want the first result, repeated", o)
			}
		}
	}
	mu.Lock()
	n = runs[id]
	mu.Unlock()
	if !found || n != 1 {
		t.Fatalf("firing again ran the side effect: %d runs, outcomes %+v", n, outs)
	}

	bad := []trigger.Definition{{Name: "broken", On: "bitcoin.tx", When: "data.amount_sat >", Action: "nobody",
		Cross: trigger.Crossing{From: "bitcoin", To: "web5", Action: "x"}}}
	if _, err := anya.New(anya.WithTriggers(bad...)); !errors.Is(err, trigger.ErrInvalidDefinition) {
		t.Fatalf("a broken definition: %v", err)
	}
}

// The risk threshold is an option: the verified payment blocks at it (the threshold is stored
// with the run and reported in the refusal), and so does the risk gate.
func TestRiskThresholdOption(t *testing.T) {
	e := newEnv(t, anya.WithRiskThreshold(0.0001))
	p := e.pay("strict-1", e.alice, e.bob, 10_000)
	if p.Outcome != anya.OutcomeBlocked || p.Refusal.Reason != anya.ReasonRiskAboveThreshold || p.Refusal.Threshold != 0.0001 ||
		p.Risk < 0.0001 {
		t.Fatalf("%s %+v (risk %v)", p.Outcome, p.Refusal, p.Risk)
	}
	stored, err := e.m.Payment(e.ctx, "strict-1")
	if err != nil || stored.Refusal.Threshold != 0.0001 {
		t.Fatalf("stored: %+v %v", stored.Refusal, err)
	}
	g, err := e.m.RiskGate(e.verified(e.alice), anya.MLToBitcoin{PaymentID: "strict-gate", SenderDID: e.alice.String(),
		SenderAddress: e.alice.Address.String(), RecipientAddress: e.bob.Address.String(), AmountSat: 10_000})
	if err != nil || !g.Blocked || g.Refusal.Threshold != 0.0001 || g.Txid != "" {
		t.Fatalf("gate %+v %v", g, err)
	}
	// The default threshold lets the same payment through.
	d := newEnv(t)
	if p := d.pay("default-1", d.alice, d.bob, 10_000); p.Outcome != anya.OutcomeSent {
		t.Fatalf("default threshold: %s %+v", p.Outcome, p.Refusal)
	}
}

// downChain is a chain that can be taken down: every call fails as a node that cannot be
// reached does, and is counted.
type downChain struct {
	bitcoin.Chain
	down  atomic.Bool
	calls atomic.Int64
}

func (c *downChain) fail() error {
	c.calls.Add(1)
	if c.down.Load() {
		return fmt.Errorf("test: node unreachable: %w", bitcoin.ErrDisconnected)
	}
	return nil
}

func (c *downChain) BestBlock(ctx context.Context) (bitcoin.BlockStamp, error) {
	if err := c.fail(); err != nil {
		return bitcoin.BlockStamp{}, err
	}
	return c.Chain.BestBlock(ctx)
}

func (c *downChain) BlockHash(ctx context.Context, h int32) (chainhash.Hash, error) {
	if err := c.fail(); err != nil {
		return chainhash.Hash{}, err
	}
	return c.Chain.BlockHash(ctx, h)
}

func (c *downChain) BlockHeader(ctx context.Context, h chainhash.Hash) (wire.BlockHeader, error) {
	if err := c.fail(); err != nil {
		return wire.BlockHeader{}, err
	}
	return c.Chain.BlockHeader(ctx, h)
}

func (c *downChain) Block(ctx context.Context, h chainhash.Hash) (*wire.MsgBlock, error) {
	if err := c.fail(); err != nil {
		return nil, err
	}
	return c.Chain.Block(ctx, h)
}

func (c *downChain) Tx(ctx context.Context, h chainhash.Hash) (bitcoin.TxInfo, error) {
	if err := c.fail(); err != nil {
		return bitcoin.TxInfo{}, err
	}
	return c.Chain.Tx(ctx, h)
}

func (c *downChain) TxOut(ctx context.Context, op wire.OutPoint, mempool bool) (bitcoin.UTXO, error) {
	if err := c.fail(); err != nil {
		return bitcoin.UTXO{}, err
	}
	return c.Chain.TxOut(ctx, op, mempool)
}

func (c *downChain) UTXOs(ctx context.Context, pkScript []byte) ([]bitcoin.UTXO, error) {
	if err := c.fail(); err != nil {
		return nil, err
	}
	return c.Chain.UTXOs(ctx, pkScript)
}

func (c *downChain) Mempool(ctx context.Context) ([]bitcoin.MempoolEntry, error) {
	if err := c.fail(); err != nil {
		return nil, err
	}
	return c.Chain.Mempool(ctx)
}

func (c *downChain) TestAccept(ctx context.Context, tx *wire.MsgTx) error {
	if err := c.fail(); err != nil {
		return err
	}
	return c.Chain.TestAccept(ctx, tx)
}

func (c *downChain) Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	if err := c.fail(); err != nil {
		return chainhash.Hash{}, err
	}
	return c.Chain.Broadcast(ctx, tx)
}

// With the chain down, payments fail with a typed error — at once, touching nothing, once the
// chain's circuit breaker opened — and store nothing; when the chain is back and the breaker's
// wait is over, payments go through again.
func TestChainDownPaymentsFailFast(t *testing.T) {
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	chain := &downChain{Chain: sim}
	clock := newTestClock()
	breakers, err := resilience.NewBreakerRegistry(resilience.MinCalls(3), resilience.CountWindow(5), resilience.OpenWait(time.Minute),
		resilience.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	m, err := anya.New(anya.WithChain(chain), anya.WithBreakers(breakers), anya.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	ctx := t.Context()
	alice, err := m.NewIdentity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := m.NewIdentity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(2, simchain.PayTo(alice.Address.PkScript())); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(100); err != nil {
		t.Fatal(err)
	}
	if _, err := m.LinkIdentity(ctx, alice); err != nil {
		t.Fatal(err)
	}
	settle(t, m)
	pay := func(id string) (*anya.Payment, error) {
		return m.Pay(ctx, anya.TriProtocol{PaymentID: id, SenderDID: alice.String(), SenderAddress: alice.Address.String(),
			RecipientAddress: bob.Address.String(), AmountSat: 10_000})
	}
	if p, err := pay("up-1"); err != nil || p.Outcome != anya.OutcomeSent {
		t.Fatalf("%+v %v", p, err)
	}

	chain.down.Store(true)
	open := false
	for i := range 10 {
		p, err := pay(fmt.Sprintf("down-%d", i))
		var ue *anya.UnavailableError
		if p != nil || !errors.As(err, &ue) || ue.Dependency != anya.BreakerChain {
			t.Fatalf("payment %d with the chain down: %+v %v, want an *UnavailableError of %s and no payment", i, p, err, anya.BreakerChain)
		}
		if errors.Is(err, resilience.ErrCircuitOpen) {
			open = true
			break
		}
		if !errors.Is(err, bitcoin.ErrDisconnected) {
			t.Fatalf("before the breaker opens: %v, want the chain's ErrDisconnected", err)
		}
	}
	if !open {
		t.Fatal("the chain's breaker never opened")
	}
	// Open: a payment is refused without a call to the chain.
	before := chain.calls.Load()
	if _, err := pay("down-fast"); !errors.Is(err, anya.ErrUnavailable) || !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Fatalf("with the breaker open: %v", err)
	}
	if after := chain.calls.Load(); after != before {
		t.Fatalf("a payment refused by the open breaker made %d chain calls", after-before)
	}
	if _, err := m.Payment(ctx, "down-fast"); err == nil {
		t.Fatal("a payment refused at once was stored")
	}

	// The chain is back; once the breaker's wait is over, the next payments are its probes.
	chain.down.Store(false)
	clock.Advance(time.Minute + time.Second)
	p, err := pay("back-1")
	if err != nil || p.Outcome != anya.OutcomeSent {
		t.Fatalf("after recovery: %+v %v", p, err)
	}
	b, _ := breakers.Get(anya.BreakerChain)
	if _, err := pay("back-2"); err != nil || b.State() == resilience.StateOpen {
		t.Fatalf("second payment after recovery: %v, breaker %s", err, b.State())
	}
}

// Every vector the models score is written to the feature store: a payment's fraud vector
// under its payment ID, a reputation's under the identity's pseudonym (never the DID). With
// too few labelled payments, training is refused and the shipped model keeps serving; with
// enough, the model is trained, written to the registry with its card and activated, and a
// Manager started WithTrainIfMissing finds it there.
func TestFeatureStoreAndTraining(t *testing.T) {
	dir := t.TempDir()
	const rows = 12
	e := newEnv(t, anya.WithDataDir(dir), anya.WithEphemeralKeys(), anya.WithHostDID(mustFixedDIDT(t, "train host")),
		anya.WithRedactionKey([]byte("a pseudonym key for the test")), anya.WithTrainIfMissing(rows))
	fraud, err := models.Load(e.ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	sch := fraud.Schema()
	if _, _, err := e.m.TrainFraudModel(e.ctx); !errors.Is(err, learn.ErrNotEnoughData) {
		t.Fatalf("training with no labelled payments: %v", err)
	}
	for i := range rows {
		id := fmt.Sprintf("fs-%d", i)
		p := e.pay(id, e.alice, e.bob, int64(10_000+i*1_000))
		rec, err := e.m.FeatureStore().Get(e.ctx, "payment:"+id, sch.Name, sch.Version)
		if err != nil || len(rec.Vector.Values) != sch.Len() {
			t.Fatalf("payment %s (%s): feature store %+v %v", id, p.Outcome, rec, err)
		}
		if i%3 == 2 { // the held-out last rows hold both classes
			if _, err := e.m.Report(e.ctx, e.alice.String(), anya.ReportFraud, "chargeback", id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := e.m.Reputation(e.ctx, e.alice.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.FeatureStore().Get(e.ctx, e.alice.String(), "reputation", 1); err == nil {
		t.Fatal("a DID reached the feature store")
	}
	// The pseudonym key is the redaction key: the entity is stable across restarts.
	id, trained, err := e.m.TrainFraudModel(e.ctx)
	if err != nil {
		var de *learn.DataError
		errors.As(err, &de)
		t.Fatalf("training on %d labelled payments: %v (%+v)", rows, err, de)
	}
	if !trained || !strings.HasPrefix(id, models.Fraud+"@") {
		t.Fatalf("trained %v, model %q", trained, id)
	}
	cards, _ := filepath.Glob(filepath.Join(dir, anya.ModelsDir, models.Fraud, "*", "card.json"))
	if len(cards) != 1 {
		t.Fatalf("model cards in the registry: %v", cards)
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	// Started again with WithTrainIfMissing, the Manager finds the model and does not train.
	m, err := anya.New(anya.WithDataDir(dir), anya.WithEphemeralKeys(), anya.WithHostDID(mustFixedDIDT(t, "train host")),
		anya.WithTrainIfMissing(rows))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if id2, trained, err := m.TrainFraudModel(e.ctx); err != nil || trained || id2 != id {
		t.Fatalf("restart: %q %v %v, want %q found", id2, trained, err, id)
	}
	if after, _ := filepath.Glob(filepath.Join(dir, anya.ModelsDir, models.Fraud, "*", "card.json")); len(after) != 1 {
		t.Fatalf("model cards after restart: %v", after)
	}
}

func mustFixedDIDT(t *testing.T, name string) *did.BearerDID {
	t.Helper()
	b, err := fixedDID(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Rescore scores every registered identity's reputation once and writes it back to its store
// through the ML→Web5 boundary, as the periodic re-scoring does. With the model's breaker
// open, Reputation falls back to that last score, and says so.
func TestRescore(t *testing.T) {
	breakers, err := resilience.NewBreakerRegistry()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, anya.WithBreakers(breakers))
	got := make(chan anya.Rescored, 4)
	if _, err := bus.Subscribe(e.m.Bus(), anya.TopicReputationRescored, func(_ context.Context, ev bus.Envelope[anya.Rescored]) error {
		got <- ev.Payload
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	scored, failed, err := e.m.Rescore(e.ctx)
	if err != nil || scored != 2 || failed != 0 {
		t.Fatalf("rescored %d, failed %d: %v", scored, failed, err)
	}
	for _, id := range []*anya.Identity{e.alice, e.bob} {
		recs := e.bridgeRecords(id, bridge.PathScore)
		var sr anya.ScoreRecord
		if len(recs) != 1 || json.Unmarshal(recs[0].Data, &sr) != nil || sr.Kind != "reputation" || sr.Score <= 0 || sr.Score >= 1 {
			t.Fatalf("%s's score records: %d %+v", id, len(recs), sr)
		}
	}
	seen := map[string]bool{}
	for range 2 {
		select {
		case r := <-got:
			seen[r.DID] = true
		case <-e.ctx.Done():
			t.Fatal(e.ctx.Err())
		}
	}
	if !seen[e.alice.String()] || !seen[e.bob.String()] {
		t.Fatalf("rescored events for %v", seen)
	}

	var last anya.ScoreRecord
	if err := json.Unmarshal(e.bridgeRecords(e.alice, bridge.PathScore)[0].Data, &last); err != nil {
		t.Fatal(err)
	}
	model, err := breakers.Get(anya.BreakerModel)
	if err != nil {
		t.Fatal(err)
	}
	model.ForceOpen()
	r, err := e.m.Reputation(e.ctx, e.alice.String())
	if err != nil || !r.Stale || r.Score != last.Score || r.Model != last.Model {
		t.Fatalf("with the model down: %+v %v, want the last score %v, stale", r, err, last.Score)
	}
	// A payment cannot do without the model: it fails at once.
	if _, err := e.m.Pay(e.ctx, anya.TriProtocol{PaymentID: "model-down", SenderDID: e.alice.String(),
		SenderAddress: e.alice.Address.String(), RecipientAddress: e.bob.Address.String(), AmountSat: 10_000}); !errors.Is(err, anya.ErrUnavailable) {
		t.Fatalf("payment with the model down: %v", err)
	}
	model.Reset()
	if r, err := e.m.Reputation(e.ctx, e.alice.String()); err != nil || r.Stale {
		t.Fatalf("with the model back: %+v %v", r, err)
	}
}

// Records anchored in a transaction are proven committed from the chain; a record edited
// since (the payment record's status, rewritten when its transaction confirms) is proven not
// committed in its new state; a receipt tampered with is refused.
func TestAnchorRecords(t *testing.T) {
	e := newEnv(t)
	p := e.pay("anchored-1", e.alice, e.bob, 10_000)
	linkRec := e.bridgeRecords(e.alice, bridge.PathLink)[0].ID
	r, err := e.m.Anchor(e.ctx, "anchor-1", e.alice.String(), []string{linkRec, p.RecordID}, e.alice.Address.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.CIDs) != 2 || r.Method != bridgeanchor.OpReturn {
		t.Fatalf("receipt %+v", r)
	}
	if recs := e.bridgeRecords(e.alice, bridge.PathAnchor); len(recs) != 1 {
		t.Fatalf("%d receipts in alice's store", len(recs))
	}
	e.mineOne() // confirms the anchor and the payment, whose record is rewritten
	waitConfirmed(t, e, "anchored-1")
	v, err := e.m.VerifyAnchor(e.ctx, *r, e.alice.String(), linkRec, p.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Block == nil || len(v.Committed) != 1 || len(v.Absent) != 1 {
		t.Fatalf("verification: block %v, committed %d, absent %d", v.Block, len(v.Committed), len(v.Absent))
	}
	tampered := *r
	tampered.CIDs = append([]string(nil), r.CIDs...)
	tampered.CIDs[0] = tampered.CIDs[1] + "x"
	if _, err := e.m.VerifyAnchor(e.ctx, tampered, e.alice.String()); !errors.Is(err, bridgeanchor.ErrTampered) {
		t.Fatalf("a tampered receipt: %v", err)
	}
	if _, err := e.m.Anchor(e.ctx, "anchor-2", e.alice.String(), []string{"bafynotarecord"}, e.alice.Address.String()); !errors.Is(err, anya.ErrInvalidOp) {
		t.Fatalf("anchoring a record that does not exist: %v", err)
	}
	if _, err := e.m.Anchor(e.ctx, "anchor-3", e.alice.String(), []string{linkRec}, e.bob.Address.String()+"x"); !errors.Is(err, anya.ErrInvalidOp) {
		t.Fatalf("anchoring from an address the wallet does not hold: %v", err)
	}
}

// waitConfirmed waits until payment id's record says confirmed.
func waitConfirmed(t *testing.T, e *env, id string) {
	t.Helper()
	events := recordPaymentEvents(t, e.m.Bus())
	for {
		p, err := e.m.Payment(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Confirmation != nil && p.Confirmation.Status == anya.PaymentConfirmed {
			return
		}
		select {
		case <-events.new:
		case <-e.ctx.Done():
			t.Fatal(e.ctx.Err())
		}
	}
}

// The bridges' options are validated by New.
func TestBridgeOptionsRefused(t *testing.T) {
	for name, c := range map[string]struct {
		opt    anya.Option
		option string
	}{
		"zero threshold":         {anya.WithRiskThreshold(0), "WithRiskThreshold"},
		"threshold above one":    {anya.WithRiskThreshold(1.5), "WithRiskThreshold"},
		"no large amount":        {anya.WithLargeTx(0), "WithLargeTx"},
		"train on no rows":       {anya.WithTrainIfMissing(0), "WithTrainIfMissing"},
		"rescore every second":   {anya.WithRescoreInterval(time.Second), "WithRescoreInterval"},
		"nil cache store":        {anya.WithCacheStore(nil, 0), "WithCacheStore"},
		"unnamed trigger action": {anya.WithTriggerAction("", trigger.Action{}), "WithTriggerAction"},
	} {
		_, err := anya.New(c.opt)
		var oe *anya.OptionError
		if !errors.As(err, &oe) || oe.Option != c.option || !errors.Is(err, anya.ErrInvalidOption) {
			t.Errorf("%s: %v, want an *OptionError naming %s", name, err, c.option)
		}
	}
}

// switchTransport serves HTTP with an in-process handler until it is taken down: then every
// request fails as an unreachable host does.
type switchTransport struct {
	h    http.Handler
	down atomic.Bool
}

func (s *switchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if s.down.Load() {
		return nil, errors.New("test: gateway unreachable")
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// With the did:dht gateway down, a DID the Manager resolved before still resolves — to the
// last document it resolved (the DID breaker's fallback) — so its payments go on; a DID never
// resolved is a typed error, never a verdict on the DID, and once the breaker opens the
// gateway is not called at all. When the gateway is back and the wait is over, it resolves.
func TestDIDGatewayDown(t *testing.T) {
	gw, err := diddht.NewGateway()
	if err != nil {
		t.Fatal(err)
	}
	tr := &switchTransport{h: gw}
	client, err := diddht.NewClient("http://gateway.test.invalid", diddht.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	clock := newTestClock()
	breakers, err := resilience.NewBreakerRegistry(resilience.MinCalls(2), resilience.CountWindow(3), resilience.OpenWait(time.Minute),
		resilience.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, anya.WithDHTClient(client), anya.WithBreakers(breakers), anya.WithClock(clock.Now))
	// carol publishes her DID through the gateway; the Manager has never resolved it.
	carol, err := diddht.Create(e.ctx, jose.NewMemoryKeyManager())
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Publish(e.ctx, carol); err != nil {
		t.Fatal(err)
	}

	tr.down.Store(true)
	res, err := e.m.Resolver().Resolve(e.ctx, e.alice.String(), did.NoCache())
	if err != nil || res.Document.ID != e.alice.String() {
		t.Fatalf("alice with the gateway down: %v %v, want her last document", res, err)
	}
	if p := e.pay("gateway-down-1", e.alice, e.bob, 10_000); p.Outcome != anya.OutcomeSent {
		t.Fatalf("alice's payment with the gateway down: %s %+v", p.Outcome, p.Refusal)
	}
	open := false
	for range 5 {
		_, err := e.m.VerifyLink(e.ctx, anya.VerifyLink{DID: carol.String(), Address: e.bob.Address.String()})
		var ue *anya.UnavailableError
		if !errors.As(err, &ue) || ue.Dependency != anya.BreakerDID {
			t.Fatalf("carol with the gateway down: %v, want an *UnavailableError of %s, not a verdict", err, anya.BreakerDID)
		}
		if errors.Is(err, resilience.ErrCircuitOpen) {
			open = true
			break
		}
	}
	if !open {
		t.Fatal("the DID breaker never opened")
	}

	tr.down.Store(false)
	clock.Advance(time.Minute + time.Second)
	v, err := e.m.VerifyLink(e.ctx, anya.VerifyLink{DID: carol.String(), Address: e.bob.Address.String()})
	if err != nil || v.Refusal == nil || v.Refusal.Reason != anya.ReasonNoLink {
		t.Fatalf("carol once the gateway is back: %+v %v, want resolved and not linked", v, err)
	}
}

package anya_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/workflow"
)

func TestNewOnDefaults(t *testing.T) {
	m, err := anya.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Chain().(*simchain.Chain); !ok || m.Network() != bitcoin.Regtest {
		t.Errorf("default chain %T on %s, want a regtest simchain", m.Chain(), m.Network())
	}
	if b := m.Backend(); b != "ort" && b != "go" {
		t.Errorf("ML backend %q", b)
	}
	dir := m.DataDir()
	for _, f := range []string{anya.WorkflowFile, anya.StateFile, anya.AuditFile, anya.DWNFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("database %s: %v", f, err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Close left the temporary data directory: %v", err)
	}
	if _, err := m.Execute(t.Context(), anya.Web5ToML{DID: "did:key:z6Mk"}); !errors.Is(err, anya.ErrClosed) {
		t.Errorf("Execute after Close: %v", err)
	}
	if _, err := m.NewIdentity(t.Context()); err == nil {
		t.Error("NewIdentity after Close succeeded")
	}
}

func TestOptions(t *testing.T) {
	for name, opt := range map[string]anya.Option{
		"WithDataDir":           anya.WithDataDir(""),
		"WithBus":               anya.WithBus(nil),
		"WithChain":             anya.WithChain(nil),
		"WithDHTClient":         anya.WithDHTClient(nil),
		"WithDIDMethods":        anya.WithDIDMethods(nil),
		"WithHostDID":           anya.WithHostDID(nil),
		"WithTrustedIssuers":    anya.WithTrustedIssuers("not a did"),
		"WithLogger":            anya.WithLogger(nil),
		"WithClock":             anya.WithClock(nil),
		"WithFeeRate":           anya.WithFeeRate(10),
		"WithConfirmations":     anya.WithConfirmations(0),
		"WithBoundaries":        anya.WithBoundaries(nil),
		"WithRedactionKey":      anya.WithRedactionKey([]byte("short")),
		"WithBreakers":          anya.WithBreakers(nil),
		"WithFraudModel":        anya.WithFraudModel(nil),
		"WithReputationModel":   anya.WithReputationModel(nil),
		"WithMLOptions":         anya.WithMLOptions(nil),
		"WithPassphrase":        anya.WithPassphrase(nil),
		"WithKEK":               anya.WithKEK(make([]byte, 16)),
		"WithKeyStore":          anya.WithKeyStore(nil),
		"WithRepublishInterval": anya.WithRepublishInterval(time.Second),
	} {
		_, err := anya.New(opt)
		var oe *anya.OptionError
		if !errors.As(err, &oe) || oe.Option != name || !errors.Is(err, anya.ErrInvalidOption) {
			t.Errorf("%s: %v, want an *OptionError naming it", name, err)
		}
	}
	if _, err := anya.New(nil); !errors.Is(err, anya.ErrInvalidOption) {
		t.Errorf("nil option: %v", err)
	}
	// One key store at most.
	_, err := anya.New(anya.WithPassphrase([]byte("p")), anya.WithKEK(make([]byte, 32)))
	if oe := (*anya.OptionError)(nil); !errors.As(err, &oe) || oe.Option != "WithKEK" {
		t.Errorf("two key stores: %v, want an *OptionError naming the second", err)
	}
	// A host's bus and chain are used and left open.
	b, _ := bus.New()
	defer b.Close()
	sim, _ := simchain.New()
	defer sim.Close()
	m, err := anya.New(anya.WithBus(b), anya.WithChain(sim), anya.WithDataDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if m.Bus() != b || m.Chain() != sim {
		t.Error("the host's bus or chain was not used")
	}
	_ = m.Close()
	if _, err := sim.BestBlock(t.Context()); err != nil {
		t.Errorf("Close closed the host's chain: %v", err)
	}
	if err := bus.Publish(t.Context(), b, "x.y", 1); err != nil {
		t.Errorf("Close closed the host's bus: %v", err)
	}
}

// Bitcoin→Web5: a BIP-322 proof over the Manager's challenge becomes an address-link credential
// in the DID's records store, which VerifyLink checks.
func TestBitcoinToWeb5(t *testing.T) {
	e := newEnv(t)
	l := e.aliceLink
	if l.DID != e.alice.String() || l.Address != e.alice.Address.String() ||
		!strings.HasPrefix(l.Account, "did:pkh:bip122:") || !strings.HasSuffix(l.CAIP10, ":"+l.Address) {
		t.Fatalf("link %+v", l)
	}
	recs := e.bridgeRecords(e.alice, bridge.PathLink)
	if len(recs) != 1 || recs[0].ID != l.RecordID || recs[0].Author != e.m.Host().String() {
		t.Fatalf("link records in alice's store: %+v", recs)
	}
	for _, c := range []string{"", l.Credential} {
		res, err := e.m.Execute(e.ctx, anya.VerifyLink{DID: e.alice.String(), Address: e.alice.Address.String(), Credential: c})
		if err != nil {
			t.Fatal(err)
		}
		v := res.(*anya.LinkVerification)
		if !v.Verified || v.Score != 1 || v.Credential == nil || v.Credential.Subject != e.alice.String() ||
			v.Credential.Issuer != e.m.Host().String() {
			t.Fatalf("VerifyLink (credential %q…) = %+v", c[:min(len(c), 10)], v)
		}
	}
	// Another address, another DID, a tampered credential: not verified, with a reason.
	for name, op := range map[string]anya.VerifyLink{
		"another address": {DID: e.alice.String(), Address: e.bob.Address.String()},
		"another DID":     {DID: e.bob.String(), Address: e.alice.Address.String(), Credential: l.Credential},
		"tampered":        {DID: e.alice.String(), Address: e.alice.Address.String(), Credential: l.Credential[:len(l.Credential)-4] + "AAAA"},
		"not a JWT":       {DID: e.alice.String(), Address: e.alice.Address.String(), Credential: "{{input.x}}"},
	} {
		res, err := e.m.Execute(e.ctx, op)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v := res.(*anya.LinkVerification); v.Verified || v.Reason == "" || v.Score >= 1 {
			t.Errorf("%s: %+v, want unverified with a reason", name, v)
		}
	}
	// The proof crossed Bitcoin→Web5 and was audited.
	found := false
	for _, en := range e.audit() {
		found = found || en.Action == anya.ActionLinkAddress && en.From == "bitcoin" && en.To == "web5" && en.Decision == security.DecisionAllow
	}
	if !found {
		t.Error("no audited Bitcoin→Web5 crossing for the link")
	}
}

func TestBitcoinToWeb5Refusals(t *testing.T) {
	clock := newTestClock()
	e := newEnv(t, anya.WithClock(clock.Now))
	bob, addr := e.bob.String(), e.bob.Address.String()
	ch, err := e.m.Challenge(bob, addr)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := e.bob.SignChallenge(ch)
	if err != nil {
		t.Fatal(err)
	}
	e.now = clock.Now
	// alice's valid proof of her own address, offered for bob's.
	aliceOwn, _ := e.m.Challenge(e.alice.String(), e.alice.Address.String())
	aliceOwnSig, _ := e.alice.SignChallenge(aliceOwn)
	forged := strings.Replace(ch, "Nonce: ", "Nonce: 00", 1)
	other := strings.Replace(ch, addr, e.alice.Address.String(), 1)
	for name, c := range map[string]struct {
		op   anya.BitcoinToWeb5
		want error
	}{
		"challenge of another DID": {anya.BitcoinToWeb5{DID: e.alice.String(), Address: addr, Challenge: ch, Signature: sig}, anya.ErrChallenge},
		"forged nonce":             {anya.BitcoinToWeb5{DID: bob, Address: addr, Challenge: forged, Signature: sig}, anya.ErrChallenge},
		"edited address":           {anya.BitcoinToWeb5{DID: bob, Address: e.alice.Address.String(), Challenge: other, Signature: sig}, anya.ErrChallenge},
		"not a challenge":          {anya.BitcoinToWeb5{DID: bob, Address: addr, Challenge: "hello", Signature: sig}, anya.ErrChallenge},
		"signature of another":     {anya.BitcoinToWeb5{DID: bob, Address: addr, Challenge: ch, Signature: aliceOwnSig}, anya.ErrProof},
		"malformed signature":      {anya.BitcoinToWeb5{DID: bob, Address: addr, Challenge: ch, Signature: "smp!!"}, anya.ErrProof},
		"bad DID":                  {anya.BitcoinToWeb5{DID: "did:", Address: addr, Challenge: ch, Signature: sig}, anya.ErrInvalidOp},
		"mainnet address": {anya.BitcoinToWeb5{DID: bob, Address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", Challenge: ch,
			Signature: sig}, anya.ErrInvalidOp},
	} {
		if _, err := e.m.Execute(e.ctx, c.op); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	clock.Advance(anya.DefaultChallengeTTL + time.Second)
	if _, err := e.m.Execute(e.ctx, anya.BitcoinToWeb5{DID: bob, Address: addr, Challenge: ch, Signature: sig}); !errors.Is(err, anya.ErrChallenge) {
		t.Errorf("expired challenge: %v", err)
	}
	if recs := e.bridgeRecords(e.bob, bridge.PathLink); len(recs) != 0 {
		t.Fatalf("refused links left records: %d", len(recs))
	}
	// A fresh challenge, answered properly, links.
	ch, _ = e.m.Challenge(bob, addr)
	sig, _ = e.bob.SignChallenge(ch)
	if _, err := e.m.Execute(e.ctx, anya.BitcoinToWeb5{DID: bob, Address: addr, Challenge: ch, Signature: sig}); err != nil {
		t.Fatal(err)
	}
}

// Web5→ML: identity features from the DID, its credentials, link and history, scored by the
// reputation model.
func TestWeb5ToML(t *testing.T) {
	e := newEnv(t)
	score := func(id *anya.Identity) *anya.Reputation {
		res, err := e.m.Execute(e.ctx, anya.Web5ToML{DID: id.String()})
		if err != nil {
			t.Fatal(err)
		}
		return res.(*anya.Reputation)
	}
	a, b := score(e.alice), score(e.bob)
	for _, r := range []*anya.Reputation{a, b} {
		if r.Score < 0 || r.Score > 1 || r.Model != "reputation@1" || len(r.Factors) == 0 {
			t.Fatalf("reputation %+v", r)
		}
		if r.Features[anya.FeatureDIDMethod] != 3 { // did:dht
			t.Errorf("did_method %v", r.Features[anya.FeatureDIDMethod])
		}
	}
	if a.Features[anya.FeatureAddressLinked] != 1 || a.Features[anya.FeatureLinkedAddresses] != 1 || a.Features[anya.FeatureCredentials] != 1 {
		t.Errorf("alice's features %v", a.Features)
	}
	if b.Features[anya.FeatureAddressLinked] != 0 || b.Features[anya.FeatureCredentials] != 0 {
		t.Errorf("bob's features %v", b.Features)
	}
	if a.Score <= b.Score {
		t.Errorf("a linked identity (%.3f) does not score above an unlinked one (%.3f)", a.Score, b.Score)
	}
	// History counts: a payment raises prior_payments and the volume.
	e.pay("w-1", e.alice, e.bob, 30_000)
	a2 := score(e.alice)
	if a2.Features[anya.FeaturePriorPayments] != 1 || a2.Features[anya.FeaturePriorVolumeBTC] != 0.0003 || a2.Features[anya.FeatureDWNRecords] != 2 {
		t.Errorf("after a payment: %v", a2.Features)
	}
	// Reports and disputes the host records count too, and lower the score.
	if _, err := e.m.Report(e.ctx, e.alice.String(), anya.ReportFraud, "chargeback ring", "w-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Report(e.ctx, e.alice.String(), anya.ReportDispute, "goods not received", "w-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Report(e.ctx, e.alice.String(), "gossip", "", ""); !errors.Is(err, anya.ErrInvalidOp) {
		t.Fatalf("unknown report kind: %v", err)
	}
	a3 := score(e.alice)
	if a3.Features[anya.FeaturePriorReports] != 1 || a3.Features[anya.FeatureDisputes] != 1 || a3.Score >= a2.Score {
		t.Errorf("after a fraud report and a dispute: %.3f (was %.3f), %v", a3.Score, a2.Score, a3.Features)
	}
	// The features crossed Web5→ML, audited.
	n := 0
	for _, en := range e.audit() {
		if en.Action == anya.ActionScoreReputation && en.From == "web5" && en.To == "ml" && en.Decision == security.DecisionAllow {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d audited reputation crossings, want 4", n)
	}
	if _, err := e.m.Execute(e.ctx, anya.Web5ToML{DID: "did:dht:notpublished"}); !errors.Is(err, anya.ErrInvalidOp) {
		t.Errorf("a DID that does not resolve: %v", err)
	}
}

// ML→Bitcoin: the fraud risk can block a payment, never authorise one.
func TestMLToBitcoin(t *testing.T) {
	e := newEnv(t)
	op := anya.MLToBitcoin{PaymentID: "g-1", SenderDID: e.alice.String(), SenderAddress: e.alice.Address.String(),
		RecipientAddress: e.bob.Address.String(), AmountSat: 15_000}

	// Without a verified identity in the security context, no score lets it through.
	_, err := e.m.Execute(e.ctx, op)
	var denied *security.DeniedError
	if !errors.As(err, &denied) || !errors.Is(err, security.ErrUnverifiedIdentity) {
		t.Fatalf("no security context: %v, want a denial for an unverified identity", err)
	}
	unverified := security.NewContext(e.ctx, &security.Context{Principal: e.alice.String()})
	if _, err := e.m.Execute(unverified, op); !errors.Is(err, security.ErrUnverifiedIdentity) {
		t.Fatalf("a principal without credentials: %v", err)
	}
	if mp, _ := e.sim.Mempool(e.ctx); len(mp) != 0 {
		t.Fatalf("a refused payment reached the mempool: %v", mp)
	}

	ctx := e.verified(e.alice)
	res, err := e.m.Execute(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	g := res.(*anya.Gate)
	if g.Blocked || g.Txid == "" || g.Risk >= anya.DefaultRiskThreshold || g.Model != "fraud@1" {
		t.Fatalf("a low-risk payment: %+v", g)
	}
	// The same payment again: the same transaction, nothing new.
	res, err = e.m.Execute(ctx, op)
	if err != nil || res.(*anya.Gate).Txid != g.Txid {
		t.Fatalf("again: %+v %v", res, err)
	}
	if mp, _ := e.sim.Mempool(e.ctx); len(mp) != 1 {
		t.Fatalf("mempool holds %d transactions, want 1", len(mp))
	}
	// A large payment of fresh funds scores high: blocked, nothing sent.
	big := op
	big.PaymentID, big.AmountSat = "g-2", 100_000_000
	res, err = e.m.Execute(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	if g := res.(*anya.Gate); !g.Blocked || g.Txid != "" || g.Risk < anya.DefaultRiskThreshold || g.Reason == "" {
		t.Fatalf("a high-risk payment: %+v", g)
	}
	if mp, _ := e.sim.Mempool(e.ctx); len(mp) != 1 {
		t.Fatalf("a blocked payment reached the mempool")
	}
	// Someone else's security context cannot pay from alice.
	if _, err := e.m.Execute(e.verified(e.alice), anya.MLToBitcoin{PaymentID: "g-3", SenderDID: e.bob.String(),
		SenderAddress: e.alice.Address.String(), RecipientAddress: e.bob.Address.String(), AmountSat: 10_000}); !errors.Is(err, anya.ErrPrincipal) {
		t.Fatalf("principal mismatch: %v", err)
	}
	var blocked, refused int
	for _, en := range e.audit() {
		if en.From == "ml" && en.To == "bitcoin" && en.Decision == security.DecisionDeny {
			switch en.Rule {
			case "block":
				blocked++
			default:
				refused++
			}
		}
	}
	if blocked != 1 || refused != 2 {
		t.Errorf("audited ML→Bitcoin denials: %d blocks, %d others; want 1 and 2", blocked, refused)
	}
}

// The verified payment: sent, blocked by risk, or stopped by an unverified identity; exactly
// once; recorded; confirmed by the block trigger; observable on the bus.
func TestTriProtocol(t *testing.T) {
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	events := make(chan string, 1000)
	if _, err := bus.Subscribe(b, "workflow.run.>", func(_ context.Context, ev bus.Envelope[workflow.Event]) error {
		events <- ev.Topic + " " + ev.Payload.RunID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	confirmed := make(chan anya.PaymentEvent, 10)
	if _, err := bus.Subscribe(b, anya.TopicPaymentConfirmed, func(_ context.Context, ev bus.Envelope[anya.PaymentEvent]) error {
		confirmed <- ev.Payload
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, anya.WithBus(b))

	sent := e.pay("t-sent", e.alice, e.bob, 25_000)
	if sent.Outcome != anya.OutcomeSent || sent.Status != workflow.StatusCompleted || !sent.SenderVerified ||
		sent.VerificationScore != 1 || sent.Txid == "" || sent.RecordID == "" || sent.Risk >= anya.DefaultRiskThreshold {
		t.Fatalf("sent: %+v", sent)
	}
	blocked := e.pay("t-blocked", e.alice, e.bob, 100_000_000)
	if blocked.Outcome != anya.OutcomeBlocked || blocked.Status != workflow.StatusCompleted || blocked.Txid != "" ||
		blocked.Risk < anya.DefaultRiskThreshold || blocked.Run.Step("send_payment").Status != workflow.StepSkipped {
		t.Fatalf("blocked: %+v", blocked)
	}
	unverified := e.pay("t-unverified", e.bob, e.alice, 10_000) // bob has no link (nor coins: he never gets that far)
	if unverified.Outcome != anya.OutcomeUnverified || unverified.Status != workflow.StatusTerminated || unverified.Txid != "" {
		t.Fatalf("unverified: %+v", unverified)
	}
	// Exactly once: the same payment ID returns the stored outcome.
	again := e.pay("t-sent", e.alice, e.bob, 25_000)
	if again.Txid != sent.Txid || again.RecordID != sent.RecordID {
		t.Fatalf("again: %+v", again)
	}
	mp, _ := e.sim.Mempool(e.ctx)
	if len(mp) != 1 || mp[0].Txid.String() != sent.Txid {
		t.Fatalf("mempool %v, want only %s", mp, sent.Txid)
	}
	recs := e.paymentRecords(e.alice)
	if len(recs) != 1 || recs["t-sent"].Txid != sent.Txid || recs["t-sent"].Status != anya.PaymentBroadcast ||
		recs["t-sent"].AmountSat != 25_000 {
		t.Fatalf("alice's payment records %+v", recs)
	}
	// The block trigger: mining the payment confirms it and rewrites its record.
	e.mine(1, nil)
	select {
	case ev := <-confirmed:
		if ev.PaymentID != "t-sent" || ev.Txid != sent.Txid || ev.RecordID != sent.RecordID || ev.Status != anya.PaymentConfirmed {
			t.Fatalf("confirmation %+v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no confirmation event")
	}
	if pr := e.paymentRecords(e.alice)["t-sent"]; pr.Status != anya.PaymentConfirmed || pr.BlockHeight != e.sim.Tip().Height ||
		pr.BlockHash != e.sim.Tip().Hash.String() {
		t.Fatalf("record after the block: %+v", pr)
	}
	got := map[string]bool{}
	for len(events) > 0 {
		got[<-events] = true
	}
	for _, want := range []string{"workflow.run.started t-sent", "workflow.run.completed t-sent", "workflow.run.completed t-blocked",
		"workflow.run.terminated t-unverified"} {
		if !got[want] {
			t.Errorf("no %q on the bus; got %v", want, got)
		}
	}
	if rep, err := e.m.Audit().Verify(e.ctx, nil); err != nil || rep.Entries == 0 {
		t.Fatalf("audit log: %+v %v", rep, err)
	}
}

func TestTriProtocolRefusals(t *testing.T) {
	e := newEnv(t)
	ok := anya.TriProtocol{SenderDID: e.alice.String(), SenderAddress: e.alice.Address.String(),
		RecipientAddress: e.bob.Address.String(), AmountSat: 10_000}
	n := 0
	for name, c := range map[string]struct {
		edit func(*anya.TriProtocol)
		want error
	}{
		"no payment id":           {func(o *anya.TriProtocol) { o.PaymentID = "" }, anya.ErrInvalidOp},
		"long payment id":         {func(o *anya.TriProtocol) { o.PaymentID = strings.Repeat("x", 200) }, anya.ErrInvalidOp},
		"payment id with a space": {func(o *anya.TriProtocol) { o.PaymentID = "order 1" }, anya.ErrInvalidOp},
		"bad DID":                 {func(o *anya.TriProtocol) { o.SenderDID = "alice" }, anya.ErrInvalidOp},
		"mainnet recipient":       {func(o *anya.TriProtocol) { o.RecipientAddress = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq" }, anya.ErrInvalidOp},
		"zero amount":             {func(o *anya.TriProtocol) { o.AmountSat = 0 }, anya.ErrInvalidOp},
		"another's principal":     {func(o *anya.TriProtocol) {}, anya.ErrPrincipal},
	} {
		n++
		op := ok
		op.PaymentID = fmt.Sprintf("r-%d", n)
		c.edit(&op)
		if op.PaymentID != fmt.Sprintf("r-%d", n) && op.PaymentID != "" {
			defer func(id string) {
				if _, err := e.m.Payment(e.ctx, id); err == nil {
					t.Errorf("%s: stored", name)
				}
			}(op.PaymentID)
		}
		ctx := e.ctx
		if name == "another's principal" {
			ctx = security.NewContext(ctx, &security.Context{Principal: e.bob.String()})
		}
		if _, err := e.m.Execute(ctx, op); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
		if _, err := e.m.Payment(e.ctx, fmt.Sprintf("r-%d", n)); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("%s: a refused payment was stored: %v", name, err)
		}
	}
	// An address the sender never linked (and whose key the Manager lacks): the identity does
	// not verify for it, and the run ends there.
	op := ok
	op.PaymentID, op.SenderAddress = "r-stranger", mustAddr(t, "stranger")
	res, err := e.m.Execute(e.ctx, op)
	if err != nil || res.(*anya.Payment).Outcome != anya.OutcomeUnverified {
		t.Fatalf("someone else's address: %+v %v", res, err)
	}
}

// A verified payment whose send cannot be made fails at once (no retries for missing funds), and
// Execute returns its outcome with ErrPaymentFailed.
func TestTriProtocolFailed(t *testing.T) {
	e := newEnv(t)
	e.link(e.bob) // bob verifies, but has no coins
	in := map[string]any{"payment_id": "f-1", "sender_did": e.bob.String(), "sender_address": e.bob.Address.String(),
		"recipient_address": e.alice.Address.String(), "amount_sat": 10_000}
	res, err := e.m.Workflows().Run(e.verified(e.bob), workflow.VerifiedPaymentName, "f-1", in)
	var runErr *workflow.RunError
	if !errors.As(err, &runErr) || res.Step("send_payment").Attempt != 1 {
		t.Fatalf("run: %v, %+v", err, res)
	}
	out, err := e.m.Execute(e.ctx, anya.TriProtocol{PaymentID: "f-1", SenderDID: e.bob.String(), SenderAddress: e.bob.Address.String(),
		RecipientAddress: e.alice.Address.String(), AmountSat: 10_000})
	if !errors.Is(err, anya.ErrPaymentFailed) {
		t.Fatalf("Execute of a failed payment: %v", err)
	}
	if p := out.(*anya.Payment); p.Outcome != anya.OutcomeFailed || !strings.Contains(p.Error, "insufficient funds") || !p.SenderVerified {
		t.Fatalf("payment %+v", p)
	}
}

func mustAddr(t *testing.T, seed string) string {
	a, err := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed(seed).PubKey(), bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

// Issue 7's bypass attempts at the Manager's boundaries: each refused and audited.
func TestBoundaryBypassAttempts(t *testing.T) {
	e := newEnv(t)
	verified := e.verified(e.alice)
	pay := func() map[string]any {
		return map[string]any{"payment_id": "x", "from_address": e.alice.Address.String(), "to_address": e.bob.Address.String(),
			"amount_sat": int64(1000), "risk_score": 0.1}
	}
	approve := pay()
	approve["approved"] = true
	huge := map[string]any{"amount_sat": int64(1), "recipient_address": strings.Repeat("b", security.DefaultMaxBytes)}
	for name, c := range map[string]struct {
		ctx      context.Context
		from, to security.Protocol
		action   string
		data     map[string]any
		want     error
	}{
		"ML authorises a send":       {verified, security.ML, security.Bitcoin, security.ActionSendPayment, approve, security.ErrPrivilege},
		"ML asks for another action": {verified, security.ML, security.Bitcoin, "bitcoin.sweep_wallet", pay(), security.ErrActionNotAllowed},
		"unverified principal":       {e.ctx, security.ML, security.Bitcoin, security.ActionSendPayment, pay(), security.ErrUnverifiedIdentity},
		"oversized payload":          {verified, security.Web5, security.ML, security.ActionAssessRisk, huge, security.ErrTooLarge},
		"PII to ML":                  {verified, security.Web5, security.ML, security.ActionAssessRisk, map[string]any{"amount_sat": int64(1), "recipient_address": "alice@example.com"}, security.ErrPersonalData},
		"unlisted field to ML":       {verified, security.Web5, security.ML, security.ActionAssessRisk, map[string]any{"email": "x"}, security.ErrFieldNotAllowed},
		"unsigned Web5 attachment": {verified, security.Web5, security.Bitcoin, security.ActionSendPayment, func() map[string]any {
			p := pay()
			delete(p, "risk_score")
			p["attachment"] = map[string]any{"jws": "a.b.c"}
			return p
		}(), security.ErrProvenance},
	} {
		before := len(e.audit())
		_, err := e.m.Boundaries().Cross(c.ctx, string(c.from), string(c.to), c.action, c.data)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
			continue
		}
		es := e.audit()
		if len(es) != before+1 || es[len(es)-1].Decision != security.DecisionDeny {
			t.Errorf("%s: not audited as a denial (%d → %d entries)", name, before, len(es))
		}
	}
}

// The audit log detects tampering with its SQLite file: a modified, a deleted entry.
func TestAuditTamper(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, anya.WithDataDir(dir), anya.WithEphemeralKeys())
	e.pay("a-1", e.alice, e.bob, 10_000)
	head, err := e.m.Audit().Head(e.ctx)
	if err != nil || head.Seq < 4 {
		t.Fatalf("head %v %v", head, err)
	}
	if _, err := e.m.Audit().Verify(e.ctx, &head); err != nil {
		t.Fatalf("intact log: %v", err)
	}
	db := openSQLite(t, filepath.Join(dir, anya.AuditFile))
	tamper := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(e.ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	tamper(`UPDATE security_audit SET decision = 'deny' WHERE seq = 2`)
	checkTamper(t, e, &head, security.TamperModified)
	tamper(`UPDATE security_audit SET decision = 'allow' WHERE seq = 2`)
	tamper(`DELETE FROM security_audit WHERE seq = 3`)
	checkTamper(t, e, &head, security.TamperDeleted, security.TamperBroken)
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sqlitex.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func checkTamper(t *testing.T, e *env, head *security.Head, kinds ...security.TamperKind) {
	t.Helper()
	rep, err := e.m.Audit().Verify(e.ctx, head)
	if !errors.Is(err, security.ErrTampered) {
		t.Fatalf("tampered log verified: %v", err)
	}
	for _, p := range rep.Problems {
		for _, k := range kinds {
			if p.Kind == k {
				return
			}
		}
	}
	t.Fatalf("problems %v, want one of %v", rep.Problems, kinds)
}

// A block that leaves the main chain takes its payments back to broadcast; they confirm again
// in the new branch.
func TestConfirmationReorg(t *testing.T) {
	b, _ := bus.New()
	defer b.Close()
	moves := make(chan anya.PaymentEvent, 10)
	for _, topic := range []string{anya.TopicPaymentConfirmed, anya.TopicPaymentReorged} {
		if _, err := bus.Subscribe(b, topic, func(_ context.Context, ev bus.Envelope[anya.PaymentEvent]) error {
			moves <- ev.Payload
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, anya.WithBus(b))
	p := e.pay("o-1", e.alice, e.bob, 12_000)
	next := func(status string) anya.PaymentEvent {
		t.Helper()
		select {
		case ev := <-moves:
			if ev.PaymentID != "o-1" || ev.Status != status {
				t.Fatalf("event %+v, want %s", ev, status)
			}
			return ev
		case <-time.After(30 * time.Second):
			t.Fatalf("no %s event", status)
		}
		return anya.PaymentEvent{}
	}
	e.mine(1, nil)
	first := next(anya.PaymentConfirmed)
	if _, err := e.sim.Reorg(1, 0); err != nil { // the confirming block leaves; the tx returns to the mempool
		t.Fatal(err)
	}
	next(anya.PaymentBroadcast)
	if pr := e.paymentRecords(e.alice)["o-1"]; pr.Status != anya.PaymentBroadcast || pr.BlockHash != "" {
		t.Fatalf("record after the reorg: %+v", pr)
	}
	e.mine(2, nil)
	second := next(anya.PaymentConfirmed)
	if second.Block.Hash == first.Block.Hash || second.Txid != p.Txid {
		t.Fatalf("confirmed again in %v (first %v)", second.Block, first.Block)
	}
}

// Cached UTXOs are invalidated by the Manager's own payments at once and by blocks for
// everything else (the block trigger).
func TestBalanceInvalidation(t *testing.T) {
	b, _ := bus.New(bus.WithMetrics(nil))
	defer b.Close()
	e := newEnv(t, anya.WithBus(b))
	bob := e.bob.Address.String()
	balance := func() (int64, int64) {
		t.Helper()
		c, u, err := e.m.Balance(e.ctx, bob)
		if err != nil {
			t.Fatal(err)
		}
		return int64(c), int64(u)
	}
	if c, u := balance(); c != 0 || u != 0 {
		t.Fatalf("bob starts with %d/%d", c, u)
	}
	e.pay("b-1", e.alice, e.bob, 40_000)
	if c, u := balance(); c != 0 || u != 40_000 {
		t.Fatalf("after the Manager's payment: %d confirmed, %d unconfirmed", c, u)
	}
	// A payment the Manager does not make is seen when a block brings it.
	w, err := bitcointest.NewWalletFromSeed(e.sim, "outsider")
	if err != nil {
		t.Fatal(err)
	}
	e.mine(1, nil)
	if _, err := e.sim.Mine(101, simchain.PayTo(w.PkScript())); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { c, _ := balance(); return c == 40_000 }) // the block trigger invalidated bob's entry
	if _, err := w.Send(e.ctx, wire.NewTxOut(5_000, e.bob.Address.PkScript())); err != nil {
		t.Fatal(err)
	}
	if c, u := balance(); c != 40_000 || u != 0 {
		t.Fatalf("an outsider's mempool payment changed the cached balance: %d/%d", c, u)
	}
	e.mine(1, nil)
	waitFor(t, func() bool { c, _ := balance(); return c == 45_000 })
}

// waitFor waits for cond, which an event handler on another goroutine makes true.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(time.Millisecond)
	}
}

// A record the tenant deletes (here: its address link) reaches the Manager's identity cache
// through the bus at once: the link no longer verifies.
func TestIdentityInvalidatedByRecordsEvent(t *testing.T) {
	deleted := make(chan struct{}, 1)
	b, _ := bus.New(bus.WithMetrics(func(topic, sub string, m bus.Metric) {
		if sub == "anya.identities" && m == bus.MetricDelivered && strings.HasSuffix(topic, ".records.deleted") {
			deleted <- struct{}{}
		}
	}))
	defer b.Close()
	e := newEnv(t, anya.WithBus(b))
	verify := func() bool {
		res, err := e.m.Execute(e.ctx, anya.VerifyLink{DID: e.alice.String(), Address: e.alice.Address.String()})
		if err != nil {
			t.Fatal(err)
		}
		return res.(*anya.LinkVerification).Verified
	}
	if !verify() {
		t.Fatal("the link does not verify")
	}
	msg, err := dwn.NewDelete(e.ctx, e.alice.DID, e.alice.String(), e.aliceLink.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.DWN().Process(e.ctx, e.alice.String(), msg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-deleted:
	case <-time.After(30 * time.Second):
		t.Fatal("the Manager never handled the deletion")
	}
	if verify() {
		t.Fatal("a deleted link still verifies")
	}
}

// A host restarted on its data directory misses no block: payments mined while it was down are
// confirmed, their records rewritten, when it starts again (from its checkpoint).
func TestRestartConfirmsWhatWasMinedMeanwhile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	host := mustFixedDID(t, "restart host")
	opts := []anya.Option{anya.WithDataDir(dir), anya.WithChain(sim), anya.WithHostDID(host)}
	m, err := anya.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := m.AddIdentity(ctx, mustFixedDID(t, "restart alice"), bitcointest.KeyFromSeed("restart alice"))
	if err != nil {
		t.Fatal(err)
	}
	shop := mustAddr(t, "restart shop")
	if _, err := sim.Mine(1, simchain.PayTo(alice.Address.PkScript())); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(100); err != nil {
		t.Fatal(err)
	}
	ch, _ := m.Challenge(alice.String(), alice.Address.String())
	sig, _ := alice.SignChallenge(ch)
	if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: alice.String(), Address: alice.Address.String(), Challenge: ch, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	res, err := m.Execute(ctx, anya.TriProtocol{PaymentID: "r-1", SenderDID: alice.String(), SenderAddress: alice.Address.String(),
		RecipientAddress: shop, AmountSat: 30_000})
	if err != nil || res.(*anya.Payment).Outcome != anya.OutcomeSent {
		t.Fatalf("%+v %v", res, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(3); err != nil { // the payment confirms while the host is down
		t.Fatal(err)
	}
	m2, err := anya.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	p, err := m2.Payment(ctx, "r-1")
	if err != nil || p.RecordID == "" {
		t.Fatalf("%+v %v", p, err)
	}
	// The record is rewritten by the replay from the checkpoint (or the reconciliation at start).
	e := &env{t: t, ctx: ctx, m: m2, alice: alice, now: time.Now}
	waitFor(t, func() bool { return e.paymentRecords(alice)["r-1"].Status == anya.PaymentConfirmed })
	if pr := e.paymentRecords(alice)["r-1"]; pr.BlockHeight != sim.Tip().Height-2 {
		t.Fatalf("record %+v, want confirmed at %d", pr, sim.Tip().Height-2)
	}
	// The host's grants were made to its DID: the same DID on every start keeps them working.
	if _, err := m2.Execute(ctx, anya.VerifyLink{DID: alice.String(), Address: alice.Address.String()}); err != nil {
		t.Fatal(err)
	}
}

func mustFixedDID(t *testing.T, name string) *did.BearerDID {
	t.Helper()
	b, err := fixedDID(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package anya_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/utxo"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/workflow"
)

// jsFund mines a funder's coinbase on sim and gives each of senders coins of crashCoin sat,
// confirmed.
// jsChain returns a simchain (closed when the test ends) on which each of senders has coins
// confirmed coins of crashCoin.
func jsChain(t *testing.T, senders, coins int) *simchain.Chain {
	t.Helper()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	jsFund(t, sim, senders, coins)
	return sim
}

func jsFund(t *testing.T, sim *simchain.Chain, senders, coins int) {
	t.Helper()
	funder, err := bitcointest.NewWalletFromSeed(sim, "js funder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(101, simchain.PayTo(funder.PkScript())); err != nil {
		t.Fatal(err)
	}
	var outs []*wire.TxOut
	for s := range senders {
		for range coins {
			outs = append(outs, wire.NewTxOut(crashCoin, bitcointest.P2WPKHScript(senderKey(s))))
		}
	}
	if _, err := funder.Send(t.Context(), outs...); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(6); err != nil {
		t.Fatal(err)
	}
}

// jsHost returns a Manager on chain sharing js with the other hosts of the test (nil: opts give
// WithJetStream).
func jsHost(t *testing.T, name string, chain bitcoin.Chain, js jetstream.JetStream, opts ...anya.Option) *anya.Manager {
	t.Helper()
	host, err := fixedDID("js host")
	if err != nil {
		t.Fatal(err)
	}
	base := []anya.Option{anya.WithChain(chain), anya.WithHostName(name), anya.WithHostDID(host), anya.WithMLOptions(ml.WithWorkers(1))}
	if js != nil {
		base = append(base, anya.WithJetStream(js))
	}
	m, err := anya.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// register adds sender s to m with its key and, unless done already by any host, links its
// address.
func register(t *testing.T, m *anya.Manager, s int) *anya.Identity {
	t.Helper()
	ctx := t.Context()
	b, err := fixedDID(crashSender(s))
	if err != nil {
		t.Fatal(err)
	}
	id, err := m.AddIdentity(ctx, b, senderKey(s))
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Execute(ctx, anya.VerifyLink{DID: b.String(), Address: id.Address.String()})
	if err != nil {
		t.Fatal(err)
	}
	if res.(*anya.LinkVerification).Verified {
		return id
	}
	ch, err := m.Challenge(b.String(), id.Address.String())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := id.SignChallenge(ch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: b.String(), Address: id.Address.String(), Challenge: ch, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	return id
}

// eventLog counts the payment events a subscriber of the shared bus sees, by payment and
// sequence number.
type eventLog struct {
	mu   sync.Mutex
	seen map[string]map[int]int // payment → Seq → deliveries
	ids  map[bus.ID]int
	kick chan struct{}
}

func newEventLog(t *testing.T, b *bus.Bus) *eventLog {
	l := &eventLog{seen: map[string]map[int]int{}, ids: map[bus.ID]int{}, kick: make(chan struct{}, 1)}
	sub, err := bus.Subscribe(b, "anya.payment.*", func(_ context.Context, e bus.Envelope[anya.PaymentEvent]) error {
		l.mu.Lock()
		if l.seen[e.Payload.PaymentID] == nil {
			l.seen[e.Payload.PaymentID] = map[int]int{}
		}
		l.seen[e.Payload.PaymentID][e.Payload.Seq]++
		l.ids[e.ID]++
		l.mu.Unlock()
		select {
		case l.kick <- struct{}{}:
		default:
		}
		return nil
	}, bus.Named("test.events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return l
}

// wait waits until every payment of ids has had want events, and reports any seen twice.
func (l *eventLog) wait(t *testing.T, ids []string, want int) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		l.mu.Lock()
		done := 0
		for _, id := range ids {
			if len(l.seen[id]) >= want {
				done++
			}
		}
		var twice []string
		for id, seqs := range l.seen {
			for seq, n := range seqs {
				if n > 1 {
					twice = append(twice, fmt.Sprintf("%s#%d×%d", id, seq, n))
				}
			}
		}
		l.mu.Unlock()
		if len(twice) > 0 {
			t.Fatalf("payment events delivered more than once: %v", twice)
		}
		if done == len(ids) {
			return
		}
		select {
		case <-l.kick:
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%d of %d payments have %d events", done, len(ids), want)
		}
	}
}

// Two hosts on one JetStream: payments started on either complete once, their events arrive
// once, one audit chain holds both hosts' crossings, a challenge one host issued verifies on
// the other, and confirmations are processed once for both.
func TestJetStreamTwoHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server and two Managers")
	}
	ctx := t.Context()
	srv := natstest.Start(t)
	const senders, payments = 2, 12
	sim := jsChain(t, senders, payments)
	a := jsHost(t, "host-a", sim, srv.JetStream(t))
	b := jsHost(t, "host-b", sim, srv.JetStream(t))
	events := newEventLog(t, a.Bus())

	// A challenge host A issues, host B verifies: one key.
	bd, _ := fixedDID(crashSender(0))
	idA, err := a.AddIdentity(ctx, bd, senderKey(0))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := a.Challenge(bd.String(), idA.Address.String())
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := idA.SignChallenge(ch)
	if _, err := b.AddIdentity(ctx, bd, senderKey(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Execute(ctx, anya.BitcoinToWeb5{DID: bd.String(), Address: idA.Address.String(), Challenge: ch, Signature: sig}); err != nil {
		t.Fatalf("host B refused host A's challenge: %v", err)
	}
	hosts := []*anya.Manager{a, b}
	ids := make([][]*anya.Identity, len(hosts))
	for h, m := range hosts {
		for s := range senders {
			ids[h] = append(ids[h], register(t, m, s))
		}
	}
	var (
		wg   sync.WaitGroup
		all  = make([]string, payments)
		errs = make(chan error, payments)
	)
	for i := range payments {
		all[i] = fmt.Sprintf("js-%02d", i)
	}
	for i := range payments {
		h, s := i%2, (i/2)%senders
		wg.Go(func() {
			to, _ := recipientAddress(i)
			res, err := hosts[h].Execute(ctx, anya.TriProtocol{PaymentID: all[i], SenderDID: ids[h][s].String(),
				SenderAddress: ids[h][s].Address.String(), RecipientAddress: to.String(), AmountSat: crashAmount(i)})
			if err != nil {
				errs <- fmt.Errorf("%s on host %d: %w", all[i], h, err)
				return
			}
			if p := res.(*anya.Payment); p.Outcome != anya.OutcomeSent {
				errs <- fmt.Errorf("%s: %s %s", p.PaymentID, p.Outcome, p.Error)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	events.wait(t, all, 1) // sent
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	events.wait(t, all, 2) // and confirmed, once: one host processed the block
	for i, id := range all {
		// Either host reports the payment, as stored.
		p, err := hosts[(i+1)%2].Payment(ctx, id)
		if err != nil || p.Outcome != anya.OutcomeSent || p.RecordID == "" {
			t.Fatalf("%s from the other host: %+v %v", id, p, err)
		}
		to, _ := recipientAddress(i)
		bto, _ := to.BtcutilAddress()
		utxos, err := bitcoin.AddressUTXOs(ctx, sim, bto)
		if err != nil || len(utxos) != 1 || utxos[0].Height == 0 {
			t.Fatalf("%s: recipient holds %+v %v", id, utxos, err)
		}
	}
	rep, err := b.Audit().Verify(ctx)
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	// Both hosts' payments crossed ML→Bitcoin, on the one chain.
	es, err := a.Audit().Entries(ctx, 1, rep.Entries)
	if err != nil {
		t.Fatal(err)
	}
	sends := 0
	for _, e := range es {
		if e.Decision != security.DecisionAllow {
			t.Errorf("denied crossing: %+v", e)
		}
		if e.From == "ml" && e.To == "bitcoin" && e.Action == workflow.OpSendPayment {
			sends++
		}
	}
	if sends < payments { // a step tried again crosses again
		t.Errorf("%d audited ML→Bitcoin sends on the chain, want at least %d", sends, payments)
	}
	t.Logf("%d payments over 2 hosts; audit chain of %d entries intact", payments, rep.Entries)
}

func TestJetStreamOptions(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for name, opts := range map[string][]anya.Option{
		"nil JetStream":   {anya.WithJetStream(nil)},
		"bad prefix":      {anya.WithJetStream(js, anya.JetStreamPrefix("A.B"))},
		"replicas":        {anya.WithJetStream(js, anya.JetStreamReplicas(0))},
		"with a bus":      {anya.WithJetStream(js), anya.WithBus(b)},
		"empty host name": {anya.WithHostName("")},
		"lease TTL":       {anya.WithLeaseTTL(time.Millisecond)},
		"challenge key":   {anya.WithChallengeKey([]byte("short"))},
	} {
		m, err := anya.New(opts...)
		if !errors.Is(err, anya.ErrInvalidOption) {
			if m != nil {
				_ = m.Close()
			}
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

// Two long-running hosts on one JetStream, both started before any link: a link made through
// host A verifies on host B at once (B had read the DID's store before), enters B's reverse
// index, and lets B pay from the address; revoked through A, B refuses it at once, drops it
// from its index and pays from it no more.
func TestJetStreamLinksAcrossHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server and two Managers")
	}
	ctx := t.Context()
	srv := natstest.Start(t)
	sim := jsChain(t, 1, 2)
	a := jsHost(t, "host-a", sim, srv.JetStream(t))
	b := jsHost(t, "host-b", sim, srv.JetStream(t))
	bd, err := fixedDID(crashSender(0))
	if err != nil {
		t.Fatal(err)
	}
	d := bd.String()
	idA, err := a.AddIdentity(ctx, bd, senderKey(0))
	if err != nil {
		t.Fatal(err)
	}
	addr := idA.Address.String()
	verifyOnB := func() *anya.LinkVerification {
		t.Helper()
		v, err := b.VerifyLink(ctx, anya.VerifyLink{DID: d, Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// B reads the DID's store before the link: nothing there.
	if v := verifyOnB(); v.Verified || v.Refusal == nil || v.Refusal.Reason != anya.ReasonNoLink {
		t.Fatalf("B before the link: %+v", v)
	}
	lk, err := a.LinkIdentity(ctx, idA)
	if err != nil {
		t.Fatal(err)
	}
	if v := verifyOnB(); !v.Verified {
		t.Fatalf("B does not verify the link A made: %s", v.Reason)
	}
	if v, err := b.VerifyLink(ctx, anya.VerifyLink{DID: d, Address: addr, Credential: lk.Credential}); err != nil || !v.Verified {
		t.Fatalf("B does not verify the credential A issued: %+v %v", v, err)
	}
	waitFor(t, func() bool { // B's reverse index has the link A made, once its event arrives
		dids := b.Links().Index().DIDs(addr)
		return len(dids) == 1 && dids[0] == d
	})
	if got := b.Links().Index().Addresses(d); len(got) != 1 || got[0] != addr {
		t.Fatalf("B's index, DID → addresses: %v", got)
	}
	// B holds the sender's key too, and pays from the address A linked.
	if _, err := b.AddIdentity(ctx, bd, senderKey(0)); err != nil {
		t.Fatal(err)
	}
	to, _ := recipientAddress(0)
	pay := func(id string) *anya.Payment {
		t.Helper()
		res, err := b.Execute(ctx, anya.TriProtocol{PaymentID: id, SenderDID: d, SenderAddress: addr, RecipientAddress: to.String(),
			AmountSat: crashAmount(0)})
		if err != nil {
			t.Fatal(err)
		}
		return res.(*anya.Payment)
	}
	if p := pay("links-1"); p.Outcome != anya.OutcomeSent {
		t.Fatalf("pay on B from the address A linked: %s %+v", p.Outcome, p.Refusal)
	}
	// Revoked through A: B refuses it at once and no longer pays from it.
	if err := a.RevokeLink(ctx, d, addr); err != nil {
		t.Fatal(err)
	}
	if v := verifyOnB(); v.Verified || v.Refusal == nil || v.Refusal.Reason != anya.ReasonLinkRevoked {
		t.Fatalf("B after A revoked the link: %+v", v)
	}
	if p := pay("links-2"); p.Outcome != anya.OutcomeUnverified || p.Refusal == nil || p.Refusal.Reason != anya.ReasonLinkRevoked {
		t.Fatalf("pay on B from a revoked link: %s %+v", p.Outcome, p.Refusal)
	}
	waitFor(t, func() bool { return len(b.Links().Index().DIDs(addr)) == 0 }) // B's index drops it on its event
	if got := a.Links().Index().DIDs(addr); len(got) != 0 {
		t.Fatalf("A's index after its revocation: %v", got)
	}
}

// Hosts sharing their state apply each block to the bridges on one host at a time (the
// bridges' lease): the UTXO record of an address linked through one host is kept by whichever
// host applies the blocks — one record, never two — and when that host stops another takes
// over from its checkpoint and records; every host's WaitBridges follows the one applying.
func TestJetStreamBridgesOnOneHost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server and two Managers")
	}
	ctx := t.Context()
	srv := natstest.Start(t)
	sim := jsChain(t, 1, 1)
	hosts := []*anya.Manager{jsHost(t, "host-a", sim, srv.JetStream(t), anya.WithLeaseTTL(2*time.Second)),
		jsHost(t, "host-b", sim, srv.JetStream(t), anya.WithLeaseTTL(2*time.Second))}
	applying := func() []int {
		t.Helper()
		var on []int
		for i, m := range hosts {
			if m == nil {
				continue
			}
			h, err := m.Health(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if h.Bridges.Applying {
				on = append(on, i)
			}
		}
		return on
	}
	waitFor(t, func() bool { return len(applying()) == 1 })
	leader := applying()[0]
	other := 1 - leader
	// The identity is linked through the host that does not apply the blocks.
	bd, err := fixedDID(crashSender(0))
	if err != nil {
		t.Fatal(err)
	}
	id, err := hosts[other].AddIdentity(ctx, bd, senderKey(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hosts[other].LinkIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	funder, err := bitcointest.NewWalletFromSeed(sim, "bridges funder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(101, simchain.PayTo(funder.PkScript())); err != nil {
		t.Fatal(err)
	}
	records := func(m *anya.Manager) []utxo.Set {
		t.Helper()
		q, err := dwn.NewQuery(ctx, bd, bd.String(), dwn.Query{Filter: dwn.Filter{Protocol: bridge.ProtocolURI, ProtocolPath: bridge.PathUTXOs}})
		if err != nil {
			t.Fatal(err)
		}
		reply, err := m.DWN().Process(ctx, bd.String(), q)
		if err != nil {
			t.Fatal(err)
		}
		sets := make([]utxo.Set, len(reply.Records))
		for i, r := range reply.Records {
			if err := json.Unmarshal(r.Data, &sets[i]); err != nil {
				t.Fatal(err)
			}
		}
		return sets
	}
	// pay sends value to the linked address in a block and waits until every running host's
	// bridges are past it.
	pay := func(value int64) {
		t.Helper()
		waitFor(t, func() bool { _, ok := hosts[leader].UTXOs().Set(bd.String(), id.Address); return ok })
		if _, err := funder.Send(ctx, wire.NewTxOut(value, id.Address.PkScript())); err != nil {
			t.Fatal(err)
		}
		if _, err := sim.Mine(1); err != nil {
			t.Fatal(err)
		}
		for _, m := range hosts {
			if m != nil {
				settle(t, m)
			}
		}
	}
	pay(7_000)
	sets := records(hosts[other])
	if len(sets) != 1 || sets[0].Balance() != btcutil.Amount(crashCoin+7_000) {
		t.Fatalf("after a block applied by host %d: %d UTXO records %+v, want one holding %d sat", leader, len(sets), sets, crashCoin+7_000)
	}
	// The host applying the blocks stops: the other takes over from where it was.
	if err := hosts[leader].Close(); err != nil {
		t.Fatal(err)
	}
	hosts[leader] = nil
	waitFor(t, func() bool { return slices.Equal(applying(), []int{other}) })
	leader = other
	pay(9_000)
	sets = records(hosts[other])
	if len(sets) != 1 || sets[0].Balance() != btcutil.Amount(crashCoin+16_000) {
		t.Fatalf("after the takeover: %d UTXO records %+v, want one holding %d sat", len(sets), sets, crashCoin+16_000)
	}
}

// Command verified-payment is the SDK's headline scenario on embedded defaults: a verified
// payment across Bitcoin, Web5 and ML in one process.
//
// It creates a sender, a recipient and a stranger (did:dht identities with Bitcoin keys), funds
// the sender and the stranger on the embedded simchain, links the sender's address to its DID
// (a BIP-322 proof turned into a credential in the sender's records store), and runs three
// verified payments — one that goes through, one the fraud model blocks, one from an identity
// that does not verify. It then mines a block and shows the confirmation trigger rewriting the
// payment's record, verifies the audit log's hash chain and prints the bus counters.
//
//	go run ./examples/verified-payment
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/dwn"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }

	b, err := bus.New()
	if err != nil {
		return err
	}
	defer b.Close()
	confirmed := make(chan anya.PaymentEvent, 1)
	if _, err := bus.Subscribe(b, anya.TopicPaymentConfirmed, func(_ context.Context, e bus.Envelope[anya.PaymentEvent]) error {
		confirmed <- e.Payload
		return nil
	}, bus.Named("demo.confirmations")); err != nil {
		return err
	}

	m, err := anya.New(anya.WithBus(b)) // everything else on embedded defaults
	if err != nil {
		return err
	}
	defer m.Close()
	sim := m.Chain().(*simchain.Chain)
	p("anya verified payment — chain: simchain %s, ML backend: %s, host: %s", m.Network(), m.Backend(), m.Host())

	sender, err := m.NewIdentity(ctx)
	if err != nil {
		return err
	}
	shop, err := m.NewIdentity(ctx)
	if err != nil {
		return err
	}
	stranger, err := m.NewIdentity(ctx)
	if err != nil {
		return err
	}
	p("\nidentities (did:dht on the in-process gateway, P2WPKH keys in the Manager's wallet)")
	for _, id := range []struct {
		name string
		id   *anya.Identity
	}{{"sender", sender}, {"recipient", shop}, {"stranger", stranger}} {
		p("  %-9s %s  %s", id.name, id.id, id.id.Address)
	}

	for _, id := range []*anya.Identity{sender, stranger} {
		if _, err := sim.Mine(1, simchain.PayTo(id.Address.PkScript())); err != nil {
			return err
		}
	}
	if _, err := sim.Mine(100); err != nil { // coinbase maturity
		return err
	}
	bal, _, err := m.Balance(ctx, sender.Address.String())
	if err != nil {
		return err
	}
	p("\nfunded the sender and the stranger with a coinbase each; sender's balance: %s (tip %d)", bal, sim.Tip().Height)

	challenge, err := m.Challenge(sender.String(), sender.Address.String())
	if err != nil {
		return err
	}
	sig, err := sender.SignChallenge(challenge)
	if err != nil {
		return err
	}
	res, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: sender.String(), Address: sender.Address.String(), Challenge: challenge, Signature: sig})
	if err != nil {
		return err
	}
	link := res.(*anya.Link)
	p("\nBitcoin→Web5: the sender signed the host's challenge (BIP-322) for its address")
	p("  linked as %s", link.Account)
	p("  credential issued by the host, stored as record %s in the sender's store", link.RecordID)

	res, err = m.Execute(ctx, anya.Web5ToML{DID: sender.String()})
	if err != nil {
		return err
	}
	rep := res.(*anya.Reputation)
	p("\nWeb5→ML: the sender's reputation %.2f (%s; address linked %v, credentials %v)", rep.Score, rep.Model,
		rep.Features[anya.FeatureAddressLinked], rep.Features[anya.FeatureCredentials])

	p("\nverified payments (workflow %q: verify identity → assess risk → send → record)", "verified_payment")
	var sent *anya.Payment
	for _, pay := range []struct {
		id     string
		from   *anya.Identity
		amount int64
	}{{"order-1", sender, 25_000}, {"order-2", sender, 100_000_000}, {"order-3", stranger, 25_000}} {
		res, err := m.Execute(ctx, anya.TriProtocol{PaymentID: pay.id, SenderDID: pay.from.String(), SenderAddress: pay.from.Address.String(),
			RecipientAddress: shop.Address.String(), AmountSat: pay.amount})
		if err != nil {
			return err
		}
		pm := res.(*anya.Payment)
		switch pm.Outcome {
		case anya.OutcomeSent:
			sent = pm
			p("  %s  %11d sat  sent        risk %.2f  txid %s", pm.PaymentID, pay.amount, pm.Risk, pm.Txid)
		case anya.OutcomeBlocked:
			p("  %s  %11d sat  blocked     risk %.2f ≥ %.2f: the send step was skipped", pm.PaymentID, pay.amount, pm.Risk, anya.DefaultRiskThreshold)
		case anya.OutcomeUnverified:
			p("  %s  %11d sat  unverified  the stranger's address is linked to no DID: the run terminated", pm.PaymentID, pay.amount)
		default:
			return fmt.Errorf("payment %s: %s %s", pm.PaymentID, pm.Outcome, pm.Error)
		}
	}
	if sent == nil {
		return errors.New("no payment went through")
	}

	hashes, err := sim.Mine(1)
	if err != nil {
		return err
	}
	p("\nmined block %d (%s…)", sim.Tip().Height, hashes[0].String()[:16])
	select {
	case ev := <-confirmed:
		p("trigger: bitcoin.block.connected → payment %s confirmed at height %d → its record rewritten (%s)", ev.PaymentID, ev.Block.Height, anya.TopicPaymentConfirmed)
	case <-time.After(30 * time.Second):
		return errors.New("no confirmation")
	}

	q, err := dwn.NewQuery(ctx, sender.DID, sender.String(), dwn.Query{Filter: dwn.Filter{Protocol: anya.ProtocolURI, ProtocolPath: anya.PathPayment}})
	if err != nil {
		return err
	}
	reply, err := m.DWN().Process(ctx, sender.String(), q)
	if err != nil {
		return err
	}
	for _, r := range reply.Records {
		var pr anya.PaymentRecord
		if err := json.Unmarshal(r.Data, &pr); err != nil {
			return err
		}
		p("records store: the sender's record %s: payment %s, %d sat, status %s at height %d", r.ID, pr.PaymentID, pr.AmountSat, pr.Status, pr.BlockHeight)
	}

	report, err := m.Audit().Verify(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	entries, err := m.Audit().Entries(ctx, 1, report.Entries)
	if err != nil {
		return err
	}
	allowed, denied := 0, 0
	crossings := map[string]int{}
	for _, e := range entries {
		if e.Decision == "allow" {
			allowed++
		} else {
			denied++
		}
		crossings[e.From+"→"+e.To]++
	}
	p("\naudit log: %d crossings (%d allowed, %d denied), hash chain intact, head %s…", report.Entries, allowed, denied, report.Head.String()[:20])
	var pairs []string
	for k, n := range crossings {
		pairs = append(pairs, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(pairs)
	p("  %s", strings.Join(pairs, ", "))

	p("\nbus counters (published / delivered to subscribers)")
	for _, s := range b.Stats() {
		if strings.HasPrefix(s.Topic, "web5.dwn.") {
			continue // one topic per tenant; summed below
		}
		p("  %-34s %4d / %d", s.Topic, s.Published, s.Delivered)
	}
	var dwnPub, dwnDel uint64
	for _, s := range b.Stats() {
		if strings.HasPrefix(s.Topic, "web5.dwn.") {
			dwnPub, dwnDel = dwnPub+s.Published, dwnDel+s.Delivered
		}
	}
	p("  %-34s %4d / %d", "web5.dwn.* (all tenants)", dwnPub, dwnDel)
	return nil
}

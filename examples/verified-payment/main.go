// Command verified-payment is the SDK's headline scenario: a verified payment across Bitcoin,
// Web5 and ML in one process.
//
// It creates a sender, a recipient and a stranger (did:dht identities with Bitcoin keys), funds
// the sender and the stranger, links the sender's address to its DID (a BIP-322 proof turned
// into a credential in the sender's records store), and runs three verified payments — one that
// goes through, one the fraud model blocks, one from an identity that does not verify. It then
// mines a block and shows the confirmation trigger rewriting the payment's record, verifies the
// audit log's hash chain and prints the bus counters.
//
// By default everything is embedded: the chain is a simchain in the process.
//
//	go run ./examples/verified-payment
//
// With -rpc the same scenario runs on a btcd regtest node: one the demo starts itself (the btcd
// binary named by -btcd, default $ANYA_BTCD, which the Makefile sets to the one in .tools), in a
// temporary directory that it removes at the end, or one it is given with -rpc-host, -rpc-user
// and -rpc-pass. The demo funds its identities from the coinbases of the blocks it mines with
// `generate`, so a node it is given must mine to the key -mining-key names (hex).
//
//	go run ./examples/verified-payment -rpc
//	go run ./examples/verified-payment -rpc -rpc-host 127.0.0.1:18334 -rpc-user u -rpc-pass p -mining-key <hex>
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/dwn"
)

// config is what the flags choose.
type config struct {
	rpc       bool   // run on a btcd regtest node
	btcd      string // the btcd binary to start
	host      string // a node to use instead: host:port of its RPC server
	user      string
	pass      string
	miningKey string // hex: the key the given node's blocks pay
}

func main() {
	var cfg config
	flag.BoolVar(&cfg.rpc, "rpc", false, "run on a btcd regtest node instead of the embedded simchain")
	flag.StringVar(&cfg.btcd, "btcd", os.Getenv("ANYA_BTCD"), "the btcd binary to start (with -rpc, without -rpc-host)")
	flag.StringVar(&cfg.host, "rpc-host", "", "host:port of a running btcd regtest node's RPC server (no TLS) to use instead of starting one")
	flag.StringVar(&cfg.user, "rpc-user", "", "the node's RPC user (with -rpc-host)")
	flag.StringVar(&cfg.pass, "rpc-pass", "", "the node's RPC password (with -rpc-host)")
	flag.StringVar(&cfg.miningKey, "mining-key", "", "hex of the private key the given node mines to (with -rpc-host)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, cfg); err != nil {
		log.Fatal(err)
	}
}

// network is where the demo's coins come from and its blocks are mined: the Manager's own
// simchain, or a btcd node.
type network interface {
	// Fund gives each address coins it can spend at once.
	Fund(ctx context.Context, addrs ...bitcoin.Address) error
	// Mine mines n blocks and returns their hashes.
	Mine(ctx context.Context, n int) ([]chainhash.Hash, error)
	// Describe says what the chain is.
	Describe() string
}

// simNet is the Manager's embedded simchain.
type simNet struct{ sim *simchain.Chain }

func (s simNet) Fund(_ context.Context, addrs ...bitcoin.Address) error {
	for _, a := range addrs {
		if _, err := s.sim.Mine(1, simchain.PayTo(a.PkScript())); err != nil {
			return err
		}
	}
	_, err := s.sim.Mine(100) // coinbase maturity
	return err
}

func (s simNet) Mine(_ context.Context, n int) ([]chainhash.Hash, error) { return s.sim.Mine(n) }
func (s simNet) Describe() string                                        { return "simchain" }

func run(ctx context.Context, w io.Writer, cfg config) error {
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

	opts := []anya.Option{anya.WithBus(b)} // everything else on embedded defaults
	var net network
	if cfg.rpc {
		node, err := openNode(ctx, cfg, w)
		if err != nil {
			return err
		}
		defer node.Close()
		opts = append(opts, anya.WithChain(node.chain))
		net = node
	}
	m, err := anya.New(opts...)
	if err != nil {
		return err
	}
	defer m.Close()
	if net == nil {
		net = simNet{m.Chain().(*simchain.Chain)}
	}
	p("anya verified payment — chain: %s %s, ML backend: %s, host: %s", net.Describe(), m.Network(), m.Backend(), m.Host())

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

	if err := net.Fund(ctx, sender.Address, stranger.Address); err != nil {
		return err
	}
	tip, err := m.Chain().BestBlock(ctx)
	if err != nil {
		return err
	}
	bal, _, err := m.Balance(ctx, sender.Address.String())
	if err != nil {
		return err
	}
	p("\nfunded the sender and the stranger; sender's balance: %s (tip %d)", bal, tip.Height)

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

	hashes, err := net.Mine(ctx, 1)
	if err != nil {
		return err
	}
	p("\nmined block %d (%s…)", tip.Height+1, hashes[0].String()[:16])
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

// Command stream-patterns joins the SDK's three protocol streams by entity and detects the
// seed's cross-protocol pattern, with package stream:
//
//   - bitcoin: payments mined on the embedded simchain, each from the address of the output it
//     spends, at its block's time;
//   - web5: did:key identities created, and linked to an address once a BIP-322 proof of the
//     address verifies;
//   - ml: each payment's fraud risk, scored by the fraud monitor (bridge/monitor) through its
//     trust boundaries.
//
// A three-way join (stream.NewJoin3) brings each address's payments, link and risks together in
// ten-minute windows; a pattern (stream.NewMatcher) finds, per DID, "created, then linked to an
// address, then a payment of at least 0.1 BTC from that address, all within 10 minutes", and
// prints each match with its evidence. Event time is the chain's: simchain mines a block every
// ten minutes of block time.
//
//	go run ./examples/stream-patterns
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/stream"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// The three streams' events.
type (
	// Payment is a bitcoin transaction: what it pays away from its sender's address.
	Payment struct {
		Txid string
		From string
		Sat  int64
		At   time.Time
	}
	// Identity is a web5 event: a DID created, or linked to an address.
	Identity struct {
		Kind    string // "created" or "linked"
		DID     string
		Address string // linked only
		At      time.Time
	}
	// Risk is an ml event: a payment's fraud score.
	Risk struct {
		Txid    string
		Address string
		Risk    float64
		At      time.Time
	}
)

// Event is any of them, for the pattern, keyed by DID.
type Event struct {
	Kind    string // "created", "linked" or "paid"
	DID     string
	Address string
	Txid    string
	Sat     int64
	At      time.Time
}

// minPayment is the pattern's X: a payment of at least 0.1 BTC.
const minPayment = 10_000_000

// person is one of the demo's people.
type person struct {
	name   string
	key    *btcec.PrivateKey
	wallet *bitcointest.Wallet
	addr   bitcoin.Address
	did    string
}

// links is the host's address → DID table, filled from the web5 link events.
type links map[string]string

func (l links) Owner(_ context.Context, address string) (string, error) { return l[address], nil }
func (l links) Features(context.Context, string, string) (map[string]float64, error) {
	return map[string]float64{"address_linked": 1}, nil
}

func run(ctx context.Context, w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	funder := bitcointest.KeyFromSeed("stream-patterns/funder")
	chain, err := simchain.New(simchain.WithCoinbaseScript(bitcointest.P2WPKHScript(funder)))
	if err != nil {
		return err
	}
	defer chain.Close()
	if _, err := chain.Mine(101); err != nil {
		return err
	}
	funds, err := bitcointest.NewWallet(chain, funder)
	if err != nil {
		return err
	}
	people := map[string]*person{}
	names := map[string]string{} // address → name
	var outs []*wire.TxOut
	for _, name := range []string{"alice", "bob", "carol", "dave", "shop"} {
		pr := &person{name: name, key: bitcointest.KeyFromSeed("stream-patterns/" + name)}
		if pr.wallet, err = bitcointest.NewWallet(chain, pr.key); err != nil {
			return err
		}
		if pr.addr, err = bitcoin.NewP2WPKH(pr.key.PubKey(), bitcoin.Regtest); err != nil {
			return err
		}
		people[name], names[pr.addr.String()] = pr, name
		outs = append(outs, wire.NewTxOut(100_000_000, pr.wallet.PkScript()))
	}
	if _, err := funds.Send(ctx, outs...); err != nil {
		return err
	}
	if _, err := chain.Mine(100); err != nil { // the coins settle
		return err
	}

	// Web5: alice, bob and carol create did:key identities and prove their addresses (BIP-322);
	// the times are set against the next block's, T: alice creates hers 8 minutes before T and
	// links 6 minutes before; bob 9 and 8 minutes before; carol creates hers 9 minutes before
	// but links only a minute after T — after she pays. dave has no DID.
	tipHeader, err := chain.BlockHeader(ctx, chain.Tip().Hash)
	if err != nil {
		return err
	}
	t0 := tipHeader.Timestamp.Add(simchain.DefaultBlockInterval).UTC()
	var web5 []Identity
	lk := links{}
	km := jose.NewMemoryKeyManager()
	for _, step := range []struct {
		name            string
		created, linked time.Duration
	}{{"alice", -8 * time.Minute, -6 * time.Minute}, {"bob", -9 * time.Minute, -8 * time.Minute}, {"carol", -9 * time.Minute, time.Minute}} {
		pr := people[step.name]
		id, err := didkey.Create(ctx, km, jose.Ed25519)
		if err != nil {
			return err
		}
		pr.did = id.String()
		web5 = append(web5, Identity{Kind: "created", DID: pr.did, At: t0.Add(step.created)})
		msg := "link " + pr.did + " to " + pr.addr.String()
		sig, err := bitcoin.SignMessage(pr.key, pr.addr, msg)
		if err != nil {
			return err
		}
		v, err := bitcoin.VerifyMessage(ctx, pr.addr, msg, sig)
		if err != nil || v.Result != bitcoin.Valid {
			return fmt.Errorf("%s's link proof: %v %v", step.name, v.Reason, err)
		}
		web5 = append(web5, Identity{Kind: "linked", DID: pr.did, Address: pr.addr.String(), At: t0.Add(step.linked)})
		lk[pr.addr.String()] = pr.did
	}
	slices.SortFunc(web5, func(a, b Identity) int { return a.At.Compare(b.At) })

	// Bitcoin: at T alice pays the shop 0.5 BTC, bob 0.001 BTC, carol 0.5 BTC, dave 0.5 BTC; 20
	// minutes later bob pays 0.2 BTC.
	pay := func(from string, sat int64) error {
		_, err := people[from].wallet.Send(ctx, wire.NewTxOut(sat, people["shop"].wallet.PkScript()))
		return err
	}
	for _, x := range []struct {
		from string
		sat  int64
	}{{"alice", 50_000_000}, {"bob", 100_000}, {"carol", 50_000_000}, {"dave", 50_000_000}} {
		if err := pay(x.from, x.sat); err != nil {
			return err
		}
	}
	blocks, err := chain.Mine(2)
	if err != nil {
		return err
	}
	if err := pay("bob", 20_000_000); err != nil {
		return err
	}
	more, err := chain.Mine(1)
	if err != nil {
		return err
	}
	blocks = append(blocks, more...)

	// ML: the fraud monitor scores each block's transactions, with the linked senders' identity.
	b, err := bus.New()
	if err != nil {
		return err
	}
	defer b.Close()
	notifier, err := bitcoin.NewNotifier(ctx, chain)
	if err != nil {
		return err
	}
	defer notifier.Close()
	model, err := models.Load(ctx, models.Fraud)
	if err != nil {
		return err
	}
	engine, err := ml.NewEngine(model, ml.WithGoFallback())
	if err != nil {
		return err
	}
	defer engine.Close()
	bounds, err := security.New(monitor.Boundaries())
	if err != nil {
		return err
	}
	mon, err := monitor.New(chain, notifier, b, engine, bounds, monitor.WithIdentities(lk))
	if err != nil {
		return err
	}
	var btc []Payment
	var risks []Risk
	for _, h := range blocks {
		blk, err := chain.Block(ctx, h)
		if err != nil {
			return err
		}
		info, err := chain.Tx(ctx, blk.Transactions[0].TxHash())
		if err != nil {
			return err
		}
		at := blk.Header.Timestamp.UTC()
		for _, tx := range blk.Transactions[1:] {
			pm, err := payment(ctx, chain, tx, at)
			if err != nil {
				return err
			}
			btc = append(btc, pm)
		}
		scores, err := mon.ScoreBlock(ctx, blk, info.Block.Height)
		if err != nil {
			return err
		}
		for i, s := range scores {
			risks = append(risks, Risk{Txid: s.Txid.String(), Address: btc[len(btc)-len(scores)+i].From, Risk: s.Risk, At: at})
		}
	}
	short := func(a string) string {
		if n, ok := names[a]; ok {
			return a[:10] + "…(" + n + ")"
		}
		return a
	}
	p("three protocol streams on simchain: %d bitcoin payments, %d web5 identity events, %d ml risk scores; T = %s UTC",
		len(btc), len(web5), len(risks), t0.Format("15:04:05"))

	// The join: each address's payments, link and risks in ten-minute windows; outer, so a side
	// without events is named.
	linkOnly := slices.DeleteFunc(slices.Clone(web5), func(e Identity) bool { return e.Kind != "linked" })
	j, err := stream.NewJoin3(func(p Payment) string { return p.From }, func(e Identity) string { return e.Address },
		func(r Risk) string { return r.Address }, stream.Tumbling(10*time.Minute), stream.WithOuter())
	if err != nil {
		return err
	}
	p("join by address, 10-minute windows:")
	for r, err := range j.Run(ctx,
		stream.FromSeq(slices.Values(btc), stream.Named("bitcoin"), stream.EventTime(func(p Payment) time.Time { return p.At })),
		stream.FromSeq(slices.Values(linkOnly), stream.Named("web5"), stream.EventTime(func(e Identity) time.Time { return e.At })),
		stream.FromSeq(slices.Values(risks), stream.Named("ml"), stream.EventTime(func(r Risk) time.Time { return r.At }))) {
		if err != nil {
			return err
		}
		var sat int64
		for _, pm := range r.A {
			sat += pm.Value.Sat
		}
		link := "—"
		if len(r.B) > 0 {
			link = "linked to " + r.B[0].Value.DID[:20] + "…"
		}
		risk := "—"
		if len(r.C) > 0 {
			risk = fmt.Sprintf("%.2f", r.C[len(r.C)-1].Value.Risk)
		}
		missing := ""
		if len(r.Missing) > 0 {
			missing = fmt.Sprintf("  (no %v)", r.Missing)
		}
		p("  %s–%s  %-24s  payments %d (%9d sat)  %-33s  risk %4s%s", r.Window.Start.Format("15:04"), r.Window.End.Format("15:04"),
			short(r.Key), len(r.A), sat, link, risk, missing)
	}

	// The pattern, per DID: created → linked → paid ≥ X from the linked address, within 10 minutes.
	// Payments are attributed to a DID by the host's link table, as the fraud monitor does.
	pat := stream.Begin("created", func(e Event) bool { return e.Kind == "created" }).
		Then("linked", func(e Event) bool { return e.Kind == "linked" }).
		Then("paid", func(e Event) bool { return e.Kind == "paid" && e.Sat >= minPayment }).
		Where(func(e Event, m stream.Partial[Event]) bool {
			l, _ := m.Last("linked")
			return e.Address == l.Value.Address
		}).
		Within(10 * time.Minute)
	matcher, err := stream.NewMatcher(func(e Event) string { return e.DID }, pat)
	if err != nil {
		return err
	}
	web5Events := stream.Map(stream.FromSeq(slices.Values(web5), stream.Named("web5"), stream.EventTime(func(e Identity) time.Time { return e.At })),
		func(e Identity) Event { return Event{Kind: e.Kind, DID: e.DID, Address: e.Address, At: e.At} })
	var payments []Event // of the addresses linked to a DID: the others have no key here
	for _, pm := range btc {
		if did := lk[pm.From]; did != "" {
			payments = append(payments, Event{Kind: "paid", DID: did, Address: pm.From, Txid: pm.Txid, Sat: pm.Sat, At: pm.At})
		}
	}
	paid := stream.FromSeq(slices.Values(payments), stream.Named("bitcoin"), stream.EventTime(func(e Event) time.Time { return e.At }))
	riskOf := map[string]float64{}
	for _, r := range risks {
		riskOf[r.Txid] = r.Risk
	}
	p("pattern %q per DID: created → linked → paid ≥ %d sat from the linked address, within 10 minutes", pat.String(), minPayment)
	matched := map[string]bool{}
	for m, err := range matcher.Run(ctx, web5Events, paid) {
		if err != nil {
			return err
		}
		matched[m.Key] = true
		p("  MATCH %s (%s), %s after its creation, match %s", m.Key, names[m.Events[1].Value.Address], m.End.Sub(m.Start), m.ID)
		for _, e := range m.Events {
			v := e.Value
			switch e.Step {
			case "created":
				p("    %-8s %s  the DID is created", e.Step, e.Time.Format("15:04:05"))
			case "linked":
				p("    %-8s %s  linked to %s (BIP-322 proof verified)", e.Step, e.Time.Format("15:04:05"), v.Address)
			case "paid":
				p("    %-8s %s  %d sat in %s, fraud risk %.2f", e.Step, e.Time.Format("15:04:05"), v.Sat, v.Txid, riskOf[v.Txid])
			}
		}
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		if pr := people[name]; !matched[pr.did] {
			p("  no match for %s (%s)", pr.did, name)
		}
	}
	return nil
}

// payment describes tx as a payment from the address of the output its first input spends:
// what it pays to other scripts than that one.
func payment(ctx context.Context, chain bitcoin.Chain, tx *wire.MsgTx, at time.Time) (Payment, error) {
	in := tx.TxIn[0].PreviousOutPoint
	prev, err := chain.Tx(ctx, in.Hash)
	if err != nil {
		return Payment{}, err
	}
	script := prev.Tx.TxOut[in.Index].PkScript
	from, err := bitcoin.AddressFromScript(script, bitcoin.Regtest)
	if err != nil {
		return Payment{}, err
	}
	pm := Payment{Txid: tx.TxHash().String(), From: from.String(), At: at}
	for _, o := range tx.TxOut {
		if string(o.PkScript) != string(script) {
			pm.Sat += o.Value
		}
	}
	return pm, nil
}

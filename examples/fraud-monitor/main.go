// Command fraud-monitor runs the SDK's fraud monitor (bridge/monitor) on a live transaction
// stream and prints what it sees as a table: mempool payments to a shop scored as they arrive
// (with their senders' identity features where the address is linked to a DID), the
// transactions of each new block that the mempool did not show, alerts at the risk threshold,
// and — when a reorg takes a payment away and a double spend replaces it — the alert's
// retraction. Every batch crosses the bitcoin→ml, web5→ml and ml→host trust boundaries,
// audited in a SQLite log whose hash chain is verified at the end.
//
//	go run ./examples/fraud-monitor         # on the embedded simchain
//	go run ./examples/fraud-monitor -rpc    # on a btcd regtest node it starts ($ANYA_BTCD or -btcd)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/security"
)

type config struct {
	rpc  bool   // run on a btcd regtest node
	btcd string // the btcd binary
}

func main() {
	var cfg config
	flag.BoolVar(&cfg.rpc, "rpc", false, "run on a btcd regtest node instead of the embedded simchain")
	flag.StringVar(&cfg.btcd, "btcd", os.Getenv("ANYA_BTCD"), "the btcd binary to start with -rpc")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, cfg); err != nil {
		log.Fatal(err)
	}
}

// network is where the demo's transactions are mined.
type network interface {
	Chain() bitcoin.Chain
	// Funder is a wallet of the key the blocks pay.
	Funder() *bitcointest.Wallet
	Mine(ctx context.Context, n int) ([]chainhash.Hash, error)
	// Unmine disconnects the tip block; its transactions go back to the mempool.
	Unmine(ctx context.Context) error
	// Replace broadcasts replacement, which spends an input of tx, in tx's place.
	Replace(ctx context.Context, tx, replacement *wire.MsgTx) error
	Describe() string
	Close()
}

// identities is the host's address → DID → identity features table.
type identities map[string]struct {
	did   string
	feats map[string]float64
}

func (ids identities) Owner(_ context.Context, address string) (string, error) {
	return ids[address].did, nil
}

func (ids identities) Features(_ context.Context, did, address string) (map[string]float64, error) {
	return ids[address].feats, nil
}

// table prints the live table, one row per event, from the bus handlers. An alert's line
// follows its transaction's row, whichever of the two events arrives first.
type table struct {
	mu      sync.Mutex
	w       io.Writer
	names   map[string]string // address → name of the demo's people
	scored  map[chainhash.Hash]monitor.Scored
	alerts  map[chainhash.Hash]monitor.Alert
	retract []monitor.Retraction
}

func (t *table) alertLine(a monitor.Alert) {
	top := ""
	if len(a.Factors) > 0 {
		top = fmt.Sprintf(", top factor %s = %g", a.Factors[0].Feature, a.Factors[0].Value)
	}
	fmt.Fprintf(t.w, "  %-10s alert %s: risk %.2f ≥ %.2f%s\n", "", a.ID, a.Risk, a.Threshold, top)
}

func (t *table) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format+"\n", args...)
}

func short(h chainhash.Hash) string { s := h.String(); return s[:8] + "…" + s[56:] }

func (t *table) onScored(_ context.Context, e bus.Envelope[monitor.Scored]) error {
	s := e.Payload
	sender := "—"
	if s.DID != "" {
		sender = s.DID + " (" + t.names[s.Address] + ")"
	}
	verdict := "ok"
	if s.Alert {
		verdict = "ALERT"
	}
	where := "mempool"
	if s.Source == monitor.SourceBlock {
		where = fmt.Sprintf("block %d", s.Block.Height)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scored[s.Txid] = s
	fmt.Fprintf(t.w, "  %-10s %-19s %-34s %5.2f  %s\n", where, short(s.Txid), sender, s.Risk, verdict)
	if a, ok := t.alerts[s.Txid]; ok && s.Alert {
		t.alertLine(a)
	}
	return nil
}

func (t *table) onAlert(_ context.Context, e bus.Envelope[monitor.Alert]) error {
	a := e.Payload
	t.mu.Lock()
	defer t.mu.Unlock()
	t.alerts[a.Txid] = a
	if _, ok := t.scored[a.Txid]; ok {
		t.alertLine(a)
	}
	return nil
}

func (t *table) onRetracted(_ context.Context, e bus.Envelope[monitor.Retraction]) error {
	r := e.Payload
	t.mu.Lock()
	defer t.mu.Unlock()
	t.retract = append(t.retract, r)
	fmt.Fprintf(t.w, "  %-10s RETRACTED alert %s of %s: block %d was disconnected and the payment is gone\n", "", r.AlertID, short(r.Txid), r.Block.Height)
	return nil
}

// waitFor polls cond until it holds.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// person is one of the demo's payers.
type person struct {
	name   string
	key    *btcec.PrivateKey
	wallet *bitcointest.Wallet
}

func run(ctx context.Context, w io.Writer, cfg config) error {
	var net network
	var err error
	if cfg.rpc {
		net, err = startNode(ctx, cfg.btcd, w)
	} else {
		net, err = newSim()
	}
	if err != nil {
		return err
	}
	defer net.Close()
	chain := net.Chain()

	b, err := bus.New()
	if err != nil {
		return err
	}
	defer b.Close()
	notifier, err := bitcoin.NewNotifier(ctx, chain, bitcoin.WithBus(b))
	if err != nil {
		return err
	}
	defer notifier.Close()
	model, err := models.Load(ctx, models.Fraud)
	if err != nil {
		return err
	}
	engine, err := ml.NewEngine(model, ml.WithGoFallback(), ml.WithFactors(3))
	if err != nil {
		return err
	}
	defer engine.Close()
	dir, err := os.MkdirTemp("", "fraud-monitor-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	audit, err := security.OpenAuditLog(ctx, filepath.Join(dir, "audit.db"))
	if err != nil {
		return err
	}
	defer audit.Close()
	bounds, err := security.New(monitor.Boundaries(), security.WithAudit(audit))
	if err != nil {
		return err
	}

	// The people: alice's DID has reports against it, carol's is old and verified; bob and dave
	// have none. Each gets a 0.2 BTC coin, left to settle for 100 blocks.
	people := map[string]*person{}
	ids := identities{}
	tab := &table{w: w, names: map[string]string{}, scored: map[chainhash.Hash]monitor.Scored{}, alerts: map[chainhash.Hash]monitor.Alert{}}
	var outs []*wire.TxOut
	for _, name := range []string{"alice", "bob", "carol", "dave", "shop", "erin"} {
		p := &person{name: name, key: bitcointest.KeyFromSeed("fraud-monitor/" + name)}
		if p.wallet, err = bitcointest.NewWallet(chain, p.key); err != nil {
			return err
		}
		people[name] = p
		tab.names[p.wallet.Address().EncodeAddress()] = name
		if name != "shop" && name != "erin" {
			outs = append(outs, wire.NewTxOut(20_000_000, p.wallet.PkScript()))
		}
	}
	ids[people["alice"].wallet.Address().EncodeAddress()] = struct {
		did   string
		feats map[string]float64
	}{"did:example:alice", map[string]float64{"did_age_days": 3, "prior_reports": 3, "address_linked": 1}}
	ids[people["carol"].wallet.Address().EncodeAddress()] = struct {
		did   string
		feats map[string]float64
	}{"did:example:carol", map[string]float64{"did_age_days": 800, "credentials": 3, "kyc_verified": 1, "address_linked": 1, "prior_payments": 120}}
	if _, err := net.Funder().Send(ctx, outs...); err != nil {
		return fmt.Errorf("fund the people: %w", err)
	}
	if _, err := net.Mine(ctx, 101); err != nil {
		return err
	}

	m, err := monitor.New(chain, notifier, b, engine, bounds, monitor.WithIdentities(ids),
		monitor.WithWatch(people["shop"].wallet.PkScript()))
	if err != nil {
		return err
	}
	for _, s := range []func() error{
		func() error {
			_, err := bus.Subscribe(b, monitor.TopicScored, tab.onScored, bus.Named("demo.scored"))
			return err
		},
		func() error {
			_, err := bus.Subscribe(b, monitor.TopicAlert, tab.onAlert, bus.Named("demo.alerts"))
			return err
		},
		func() error {
			_, err := bus.Subscribe(b, monitor.TopicRetracted, tab.onRetracted, bus.Named("demo.retractions"))
			return err
		},
	} {
		if err := s(); err != nil {
			return err
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()
	synced := func() bool {
		best, err := chain.BestBlock(ctx)
		return err == nil && m.Checkpoint() == best
	}
	// Mine until the monitor follows the chain: it is then watching the shop's address.
	if err := waitFor(ctx, "the monitor", func() bool {
		if m.Stats().Blocks > 0 {
			return synced()
		}
		_, _ = net.Mine(ctx, 1)
		time.Sleep(20 * time.Millisecond)
		return false
	}); err != nil {
		return err
	}

	tab.printf("fraud monitor — chain: %s %s, ML backend: %s, alert threshold %.2f (the Manager's risk threshold)",
		net.Describe(), chain.Params().Name, engine.Backend(), m.Threshold())
	tab.printf("  %-10s %-19s %-34s %5s  %s", "seen in", "txid", "linked sender", "risk", "verdict")
	pay := func(from, to string, sat int64) (*wire.MsgTx, error) {
		return people[from].wallet.Send(ctx, wire.NewTxOut(sat, people[to].wallet.PkScript()))
	}
	scored := func(n int) func() bool {
		return func() bool { tab.mu.Lock(); defer tab.mu.Unlock(); return len(tab.scored) >= n }
	}

	// The shop's mempool: three customers pay 0.1 BTC.
	aliceTx, err := pay("alice", "shop", 10_000_000)
	if err != nil {
		return err
	}
	for _, from := range []string{"carol", "bob"} {
		if _, err := pay(from, "shop", 10_000_000); err != nil {
			return err
		}
	}
	if err := waitFor(ctx, "the mempool scores", scored(3)); err != nil {
		return err
	}
	// dave pays erin: the shop's watch does not see it; its block does.
	if _, err := pay("dave", "erin", 1_000_000); err != nil {
		return err
	}
	hashes, err := net.Mine(ctx, 1)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, "the block", func() bool { return scored(4)() && synced() }); err != nil {
		return err
	}
	tab.printf("  block %s mined: 1 transaction scored in it, the 3 seen in the mempool not again", short(hashes[0]))

	// A reorg: the block is disconnected, and alice double-spends her payment's coin back to
	// herself before the new block is mined.
	if err := net.Unmine(ctx); err != nil {
		return err
	}
	in := aliceTx.TxIn[0].PreviousOutPoint
	coin, err := chain.TxOut(ctx, in, false)
	if err != nil {
		return err
	}
	replacement, err := bitcointest.SpendOutput(in, coin.Value, people["alice"].key, people["erin"].wallet.PkScript(), 20_000)
	if err != nil {
		return err
	}
	if err := net.Replace(ctx, aliceTx, replacement); err != nil {
		return err
	}
	if _, err := net.Mine(ctx, 1); err != nil {
		return err
	}
	tab.printf("  reorg: block %s disconnected; alice's payment replaced by a double spend to erin, mined in the new block", short(hashes[0]))
	if err := waitFor(ctx, "the retraction", func() bool {
		tab.mu.Lock()
		defer tab.mu.Unlock()
		_, replaced := tab.scored[replacement.TxHash()]
		return len(tab.retract) == 1 && replaced && synced()
	}); err != nil {
		return err
	}

	st := m.Stats()
	entries, err := audit.Entries(ctx, 1, 100_000)
	if err != nil {
		return err
	}
	allowed := 0
	for _, e := range entries {
		if e.Decision == security.DecisionAllow {
			allowed++
		}
	}
	chainState := "hash chain intact"
	if _, err := audit.Verify(ctx); err != nil {
		chainState = "hash chain broken: " + err.Error()
	}
	tab.printf("monitor: %d scored in %d batches (%d linked), %d alerts, %d retracted, %d not scored twice; %d denied",
		st.Scored, st.Batches, st.Linked, st.Alerts, st.Retracted, st.Duplicates, st.Denied)
	tab.printf("audit log: %d crossings (%d allowed), %s", len(entries), allowed, chainState)
	return nil
}

package monitor_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/security"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds how long a test waits for an event it expects.
const wait = 30 * time.Second

// identities is an in-memory address → DID → features table.
type identities struct {
	mu     sync.Mutex
	owners map[string]string
	feats  map[string]map[string]float64
	calls  int
}

func (ids *identities) link(did, address string, feats map[string]float64) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if ids.owners == nil {
		ids.owners, ids.feats = map[string]string{}, map[string]map[string]float64{}
	}
	ids.owners[address], ids.feats[did] = did, feats
}

func (ids *identities) Owner(_ context.Context, address string) (string, error) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	ids.calls++
	return ids.owners[address], nil
}

func (ids *identities) Features(_ context.Context, did, _ string) (map[string]float64, error) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	f, ok := ids.feats[did]
	if !ok {
		return nil, errors.New("unknown DID")
	}
	return f, nil
}

// checkpoints keeps a checkpoint in memory, as a host's store would.
type checkpoints struct {
	mu sync.Mutex
	at bitcoin.BlockStamp
}

func (c *checkpoints) Load(context.Context) (bitcoin.BlockStamp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at, nil
}

func (c *checkpoints) Save(_ context.Context, b bitcoin.BlockStamp) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = b
	return nil
}

// events records what the monitor publishes.
type events struct {
	mu      sync.Mutex
	scored  []monitor.Scored
	alerts  []monitor.Alert
	retract []monitor.Retraction
	changed chan struct{}
}

func record(t *testing.T, b *bus.Bus) *events {
	t.Helper()
	ev := &events{changed: make(chan struct{}, 1)}
	poke := func() {
		select {
		case ev.changed <- struct{}{}:
		default:
		}
	}
	subs := []func() (*bus.Subscription, error){
		func() (*bus.Subscription, error) {
			return bus.Subscribe(b, monitor.TopicScored, func(_ context.Context, e bus.Envelope[monitor.Scored]) error {
				ev.mu.Lock()
				ev.scored = append(ev.scored, e.Payload)
				ev.mu.Unlock()
				poke()
				return nil
			})
		},
		func() (*bus.Subscription, error) {
			return bus.Subscribe(b, monitor.TopicAlert, func(_ context.Context, e bus.Envelope[monitor.Alert]) error {
				ev.mu.Lock()
				ev.alerts = append(ev.alerts, e.Payload)
				ev.mu.Unlock()
				poke()
				return nil
			})
		},
		func() (*bus.Subscription, error) {
			return bus.Subscribe(b, monitor.TopicRetracted, func(_ context.Context, e bus.Envelope[monitor.Retraction]) error {
				ev.mu.Lock()
				ev.retract = append(ev.retract, e.Payload)
				ev.mu.Unlock()
				poke()
				return nil
			})
		},
	}
	for _, s := range subs {
		sub, err := s()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe(); <-sub.Done() })
	}
	return ev
}

// until waits for cond over the recorded events.
func (ev *events) until(t *testing.T, what string, cond func(ev *events) bool) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		ev.mu.Lock()
		ok := cond(ev)
		ev.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ev.changed:
		case <-deadline.C:
			ev.mu.Lock()
			defer ev.mu.Unlock()
			t.Fatalf("timed out waiting for %s; scored %d, alerts %d, retractions %d", what, len(ev.scored), len(ev.alerts), len(ev.retract))
		}
	}
}

func (ev *events) scoredFor(txid chainhash.Hash) []monitor.Scored {
	var out []monitor.Scored
	for _, s := range ev.scored {
		if s.Txid == txid {
			out = append(out, s)
		}
	}
	return out
}

func (ev *events) alertsFor(txid chainhash.Hash) []monitor.Alert {
	var out []monitor.Alert
	for _, a := range ev.alerts {
		if a.Txid == txid {
			out = append(out, a)
		}
	}
	return out
}

func (ev *events) snapshot() ([]monitor.Scored, []monitor.Alert, []monitor.Retraction) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return append([]monitor.Scored(nil), ev.scored...), append([]monitor.Alert(nil), ev.alerts...), append([]monitor.Retraction(nil), ev.retract...)
}

// fixture is a simchain with a notifier publishing on a bus, the SDK's fraud model on the
// pure-Go backend, audited boundaries, and identities.
type fixture struct {
	sim      *bitcointest.Sim
	notifier *bitcoin.Notifier
	bus      *bus.Bus
	engine   *ml.Engine
	audit    *security.AuditLog
	bounds   *security.Boundaries
	ids      *identities
	ev       *events
	shop     *bitcointest.Wallet // the host's address, watched in the mempool
}

func newFixture(t *testing.T, boundaries []security.Boundary) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{sim: bitcointest.NewSim(t), ids: &identities{}}
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	f.bus = b
	f.ev = record(t, b)
	if f.notifier, err = bitcoin.NewNotifier(ctx, f.sim.Chain(), bitcoin.WithBus(b)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.notifier.Close() })
	model, err := models.Load(ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	f.engine = mltest.NewEngine(t, model, ml.WithFactors(3))
	if f.audit, err = security.OpenAuditLog(ctx, filepath.Join(t.TempDir(), "audit.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.audit.Close() })
	if boundaries == nil {
		boundaries = monitor.Boundaries()
	}
	if f.bounds, err = security.New(boundaries, security.WithAudit(f.audit)); err != nil {
		t.Fatal(err)
	}
	f.shop = f.sim.NewFundedWallet(t, "shop", 10_000)
	return f
}

// monitor returns a monitor of the fixture's chain that watches the shop's address.
func (f *fixture) monitor(t *testing.T, opts ...monitor.Option) *monitor.Monitor {
	t.Helper()
	opts = append([]monitor.Option{monitor.WithIdentities(f.ids), monitor.WithWatch(f.shop.PkScript()),
		monitor.WithRetryBackoff(time.Millisecond, 10*time.Millisecond)}, opts...)
	m, err := monitor.New(f.sim.Chain(), f.notifier, f.bus, f.engine, f.bounds, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// start runs m until the test ends (or stop is called) and returns stop, which waits for Run
// to return and checks that it returned because it was stopped.
func start(t *testing.T, m *monitor.Monitor) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// age mines enough blocks for the wallets' coins to look settled to the fraud model (coins
// a block old are a fraud signal).
func (f *fixture) age(t *testing.T) { f.mine(t, 100) }

// ready mines blocks until m processes one: Run has subscribed and watches (a Run that starts
// after a block was mined starts after it).
func (f *fixture) ready(t *testing.T, m *monitor.Monitor) {
	t.Helper()
	before := m.Stats().Blocks
	deadline := time.Now().Add(wait)
	for m.Stats().Blocks == before {
		if time.Now().After(deadline) {
			t.Fatal("the monitor does not follow the chain")
		}
		f.mine(t, 1)
		for i := 0; i < 100 && m.Stats().Blocks == before; i++ {
			time.Sleep(time.Millisecond)
		}
	}
	f.synced(t, m)
}

// synced waits for m to have processed the chain's tip.
func (f *fixture) synced(t *testing.T, m *monitor.Monitor) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		best, err := f.sim.Chain().BestBlock(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if m.Checkpoint() == best {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the monitor is at %v, the chain at %v", m.Checkpoint(), best)
		}
		time.Sleep(time.Millisecond)
	}
}

// pay sends amount from w to the shop and returns the transaction.
func (f *fixture) pay(t *testing.T, w *bitcointest.Wallet, amount btcutil.Amount) *wire.MsgTx {
	t.Helper()
	tx, err := w.Send(context.Background(), wire.NewTxOut(int64(amount), f.shop.PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func (f *fixture) mine(t *testing.T, n int) []chainhash.Hash {
	t.Helper()
	hashes, err := f.sim.Mine(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return hashes
}

// address returns w's address as the monitor's identity lookup sees it.
func address(w *bitcointest.Wallet) string { return w.Address().EncodeAddress() }

// reported is a sender whose identity has reports against it: the fraud model rates its
// payments high.
var reported = map[string]float64{"did_age_days": 0, "prior_reports": 3, "address_linked": 1}

// trusted is a long-standing, verified sender.
var trusted = map[string]float64{"did_age_days": 800, "credentials": 3, "kyc_verified": 1, "address_linked": 1, "prior_payments": 120}

package anya_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/security"
)

// fraudEvents collects the fraud monitor's events from a Manager's bus.
type fraudEvents struct {
	mu      sync.Mutex
	scored  []monitor.Scored
	alerts  []monitor.Alert
	retract []monitor.Retraction
}

func watchFraud(t *testing.T, m *anya.Manager) *fraudEvents {
	t.Helper()
	ev := &fraudEvents{}
	collect(t, m, monitor.TopicScored, &ev.mu, &ev.scored)
	collect(t, m, monitor.TopicAlert, &ev.mu, &ev.alerts)
	collect(t, m, monitor.TopicRetracted, &ev.mu, &ev.retract)
	return ev
}

// collect appends the payloads of topic's events on m's bus to *into, under mu, until t ends.
func collect[T any](t *testing.T, m *anya.Manager, topic string, mu *sync.Mutex, into *[]T) {
	t.Helper()
	sub, err := bus.Subscribe(m.Bus(), topic, func(_ context.Context, e bus.Envelope[T]) error {
		mu.Lock()
		defer mu.Unlock()
		*into = append(*into, e.Payload)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
}

func (ev *fraudEvents) scoredFor(txid chainhash.Hash) []monitor.Scored {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []monitor.Scored
	for _, s := range ev.scored {
		if s.Txid == txid {
			out = append(out, s)
		}
	}
	return out
}

func (ev *fraudEvents) alertsFor(txid chainhash.Hash) []monitor.Alert {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []monitor.Alert
	for _, a := range ev.alerts {
		if a.Txid == txid {
			out = append(out, a)
		}
	}
	return out
}

func (ev *fraudEvents) retractions() []monitor.Retraction {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return append([]monitor.Retraction(nil), ev.retract...)
}

// suspect is a sender the fraud model rates high: a new DID with fraud reports against it,
// linked to its funded address. Its key is the test's, so that it can pay outside the Manager.
type suspect struct {
	id     *anya.Identity
	wallet *bitcointest.Wallet
}

func newSuspect(t *testing.T, m *anya.Manager, sim *simchain.Chain, name string) *suspect {
	t.Helper()
	ctx := t.Context()
	key := bitcointest.KeyFromSeed(name)
	id, err := m.AddIdentity(ctx, mustFixedDID(t, name), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(2, simchain.PayTo(id.Address.PkScript())); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(100); err != nil {
		t.Fatal(err)
	}
	ch, err := m.Challenge(id.String(), id.Address.String())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := id.SignChallenge(ch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Link(ctx, anya.BitcoinToWeb5{DID: id.String(), Address: id.Address.String(), Challenge: ch, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := m.Report(ctx, id.String(), anya.ReportFraud, "chargeback ring", ""); err != nil {
			t.Fatal(err)
		}
	}
	w, err := bitcointest.NewWallet(m.Chain(), key)
	if err != nil {
		t.Fatal(err)
	}
	return &suspect{id: id, wallet: w}
}

// pay sends most of the suspect's coins to to, outside the Manager (straight to the chain),
// with change back to its linked address.
func (s *suspect) pay(t *testing.T, to string) *wire.MsgTx {
	t.Helper()
	addr, err := bitcoin.ParseAddress(to, bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	bal, err := s.wallet.Balance(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tx, err := s.wallet.Send(t.Context(), wire.NewTxOut(int64(bal)*9/10, addr.PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// monitorAt waits until the Manager's fraud monitor has processed the chain's tip and saved it
// as its checkpoint (Health.Monitor.Checkpoint).
func monitorAt(t *testing.T, m *anya.Manager) {
	t.Helper()
	tip, err := m.Chain().BestBlock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		h, err := m.Health(t.Context(), anya.WithAuditVerifyLimit(0))
		if err != nil {
			t.Fatal(err)
		}
		return h.Monitor.Checkpoint == tip && m.Monitor().Checkpoint() == tip
	})
}

// A mempool transaction from a linked sender the fraud model rates high is scored with its
// sender's identity as it enters the mempool, and raises an alert on the Manager's bus; the
// crossings are audited, Health and FraudAlerts report it, and the transaction is not scored
// again when it is mined.
func TestFraudMonitorAlertsOnMempool(t *testing.T) {
	m, err := anya.New(anya.WithFraudMonitor(monitor.WithMaxWait(0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	ev := watchFraud(t, m)
	sim, err := m.EmbeddedChain()
	if err != nil {
		t.Fatal(err)
	}
	mallory := newSuspect(t, m, sim, "monitor mallory")
	monitorAt(t, m)
	if m.Monitor().Threshold() != m.RiskThreshold() {
		t.Fatalf("the monitor's threshold %v is not the Manager's %v", m.Monitor().Threshold(), m.RiskThreshold())
	}
	before, err := m.Audit().Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	tx := mallory.pay(t, mustAddr(t, "monitor shop"))
	txid := tx.TxHash()
	waitFor(t, func() bool { return len(ev.alertsFor(txid)) == 1 })
	scored := ev.scoredFor(txid)
	if len(scored) != 1 {
		t.Fatalf("scored %d times: %+v", len(scored), scored)
	}
	s := scored[0]
	if s.Source != monitor.SourceMempool || s.DID != mallory.id.String() || s.Address != mallory.id.Address.String() || !s.Alert ||
		s.Risk < m.RiskThreshold() || s.Threshold != m.RiskThreshold() {
		t.Fatalf("scored %+v", s)
	}
	a := ev.alertsFor(txid)[0]
	if a.ID != monitor.AlertID(txid, s.Model, 0) || a.Risk != s.Risk {
		t.Fatalf("alert %+v for score %+v", a, s)
	}

	// The batch crossed bitcoin→ml, web5→ml (the sender's identity) and ml→host, audited.
	entries, err := m.Audit().Entries(t.Context(), before.Seq+1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	crossed := map[string]bool{}
	for _, e := range entries {
		if e.Action == monitor.ActionScore || e.Action == monitor.ActionReport {
			if e.Decision != security.DecisionAllow {
				t.Errorf("the monitor's crossing %s→%s was %s: %s", e.From, e.To, e.Decision, e.Reason)
			}
			crossed[string(e.From)+"→"+string(e.To)] = true
		}
	}
	for _, c := range []string{"bitcoin→ml", "web5→ml", "ml→host"} {
		if !crossed[c] {
			t.Errorf("no audited %s crossing of the monitor (audited: %v)", c, crossed)
		}
	}

	// The Manager keeps the alert for the console, and Health reports the monitor.
	waitFor(t, func() bool { return len(m.FraudAlerts()) == 1 })
	if got := m.FraudAlerts()[0]; got.ID != a.ID || got.Retraction != nil {
		t.Fatalf("FraudAlerts %+v", got)
	}
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	monitorAt(t, m)
	h, err := m.Health(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h.Monitor == nil || !h.Monitor.Running || h.Monitor.Lag != 0 || h.Monitor.Checkpoint != sim.Tip() ||
		h.Monitor.Stats.Alerts != 1 || h.Monitor.Stats.Linked < 1 || h.Monitor.Stats.Duplicates < 1 {
		t.Fatalf("Health.Monitor %+v", h.Monitor)
	}
	// Mined, it is not scored (nor alerted) again.
	if n, k := len(ev.scoredFor(txid)), len(ev.alertsFor(txid)); n != 1 || k != 1 {
		t.Fatalf("after its block: scored %d times, %d alerts", n, k)
	}
}

// A reorg that takes the alerted transaction away (its block disconnected, a double spend
// evicting it from the mempool) retracts its alert, on the bus and in FraudAlerts.
func TestFraudMonitorReorgRetracts(t *testing.T) {
	m, err := anya.New(anya.WithFraudMonitor(monitor.WithMaxWait(0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	ev := watchFraud(t, m)
	sim, err := m.EmbeddedChain()
	if err != nil {
		t.Fatal(err)
	}
	mallory := newSuspect(t, m, sim, "reorg mallory")
	monitorAt(t, m)
	tx := mallory.pay(t, mustAddr(t, "reorg shop"))
	txid := tx.TxHash()
	waitFor(t, func() bool { return len(ev.alertsFor(txid)) == 1 })
	orphan, err := sim.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	monitorAt(t, m)

	if _, err := sim.Reorg(1, 0); err != nil {
		t.Fatal(err)
	}
	if err := sim.Evict(txid); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(ev.retractions()) == 1 })
	r, a := ev.retractions()[0], ev.alertsFor(txid)[0]
	if r.Txid != txid || r.AlertID != a.ID || r.Block.Hash != orphan[0] || r.ID != monitor.RetractionID(a.ID, orphan[0]) {
		t.Fatalf("retraction %+v of alert %+v", r, a)
	}
	waitFor(t, func() bool { fa := m.FraudAlerts(); return len(fa) == 1 && fa[0].Retraction != nil })
	if got := m.FraudAlerts()[0].Retraction; got.ID != r.ID {
		t.Fatalf("FraudAlerts' retraction %+v", got)
	}
	if st := m.Monitor().Stats(); st.Retracted != 1 || st.Disconnected != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A Manager restarted on its data directory resumes the fraud monitor after its checkpoint:
// the blocks it processed raise no alert again; the block mined while it was down does, once.
func TestFraudMonitorRestartResumes(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	opts := []anya.Option{anya.WithDataDir(dir), anya.WithChain(sim), anya.WithHostDID(mustFixedDID(t, "monitor restart host")),
		anya.WithFraudMonitor(monitor.WithMaxWait(0))}
	m, err := anya.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ev := watchFraud(t, m)
	mallory := newSuspect(t, m, sim, "restart mallory")
	monitorAt(t, m)
	first := mallory.pay(t, mustAddr(t, "restart shop"))
	waitFor(t, func() bool { return len(ev.alertsFor(first.TxHash())) == 1 })
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	monitorAt(t, m)
	stopped := m.Monitor().Checkpoint()
	if h, err := m.Health(ctx, anya.WithAuditVerifyLimit(0)); err != nil || h.Monitor.Checkpoint != stopped {
		t.Fatalf("Health's monitor checkpoint %+v, want %v (%v)", h.Monitor, stopped, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// While the host is down, mallory pays again and the payment is mined.
	second := mallory.pay(t, mustAddr(t, "restart shop"))
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	m2, err := anya.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	ev2 := watchFraud(t, m2)
	monitorAt(t, m2)
	waitFor(t, func() bool { return len(ev2.alertsFor(second.TxHash())) == 1 })
	s := ev2.scoredFor(second.TxHash())
	if len(s) != 1 || s[0].Source != monitor.SourceBlock || s[0].Block == nil || s[0].Block.Height != stopped.Height+1 ||
		s[0].DID != mallory.id.String() {
		t.Fatalf("the payment mined while down: %+v", s)
	}
	if n := len(ev2.scoredFor(first.TxHash())) + len(ev2.alertsFor(first.TxHash())); n != 0 {
		t.Fatalf("the payment processed before the restart was scored or alerted again (%d events): %+v (stopped at %v)", n,
			ev2.scoredFor(first.TxHash()), stopped)
	}
	if st := m2.Monitor().Stats(); st.Blocks != 1 || st.Alerts != 1 {
		t.Fatalf("the restarted monitor's stats %+v (it should have processed one block)", st)
	}
}

// A monitor option the monitor refuses is New's *OptionError naming WithFraudMonitor; without
// the option the Manager runs no monitor.
func TestFraudMonitorOptions(t *testing.T) {
	_, err := anya.New(anya.WithFraudMonitor(monitor.WithMaxBatch(0)))
	var oe *anya.OptionError
	if !errors.As(err, &oe) || oe.Option != "WithFraudMonitor" || !errors.Is(err, anya.ErrInvalidOption) {
		t.Fatalf("New with WithMaxBatch(0): %v", err)
	}
	m, err := anya.New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	h, err := m.Health(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if m.Monitor() != nil || m.FraudAlerts() != nil || h.Monitor != nil {
		t.Fatal("a Manager without WithFraudMonitor runs a monitor")
	}
	// The two packages' default thresholds agree: the monitor alerts on what a payment is
	// blocked for.
	if monitor.DefaultThreshold != anya.DefaultRiskThreshold {
		t.Fatalf("monitor.DefaultThreshold %v, anya.DefaultRiskThreshold %v", monitor.DefaultThreshold, anya.DefaultRiskThreshold)
	}
}

// With WithJetStream, the hosts running the fraud monitor share it: one holds its lease and
// does the block work (the other scores nothing), its alerts reach every host's bus once, and
// when it stops the other takes over from the shared checkpoint, raising no alert again.
func TestFraudMonitorJetStream(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server and two Managers")
	}
	srv := natstest.Start(t)
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	opts := []anya.Option{anya.WithFraudMonitor(monitor.WithMaxWait(0)), anya.WithLeaseTTL(2 * time.Second)}
	a := jsHost(t, "monitor-a", sim, srv.JetStream(t), opts...)
	b := jsHost(t, "monitor-b", sim, srv.JetStream(t), opts...)
	evA, evB := watchFraud(t, a), watchFraud(t, b)

	mallory := newSuspect(t, a, sim, "js mallory")
	// Host B links the address too, so that its own link index knows it.
	idB, err := b.AddIdentity(t.Context(), mustFixedDID(t, "js mallory"), bitcointest.KeyFromSeed("js mallory"))
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := b.Challenge(idB.String(), idB.Address.String())
	sig, _ := idB.SignChallenge(ch)
	if _, err := b.Link(t.Context(), anya.BitcoinToWeb5{DID: idB.String(), Address: idB.Address.String(), Challenge: ch, Signature: sig}); err != nil {
		t.Fatal(err)
	}

	running := func(m *anya.Manager) bool {
		h, err := m.Health(t.Context(), anya.WithAuditVerifyLimit(0))
		if err != nil {
			t.Fatal(err)
		}
		return h.Monitor.Running
	}
	var leader, other *anya.Manager
	waitFor(t, func() bool {
		ra, rb := running(a), running(b)
		switch {
		case ra && rb:
			t.Fatal("both hosts run the monitor")
		case ra:
			leader, other = a, b
		case rb:
			leader, other = b, a
		}
		return leader != nil
	})
	monitorAt(t, leader)

	first := mallory.pay(t, mustAddr(t, "js shop"))
	for _, ev := range []*fraudEvents{evA, evB} {
		waitFor(t, func() bool { return len(ev.alertsFor(first.TxHash())) == 1 })
	}
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	monitorAt(t, leader)
	if st := other.Monitor().Stats(); st.Scored != 0 || st.Blocks != 0 || st.Batches != 0 {
		t.Fatalf("the host without the lease did block or scoring work: %+v", st)
	}
	if st := leader.Monitor().Stats(); st.Alerts != 1 || st.Blocks == 0 {
		t.Fatalf("the leader's stats %+v", st)
	}

	// The leader stops; the other host takes the monitor over from the shared checkpoint.
	if err := leader.Close(); err != nil {
		t.Fatal(err)
	}
	evOther := map[*anya.Manager]*fraudEvents{a: evA, b: evB}[other]
	waitFor(t, func() bool { return running(other) })
	second := mallory.pay(t, mustAddr(t, "js shop"))
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	monitorAt(t, other)
	waitFor(t, func() bool { return len(evOther.alertsFor(second.TxHash())) == 1 })
	if n := len(evOther.alertsFor(first.TxHash())); n != 1 {
		t.Fatalf("the first payment's alert arrived %d times", n)
	}
	if st := other.Monitor().Stats(); st.Alerts != 1 {
		t.Fatalf("the host that took over raised %d alerts, want 1 (the second payment's)", st.Alerts)
	}
}

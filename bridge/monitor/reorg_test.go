package monitor_test

import (
	"context"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bridge/monitor"
)

// A reorg that takes a transaction away — its block disconnected, the transaction evicted from
// the mempool (a double spend won) — retracts its alert; an alerted transaction that is mined
// again in the new branch keeps its alert. The retracted transaction, seen again, alerts anew
// under a new ID.
func TestReorgRetractsAlerts(t *testing.T) {
	f := newFixture(t, nil)
	alice := f.sim.NewFundedWallet(t, "alice", 20_000_000)
	erin := f.sim.NewFundedWallet(t, "erin", 20_000_000)
	f.ids.link("did:example:alice", address(alice), reported)
	f.ids.link("did:example:erin", address(erin), reported)
	f.age(t)
	m := f.monitor(t)
	start(t, m)
	f.ready(t, m)

	a := f.pay(t, alice, 10_000_000)
	e := f.pay(t, erin, 10_000_000)
	f.ev.until(t, "two alerts", func(ev *events) bool { return len(ev.alerts) == 2 })
	orphan := f.mine(t, 1)[0]
	f.synced(t, m)

	// The block is disconnected; its transactions go back to the mempool, and alice's is then
	// evicted. The new branch mines erin's again.
	if _, err := f.sim.Reorg(context.Background(), 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SimChain().Evict(a.TxHash()); err != nil {
		t.Fatal(err)
	}
	f.mine(t, 1)
	f.ev.until(t, "the retraction", func(ev *events) bool { return len(ev.retract) == 1 })
	f.synced(t, m)

	_, alerts, retract := f.ev.snapshot()
	var alertA monitor.Alert
	for _, al := range alerts {
		if al.Txid == a.TxHash() {
			alertA = al
		}
	}
	r := retract[0]
	if r.Txid != a.TxHash() || r.AlertID != alertA.ID || r.Block.Hash != orphan || r.ID != monitor.RetractionID(alertA.ID, orphan) {
		t.Fatalf("retraction %+v of alert %+v", r, alertA)
	}
	st := m.Stats()
	if st.Retracted != 1 || st.Disconnected != 1 || st.Alerts != 2 {
		t.Errorf("stats %+v", st)
	}
	if tx, err := f.sim.Chain().Tx(context.Background(), e.TxHash()); err != nil || tx.Block == nil {
		t.Fatalf("erin's payment is not in the new chain: %v", err)
	}
	// Mined again, erin's payment is not scored again.
	f.ev.mu.Lock()
	n := len(f.ev.scoredFor(e.TxHash()))
	f.ev.mu.Unlock()
	if n != 1 {
		t.Errorf("erin's payment scored %d times", n)
	}

	// Alice's payment comes back: scored again, a new alert with a new ID.
	if _, err := f.sim.Chain().Broadcast(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	f.ev.until(t, "the new alert", func(ev *events) bool { return len(ev.alertsFor(a.TxHash())) == 2 })
	f.ev.mu.Lock()
	again := f.ev.alertsFor(a.TxHash())[1]
	f.ev.mu.Unlock()
	if again.ID == alertA.ID || again.ID != monitor.AlertID(a.TxHash(), "fraud@1", 1) {
		t.Errorf("the new alert's ID %s (the retracted one was %s)", again.ID, alertA.ID)
	}
}

// A disconnect of a block processed before the monitor started (its alerts are not in memory)
// is handled by scoring the block again: its alerts, which a new monitor did not raise, are
// retracted under the IDs the earlier monitor gave them.
func TestReorgAfterRestart(t *testing.T) {
	f := newFixture(t, nil)
	alice := f.sim.NewFundedWallet(t, "alice", 20_000_000)
	f.ids.link("did:example:alice", address(alice), reported)
	f.age(t)
	cp := &checkpoints{}
	first := f.monitor(t, monitor.WithCheckpoints(cp))
	stop := start(t, first)
	f.ready(t, first)
	a := f.pay(t, alice, 10_000_000)
	f.ev.until(t, "the alert", func(ev *events) bool { return len(ev.alerts) == 1 })
	orphan := f.mine(t, 1)[0]
	f.synced(t, first)
	stop()

	second := f.monitor(t, monitor.WithCheckpoints(cp))
	start(t, second)
	if _, err := f.sim.Reorg(context.Background(), 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SimChain().Evict(a.TxHash()); err != nil {
		t.Fatal(err)
	}
	f.ev.until(t, "the retraction", func(ev *events) bool { return len(ev.retract) == 1 })
	_, alerts, retract := f.ev.snapshot()
	if len(alerts) != 1 || retract[0].AlertID != alerts[0].ID || retract[0].Block.Hash != orphan {
		t.Fatalf("alerts %+v, retractions %+v", alerts, retract)
	}
}

// A restarted monitor resumes after its checkpoint: the blocks before it raise no alert again;
// the blocks after it do, once. A monitor started from an older checkpoint replays the alerts
// of the blocks since, with the same IDs.
func TestRestartResumesFromCheckpoint(t *testing.T) {
	f := newFixture(t, nil)
	alice := f.sim.NewFundedWallet(t, "alice", 40_000_000)
	f.ids.link("did:example:alice", address(alice), reported)
	f.age(t)
	cp := &checkpoints{}
	blockOnly := []monitor.Option{monitor.WithCheckpoints(cp), monitor.WithMempoolTopic("")}
	newMonitor := func() *monitor.Monitor {
		m, err := monitor.New(f.sim.Chain(), f.notifier, f.bus, f.engine, f.bounds, append(blockOnly, monitor.WithIdentities(f.ids))...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := newMonitor()
	stop := start(t, first)
	f.ready(t, first)
	before := first.Checkpoint()
	a1 := f.pay(t, alice, 10_000_000)
	f.mine(t, 1)
	f.ev.until(t, "the first alert", func(ev *events) bool { return len(ev.alerts) == 1 })
	f.synced(t, first)
	stop()
	if got, _ := cp.Load(context.Background()); got.Height != before.Height+1 {
		t.Fatalf("saved checkpoint %v after %v", got, before)
	}

	// While no monitor runs, another alerting payment is mined.
	a2, err := alice.Send(context.Background(), wire.NewTxOut(10_000_000, f.shop.PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	f.mine(t, 1)
	second := newMonitor()
	start(t, second)
	f.ev.until(t, "the second alert", func(ev *events) bool { return len(ev.alerts) == 2 })
	f.mine(t, 1) // the second monitor processes one more block: still no alert again
	f.synced(t, second)
	_, alerts, _ := f.ev.snapshot()
	if len(alerts) != 2 || alerts[0].Txid != a1.TxHash() || alerts[1].Txid != a2.TxHash() {
		t.Fatalf("alerts %+v", alerts)
	}

	// From the checkpoint before both blocks, a third monitor raises both alerts again, with
	// the same IDs: consumers de-duplicate them.
	if err := cp.Save(context.Background(), before); err != nil {
		t.Fatal(err)
	}
	third := newMonitor()
	start(t, third)
	f.ev.until(t, "the replayed alerts", func(ev *events) bool { return len(ev.alerts) == 4 })
	_, alerts, _ = f.ev.snapshot()
	if alerts[2].ID != alerts[0].ID || alerts[3].ID != alerts[1].ID {
		t.Errorf("replayed alert IDs differ: %s %s vs %s %s", alerts[2].ID, alerts[3].ID, alerts[0].ID, alerts[1].ID)
	}
	if alerts[2].Block == nil || alerts[0].Block == nil || *alerts[2].Block != *alerts[0].Block {
		t.Errorf("replayed alert in block %v, first in %v", alerts[2].Block, alerts[0].Block)
	}
}

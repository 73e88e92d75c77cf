package monitor_test

import (
	"context"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/security"
)

// Mempool transactions paying the watched address are scored as they arrive, with the
// identity features of a linked sender; those at or above the threshold raise an alert, those
// below do not; the block that confirms them scores them no more, and scores the transactions
// it holds that the mempool watch did not see.
func TestScoresAndAlerts(t *testing.T) {
	f := newFixture(t, nil)
	alice := f.sim.NewFundedWallet(t, "alice", 20_000_000) // reported: her payments alert
	carol := f.sim.NewFundedWallet(t, "carol", 20_000_000) // trusted
	bob := f.sim.NewFundedWallet(t, "bob", 20_000_000)     // unlinked
	dave := f.sim.NewFundedWallet(t, "dave", 20_000_000)   // unlinked
	f.ids.link("did:example:alice", address(alice), reported)
	f.ids.link("did:example:carol", address(carol), trusted)
	f.age(t)
	m := f.monitor(t)
	start(t, m)
	f.ready(t, m)

	a := f.pay(t, alice, 10_000_000)
	c := f.pay(t, carol, 10_000_000)
	bo := f.pay(t, bob, 10_000_000)
	f.ev.until(t, "three mempool scores", func(ev *events) bool { return len(ev.scored) == 3 })
	// A transaction the watch does not see (dave pays himself) is scored in its block.
	other, err := dave.Send(context.Background(), wire.NewTxOut(100_000, dave.PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	blk := f.mine(t, 1)[0]
	f.ev.until(t, "the block's transaction scored", func(ev *events) bool { return len(ev.scoredFor(other.TxHash())) == 1 })

	_, alerts, _ := f.ev.snapshot()
	f.ev.mu.Lock()
	sa, sc, sb, so := f.ev.scoredFor(a.TxHash()), f.ev.scoredFor(c.TxHash()), f.ev.scoredFor(bo.TxHash()), f.ev.scoredFor(other.TxHash())
	f.ev.mu.Unlock()
	for _, s := range [][]monitor.Scored{sa, sc, sb, so} {
		if len(s) != 1 {
			t.Fatalf("a transaction was scored %d times: %+v", len(s), s)
		}
	}
	t.Logf("risks: alice %.3f carol %.3f bob %.3f dave→dave %.3f", sa[0].Risk, sc[0].Risk, sb[0].Risk, so[0].Risk)
	if sa[0].Risk < monitor.DefaultThreshold || !sa[0].Alert || sa[0].Source != monitor.SourceMempool || sa[0].DID != "did:example:alice" {
		t.Errorf("alice's payment: %+v", sa[0])
	}
	for _, s := range []monitor.Scored{sc[0], sb[0], so[0]} {
		if s.Risk >= monitor.DefaultThreshold || s.Alert {
			t.Errorf("%s scored at or above the threshold: %+v", s.Txid, s)
		}
	}
	if sc[0].DID != "did:example:carol" || sb[0].DID != "" || so[0].Source != monitor.SourceBlock || so[0].Block == nil || so[0].Block.Hash != blk {
		t.Errorf("carol %+v, bob %+v, dave→dave %+v", sc[0], sb[0], so[0])
	}
	if len(alerts) != 1 || alerts[0].Txid != a.TxHash() || alerts[0].ID != monitor.AlertID(a.TxHash(), "fraud@1", 0) || len(alerts[0].Factors) == 0 {
		t.Fatalf("alerts: %+v", alerts)
	}
	// Each mempool transaction came twice (the bus and the monitor's own watch) and once more in
	// the block: scored once. The watch's copy of a mempool transaction may come before the
	// bus's or not at all (the watch is set up while the transactions enter the mempool), so
	// each one counts one or two duplicates: 3 to 6.
	st := m.Stats()
	if st.Scored != 4 || st.Alerts != 1 || st.Duplicates < 3 || st.Duplicates > 6 || st.Linked != 2 || st.Denied != 0 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}

	// Every batch crossed bitcoin→ml and ml→host; the linked senders' features crossed
	// web5→ml; all audited.
	entries, err := f.audit.Entries(context.Background(), 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	crossings := map[string]int{}
	for _, e := range entries {
		if e.Decision != security.DecisionAllow {
			t.Errorf("denied crossing %+v", e)
		}
		crossings[e.From+"→"+e.To+" "+e.Action]++
	}
	if crossings["bitcoin→ml "+monitor.ActionScore] == 0 || crossings["web5→ml "+monitor.ActionScore] == 0 ||
		crossings["ml→host "+monitor.ActionReport] != crossings["bitcoin→ml "+monitor.ActionScore] {
		t.Errorf("crossings %v", crossings)
	}
}

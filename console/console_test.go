package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/jose"
)

// TestPages: every page of a console over the demo's Manager answers 200 and shows what an
// operator looks for.
func TestPages(t *testing.T) {
	f := demo(t)
	srv, _ := serve(t, f)
	for _, tc := range []struct {
		path  string
		wants []string
	}{
		{"/ops/", []string{"Recent payments", "order-1", "order-2", "order-3", "risk_above_threshold", "Audit chain: intact"}},
		{"/ops/payments", []string{`data-payment="order-1" data-outcome="sent"`, `data-payment="order-2" data-outcome="blocked"`}},
		{"/ops/payments?outcome=blocked", []string{"order-2"}},
		{"/ops/runs", []string{"verified_payment", "terminated"}},
		{"/ops/runs/order-2", []string{"fraud_assessment", "Not sent", "risk_above_threshold"}},
		{"/ops/alerts", []string{"order-2"}},
		{"/ops/audit", []string{"Audit chain: intact", "crossing"}},
		{"/ops/breakers", []string{"bitcoin", "closed"}},
		{"/ops/models", []string{"fraud@1", "reputation@1", "plot.png"}},
		{"/ops/models/fraud/1/plot.png", []string{"PNG"}},
		{"/ops/health", []string{"Healthy", "fraud@1"}},
		{"/ops/health.json", []string{`"OK": true`}},
		{"/ops/live", []string{"Live events"}},
		{"/ops/static/console.js", []string{"EventSource"}},
	} {
		resp, body := get(t, srv, tc.path, true)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s\n%s", tc.path, resp.Status, body)
			continue
		}
		contains(t, body, tc.wants...)
	}
}

// TestFraudAlertsPage: the alerts page shows the fraud monitor's alerts beside the blocked
// payments — here a linked sender with fraud reports paying most of its coins outside the
// Manager, scored as the transaction enters the mempool — and says when the Manager runs no
// monitor.
func TestFraudAlertsPage(t *testing.T) {
	f := demo(t, anya.WithFraudMonitor(monitor.WithMaxWait(0)))
	ctx := t.Context()
	b, err := didjwk.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	key := bitcointest.KeyFromSeed("console mallory")
	mallory, err := f.m.AddIdentity(ctx, b, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.Mine(1, simchain.PayTo(mallory.Address.PkScript())); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.Mine(100); err != nil {
		t.Fatal(err)
	}
	ch, err := f.m.Challenge(mallory.String(), mallory.Address.String())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := mallory.SignChallenge(ch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Link(ctx, anya.BitcoinToWeb5{DID: mallory.String(), Address: mallory.Address.String(), Challenge: ch, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := f.m.Report(ctx, mallory.String(), anya.ReportFraud, "chargeback ring", ""); err != nil {
			t.Fatal(err)
		}
	}
	w, err := bitcointest.NewWallet(f.m.Chain(), key)
	if err != nil {
		t.Fatal(err)
	}
	bal, err := w.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := w.Send(ctx, wire.NewTxOut(int64(bal)*9/10, f.shop.Address.PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); len(f.m.FraudAlerts()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no fraud alert")
		}
	}
	srv, _ := serve(t, f)
	resp, body := get(t, srv, "/ops/alerts", true)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s\n%s", resp.Status, body)
	}
	a := f.m.FraudAlerts()[0]
	contains(t, body, `data-alert="`+a.ID+`" data-txid="`+tx.TxHash().String()+`" data-status="active"`, "mempool", "prior_reports",
		`data-payment="order-2"`)
	if strings.Contains(body, mallory.String()) || strings.Contains(body, mallory.Address.String()) {
		t.Error("the alerts page shows the sender's DID or address in clear")
	}

	plain := demo(t)
	srv, _ = serve(t, plain)
	_, body = get(t, srv, "/ops/alerts", true)
	contains(t, body, `id="no-monitor"`, `data-payment="order-2"`)
}

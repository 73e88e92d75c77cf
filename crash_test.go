package anya_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/chainproxy"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/workflow"
)

// The crash test runs 200 real verified payments — DID and link verification, fraud scoring
// with the shipped model, signed transactions on a simchain, records in the senders' stores,
// every crossing audited — in a worker process (this test binary re-executed with
// crashChildEnv set) and kills it with SIGKILL, again and again, until the payments are done.
//
// The simchain must outlive the worker, so it lives in this (parent) process and the worker
// reaches it through internal/chainproxy over loopback HTTP: the worker's Manager has it as
// its bitcoin.Chain. That channel also lets the parent kill the worker at the two critical
// points of a send — after the transaction is recorded but before the chain has it (the
// broadcast is refused and the worker dies), and after the chain accepted it but before the
// worker hears so — besides kills at random moments. The parent sees every transaction
// submitted, so it counts double broadcasts directly: a second transaction for a payment
// would be a second submission paying its recipient.

const (
	crashChildEnv    = "ANYA_CRASH_CHILD"
	crashDirEnv      = "ANYA_CRASH_DIR"
	crashURLEnv      = "ANYA_CRASH_CHAIN"
	crashPayments    = 200
	crashSenders     = 20
	crashWorkers     = 4  // payments the worker runs at once
	crashKills       = 40 // kills in all
	crashHookKills   = 12 // of which at the send's critical points, alternating before/after
	crashMinTimer    = 3  // at least this many random-time kills must land
	crashMaxLives    = 400
	crashMineEvery   = 10 // the parent mines a block after this many accepted broadcasts
	crashTimerWindow = 100 * time.Millisecond
	crashCoin        = 100_000 // sat per coin a sender starts with: one coin per payment
)

func crashSender(i int) string    { return fmt.Sprintf("crash sender %d", i) }
func crashPayment(i int) string   { return fmt.Sprintf("pay-%03d", i) }
func crashAmount(i int) int64     { return 20_000 + 100*int64(i) }
func crashRecipient(i int) string { return fmt.Sprintf("crash recipient %d", i) }

func senderKey(i int) *btcec.PrivateKey { return bitcointest.KeyFromSeed(crashSender(i)) }

func recipientAddress(i int) (bitcoin.Address, error) {
	return bitcoin.NewP2WPKH(bitcointest.KeyFromSeed(crashRecipient(i)).PubKey(), bitcoin.Regtest)
}

// crashOptions are the Manager options of worker and verifier: the same host DID and
// pseudonym key in every life.
func crashOptions(dir string, chain bitcoin.Chain) ([]anya.Option, error) {
	host, err := fixedDID("crash host")
	if err != nil {
		return nil, err
	}
	return []anya.Option{anya.WithDataDir(dir), anya.WithChain(chain), anya.WithHostDID(host),
		anya.WithRedactionKey([]byte("crash-test redaction key, 32 b.")), anya.WithMLOptions(ml.WithWorkers(1))}, nil
}

// crashChild is the worker: it registers the senders (linking their addresses the first time),
// resumes what a previous life left unfinished, then runs every payment — Execute returns the
// stored outcome of the ones already done.
func crashChild() int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 2 }
	chain, err := chainproxy.Dial(ctx, os.Getenv(crashURLEnv))
	if err != nil {
		return fail(err)
	}
	defer chain.Close()
	opts, err := crashOptions(os.Getenv(crashDirEnv), chain)
	if err != nil {
		return fail(err)
	}
	m, err := anya.New(opts...)
	if err != nil {
		return fail(err)
	}
	defer m.Close()
	fmt.Println("START")
	ids := make([]*anya.Identity, crashSenders)
	for s := range crashSenders {
		b, err := fixedDID(crashSender(s))
		if err != nil {
			return fail(err)
		}
		if ids[s], err = m.AddIdentity(ctx, b, senderKey(s)); err != nil {
			return fail(err)
		}
		addr := ids[s].Address.String()
		res, err := m.Execute(ctx, anya.VerifyLink{DID: b.String(), Address: addr})
		if err != nil {
			return fail(err)
		}
		if res.(*anya.LinkVerification).Verified {
			continue
		}
		ch, err := m.Challenge(b.String(), addr)
		if err != nil {
			return fail(err)
		}
		sig, err := ids[s].SignChallenge(ch)
		if err != nil {
			return fail(err)
		}
		if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: b.String(), Address: addr, Challenge: ch, Signature: sig}); err != nil {
			return fail(err)
		}
	}
	if _, err := m.Resume(ctx); err != nil {
		return fail(fmt.Errorf("resume: %w", err))
	}
	work := make(chan int)
	errs := make(chan error, crashPayments)
	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Go(func() {
			for i := range work {
				to, err := recipientAddress(i)
				if err != nil {
					errs <- err
					continue
				}
				id := ids[i%crashSenders]
				res, err := m.Execute(ctx, anya.TriProtocol{PaymentID: crashPayment(i), SenderDID: id.String(),
					SenderAddress: id.Address.String(), RecipientAddress: to.String(), AmountSat: crashAmount(i)})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", crashPayment(i), err)
					continue
				}
				if p := res.(*anya.Payment); p.Outcome != anya.OutcomeSent {
					errs <- fmt.Errorf("%s: outcome %s (risk %.3f): %s", p.PaymentID, p.Outcome, p.Risk, p.Error)
				}
			}
		})
	}
	for i := range crashPayments {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		return fail(err)
	}
	fmt.Println("DONE")
	return 0
}

func randN(t *testing.T, n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return v.Int64()
}

// crashNet is the parent's view of what the worker submits to the chain.
type crashNet struct {
	sim        *simchain.Chain
	recipients map[string]int // output script (hex) → payment index

	mu          sync.Mutex
	child       *exec.Cmd
	killed      bool
	killMode    string // "before" or "after": kill at the killAt-th broadcast of this life
	killAt      int
	broadcasts  int                    // broadcasts of this life
	killTx      string                 // mode "after": the broadcast to kill the worker after
	submitted   map[int]map[string]int // payment → txid → submissions
	accepted    map[int]map[string]bool
	refusedKill map[string]bool // txids refused when the worker was killed before the broadcast
	appliedKill map[string]bool // txids applied when the worker was killed after the broadcast
	resent      int             // refused-at-kill transactions submitted again, same bytes
	lookedUp    int             // applied-at-kill transactions looked up by txid afterwards
	sinceMine   int
	mineErr     error
}

func (n *crashNet) payment(tx *wire.MsgTx) (int, bool) {
	for _, out := range tx.TxOut {
		if i, ok := n.recipients[hex.EncodeToString(out.PkScript)]; ok {
			return i, true
		}
	}
	return 0, false
}

func (n *crashNet) kill() {
	if n.child != nil && !n.killed {
		n.killed = true
		_ = n.child.Process.Kill() // SIGKILL
	}
}

func (n *crashNet) before(tx *wire.MsgTx) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	txid := tx.TxHash().String()
	if i, ok := n.payment(tx); ok {
		if n.submitted[i] == nil {
			n.submitted[i] = map[string]int{}
		}
		n.submitted[i][txid]++
	}
	if n.refusedKill[txid] {
		n.resent++
		delete(n.refusedKill, txid)
	}
	n.broadcasts++
	if n.broadcasts == n.killAt && !n.killed {
		switch n.killMode {
		case "before":
			n.kill()
			n.refusedKill[txid] = true
			return errors.New("worker killed before the broadcast")
		case "after":
			n.killTx = txid
		}
	}
	return nil
}

func (n *crashNet) after(tx *wire.MsgTx, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		return
	}
	if i, ok := n.payment(tx); ok {
		if n.accepted[i] == nil {
			n.accepted[i] = map[string]bool{}
		}
		if !n.accepted[i][tx.TxHash().String()] {
			n.accepted[i][tx.TxHash().String()] = true
			if n.sinceMine++; n.sinceMine >= crashMineEvery {
				n.sinceMine = 0
				if _, err := n.sim.Mine(1); err != nil {
					n.mineErr = err
				}
			}
		}
	}
	if n.killMode == "after" && n.killTx == tx.TxHash().String() && !n.killed {
		n.kill()
		n.appliedKill[n.killTx] = true
	}
}

// lookups counts the worker's lookups of transactions it was killed after broadcasting.
func (n *crashNet) lookups(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if txid, ok := strings.CutPrefix(r.URL.Path, "/tx/"); ok {
			n.mu.Lock()
			if n.appliedKill[txid] {
				n.lookedUp++
				delete(n.appliedKill, txid)
			}
			n.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func TestCrashKill9VerifiedPayments(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test re-executes the test binary dozens of times")
	}
	ctx := t.Context()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	// A funder gives each sender a confirmed coin per payment (and two to spare), so that every
	// payment spends a settled coin of a modest size, as a funded wallet would.
	funder, err := bitcointest.NewWalletFromSeed(sim, "crash funder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(101, simchain.PayTo(funder.PkScript())); err != nil { // one mature coinbase
		t.Fatal(err)
	}
	var outs []*wire.TxOut
	for s := range crashSenders {
		for range crashPayments/crashSenders + 2 {
			outs = append(outs, wire.NewTxOut(crashCoin, bitcointest.P2WPKHScript(senderKey(s))))
		}
	}
	if _, err := funder.Send(ctx, outs...); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(6); err != nil {
		t.Fatal(err)
	}
	net := &crashNet{sim: sim, recipients: map[string]int{}, submitted: map[int]map[string]int{},
		accepted: map[int]map[string]bool{}, refusedKill: map[string]bool{}, appliedKill: map[string]bool{}}
	for i := range crashPayments {
		a, err := recipientAddress(i)
		if err != nil {
			t.Fatal(err)
		}
		net.recipients[hex.EncodeToString(a.PkScript())] = i
	}
	srv, err := chainproxy.NewServer(sim, chainproxy.WithBeforeBroadcast(net.before), chainproxy.WithAfterBroadcast(net.after))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(net.lookups(srv))
	defer hs.Close()
	defer srv.Close()

	dir := t.TempDir()
	var lives, timerKills, beforeKills, afterKills int
	for done := false; !done; lives++ {
		if lives >= crashMaxLives {
			t.Fatalf("no completion after %d lives", lives)
		}
		kills := timerKills + beforeKills + afterKills
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dir, crashURLEnv+"="+hs.URL)
		// Lives alternate between a kill at a random moment and, until enough have landed, a
		// kill at a send's critical point (before and after the broadcast in turn).
		mode := ""
		if hook := beforeKills + afterKills; kills < crashKills && hook < crashHookKills && lives%2 == 1 {
			mode = "before"
			if hook%2 == 1 {
				mode = "after"
			}
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		net.mu.Lock()
		net.child, net.killed, net.killMode, net.killAt, net.broadcasts, net.killTx = cmd, false, mode, 1+int(randN(t, 8)), 0, ""
		if err := cmd.Start(); err != nil {
			net.mu.Unlock()
			t.Fatal(err)
		}
		net.mu.Unlock()
		var timer *time.Timer
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			switch sc.Text() {
			case "START":
				if mode == "" && kills < crashKills {
					delay := time.Duration(randN(t, int64(crashTimerWindow)))
					timer = time.AfterFunc(delay, func() { net.mu.Lock(); net.kill(); net.mu.Unlock() })
				}
			case "DONE":
				done = true
			}
		}
		if timer != nil {
			timer.Stop()
		}
		err = cmd.Wait()
		net.mu.Lock()
		killed := net.killed
		net.child = nil
		net.mu.Unlock()
		switch {
		case killed && !done:
			switch mode {
			case "before":
				beforeKills++
			case "after":
				afterKills++
			default:
				timerKills++
			}
		case err != nil && !killed:
			t.Fatalf("worker failed in life %d: %v\n%s", lives, err, stderr.String())
		}
	}
	if net.mineErr != nil {
		t.Fatal(net.mineErr)
	}
	t.Logf("%d lives: %d random-time kills, %d kills after recording and before broadcasting, %d after broadcasting and before the worker heard",
		lives, timerKills, beforeKills, afterKills)
	t.Logf("resumed sends: %d sent the refused transaction again (same txid), %d looked up the accepted one", net.resent, net.lookedUp)
	if timerKills < crashMinTimer || beforeKills+afterKills != crashHookKills {
		t.Errorf("%d random-time kills and %d hook kills landed, want at least %d and %d", timerKills, beforeKills+afterKills,
			crashMinTimer, crashHookKills)
	}
	if net.resent == 0 || net.lookedUp == 0 {
		t.Errorf("the critical windows were not exercised: resent %d, looked up %d", net.resent, net.lookedUp)
	}
	verifyCrash(ctx, t, dir, sim, net)
}

// verifyCrash checks the outcome on the chain, in the stores and in the audit log, through a
// Manager opened on the worker's data directory with the parent's chain.
func verifyCrash(ctx context.Context, t *testing.T, dir string, sim *simchain.Chain, net *crashNet) {
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	var doubles, lost int
	txOf := map[string]string{}
	for i := range crashPayments {
		id := crashPayment(i)
		if len(net.submitted[i]) > 1 || len(net.accepted[i]) > 1 {
			doubles++
			t.Errorf("%s: %d transactions submitted, %d accepted", id, len(net.submitted[i]), len(net.accepted[i]))
		}
		to, _ := recipientAddress(i)
		bto, _ := to.BtcutilAddress()
		utxos, err := bitcoin.AddressUTXOs(ctx, sim, bto)
		if err != nil {
			t.Fatal(err)
		}
		if len(utxos) != 1 || int64(utxos[0].Value) != crashAmount(i) || utxos[0].Height == 0 {
			lost++
			t.Errorf("%s: the recipient holds %+v, want one confirmed output of %d sat", id, utxos, crashAmount(i))
			continue
		}
		txOf[id] = utxos[0].OutPoint.Hash.String()
	}
	t.Logf("%d payments: %d double broadcasts, %d lost", crashPayments, doubles, lost)

	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	confirmed := make(chan struct{}, crashPayments)
	if _, err := bus.Subscribe(b, anya.TopicPaymentConfirmed, func(context.Context, bus.Envelope[anya.PaymentEvent]) error {
		confirmed <- struct{}{}
		return nil
	}, bus.OnFull(bus.PolicyDropNewest)); err != nil {
		t.Fatal(err)
	}
	opts, err := crashOptions(dir, sim)
	if err != nil {
		t.Fatal(err)
	}
	m, err := anya.New(append(opts, anya.WithBus(b))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if rest, err := m.Resume(ctx); err != nil || len(rest) != 0 {
		t.Errorf("unfinished payments after the worker finished: %v %v", rest, err)
	}
	maxRisk := 0.0
	for i := range crashPayments {
		id := crashPayment(i)
		p, err := m.Payment(ctx, id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		maxRisk = max(maxRisk, p.Risk)
		if p.Outcome != anya.OutcomeSent || p.Txid != txOf[id] || p.RecordID == "" {
			t.Errorf("%s: outcome %s, txid %s (chain: %s), record %q", id, p.Outcome, p.Txid, txOf[id], p.RecordID)
		}
		for _, s := range p.Run.Steps {
			if s.Status != workflow.StepCompleted {
				t.Errorf("%s: step %s %s", id, s.ID, s.Status)
			}
		}
	}

	t.Logf("highest fraud risk of the 200 payments: %.3f (the workflow blocks at %.2f)", maxRisk, anya.DefaultRiskThreshold)

	// One record per payment in its sender's store, and every record confirmed once the
	// Manager has followed the chain: the confirmation trigger, across the kills.
	deadline := time.After(time.Minute)
	for {
		records, unconfirmed := crashRecords(ctx, t, m)
		if unconfirmed == 0 {
			for i := range crashPayments {
				if n := records[crashPayment(i)]; n != 1 {
					t.Errorf("%s: %d payment records, want 1", crashPayment(i), n)
				}
			}
			break
		}
		select {
		case <-confirmed:
		case <-deadline:
			t.Fatalf("%d payment records still unconfirmed", unconfirmed)
		}
	}

	// The audit log survived the kills intact and holds every payment's ML→Bitcoin crossing,
	// allowed, for its sender.
	rep, err := m.Audit().Verify(ctx, nil)
	if err != nil {
		t.Fatalf("audit log after the kills: %v", err)
	}
	sent := map[string]int{}
	for from := uint64(1); ; from += 1000 {
		es, err := m.Audit().Entries(ctx, from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Decision != security.DecisionAllow {
				t.Errorf("denied crossing in the crash run: %+v", e)
			}
			if e.From == "ml" && e.To == "bitcoin" && e.Action == workflow.OpSendPayment {
				sent[e.Principal]++
			}
		}
		if len(es) < 1000 {
			break
		}
	}
	for s := range crashSenders {
		b, _ := fixedDID(crashSender(s))
		if sent[b.String()] < crashPayments/crashSenders {
			t.Errorf("sender %d: %d audited ML→Bitcoin crossings, want at least %d", s, sent[b.String()], crashPayments/crashSenders)
		}
	}
	t.Logf("audit log: %d entries, chain intact", rep.Entries)
}

// crashRecords counts the payment records per payment ID in the senders' stores (read as each
// sender), and those not yet confirmed.
func crashRecords(ctx context.Context, t *testing.T, m *anya.Manager) (map[string]int, int) {
	counts := map[string]int{}
	unconfirmed := 0
	for s := range crashSenders {
		b, _ := fixedDID(crashSender(s))
		cursor := ""
		for {
			q, err := dwn.NewQuery(ctx, b, b.String(), dwn.Query{Filter: dwn.Filter{Protocol: anya.ProtocolURI, ProtocolPath: anya.PathPayment}, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			reply, err := m.DWN().Process(ctx, b.String(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reply.Records {
				var pr anya.PaymentRecord
				if err := json.Unmarshal(r.Data, &pr); err != nil {
					t.Fatalf("record %s: %v", r.ID, err)
				}
				counts[pr.PaymentID]++
				if pr.Status != anya.PaymentConfirmed {
					unconfirmed++
				}
			}
			if cursor = reply.Cursor; cursor == "" {
				break
			}
		}
	}
	return counts, unconfirmed
}

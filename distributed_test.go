package anya_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/natsbus"
	"github.com/anya-org/anya-go/internal/chainproxy"
	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/security/natsaudit"
	"github.com/anya-org/anya-go/workflow"
)

// The distributed kill test runs verified payments on three host processes (this test binary
// re-executed with distChildEnv set) that share one JetStream server — embedded in this (parent)
// process — and one simchain, which the parent serves to each host over loopback HTTP through
// internal/chainproxy, as the crash test does. Each host has every sender's key and submits every
// payment (starting at its own third, three at a time): the leases decide which host runs each,
// the others wait for its outcome. Host 0 is killed with SIGKILL again and again: at random moments, after it
// recorded a payment's transaction and before the chain had it (the broadcast is refused and the
// host dies), and after the chain accepted it but before the host heard so. Most of the time it
// is restarted at once under its name and takes its runs back; some of the time it stays down
// for longer than its leases, and the other hosts take its unfinished payments over and complete
// them with the transactions it recorded. The parent sees every transaction submitted by any
// host, so it counts double broadcasts directly, and it reads the payment events from the shared
// bus as a subscriber would, counting each (payment, sequence number) it receives.
//
// -dist-payments and -dist-kills set the size: `make test` runs the defaults, `make soak` 1,000
// payments and 30 kills.

var (
	distPayments = flag.Int("dist-payments", 90, "payments of TestDistributedKill9 (make soak: 1000)")
	distKills    = flag.Int("dist-kills", 6, "kills of TestDistributedKill9's host 0 (make soak: 30)")
)

const (
	distChildEnv    = "ANYA_DIST_CHILD"
	distHostEnv     = "ANYA_DIST_HOST"
	distNATSEnv     = "ANYA_DIST_NATS"
	distChainEnv    = "ANYA_DIST_CHAIN"
	distDirEnv      = "ANYA_DIST_DIR"
	distPaymentsEnv = "ANYA_DIST_PAYMENTS"
	distHosts       = 3
	distSenders     = 20
	distWorkers     = 3 // payments host 0 submits at once; the others, one each
	distLease       = 3 * time.Second
	distMineEvery   = 10
	distMaxLives    = 400
)

func distPayment(i int) string { return fmt.Sprintf("dist-%04d", i) }
func distAmount(i int) int64   { return 20_000 + 10*int64(i%1000) }
func distHostName(h int) string {
	return "host-" + strconv.Itoa(h)
}

// distOptions are the options of every host of the test (and of the verifier).
func distOptions(name, dir string, chain bitcoin.Chain, js jetstream.JetStream) ([]anya.Option, error) {
	host, err := fixedDID("dist host")
	if err != nil {
		return nil, err
	}
	return []anya.Option{anya.WithDataDir(dir), anya.WithChain(chain), anya.WithJetStream(js), anya.WithHostName(name),
		anya.WithHostDID(host), anya.WithLeaseTTL(distLease), anya.WithEphemeralKeys(), anya.WithMLOptions(ml.WithWorkers(1))}, nil
}

// distChild is a host: it registers the senders (linking their addresses if no host has),
// resumes, runs its payments — again and again while another host holds one — and then waits
// for its standard input to close.
func distChild() int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "host:", err); return 2 }
	h, _ := strconv.Atoi(os.Getenv(distHostEnv))
	n, _ := strconv.Atoi(os.Getenv(distPaymentsEnv))
	nc, err := nats.Connect(os.Getenv(distNATSEnv), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		return fail(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fail(err)
	}
	chain, err := chainproxy.Dial(ctx, os.Getenv(distChainEnv), nil)
	if err != nil {
		return fail(err)
	}
	defer chain.Close()
	opts, err := distOptions(distHostName(h), os.Getenv(distDirEnv), chain, js)
	if err != nil {
		return fail(err)
	}
	m, err := anya.New(opts...)
	if err != nil {
		return fail(err)
	}
	defer m.Close()
	fmt.Println("START")
	ids := make([]*anya.Identity, distSenders)
	for s := range distSenders {
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
	fmt.Println("READY")
	if _, err := m.Resume(ctx); err != nil && !errors.Is(err, workflow.ErrRunInProgress) {
		return fail(fmt.Errorf("resume: %w", err))
	}
	work := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	workers := distWorkers
	if h > 0 {
		workers = 1
	}
	for range workers {
		wg.Go(func() {
			for i := range work {
				to, err := recipientAddress(i)
				if err != nil {
					errs <- err
					continue
				}
				id := ids[i%distSenders]
				for {
					res, err := m.Execute(ctx, anya.TriProtocol{PaymentID: distPayment(i), SenderDID: id.String(),
						SenderAddress: id.Address.String(), RecipientAddress: to.String(), AmountSat: distAmount(i)})
					if errors.Is(err, workflow.ErrRunInProgress) || errors.Is(err, workflow.ErrLeaseLost) {
						time.Sleep(200 * time.Millisecond) // another host (or this one's takeover) runs it: ask again
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", distPayment(i), err)
					} else if p := res.(*anya.Payment); p.Outcome != anya.OutcomeSent {
						errs <- fmt.Errorf("%s: outcome %s: %s", p.PaymentID, p.Outcome, p.Error)
					}
					break
				}
			}
		})
	}
	// Every host submits every payment, starting at its own third: the hosts' leases decide
	// which runs each.
	for k := range n {
		work <- (k + h*n/distHosts) % n
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
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	return 0
}

// distNet is the parent's view of what the hosts submit to the chain.
type distNet struct {
	sim        *simchain.Chain
	recipients map[string]int

	mu          sync.Mutex
	victim      *exec.Cmd
	killed      bool
	killMode    string // "before" or "after": kill host 0 at its killAt-th broadcast of this life
	killAt      int
	broadcasts  int
	killTx      string
	submitted   map[int]map[string]int // payment → txid → submissions (all hosts)
	accepted    map[int]map[string]bool
	refusedKill map[string]bool
	appliedKill map[string]bool
	resent      int // refused-at-kill transactions submitted again (same txid), by any host
	resentBy    map[string]int
	lookedUp    int
	sinceMine   int
	mineErr     error
}

func (n *distNet) payment(tx *wire.MsgTx) (int, bool) {
	for _, out := range tx.TxOut {
		if i, ok := n.recipients[hex.EncodeToString(out.PkScript)]; ok {
			return i, true
		}
	}
	return 0, false
}

func (n *distNet) kill() {
	if n.victim != nil && !n.killed {
		n.killed = true
		_ = n.victim.Process.Kill()
	}
}

// before counts a broadcast of host h, and kills host 0 at its chosen broadcast.
func (n *distNet) before(h int) func(*wire.MsgTx) error {
	return func(tx *wire.MsgTx) error {
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
			n.resentBy[distHostName(h)]++
			delete(n.refusedKill, txid)
		}
		if h != 0 {
			return nil
		}
		n.broadcasts++
		if n.broadcasts == n.killAt && !n.killed {
			switch n.killMode {
			case "before":
				n.kill()
				n.refusedKill[txid] = true
				return errors.New("host killed before the broadcast")
			case "after":
				n.killTx = txid
			}
		}
		return nil
	}
}

func (n *distNet) after(h int) func(*wire.MsgTx, error) {
	return func(tx *wire.MsgTx, err error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if err != nil {
			return
		}
		if i, ok := n.payment(tx); ok {
			if n.accepted[i] == nil {
				n.accepted[i] = map[string]bool{}
			}
			if txid := tx.TxHash().String(); !n.accepted[i][txid] {
				n.accepted[i][txid] = true
				if n.sinceMine++; n.sinceMine >= distMineEvery {
					n.sinceMine = 0
					if _, err := n.sim.Mine(1); err != nil {
						n.mineErr = err
					}
				}
			}
		}
		if h == 0 && n.killMode == "after" && n.killTx == tx.TxHash().String() && !n.killed {
			n.kill()
			n.appliedKill[n.killTx] = true
		}
	}
}

// lookups counts lookups of transactions host 0 was killed after broadcasting, by any host.
func (n *distNet) lookups(next http.Handler) http.Handler {
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

// distProc is a running host.
type distProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *strings.Builder
	lines  chan string // its stdout, closed at exit
}

func startHost(t *testing.T, h int, env []string) *distProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), distChildEnv+"=1", distHostEnv+"="+strconv.Itoa(h)), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &distProc{cmd: cmd, stdin: stdin, stderr: &strings.Builder{}, lines: make(chan string, 16)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	return p
}

// await waits for line from p; false when p exited first.
func (p *distProc) await(line string) bool {
	for l := range p.lines {
		if l == line {
			return true
		}
	}
	return false
}

func TestDistributedKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("the distributed kill test runs three host processes and restarts one many times")
	}
	ctx := t.Context()
	payments, kills := *distPayments, *distKills
	srv := natstest.Start(t)
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	jsFund(t, sim, distSenders, payments/distSenders+3)

	// The observer: a subscriber of the hosts' bus, as a host application would be.
	js := srv.JetStream(t)
	tr, err := natsbus.New(ctx, js, natsbus.WithStream(strings.ToUpper(anya.DefaultJetStreamPrefix)+"_BUS"),
		natsbus.WithSubjectPrefix(anya.DefaultJetStreamPrefix+".bus"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	observer, err := bus.New(bus.WithTransport(tr, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()
	events := newEventLog(t, observer)

	net := &distNet{sim: sim, recipients: map[string]int{}, submitted: map[int]map[string]int{}, accepted: map[int]map[string]bool{},
		refusedKill: map[string]bool{}, appliedKill: map[string]bool{}, resentBy: map[string]int{}}
	for i := range payments {
		a, err := recipientAddress(i)
		if err != nil {
			t.Fatal(err)
		}
		net.recipients[hex.EncodeToString(a.PkScript())] = i
	}
	urls := make([]string, distHosts)
	for h := range distHosts {
		ps, err := chainproxy.NewServer(sim, chainproxy.WithBeforeBroadcast(net.before(h)), chainproxy.WithAfterBroadcast(net.after(h)))
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(net.lookups(ps))
		defer hs.Close()
		defer ps.Close()
		urls[h] = hs.URL
	}
	env := func(h int) []string {
		return []string{distNATSEnv + "=" + srv.URL(), distChainEnv + "=" + urls[h], distDirEnv + "=" + t.TempDir(),
			distPaymentsEnv + "=" + strconv.Itoa(payments)}
	}
	var procs []*distProc
	defer func() {
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	}()
	// Hosts 1 and 2 run to the end; they start after host 0 has linked the senders.
	victimEnv := env(0)
	var (
		lives, timerKills, beforeKills, afterKills, delayed int
		victimDone                                          bool
	)
	peersDone := make(chan int, distHosts)
	for done := false; !done; lives++ {
		if lives >= distMaxLives {
			t.Fatalf("host 0 did not finish after %d lives", lives)
		}
		landed := timerKills + beforeKills + afterKills
		// Lives alternate: a kill at a random moment, then one at a send's critical point (after,
		// then before, a broadcast). The last kill is before a broadcast, and host 0 then stays
		// down past its leases: the others take its runs over, its recorded transaction among them.
		mode := ""
		last := landed == kills-1
		if hook := beforeKills + afterKills; landed < kills && (lives%2 == 1 || last) {
			mode = "after"
			if hook%2 == 1 || last {
				mode = "before"
			}
		}
		p := startHost(t, 0, victimEnv)
		net.mu.Lock()
		net.victim, net.killed, net.killMode, net.killAt, net.broadcasts, net.killTx = p.cmd, false, mode, 1+int(randN(t, 3)), 0, ""
		net.mu.Unlock()
		if !p.await("START") {
			_ = p.cmd.Wait()
			t.Fatalf("host 0 did not start: %s", p.stderr)
		}
		if lives == 0 {
			if !p.await("READY") {
				_ = p.cmd.Wait()
				t.Fatalf("host 0 did not get ready: %s", p.stderr)
			}
			for h := 1; h < distHosts; h++ {
				q := startHost(t, h, env(h))
				procs = append(procs, q)
				go func() {
					if q.await("DONE") {
						peersDone <- h
					} else {
						peersDone <- -h
					}
				}()
			}
		}
		var timer *time.Timer
		if mode == "" && landed < kills {
			delay := time.Duration(randN(t, int64(time.Second)))
			timer = time.AfterFunc(delay, func() { net.mu.Lock(); net.kill(); net.mu.Unlock() })
		}
		finished := p.await("DONE")
		if timer != nil {
			timer.Stop()
		}
		net.mu.Lock()
		killed := net.killed
		net.victim = nil
		net.mu.Unlock()
		switch {
		case finished && !killed:
			done, victimDone = true, true
			procs = append(procs, p)
			continue
		case !killed:
			_ = p.cmd.Wait()
			t.Fatalf("host 0 failed in life %d: %s", lives, p.stderr)
		}
		_ = p.cmd.Wait()
		switch mode {
		case "before":
			beforeKills++
		case "after":
			afterKills++
		default:
			timerKills++
		}
		if last {
			delayed++
			time.Sleep(distLease*2 + distLease/2)
		}
	}
	for range distHosts - 1 {
		if h := <-peersDone; h < 0 {
			_ = procs[-h-1].cmd.Wait()
			t.Fatalf("host %d failed: %s", -h, procs[-h-1].stderr)
		}
	}
	for _, p := range procs {
		_ = p.stdin.Close()
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("a host exited with %v: %s", err, p.stderr)
		}
	}
	procs = nil
	if !victimDone {
		t.Fatal("host 0 did not finish")
	}
	if net.mineErr != nil {
		t.Fatal(net.mineErr)
	}
	t.Logf("host 0: %d lives, %d random-time kills, %d after recording and before broadcasting, %d after broadcasting and before it heard; %d times down past its leases",
		lives, timerKills, beforeKills, afterKills, delayed)
	t.Logf("refused-at-kill transactions sent again as recorded: %d (by %v); accepted-at-kill ones looked up: %d",
		net.resent, net.resentBy, net.lookedUp)
	// Kills stop landing once the payments are done; the first of each kind always lands.
	if timerKills == 0 || beforeKills == 0 || afterKills == 0 {
		t.Errorf("kills landed: %d at random, %d before and %d after a broadcast; want one of each at least", timerKills, beforeKills, afterKills)
	}
	if net.resent == 0 {
		t.Errorf("no transaction refused at a kill was sent again")
	}
	verifyDistributed(ctx, t, srv, sim, net, events, payments)
}

// verifyDistributed checks the chain, the stored payments, the events the observer received and
// the audit chain, through a fourth host started in this process.
func verifyDistributed(ctx context.Context, t *testing.T, srv *natstest.Server, sim *simchain.Chain, net *distNet, events *eventLog, payments int) {
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	var doubles, lost int
	ids := make([]string, payments)
	txOf := map[string]string{}
	for i := range payments {
		ids[i] = distPayment(i)
		if len(net.submitted[i]) > 1 || len(net.accepted[i]) > 1 {
			doubles++
			t.Errorf("%s: %d transactions submitted, %d accepted", ids[i], len(net.submitted[i]), len(net.accepted[i]))
		}
		to, _ := recipientAddress(i)
		bto, _ := to.BtcutilAddress()
		utxos, err := bitcoin.AddressUTXOs(ctx, sim, bto)
		if err != nil {
			t.Fatal(err)
		}
		if len(utxos) != 1 || int64(utxos[0].Value) != distAmount(i) || utxos[0].Height == 0 {
			lost++
			t.Errorf("%s: the recipient holds %+v, want one confirmed output of %d sat", ids[i], utxos, distAmount(i))
			continue
		}
		txOf[ids[i]] = utxos[0].OutPoint.Hash.String()
	}
	t.Logf("%d payments on %d hosts: %d double broadcasts, %d lost", payments, distHosts, doubles, lost)

	opts, err := distOptions("verifier", t.TempDir(), sim, srv.JetStream(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := anya.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, id := range ids {
		p, err := m.Payment(ctx, id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if p.Outcome != anya.OutcomeSent || p.Txid != txOf[id] || p.RecordID == "" {
			t.Errorf("%s: outcome %s, txid %s (chain: %s), record %q", id, p.Outcome, p.Txid, txOf[id], p.RecordID)
		}
	}
	// Every payment's events — sent, then confirmed — reached the subscriber once each.
	events.wait(t, ids, 2)
	events.mu.Lock()
	for id, n := range events.ids {
		if n != 1 {
			t.Errorf("message %v delivered %d times", id, n)
		}
	}
	delivered := len(events.ids)
	events.mu.Unlock()
	t.Logf("payment events: %d delivered to the subscriber, each once", delivered)

	// The audit chain, one for all hosts, verifies against a head signed now and kept apart.
	pub, priv, _ := ed25519.GenerateKey(nil)
	signer, _ := security.NewEd25519Signer(priv, "dist-audit")
	verifier, _ := security.NewEd25519Verifier(pub, "dist-audit")
	store, err := natsaudit.New(ctx, srv.JetStream(t), natsaudit.WithStream(strings.ToUpper(anya.DefaultJetStreamPrefix)+"_AUDIT"),
		natsaudit.WithSubject(anya.DefaultJetStreamPrefix+".audit"))
	if err != nil {
		t.Fatal(err)
	}
	anchorLog, err := security.NewAuditLogOn(store, security.WithCheckpointSigner(signer))
	if err != nil {
		t.Fatal(err)
	}
	sh, err := anchorLog.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	anchor, err := security.ParseSignedHead(ctx, sh.String(), verifier)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Audit().Verify(ctx, anchor)
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	if rep.Checkpoint != anchor.Head() {
		t.Fatalf("audit chain not proven up to the anchored head: %+v", rep)
	}
	sent := 0
	for from := uint64(1); from <= rep.Head.Seq; from += 1000 {
		es, err := m.Audit().Entries(ctx, from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.From == "ml" && e.To == "bitcoin" && e.Action == workflow.OpSendPayment && e.Decision == security.DecisionAllow {
				sent++
			}
		}
	}
	if sent < payments {
		t.Errorf("%d audited ML→Bitcoin crossings, want at least %d", sent, payments)
	}
	t.Logf("audit chain: %d entries from every host, one chain, intact up to the anchored head", rep.Entries)
}

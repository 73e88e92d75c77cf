package anya_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/security"
)

// tcpProxy forwards loopback connections to a NATS server until it is cut: Cut closes every
// connection and refuses new ones (a host cut from NATS), Restore lets them through again.
type tcpProxy struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) URL() string { return "nats://" + p.l.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		p.wg.Go(func() { pipe(up, c) })
		p.wg.Go(func() { pipe(c, up) })
	}
}

// Cut closes every connection through the proxy and refuses new ones.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
}

// Restore lets connections through again.
func (p *tcpProxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

func (p *tcpProxy) close() {
	_ = p.l.Close()
	p.Cut()
	p.wg.Wait()
}

// submissions counts, per payment (by recipient), the distinct transactions hosts submit to
// the chain.
type submissions struct {
	recipients map[string]int
	mu         sync.Mutex
	txids      map[int]map[string]bool
}

func newSubmissions(t *testing.T, payments int) *submissions {
	s := &submissions{recipients: map[string]int{}, txids: map[int]map[string]bool{}}
	for i := range payments {
		a, err := recipientAddress(i)
		if err != nil {
			t.Fatal(err)
		}
		s.recipients[hex.EncodeToString(a.PkScript())] = i
	}
	return s
}

func (s *submissions) note(tx *wire.MsgTx) {
	for _, out := range tx.TxOut {
		if i, ok := s.recipients[hex.EncodeToString(out.PkScript)]; ok {
			s.mu.Lock()
			if s.txids[i] == nil {
				s.txids[i] = map[string]bool{}
			}
			s.txids[i][tx.TxHash().String()] = true
			s.mu.Unlock()
		}
	}
}

// check fails t for a payment submitted as more than one transaction, or whose recipient does
// not hold exactly one confirmed output of its amount.
func (s *submissions) check(ctx context.Context, t *testing.T, sim *simchain.Chain, payments []int, amount func(int) int64) (doubles, lost int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range payments {
		if len(s.txids[i]) > 1 {
			doubles++
			t.Errorf("payment %d: %d transactions submitted", i, len(s.txids[i]))
		}
		to, _ := recipientAddress(i)
		bto, _ := to.BtcutilAddress()
		utxos, err := bitcoin.AddressUTXOs(ctx, sim, bto)
		if err != nil {
			t.Fatal(err)
		}
		if len(utxos) != 1 || int64(utxos[0].Value) != amount(i) || utxos[0].Height == 0 {
			lost++
			t.Errorf("payment %d: the recipient holds %+v", i, utxos)
		}
	}
	return doubles, lost
}

func pay(ctx context.Context, m *anya.Manager, id *anya.Identity, i int, amount int64) (*anya.Payment, error) {
	to, err := recipientAddress(i)
	if err != nil {
		return nil, err
	}
	res, err := m.Execute(ctx, anya.TriProtocol{PaymentID: fmt.Sprintf("p-%03d", i), SenderDID: id.String(),
		SenderAddress: id.Address.String(), RecipientAddress: to.String(), AmountSat: amount})
	p, _ := res.(*anya.Payment)
	return p, err
}

// A host cut from NATS while a payment's transaction is recorded and its broadcast in flight
// loses its lease: another host takes the payment over and completes it with the recorded
// transaction; the cut host takes no new work while cut, and when it comes back it sends
// nothing twice and works again.
func TestJetStreamPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for leases to lapse")
	}
	ctx := t.Context()
	srv := natstest.Start(t)
	proxy := newTCPProxy(t, srv.URL()[len("nats://"):])
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	jsFund(t, sim, 1, 4)
	subs := newSubmissions(t, 3)
	chainA, chainB := newHookChain(sim), newHookChain(sim)
	inFlight, release := make(chan struct{}, 1), make(chan struct{})
	chainA.set(func(c *hookChain) {
		c.broadcast = func(ctx context.Context, tx *wire.MsgTx) error {
			subs.note(tx)
			select {
			case inFlight <- struct{}{}:
			default:
			}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	chainB.set(func(c *hookChain) {
		c.broadcast = func(_ context.Context, tx *wire.MsgTx) error { subs.note(tx); return nil }
	})

	ncA, err := nats.Connect(proxy.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.IgnoreDiscoveredServers())
	if err != nil {
		t.Fatal(err)
	}
	defer ncA.Close()
	jsA, _ := jetstream.New(ncA)
	const lease = 2 * time.Second
	a := jsHost(t, "host-a", chainA, jsA, anya.WithLeaseTTL(lease))
	b := jsHost(t, "host-b", chainB, srv.JetStream(t), anya.WithLeaseTTL(lease))
	idA, idB := register(t, a, 0), register(t, b, 0)

	// Host A records payment 0's transaction and is cut from NATS during its broadcast.
	type result struct {
		p   *anya.Payment
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := pay(ctx, a, idA, 0, 30_000)
		done <- result{p, err}
	}()
	select {
	case <-inFlight:
	case <-time.After(time.Minute):
		t.Fatal("host A never broadcast")
	}
	proxy.Cut()
	cutAt := time.Now()
	// Its lease lapses: it stops the payment.
	select {
	case r := <-done:
		if r.err == nil && r.p != nil && r.p.Outcome == anya.OutcomeSent {
			t.Fatal("host A completed a payment while cut from NATS")
		}
		t.Logf("host A stopped payment 0 %v after the cut: %v", time.Since(cutAt).Round(100*time.Millisecond), r.err)
	case <-time.After(time.Minute):
		t.Fatal("host A kept running payment 0 while cut from NATS")
	}
	// Host B takes it over once the lease has lapsed, and completes it with the recorded
	// transaction.
	deadline := time.Now().Add(time.Minute)
	for {
		p, err := b.Payment(ctx, "p-000")
		if err == nil && p.Outcome == anya.OutcomeSent {
			t.Logf("host B completed payment 0 %v after the cut", time.Since(cutAt).Round(100*time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host B did not take payment 0 over: %+v %v", p, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// While cut, host A takes no new work.
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	if p, err := pay(short, a, idA, 1, 31_000); err == nil {
		t.Fatalf("host A ran a payment while cut from NATS: %+v", p)
	}
	cancel()
	close(release) // its broadcast may go on now: the same transaction
	proxy.Restore()

	// Back, host A sees payment 0 as host B completed it, and works again.
	for {
		p, err := pay(ctx, a, idA, 0, 30_000)
		if err == nil {
			if p.Outcome != anya.OutcomeSent {
				t.Fatalf("payment 0 from host A after the cut: %+v", p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host A after the cut: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, m := range map[int]*anya.Manager{1: a, 2: b} {
		id := idA
		if m == b {
			id = idB
		}
		for {
			p, err := pay(ctx, m, id, i, 30_000+1_000*int64(i))
			if err == nil && p.Outcome == anya.OutcomeSent {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("payment %d: %+v %v", i, p, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	doubles, lost := subs.check(ctx, t, sim, []int{0, 1, 2}, func(i int) int64 { return 30_000 + 1_000*int64(i) })
	t.Logf("3 payments across the partition: %d double broadcasts, %d lost", doubles, lost)
	if _, err := a.Audit().Verify(ctx); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

// Three hosts on a three-node JetStream cluster, every stream and bucket replicated three
// times; one node is stopped in the middle of the payments and started again: every payment
// completes once, and the events and the audit chain are whole.
func TestNATSClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node JetStream cluster")
	}
	ctx := t.Context()
	cluster := natstest.StartCluster(t, 3)
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	const payments, senders = 24, 3
	jsFund(t, sim, senders, payments/senders+2)
	subs := newSubmissions(t, payments)
	hosts := make([]*anya.Manager, 3)
	ids := make([][]*anya.Identity, 3)
	for h := range hosts {
		chain := newHookChain(sim)
		chain.set(func(c *hookChain) {
			c.broadcast = func(_ context.Context, tx *wire.MsgTx) error { subs.note(tx); return nil }
		})
		hosts[h] = jsHost(t, fmt.Sprint("host-", h), chain, nil, anya.WithLeaseTTL(3*time.Second),
			anya.WithJetStream(cluster.JetStream(t), anya.JetStreamReplicas(3)))
		for s := range senders {
			ids[h] = append(ids[h], register(t, hosts[h], s))
		}
	}
	events := newEventLog(t, hosts[0].Bus())
	amount := func(i int) int64 { return 20_000 + 100*int64(i) }
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		sent     int
		retries  int
		stopOnce sync.Once
		stopped  = make(chan struct{})
	)
	for h := range hosts {
		wg.Go(func() {
			for i := h; i < payments; i += len(hosts) {
				for attempt := 0; ; attempt++ {
					p, err := pay(ctx, hosts[h], ids[h][i%senders], i, amount(i))
					if err == nil && p.Outcome == anya.OutcomeSent {
						break
					}
					if err == nil {
						t.Errorf("payment %d: %s %s", i, p.Outcome, p.Error)
						return
					}
					if attempt > 200 {
						t.Errorf("payment %d: %v", i, err)
						return
					}
					mu.Lock()
					retries++
					mu.Unlock()
					time.Sleep(100 * time.Millisecond) // the cluster is electing: again
				}
				mu.Lock()
				sent++
				if sent == payments/3 {
					stopOnce.Do(func() { close(stopped) })
				}
				mu.Unlock()
			}
		})
	}
	<-stopped
	cluster.Stop(1)
	t.Log("node 1 stopped")
	time.Sleep(3 * time.Second)
	cluster.Start(t, 1)
	t.Log("node 1 started again")
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	var all []int
	var names []string
	for i := range payments {
		all = append(all, i)
		names = append(names, fmt.Sprintf("p-%03d", i))
	}
	doubles, lost := subs.check(ctx, t, sim, all, amount)
	events.wait(t, names, 2)
	// The restarted node may still be catching up: a read can fail meanwhile (never verify
	// wrongly), so it is tried again.
	var rep *security.VerifyReport
	for attempt := 0; ; attempt++ {
		rep, err = hosts[2].Audit().Verify(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, security.ErrTampered) || attempt >= 100 {
			t.Fatalf("audit chain: %v", err)
		}
		retries++
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d payments on 3 hosts through the loss of one of 3 nodes (%d calls retried meanwhile): %d double broadcasts, %d lost; events once each; audit chain of %d entries intact",
		payments, retries, doubles, lost, rep.Entries)
}

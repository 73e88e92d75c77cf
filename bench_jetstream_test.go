package anya_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/internal/natstest"
)

// The verified payment on hosts sharing NATS JetStream (WithJetStream), for
// BenchmarkVerifiedPayment: the same payments as impl=manager — the same senders, coins and
// amounts — made by one or several Managers in this process, each on its own connection to one
// embedded JetStream server (also in this process), on one simchain. Every state the SQLite
// default keeps in files is then on the server: workflow runs with their leases, send records
// and coin reservations, payment rows and their events, the audit chain, the records.

// jsBenchEnv is a set of hosts sharing one JetStream and one chain, with the senders funded and
// linked.
type jsBenchEnv struct {
	hosts   []*anya.Manager
	senders [][]*anya.Identity // by host, then sender
	to      string
	n       atomic.Int64
}

// newJSBenchEnv funds the senders (a confirmed coin per payment of theirs) before any host
// starts, so that no block is processed while the payments are timed; then starts the hosts,
// registers every sender on each and links their addresses once.
func newJSBenchEnv(b *testing.B, hosts, nodes, payments int) *jsBenchEnv {
	b.Helper()
	ctx := context.Background()
	var connect func() jetstream.JetStream // a connection of its own for each host
	if nodes > 1 {
		c := natstest.StartCluster(b, nodes)
		connect = func() jetstream.JetStream { return c.JetStream(b) }
	} else {
		srv := natstest.Start(b)
		connect = func() jetstream.JetStream { return srv.JetStream(b) }
	}
	sim, err := simchain.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sim.Close() })
	coins := payments/benchSenders + 2
	funder, err := bitcointest.NewWalletFromSeed(sim, "bench funder")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sim.Mine(1+coins*benchSenders*benchCoin/(40*1e8), simchain.PayTo(funder.PkScript())); err != nil {
		b.Fatal(err)
	}
	if _, err := sim.Mine(100); err != nil { // maturity
		b.Fatal(err)
	}
	for s := range benchSenders {
		outs := make([]*wire.TxOut, coins)
		for j := range outs {
			outs[j] = wire.NewTxOut(benchCoin, bitcointest.P2WPKHScript(benchSenderKey(s)))
		}
		if _, err := funder.Send(ctx, outs...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := sim.Mine(6); err != nil {
		b.Fatal(err)
	}
	to, err := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("bench recipient").PubKey(), bitcoin.Regtest)
	if err != nil {
		b.Fatal(err)
	}
	e := &jsBenchEnv{to: to.String(), senders: make([][]*anya.Identity, hosts)}
	hostDID, err := fixedDID("bench host")
	if err != nil {
		b.Fatal(err)
	}
	for h := range hosts {
		m, err := anya.New(anya.WithDataDir(b.TempDir()), anya.WithChain(sim), anya.WithJetStream(connect(), anya.JetStreamReplicas(nodes)),
			anya.WithHostName(fmt.Sprint("bench-host-", h)), anya.WithHostDID(hostDID), anya.WithEphemeralKeys())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = m.Close() })
		e.hosts = append(e.hosts, m)
		for s := range benchSenders {
			bearer, err := fixedDID(fmt.Sprintf("bench sender %d", s))
			if err != nil {
				b.Fatal(err)
			}
			id, err := m.AddIdentity(ctx, bearer, benchSenderKey(s))
			if err != nil {
				b.Fatal(err)
			}
			e.senders[h] = append(e.senders[h], id)
			if h > 0 {
				continue // linked through the first host, in the records they share
			}
			ch, _ := m.Challenge(id.String(), id.Address.String())
			sig, _ := id.SignChallenge(ch)
			if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: id.String(), Address: id.Address.String(), Challenge: ch, Signature: sig}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return e
}

func benchSenderKey(s int) *btcec.PrivateKey {
	return bitcointest.KeyFromSeed(fmt.Sprintf("bench sender %d", s))
}

// payAll makes n payments: every sender pays one at a time, always through the same host
// (sender s through host s mod hosts), so the hosts share the load.
func (e *jsBenchEnv) payAll(b *testing.B, n int) {
	var wg sync.WaitGroup
	work := make(chan int)
	for s := range benchSenders {
		h := s % len(e.hosts)
		m, id := e.hosts[h], e.senders[h][s]
		wg.Go(func() {
			for range work {
				i := e.n.Add(1)
				res, err := m.Execute(context.Background(), anya.TriProtocol{PaymentID: fmt.Sprintf("bench-%d", i), SenderDID: id.String(),
					SenderAddress: id.Address.String(), RecipientAddress: e.to, AmountSat: benchAmount})
				if err != nil {
					b.Error(err)
					continue
				}
				if p := res.(*anya.Payment); p.Outcome != anya.OutcomeSent {
					b.Errorf("payment %s: %s (risk %.3f) %s", p.PaymentID, p.Outcome, p.Risk, p.Error)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// benchJetStream is the sub-benchmark of BenchmarkVerifiedPayment with hosts hosts on JetStream:
// one server (nodes 1), or a cluster of nodes with every stream and bucket replicated on each.
func benchJetStream(b *testing.B, hosts, nodes int) {
	e := newJSBenchEnv(b, hosts, nodes, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	e.payAll(b, b.N)
	reportPayments(b, cpuTime()-cpu)
}

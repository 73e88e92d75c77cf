package anya_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/sqlitex"
)

// The verified-payment benchmark: real payments through a Manager — link verification,
// interaction features and the fraud model, a signed transaction accepted by the simchain, a
// record in the sender's store, six audited crossings — with every state in SQLite files, against
// its anchor in the same run: a bare loop making the same write transactions to the same three
// database files (state, audit, records) with the same SQLite setup, and nothing else.

const (
	benchSenders = 16     // senders, so payments run in parallel (one wallet lock each)
	benchAmount  = 15_000 // sat per payment
	benchCoin    = 100_000
	benchRowSize = 256 // bytes per anchor row, about one transition
)

// Write transactions one verified payment makes, by database (TestBenchWrites checks the audit
// count):
//
//	workflow: run created, 3 transitions, run ended (5)
//	state: interaction features (1); send record with its coin reservations (1); payment row
//	       and sender stats (1)
//	audit: Bitcoin→ML and Web5→ML features, and the workflow's Web5→ML, ML→Bitcoin, ML→Web5 and
//	       Bitcoin→Web5 step inputs (6)
//	dwn:   the payment record (1)
var benchWrites = map[string]int{anya.WorkflowFile: 5, anya.StateFile: 3, anya.AuditFile: 6, anya.DWNFile: 1}

type benchEnv struct {
	m         *anya.Manager
	b         *bus.Bus
	sim       *simchain.Chain
	senders   []*anya.Identity
	to        *anya.Identity
	n         atomic.Int64
	blocks    atomic.Int64 // blocks the Manager's block trigger has handled
	confirmed chan struct{}
}

// newBenchEnv funds each sender with a confirmed coin for each of its share of payments, so that
// each payment spends a confirmed coin, and waits for the Manager to have followed every block.
func newBenchEnv(b *testing.B, payments int) *benchEnv {
	b.Helper()
	ctx := context.Background()
	e := &benchEnv{confirmed: make(chan struct{}, payments+1)}
	var err error
	e.b, err = bus.New(bus.WithMetrics(func(topic, sub string, m bus.Metric) {
		if m == bus.MetricDelivered && sub == "anya.blocks" {
			e.blocks.Add(1)
		}
	}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.b.Close() })
	if _, err := bus.Subscribe(e.b, anya.TopicPaymentConfirmed, func(context.Context, bus.Envelope[anya.PaymentEvent]) error {
		e.confirmed <- struct{}{}
		return nil
	}, bus.QueueSize(payments+1)); err != nil {
		b.Fatal(err)
	}
	m, err := anya.New(anya.WithDataDir(b.TempDir()), anya.WithBus(e.b), anya.WithEphemeralKeys())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	e.m, e.sim = m, m.Chain().(*simchain.Chain)
	if e.to, err = m.NewIdentity(ctx); err != nil {
		b.Fatal(err)
	}
	// A funder gives each sender a confirmed coin per payment, in a transaction per sender
	// (regtest halves the block subsidy every 150 blocks, so a coinbase per payment would not
	// do): every payment spends a settled coin of a modest size.
	coins := payments/benchSenders + 2
	funder, err := bitcointest.NewWalletFromSeed(e.sim, "bench funder")
	if err != nil {
		b.Fatal(err)
	}
	coinbases := 1 + coins*benchSenders*benchCoin/(40*1e8) // 50 BTC each, fees to spare
	if _, err := e.sim.Mine(coinbases, simchain.PayTo(funder.PkScript())); err != nil {
		b.Fatal(err)
	}
	if _, err := e.sim.Mine(100); err != nil { // maturity
		b.Fatal(err)
	}
	for i := range benchSenders {
		key := bitcointest.KeyFromSeed(fmt.Sprintf("bench sender %d", i))
		bearer, err := fixedDID(fmt.Sprintf("bench sender %d", i))
		if err != nil {
			b.Fatal(err)
		}
		id, err := m.AddIdentity(ctx, bearer, key)
		if err != nil {
			b.Fatal(err)
		}
		e.senders = append(e.senders, id)
		outs := make([]*wire.TxOut, coins)
		for j := range outs {
			outs[j] = wire.NewTxOut(benchCoin, id.Address.PkScript())
		}
		if _, err := funder.Send(ctx, outs...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := e.sim.Mine(6); err != nil {
		b.Fatal(err)
	}
	for _, id := range e.senders {
		ch, _ := m.Challenge(id.String(), id.Address.String())
		sig, _ := id.SignChallenge(ch)
		if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: id.String(), Address: id.Address.String(), Challenge: ch, Signature: sig}); err != nil {
			b.Fatal(err)
		}
	}
	for tip := int64(e.sim.Tip().Height); e.blocks.Load() < tip; {
		runtime.Gosched() // the block trigger catches up before anything is timed
	}
	return e
}

func (e *benchEnv) pay(b *testing.B, sender *anya.Identity) {
	i := e.n.Add(1)
	res, err := e.m.Execute(context.Background(), anya.TriProtocol{PaymentID: fmt.Sprintf("bench-%d", i), SenderDID: sender.String(),
		SenderAddress: sender.Address.String(), RecipientAddress: e.to.Address.String(), AmountSat: benchAmount})
	if err != nil {
		b.Fatal(err)
	}
	if p := res.(*anya.Payment); p.Outcome != anya.OutcomeSent {
		b.Fatalf("payment %s: %s (risk %.3f) %s", p.PaymentID, p.Outcome, p.Risk, p.Error)
	}
}

// payAll makes n payments, several at once (each sender pays one at a time).
func (e *benchEnv) payAll(b *testing.B, n int) {
	var wg sync.WaitGroup
	work := make(chan int)
	for s := range benchSenders {
		wg.Go(func() {
			for range work {
				e.pay(b, e.senders[s])
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// anchor makes the same write transactions as one payment, each writing one row, to three
// database files opened as the Manager opens its own (four: the same lanes).
type anchor struct {
	dbs    []*sql.DB
	writes []int
	st     []*sql.Stmt
	row    []byte
}

func newAnchor(b *testing.B) *anchor {
	b.Helper()
	a := &anchor{row: make([]byte, benchRowSize)}
	dir := b.TempDir()
	for _, f := range []string{anya.WorkflowFile, anya.StateFile, anya.AuditFile, anya.DWNFile} {
		db, err := sqlitex.Open(context.Background(), filepath.Join(dir, f))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		if _, err := db.Exec(`CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID`); err != nil {
			b.Fatal(err)
		}
		st, err := db.Prepare(`INSERT INTO t (k, v) VALUES (?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		a.dbs, a.st, a.writes = append(a.dbs, db), append(a.st, st), append(a.writes, benchWrites[f])
	}
	return a
}

var anchorKeys atomic.Int64

func (a *anchor) run(b *testing.B) {
	for i, db := range a.dbs {
		for range a.writes[i] {
			k := fmt.Sprintf("k%d", anchorKeys.Add(1))
			err := sqlitex.Tx(context.Background(), db, func(tx *sql.Tx) error {
				_, err := tx.Stmt(a.st[i]).Exec(k, a.row)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkVerifiedPayment: one verified payment per op, several at once (each sender pays
// one at a time), each spending a confirmed coin. impl=bare-sqlite is the anchor. Bar:
// impl=manager ≥ 1,000 payments/s on 2 cores. impl=jetstream/hosts=N makes the same payments
// on N hosts sharing one embedded JetStream server (bench_jetstream_test.go).
func BenchmarkVerifiedPayment(b *testing.B) {
	b.Run("impl=manager", func(b *testing.B) {
		e := newBenchEnv(b, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cpuTime()
		e.payAll(b, b.N)
		reportPayments(b, cpuTime()-cpu)
	})
	for _, hosts := range []int{1, 3} {
		b.Run(fmt.Sprintf("impl=jetstream/hosts=%d", hosts), func(b *testing.B) { benchJetStream(b, hosts, 1) })
	}
	b.Run("impl=jetstream-cluster/hosts=3", func(b *testing.B) { benchJetStream(b, 3, 3) })
	b.Run("impl=bare-sqlite", func(b *testing.B) {
		a := newAnchor(b)
		b.ReportAllocs()
		b.ResetTimer()
		var wg sync.WaitGroup
		work := make(chan int)
		for range benchSenders {
			wg.Go(func() {
				for range work {
					a.run(b)
				}
			})
		}
		cpu := cpuTime()
		for i := range b.N {
			work <- i
		}
		close(work)
		wg.Wait()
		reportPayments(b, cpuTime()-cpu)
	})
}

// reportPayments reports the payments made per second and the process's CPU time per payment
// (the honest cost on a machine that other work shares: wall time there is theirs too).
func reportPayments(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkConfirmation: what the block trigger costs per payment it confirms — one block
// confirms b.N payments: their rows move and their records are rewritten in the senders'
// stores (a signed write each), and TopicPaymentConfirmed is published.
func BenchmarkConfirmation(b *testing.B) {
	e := newBenchEnv(b, b.N)
	e.payAll(b, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := e.sim.Mine(1); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		<-e.confirmed
	}
}

// TestBenchWrites checks the benchmark's count of audited crossings per payment, which the
// anchor reproduces.
func TestBenchWrites(t *testing.T) {
	e := newEnv(t)
	before, err := e.m.Audit().Head(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.pay("w-1", e.alice, e.bob, benchAmount)
	after, err := e.m.Audit().Head(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := int(after.Seq - before.Seq); n != benchWrites[anya.AuditFile] {
		t.Fatalf("one payment appended %d audit entries, the anchor makes %d", n, benchWrites[anya.AuditFile])
	}
}

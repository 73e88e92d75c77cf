package anya_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/models"
	"modernc.org/sqlite"
)

// The verified-payment benchmark: real payments through a Manager — link verification,
// interaction features and the fraud model, a signed transaction accepted by the simchain, a
// record in the sender's store, six audited crossings — with every state in SQLite files, against
// two anchors in the same run: the floor, the work a payment physically needs with the same
// guarantees (one input signed and its script verified, one record signed and verified, one
// fraud score, one SQLite write transaction), and bare-sqlite, a bare loop making the Manager's
// write transactions to the same four database files with the same SQLite setup, and nothing
// else.

const (
	benchSenders = 16     // senders, so payments run in parallel (one wallet lock each)
	benchAmount  = 15_000 // sat per payment
	benchCoin    = 100_000
	benchRowSize = 256 // bytes per anchor row, about one transition
)

// Write transactions one verified payment makes, by database, as committed
// (TestBenchWriteTransactions counts them on a real payment; TestBenchWrites checks the audit
// entries):
//
//	workflow: run created with its lease taken, 3 transitions, run ended (5)
//	state: payment started with its interaction features (1); the scored payment noted for
//	       training (1); send record with its coin reservations (1); payment row, sender stats
//	       and its event queued (1); the event dequeued once published (1)
//	audit: Bitcoin→ML and Web5→ML features, and the workflow's Web5→ML, ML→Bitcoin, ML→Web5 and
//	       Bitcoin→Web5 step inputs (6; concurrent payments share commits)
//	dwn:   the payment record (1)
//	features: the scored vector (1)
var benchWrites = map[string]int{anya.WorkflowFile: 5, anya.StateFile: 5, anya.AuditFile: 6, anya.DWNFile: 1, anya.FeaturesFile: 1}

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
	for _, f := range []string{anya.WorkflowFile, anya.StateFile, anya.AuditFile, anya.DWNFile, anya.FeaturesFile} {
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

func (a *anchor) run() error {
	for i, db := range a.dbs {
		for range a.writes[i] {
			k := fmt.Sprintf("k%d", anchorKeys.Add(1))
			err := sqlitex.Tx(context.Background(), db, func(tx *sql.Tx) error {
				_, err := tx.Stmt(a.st[i]).Exec(k, a.row)
				return err
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Sizes of the floor anchor's payment.
const (
	floorRecordSize = 1024 // bytes of the records-store message signed and verified
	floorStateSize  = 2048 // bytes of durable state written in the payment's one transaction
)

// floor does, per payment, only the work a verified payment physically needs with the same
// guarantees as the Manager: the transaction's input signed (ECDSA over secp256k1, P2WPKH) and
// its script verified, the record signed (Ed25519) and its signature verified, one fraud score,
// and the payment's durable state in one SQLite write transaction.
type floor struct {
	key      *btcec.PrivateKey
	pkScript []byte // the P2WPKH script of key, the coin each payment spends
	dest     []byte // the recipient's script
	edPub    ed25519.PublicKey
	edPriv   ed25519.PrivateKey
	engine   *ml.Engine
	vector   ml.Vector
	db       *sql.DB
	insert   *sql.Stmt
	n        atomic.Uint64
}

func newFloor(b *testing.B) *floor {
	b.Helper()
	ctx := context.Background()
	f := &floor{key: bitcointest.KeyFromSeed("floor sender")}
	p2wpkh := func(k *btcec.PrivateKey) []byte {
		s, err := txscript.NewScriptBuilder().AddOp(txscript.OP_0).AddData(btcutil.Hash160(k.PubKey().SerializeCompressed())).Script()
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	f.pkScript, f.dest = p2wpkh(f.key), p2wpkh(bitcointest.KeyFromSeed("floor recipient"))
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "floor records key")
	f.edPriv = ed25519.NewKeyFromSeed(seed)
	f.edPub = f.edPriv.Public().(ed25519.PublicKey)
	var err error
	model, err := models.Load(ctx, models.Fraud)
	if err != nil {
		b.Fatal(err)
	}
	if f.engine, err = ml.NewEngine(model, ml.WithBackend(ml.NewGoBackend()), ml.WithFactors(anya.DefaultFactors)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.engine.Close() })
	if f.vector, err = model.Schema().Vector(nil); err != nil {
		b.Fatal(err)
	}
	if f.db, err = sqlitex.Open(ctx, filepath.Join(b.TempDir(), anya.StateFile)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.db.Close() })
	if _, err := f.db.Exec(`CREATE TABLE payments (id TEXT PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID`); err != nil {
		b.Fatal(err)
	}
	if f.insert, err = f.db.Prepare(`INSERT INTO payments (id, state) VALUES (?, ?)`); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.insert.Close() })
	return f
}

// pay makes one payment; record and state are the caller's scratch buffers.
func (f *floor) pay(record, state []byte) error {
	ctx := context.Background()
	i := f.n.Add(1)
	// The transaction: a fresh coin (its outpoint names the payment), signed and its script
	// verified, the signature hashes computed once for both.
	var prev chainhash.Hash
	binary.BigEndian.PutUint64(prev[:], i)
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&prev, 0), nil, nil))
	tx.AddTxOut(wire.NewTxOut(benchAmount, f.dest))
	tx.AddTxOut(wire.NewTxOut(benchCoin-benchAmount-500, f.pkScript))
	fetcher := txscript.NewCannedPrevOutputFetcher(f.pkScript, benchCoin)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	wit, err := txscript.WitnessSignature(tx, hashes, 0, benchCoin, f.pkScript, txscript.SigHashAll, f.key, true)
	if err != nil {
		return err
	}
	tx.TxIn[0].Witness = wit
	vm, err := txscript.NewEngine(f.pkScript, tx, 0, txscript.StandardVerifyFlags, nil, hashes, benchCoin, fetcher)
	if err != nil {
		return err
	}
	if err := vm.Execute(); err != nil {
		return fmt.Errorf("script: %w", err)
	}
	// The record: signed by its author's key, verified by the store.
	binary.BigEndian.PutUint64(record, i)
	sig := ed25519.Sign(f.edPriv, record)
	if !ed25519.Verify(f.edPub, record, sig) {
		return errors.New("record signature does not verify")
	}
	// The fraud score.
	if _, err := f.engine.Score(ctx, f.vector); err != nil {
		return err
	}
	// The payment's durable state, in one transaction.
	binary.BigEndian.PutUint64(state, i)
	copy(state[8:], sig)
	return sqlitex.Tx(ctx, f.db, func(tx *sql.Tx) error {
		_, err := tx.Stmt(f.insert).Exec(fmt.Sprintf("p%d", i), state)
		return err
	})
}

// parallel runs op b.N times on benchSenders goroutines and fails b with the first error (the
// remaining work is skipped).
func parallel(b *testing.B, op func() error) {
	var (
		wg     sync.WaitGroup
		once   sync.Once
		first  error
		failed atomic.Bool
	)
	work := make(chan int)
	for range benchSenders {
		wg.Go(func() {
			for range work {
				if failed.Load() {
					continue
				}
				if err := op(); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		})
	}
	for i := range b.N {
		work <- i
	}
	close(work)
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}

// processCPU returns the CPU time (user and system) the process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs the timed part of a payment benchmark and reports payments/s and the CPU time
// the process spent per payment (cpu-ns/op: on a machine shared with other work it moves far
// less than ns/op).
func measure(b *testing.B, run func()) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	run()
	cpu = processCPU(b) - cpu
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkVerifiedPayment: one verified payment per op, several at once (each sender pays
// one at a time), each spending a confirmed coin. impl=floor (the work a payment physically
// needs) and impl=bare-sqlite (the Manager's write transactions, bare) are the anchors. Bar:
// impl=manager within 4× impl=floor and ≥ 1,000 payments/s on 2 cores. impl=jetstream/hosts=N
// makes the same payments on N hosts sharing one embedded JetStream server
// (bench_jetstream_test.go).
func BenchmarkVerifiedPayment(b *testing.B) {
	b.Run("impl=manager", func(b *testing.B) {
		e := newBenchEnv(b, b.N)
		measure(b, func() { e.payAll(b, b.N) })
	})
	for _, hosts := range []int{1, 3} {
		b.Run(fmt.Sprintf("impl=jetstream/hosts=%d", hosts), func(b *testing.B) { benchJetStream(b, hosts, 1) })
	}
	b.Run("impl=jetstream-cluster/hosts=3", func(b *testing.B) { benchJetStream(b, 3, 3) })
	b.Run("impl=bare-sqlite", func(b *testing.B) {
		a := newAnchor(b)
		measure(b, func() { parallel(b, a.run) })
	})
	b.Run("impl=floor", func(b *testing.B) {
		f := newFloor(b)
		scratch := sync.Pool{New: func() any { return &[2][]byte{make([]byte, floorRecordSize), make([]byte, floorStateSize)} }}
		measure(b, func() {
			parallel(b, func() error {
				s := scratch.Get().(*[2][]byte)
				defer scratch.Put(s)
				return f.pay(s[0], s[1])
			})
		})
	})
}

// reportPayments reports the payments made per second and the process's CPU time per payment
// (the honest cost on a machine that other work shares: wall time there is theirs too).
func reportPayments(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkConfirmation: what the block trigger costs per payment it confirms — one block
// confirms b.N payments: their records are rewritten in the senders' stores (a signed write
// each), their rows move with their events, and TopicPaymentConfirmed is published for each.
// payments/s is confirmed payments per second; cpu-ns/op the process's CPU time per payment
// (the bridges' triggers on the same block included).
func BenchmarkConfirmation(b *testing.B) {
	e := newBenchEnv(b, b.N)
	e.payAll(b, b.N)
	measure(b, func() {
		if _, err := e.sim.Mine(1); err != nil {
			b.Fatal(err)
		}
		for range b.N {
			<-e.confirmed
		}
	})
}

// TestBenchWrites checks the benchmark's count of audited crossings per payment, which the
// anchor reproduces.
func TestBenchWrites(t *testing.T) {
	e := newEnv(t)
	e.settle() // the bridges' crossings for the setup's blocks are not the payment's
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

// commitCounter counts the SQLite transactions committed on every connection opened after it is
// installed, by database file path.
type commitCounter struct {
	mu sync.Mutex
	n  map[string]int
}

// installCommitCounter makes every connection the driver opens from now on count its commits in
// c. The driver's connection hooks are the driver's (one per process): it is installed once.
var installCommitCounter = sync.OnceValue(func() *commitCounter {
	c := &commitCounter{n: map[string]int{}}
	sqlite.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, dsn string) error {
		h, ok := conn.(sqlite.HookRegisterer)
		if !ok {
			return nil
		}
		name := strings.TrimPrefix(dsn, "file:")
		if i := strings.IndexByte(name, '?'); i >= 0 {
			name = name[:i]
		}
		h.RegisterCommitHook(func() int32 {
			c.mu.Lock()
			c.n[name]++
			c.mu.Unlock()
			return 0
		})
		return nil
	})
	return c
})

func (c *commitCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// TestBenchWriteTransactions counts the write transactions one verified payment (a sender's
// second; its first caches what it can) commits, by database file: the anchor's benchWrites.
func TestBenchWriteTransactions(t *testing.T) {
	commits := installCommitCounter()
	dir := t.TempDir()
	e := newEnv(t, anya.WithDataDir(dir), anya.WithEphemeralKeys())
	e.pay("w-0", e.alice, e.bob, benchAmount)
	e.mine(1, nil)
	e.settle()
	before := commits.snapshot()
	e.pay("w-1", e.alice, e.bob, benchAmount)
	after := commits.snapshot()
	got := map[string]int{}
	total := 0
	for path, n := range after {
		if d := n - before[path]; d > 0 && filepath.Dir(path) == dir {
			got[filepath.Base(path)] = d
			total += d
		}
	}
	t.Logf("write transactions of one payment: %v (%d)", got, total)
	if !maps.Equal(got, benchWrites) {
		t.Fatalf("one payment committed %v, the anchor makes %v", got, benchWrites)
	}
}

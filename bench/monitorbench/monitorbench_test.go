package monitorbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/security"
)

// burstSize is the number of mempool transactions of one burst.
const burstSize = 10_000

// backend is an inference backend to score with.
type backend struct {
	name string
	be   ml.Backend
}

// backends returns the pure-Go evaluator and, when its library loads, ONNX Runtime.
func backends(tb testing.TB) []backend {
	tb.Helper()
	out := []backend{{"go", ml.NewGoBackend()}}
	// The SDK checkout's library, unless $ANYA_ONNXRUNTIME_LIB says otherwise (`make bench` sets it).
	lib := ""
	if os.Getenv(ml.EnvORTLibrary) == "" {
		lib = filepath.Join("..", "..", ml.ORTLibraryDir, ml.ORTLibraryFile)
	}
	ort, err := ml.NewORTBackend(lib)
	if err != nil {
		tb.Logf("ONNX Runtime not measured: %v", err)
		return out
	}
	tb.Cleanup(func() { _ = ort.Close() })
	return append(out, backend{"ort", ort})
}

// identities is a fixed address → DID → identity features table, read-only once built.
type identities struct {
	owners map[string]string
	feats  map[string]map[string]float64
}

func (ids *identities) Owner(_ context.Context, address string) (string, error) {
	return ids.owners[address], nil
}

func (ids *identities) Features(_ context.Context, did, _ string) (map[string]float64, error) {
	f, ok := ids.feats[did]
	if !ok {
		return nil, errors.New("unknown DID")
	}
	return f, nil
}

// index is the host's index of the outputs the burst's transactions spend, in memory: a
// bitcoin.FeatureLookup as a host with a UTXO or address index has one (WithLookup), where
// the default asks the chain for every spent output's transaction.
type index struct {
	outs map[wire.OutPoint]indexed
	uses map[string]int // outputs paid to each script
}

type indexed struct {
	out    *wire.TxOut
	height int32
}

func (x *index) PrevOutput(_ context.Context, op wire.OutPoint) (*wire.TxOut, int32, bool, error) {
	o, ok := x.outs[op]
	return o.out, o.height, ok, nil
}

func (x *index) ScriptUses(_ context.Context, pkScript []byte) (int, bool, error) {
	return x.uses[string(pkScript)], true, nil
}

// Identity features of the linked senders: reported ones, whose payments the fraud model rates
// high, and long-standing verified ones.
var (
	reported = map[string]float64{"did_age_days": 0, "prior_reports": 3, "address_linked": 1}
	trusted  = map[string]float64{"did_age_days": 800, "credentials": 3, "kyc_verified": 1, "address_linked": 1, "prior_payments": 120}
)

// world is what every burst runs on: a simchain whose confirmed outputs the burst's
// transactions spend, a Notifier of it, a bus, audited boundaries, identities, and the
// transactions.
type world struct {
	sim      *bitcointest.Sim
	notifier *bitcoin.Notifier
	bus      *bus.Bus
	bounds   *security.Boundaries
	ids      *identities
	index    *index
	model    *ml.Model
	txs      []*wire.MsgTx

	mu      sync.Mutex
	scored  int // scored events handled
	flagged int // of which flagged as alerts
	alerts  int // alert events handled
	want    int // scored events the burst waits for
	done    chan struct{}
}

// count records scored events and alerts, and closes done once every scored event the burst
// waits for is in, and the alert of every one flagged.
func (w *world) count(scored, alerts int, flagged bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.scored += scored
	w.alerts += alerts
	if flagged {
		w.flagged++
	}
	if w.scored == w.want && w.alerts == w.flagged && w.done != nil {
		close(w.done)
		w.done = nil
	}
}

// expect resets the counters for the next n scored events and returns the channel closed
// when they are in.
func (w *world) expect(n int) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.scored, w.flagged, w.alerts, w.want = 0, 0, 0, n
	w.done = make(chan struct{})
	return w.done
}

// senders is how many keys the burst's transactions are sent from; every tenth is linked to a
// reported DID, every tenth but one to a trusted one, the others to none.
const senders = 100

// newWorld builds n signed transactions, each spending a confirmed output of one of the
// senders' keys — one or two outputs, amounts and fees varied — and the rest of the world.
func newWorld(tb testing.TB, n int) *world {
	tb.Helper()
	ctx := context.Background()
	w := &world{sim: bitcointest.NewSim(tb), ids: &identities{owners: map[string]string{}, feats: map[string]map[string]float64{}},
		index: &index{outs: map[wire.OutPoint]indexed{}, uses: map[string]int{}}}
	keys := make([]*btcec.PrivateKey, senders)
	scripts := make([][]byte, senders)
	for i := range keys {
		keys[i] = bitcointest.KeyFromSeed(fmt.Sprintf("monitorbench/sender/%d", i))
		scripts[i] = bitcointest.P2WPKHScript(keys[i])
		addr, err := bitcoin.NewP2WPKH(keys[i].PubKey(), bitcoin.Regtest)
		if err != nil {
			tb.Fatal(err)
		}
		switch did := fmt.Sprintf("did:example:sender%d", i); i % 10 {
		case 0:
			w.ids.owners[addr.String()], w.ids.feats[did] = did, reported
		case 1:
			w.ids.owners[addr.String()], w.ids.feats[did] = did, trusted
		}
	}
	shop := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("monitorbench/shop"))
	// The spends' coins come from two-output transactions, as most are: fan-outs of up to
	// 1,000 outputs to a relay key, each relayed output split in two senders' coins. Spend i
	// comes from sender i%senders. The suspicious senders' coins (reported identities,
	// fan-outs) are fresh — a block old — the others have aged.
	type coin struct {
		op    wire.OutPoint
		out   *wire.TxOut
		owner int
	}
	suspicious := func(owner int) bool { return owner%10 == 0 || owner%10 == 5 }
	relay := bitcointest.KeyFromSeed("monitorbench/relay")
	relayScript := bitcointest.P2WPKHScript(relay)
	value := func(i int) int64 { return int64(50_000 + i%97*10_000) }
	const relayFee = 1_000
	coins := make([]coin, n)
	mine := func() {
		if _, err := w.sim.Mine(ctx, 1); err != nil {
			tb.Fatal(err)
		}
	}
	fund := func(fresh bool) {
		var idx []int
		for i := range n {
			if suspicious(i%senders) == fresh {
				idx = append(idx, i)
			}
		}
		pairs := make([][]int, 0, (len(idx)+1)/2)
		for k := 0; k < len(idx); k += 2 {
			pairs = append(pairs, idx[k:min(k+2, len(idx))])
		}
		var splits []*wire.MsgTx
		for len(pairs) > 0 {
			part := pairs[:min(1000, len(pairs))]
			pairs = pairs[len(part):]
			outs := make([]*wire.TxOut, len(part))
			for j, pr := range part {
				v := int64(relayFee)
				for _, i := range pr {
					v += value(i)
				}
				outs[j] = wire.NewTxOut(v, relayScript)
			}
			fan, err := w.sim.Wallet().Send(ctx, outs...)
			if err != nil {
				tb.Fatal(err)
			}
			for j, pr := range part {
				op := wire.OutPoint{Hash: fan.TxHash(), Index: uint32(j)}
				if o := fan.TxOut[j]; !bytes.Equal(o.PkScript, relayScript) || o.Value != outs[j].Value {
					tb.Fatalf("fan-out output %d is not where it was put", j)
				}
				split := wire.NewMsgTx(2)
				split.AddTxIn(wire.NewTxIn(&op, nil, nil))
				for _, i := range pr {
					split.AddTxOut(wire.NewTxOut(value(i), scripts[i%senders]))
				}
				if err := bitcointest.SignP2WPKH(split, map[wire.OutPoint]*wire.TxOut{op: fan.TxOut[j]}, relay); err != nil {
					tb.Fatal(err)
				}
				splits = append(splits, split)
			}
			mine()
		}
		for k, split := range splits {
			if _, err := w.sim.Chain().Broadcast(ctx, split); err != nil {
				tb.Fatal(err)
			}
			if k%1000 == 999 || k == len(splits)-1 {
				mine()
			}
		}
		for k, split := range splits {
			info, err := w.sim.Chain().Tx(ctx, split.TxHash())
			if err != nil || info.Block == nil {
				tb.Fatalf("split %d not mined: %v", k, err)
			}
			for j, o := range split.TxOut {
				op := wire.OutPoint{Hash: split.TxHash(), Index: uint32(j)}
				w.index.outs[op] = indexed{out: o, height: info.Block.Height}
				w.index.uses[string(o.PkScript)]++
				i := idx[2*k+j]
				coins[i] = coin{op: op, out: o, owner: i % senders}
			}
		}
	}
	fund(false)
	if _, err := w.sim.Mine(ctx, 6); err != nil {
		tb.Fatal(err)
	}
	fund(true)
	for i, c := range coins[:n] {
		fee := int64(500 + i%23*300)
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(wire.NewTxIn(&c.op, nil, nil))
		switch pay := c.out.Value - fee; {
		case c.owner%10 == 0: // the reported senders cash out: one round amount, no change
			tx.AddTxOut(wire.NewTxOut(pay/10_000*10_000, shop))
		case c.owner%10 == 5: // a fan-out of near-equal outputs
			for k := range 12 {
				tx.AddTxOut(wire.NewTxOut(pay/12-int64(k), bitcointest.P2WPKHScript(bitcointest.KeyFromSeed(fmt.Sprintf("monitorbench/fan/%d/%d", i, k)))))
			}
		case i%4 == 0: // a payment with change
			tx.AddTxOut(wire.NewTxOut(pay/3, shop))
			tx.AddTxOut(wire.NewTxOut(pay-pay/3, scripts[c.owner]))
		default:
			tx.AddTxOut(wire.NewTxOut(pay, shop))
		}
		if err := bitcointest.SignP2WPKH(tx, map[wire.OutPoint]*wire.TxOut{c.op: c.out}, keys[c.owner]); err != nil {
			tb.Fatal(err)
		}
		w.txs = append(w.txs, tx)
	}

	b, err := bus.New()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	w.bus = b
	if w.notifier, err = bitcoin.NewNotifier(ctx, w.sim.Chain()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = w.notifier.Close() })
	audit, err := security.OpenAuditLog(ctx, filepath.Join(tb.TempDir(), "audit.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = audit.Close() })
	if w.bounds, err = security.New(monitor.Boundaries(), security.WithAudit(audit)); err != nil {
		tb.Fatal(err)
	}
	if w.model, err = models.Load(ctx, models.Fraud); err != nil {
		tb.Fatal(err)
	}
	// The host's side: every scored event and alert, counted; done closes when a burst's
	// scored events are all in, with an alert for each one flagged.
	for _, sub := range []func() (*bus.Subscription, error){
		func() (*bus.Subscription, error) {
			return bus.Subscribe(b, monitor.TopicScored, func(_ context.Context, e bus.Envelope[monitor.Scored]) error {
				w.count(1, 0, e.Payload.Alert)
				return nil
			}, bus.Named("bench.scored"))
		},
		func() (*bus.Subscription, error) {
			return bus.Subscribe(b, monitor.TopicAlert, func(context.Context, bus.Envelope[monitor.Alert]) error {
				w.count(0, 1, false)
				return nil
			}, bus.Named("bench.alerts"))
		},
	} {
		s, err := sub()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = s.Unsubscribe(); <-s.Done() })
	}
	return w
}

// burst starts a monitor scoring with engine, publishes txs as mempool transactions on the bus
// once it runs, and returns how long it took from the first publish until every transaction's
// scored event and alert was handled by the host's subscriptions, the process's CPU time over
// that span, and the alerts raised.
func (w *world) burst(tb testing.TB, engine *ml.Engine, txs []*wire.MsgTx, opts ...monitor.Option) (time.Duration, time.Duration, int64) {
	tb.Helper()
	m, err := monitor.New(w.sim.Chain(), w.notifier, w.bus, engine, w.bounds, append([]monitor.Option{monitor.WithIdentities(w.ids)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = m.Run(ctx) })
	defer func() {
		cancel()
		wg.Wait()
		if !errors.Is(runErr, context.Canceled) {
			tb.Fatalf("Run: %v", runErr)
		}
	}()
	// The monitor subscribes when Run starts: a first transaction, scored, shows it runs.
	probe := w.txs[len(w.txs)-1]
	done := w.expect(1)
	deadline := time.After(30 * time.Second)
	for ready := false; !ready; {
		w.publish(tb, probe)
		select {
		case <-done:
			ready = true
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			tb.Fatal("the monitor scores nothing")
		}
	}
	done = w.expect(len(txs))
	start, cpu := time.Now(), cpuTime()
	for _, tx := range txs {
		w.publish(tb, tx)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		tb.Fatalf("the burst is not scored: %+v", m.Stats())
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu
	if st := m.Stats(); st.Scored != uint64(len(txs))+1 || st.Denied+st.Failed != 0 {
		tb.Fatalf("monitor stats %+v after a burst of %d", st, len(txs))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return elapsed, cpu, int64(w.alerts)
}

func (w *world) publish(tb testing.TB, tx *wire.MsgTx) {
	h := tx.TxHash()
	if err := bus.Publish(context.Background(), w.bus, bitcoin.TopicMempoolTx, bitcoin.MempoolTx{Txid: h, Tx: tx}, bus.WithKey(h.String())); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkMempoolBurst publishes a burst of 10,000 mempool transactions on the bus and waits
// until the host has every scored event and alert back: bus → monitor → features (spent outputs
// and script reuse from the lookup, identities of linked senders) → bitcoin→ml and web5→ml
// boundaries → micro-batched engine → ml→host boundary → scored events and alerts on the bus,
// the crossings audited in SQLite. One op is one burst, a new monitor each time. lookup=index
// reads spent outputs from the host's index (WithLookup), lookup=chain from the chain, one
// Chain.Tx per input (the default). Bar: ≥ 100,000 tx/s.
func BenchmarkMempoolBurst(b *testing.B) {
	w := newWorld(b, burstSize+1)
	for _, lookup := range []struct {
		name string
		opts []monitor.Option
	}{{"index", []monitor.Option{monitor.WithLookup(w.index)}}, {"chain", nil}} {
		for _, be := range backends(b) {
			b.Run("lookup="+lookup.name+"/backend="+be.name, func(b *testing.B) {
				engine, err := ml.NewEngine(w.model, ml.WithBackend(be.be))
				if err != nil {
					b.Fatal(err)
				}
				defer engine.Close()
				var total, cpu time.Duration
				var alerts int64
				for range b.N {
					d, c, a := w.burst(b, engine, w.txs[:burstSize], lookup.opts...)
					total, cpu, alerts = total+d, cpu+c, alerts+a
				}
				b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/burst")
				b.ReportMetric(float64(burstSize*b.N)/total.Seconds(), "tx/s")
				b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(burstSize*b.N), "cpu-µs/tx")
				b.ReportMetric(float64(alerts)/float64(b.N), "alerts/burst")
			})
		}
	}
}

// mainnetBlock returns btcd's 1.25 MB mainnet test block (height 574200, 3,315 transactions)
// from the btcd module in the module cache.
func mainnetBlock(tb testing.TB) *wire.MsgBlock {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	if err != nil {
		tb.Skipf("cannot locate the btcd module: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "wire", "testdata",
		"block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"))
	if err != nil {
		tb.Skipf("btcd test block: %v", err)
	}
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
		tb.Fatal(err)
	}
	return &blk
}

// mainnet is a Chain of mainnet that knows no block or transaction: scoring a block given
// whole needs nothing else (the outputs its transactions spend are found in the block or not
// at all, as `anya score block` does).
type mainnet struct{}

func (mainnet) Params() *chaincfg.Params { return &chaincfg.MainNetParams }
func (mainnet) Block(context.Context, chainhash.Hash) (*wire.MsgBlock, error) {
	return nil, bitcoin.ErrNotFound
}
func (mainnet) Tx(context.Context, chainhash.Hash) (bitcoin.TxInfo, error) {
	return bitcoin.TxInfo{}, bitcoin.ErrNotFound
}

// BenchmarkMainnetBlock scores every transaction of btcd's 3,315-transaction mainnet test block
// with Monitor.ScoreBlock: features, the three boundary crossings (audited), the engine, in
// micro-batches on GOMAXPROCS workers. One op is the whole block. Bar: ≤ 50 ms.
func BenchmarkMainnetBlock(b *testing.B) {
	blk := mainnetBlock(b)
	w := newWorld(b, 1)
	ctx := context.Background()
	for _, be := range backends(b) {
		b.Run("backend="+be.name, func(b *testing.B) {
			engine, err := ml.NewEngine(w.model, ml.WithBackend(be.be))
			if err != nil {
				b.Fatal(err)
			}
			defer engine.Close()
			m, err := monitor.New(mainnet{}, w.notifier, w.bus, engine, w.bounds)
			if err != nil {
				b.Fatal(err)
			}
			alerts := 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				got, err := m.ScoreBlock(ctx, blk, 574200)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != len(blk.Transactions)-1 {
					b.Fatalf("%d of %d transactions scored", len(got), len(blk.Transactions)-1)
				}
				alerts = 0
				for _, s := range got {
					if s.Alert {
						alerts++
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/block")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/block")
			b.ReportMetric(float64((len(blk.Transactions)-1)*b.N)/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(float64(alerts), "alerts/block")
		})
	}
}

// The burst harness itself: every transaction is scored once, the reported senders' raise
// alerts, and nothing is denied or fails.
func TestBurst(t *testing.T) {
	w := newWorld(t, 501)
	model, err := models.Load(context.Background(), models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := ml.NewEngine(model, ml.WithBackend(ml.NewGoBackend()))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	d, _, alerts := w.burst(t, engine, w.txs[:500])
	if d <= 0 || alerts == 0 || alerts > 50 {
		t.Fatalf("a burst of 500 took %v with %d alerts", d, alerts)
	}
	t.Logf("500 transactions in %v, %d alerts", d, alerts)
}

package monitor_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/security"
)

// mainnetBlock returns btcd's 1.25 MB mainnet test block (height 574200, 3,315 transactions),
// read from the btcd module in the module cache.
func mainnetBlock(t *testing.T) *wire.MsgBlock {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	if err != nil {
		t.Skipf("cannot locate the btcd module: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "wire", "testdata",
		"block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"))
	if err != nil {
		t.Skipf("btcd test block: %v", err)
	}
	var b wire.MsgBlock
	if err := b.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return &b
}

// mainnet is a Chain of mainnet that knows no block or transaction: what scoring a block
// given whole needs.
type mainnet struct{}

func (mainnet) Params() *chaincfg.Params { return &chaincfg.MainNetParams }
func (mainnet) Block(context.Context, chainhash.Hash) (*wire.MsgBlock, error) {
	return nil, bitcoin.ErrNotFound
}
func (mainnet) Tx(context.Context, chainhash.Hash) (bitcoin.TxInfo, error) {
	return bitcoin.TxInfo{}, bitcoin.ErrNotFound
}

// ScoreBlock scores every transaction of a real mainnet block, each as the model scores its
// features computed on their own (spent outputs of the same block known): the crossings carry
// the features unchanged.
func TestScoreMainnetBlock(t *testing.T) {
	blk := mainnetBlock(t)
	f := newFixture(t, nil)
	m, err := monitor.New(mainnet{}, f.notifier, f.bus, f.engine, f.bounds)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := m.ScoreBlock(ctx, blk, 574200)
	if err != nil {
		t.Fatal(err)
	}
	if len(blk.Transactions) != 3315 || len(got) != 3314 {
		t.Fatalf("%d transactions, %d scored", len(blk.Transactions), len(got))
	}
	fx, _ := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(monitor.BlockLookup(blk, 574200, nil)))
	schema := f.engine.Model().Schema()
	names := bitcoin.TxFeatureSchema().Names
	alerts, known := 0, 0
	for i, s := range got {
		tx := blk.Transactions[i+1]
		if s.Txid != tx.TxHash() || s.Block == nil || s.Block.Hash != blk.BlockHash() || s.Model != "fraud@1" {
			t.Fatalf("score %d: %+v", i, s)
		}
		if s.Alert {
			alerts++
		}
		if i%97 != 0 {
			continue
		}
		vals, err := fx.Tx(ctx, tx, 574200, nil)
		if err != nil {
			t.Fatal(err)
		}
		if vals[bitcoin.TxFeatureSchema().Index("inputs_known")] == 1 {
			known++
		}
		v, err := schema.Project(names, vals, map[string]float32{"identity_known": 0})
		if errors.Is(err, ml.ErrOutOfRange) {
			continue // clamped by the monitor
		}
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.engine.Score(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(r.Score)-s.Risk) > 1e-6 {
			t.Errorf("transaction %d (%s): monitor %v, direct %v", i, s.Txid, s.Risk, r.Score)
		}
	}
	if known == 0 {
		t.Error("no sampled transaction spends an output of its own block: the block lookup is not exercised")
	}
	t.Logf("%d alerts at %.2f; %d sampled transactions with known inputs", alerts, m.Threshold(), known)
	// Every batch crossed; 3,314 transactions at 128 a batch are 26 batches.
	entries, err := f.audit.Entries(ctx, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2*26 {
		t.Errorf("%d audit entries", len(entries))
	}
	for _, e := range entries {
		if e.Decision != security.DecisionAllow {
			t.Errorf("%+v", e)
		}
	}
}

// New refuses missing dependencies and bad options, naming them.
func TestNewRefuses(t *testing.T) {
	f := newFixture(t, nil)
	chain, n, b, e, bs := monitor.Chain(f.sim.Chain()), monitor.Notifier(f.notifier), f.bus, monitor.Engine(f.engine), monitor.Boundary(f.bounds)
	for _, tc := range []struct {
		option string
		build  func() (*monitor.Monitor, error)
	}{
		{"chain", func() (*monitor.Monitor, error) { return monitor.New(nil, n, b, e, bs) }},
		{"notifier", func() (*monitor.Monitor, error) { return monitor.New(chain, nil, b, e, bs) }},
		{"bus", func() (*monitor.Monitor, error) { return monitor.New(chain, n, nil, e, bs) }},
		{"engine", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, nil, bs) }},
		{"boundary", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, nil) }},
		{"WithThreshold", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, bs, monitor.WithThreshold(1.5)) }},
		{"WithThreshold", func() (*monitor.Monitor, error) {
			return monitor.New(chain, n, b, e, bs, monitor.WithThreshold(math.NaN()))
		}},
		{"WithMaxBatch", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, bs, monitor.WithMaxBatch(0)) }},
		{"WithMaxBatch", func() (*monitor.Monitor, error) {
			return monitor.New(chain, n, b, e, bs, monitor.WithMaxBatch(monitor.MaxBatchLimit+1))
		}},
		{"WithMaxWait", func() (*monitor.Monitor, error) {
			return monitor.New(chain, n, b, e, bs, monitor.WithMaxWait(-time.Second))
		}},
		{"WithQueueSize", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, bs, monitor.WithQueueSize(0)) }},
		{"WithWorkers", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, bs, monitor.WithWorkers(0)) }},
		{"WithMaxTracked", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, bs, monitor.WithMaxTracked(0)) }},
		{"WithSafetyLimit", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, bs, monitor.WithSafetyLimit(0)) }},
		{"WithRetryBackoff", func() (*monitor.Monitor, error) {
			return monitor.New(chain, n, b, e, bs, monitor.WithRetryBackoff(time.Second, time.Millisecond))
		}},
		{"WithLogger", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, bs, monitor.WithLogger(nil)) }},
		{"WithClock", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, bs, monitor.WithClock(nil)) }},
		{"WithMempoolTopic", func() (*monitor.Monitor, error) {
			return monitor.New(chain, n, b, e, bs, monitor.WithMempoolTopic("bitcoin..tx"))
		}},
		{"WithWatch", func() (*monitor.Monitor, error) { return monitor.New(chain, n, b, e, bs, monitor.WithWatch(nil)) }},
	} {
		m, err := tc.build()
		var oe *monitor.OptionError
		if m != nil || !errors.As(err, &oe) || oe.Option != tc.option || !errors.Is(err, monitor.ErrInvalidOption) {
			t.Errorf("%s: %v, %v", tc.option, m, err)
		}
	}
	m, err := monitor.New(chain, n, b, e, bs)
	if err != nil || m.Threshold() != monitor.DefaultThreshold {
		t.Fatalf("defaults: %v", err)
	}
	if _, err := m.ScoreBlock(context.Background(), nil, 1); !errors.Is(err, monitor.ErrInvalidArgument) {
		t.Errorf("ScoreBlock(nil) = %v", err)
	}
	// One Run at a time.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	f.ready(t, m)
	if err := m.Run(context.Background()); !errors.Is(err, monitor.ErrRunning) {
		t.Errorf("a second Run: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
}

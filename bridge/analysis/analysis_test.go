package analysis_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/analysis"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/web5test"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func bounds(t *testing.T, bs []security.Boundary) *security.Boundaries {
	t.Helper()
	b, err := security.New(bs, security.WithRedactionKey([]byte("0123456789abcdef0123456789abcdef")),
		security.WithProvenance("web5.signature", func(context.Context, security.Crossing) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type fixture struct {
	sim    *bitcointest.Sim
	alice  *did.BearerDID
	addr   bitcoin.Address
	owners analysis.Owners
	web5   analysis.Leg
	ml     analysis.Leg

	aliceMethods int // verification methods in alice's resolved document
}

func newFixture(t *testing.T) *fixture {
	ctx := context.Background()
	f := &fixture{sim: bitcointest.NewSim(t), alice: web5test.Alice(t)}
	f.addr, _ = bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("alice").PubKey(), bitcoin.Regtest)
	f.owners = func(s []byte) []string {
		if string(s) == string(f.addr.PkScript()) {
			return []string{f.alice.String()}
		}
		return nil
	}
	resolver := web5test.NewNetwork(t).Resolver(t)
	if res, err := resolver.Resolve(ctx, f.alice.String()); err == nil {
		f.aliceMethods = len(res.Document.VerificationMethod)
	}
	// The Web5 leg resolves the linked DID; it sees only what crossed.
	f.web5 = func(ctx context.Context, data map[string]any) (map[string]any, error) {
		res, err := resolver.Resolve(ctx, data["did"].(string))
		if err != nil {
			return nil, err
		}
		return map[string]any{"methods": len(res.Document.VerificationMethod)}, nil
	}
	m, err := models.Load(ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	eng := mltest.NewEngine(t, m)
	// The ML leg scores the transaction features with the SDK's fraud model.
	f.ml = func(ctx context.Context, data map[string]any) (map[string]any, error) {
		feats := data["features"].(map[string]any)
		schema := eng.Model().Schema()
		named := map[string]float32{}
		for _, n := range schema.Names() {
			if v, ok := feats[n].(float64); ok {
				named[n] = float32(v)
			}
		}
		v, err := schema.Vector(named)
		if err != nil {
			return nil, err
		}
		r, err := eng.Score(ctx, v)
		if err != nil {
			return nil, err
		}
		return map[string]any{"risk": float64(r.Score)}, nil
	}
	return f
}

func (f *fixture) block(t *testing.T, outs ...[]*wire.TxOut) bitcoin.BlockStamp {
	t.Helper()
	ctx := context.Background()
	for _, o := range outs {
		if _, err := f.sim.Wallet().Send(ctx, o...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.sim.Mine(ctx, 1); err != nil {
		t.Fatal(err)
	}
	tip, _ := f.sim.Chain().BestBlock(ctx)
	return tip
}

func TestAnalyzeBlock(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	other, _ := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("other").PubKey(), bitcoin.Regtest)
	a, err := analysis.New(f.sim.Chain(), bounds(t, security.DefaultBoundaries()), bitcoin.Regtest,
		analysis.WithWeb5(f.web5), analysis.WithML(f.ml), analysis.WithOwners(f.owners))
	if err != nil {
		t.Fatal(err)
	}
	at := f.block(t, []*wire.TxOut{wire.NewTxOut(30_000, f.addr.PkScript())}, []*wire.TxOut{wire.NewTxOut(40_000, other.PkScript())})
	res, err := a.AnalyzeBlock(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Txs) != 2 || res.Failures() != 0 || res.Block != at {
		t.Fatalf("result %+v", res)
	}
	linked := 0
	for _, tx := range res.Txs {
		if risk, ok := tx.ML.Findings["risk"].(float64); !ok || risk < 0 || risk > 1 {
			t.Fatalf("ML leg of %s: %+v", tx.Txid, tx.ML)
		}
		for _, l := range tx.Links {
			linked++
			if l.DID != f.alice.String() || l.Address != f.addr.String() || l.Web5.Findings["methods"] != f.aliceMethods || f.aliceMethods == 0 {
				t.Fatalf("Web5 leg %+v", l)
			}
		}
	}
	if linked != 1 {
		t.Fatalf("%d linked legs", linked)
	}
}

// The legs of a transaction run in parallel: each waits for the other to start.
func TestLegsRunInParallel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := newFixture(t)
	var wg sync.WaitGroup
	wg.Add(2)
	both := make(chan struct{})
	go func() { wg.Wait(); close(both) }()
	meet := func(ctx context.Context, _ map[string]any) (map[string]any, error) {
		wg.Done()
		select {
		case <-both:
			return map[string]any{"met": true}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	a, _ := analysis.New(f.sim.Chain(), bounds(t, security.DefaultBoundaries()), bitcoin.Regtest,
		analysis.WithWeb5(meet), analysis.WithML(meet), analysis.WithOwners(f.owners), analysis.WithConcurrency(2))
	at := f.block(t, []*wire.TxOut{wire.NewTxOut(30_000, f.addr.PkScript())})
	res, err := a.AnalyzeBlock(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if res.Txs[0].ML.Findings["met"] != true || res.Txs[0].Links[0].Web5.Findings["met"] != true {
		t.Fatalf("%+v", res.Txs[0])
	}
}

// Each leg passes its own boundary: with no bitcoin→ml boundary the ML leg is denied while the
// Web5 leg still runs.
func TestDeniedLeg(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var bs []security.Boundary
	for _, b := range security.DefaultBoundaries() {
		if !(b.From == security.Bitcoin && b.To == security.ML) {
			bs = append(bs, b)
		}
	}
	ran := false
	a, _ := analysis.New(f.sim.Chain(), bounds(t, bs), bitcoin.Regtest, analysis.WithWeb5(f.web5), analysis.WithOwners(f.owners),
		analysis.WithML(func(context.Context, map[string]any) (map[string]any, error) { ran = true; return nil, nil }))
	at := f.block(t, []*wire.TxOut{wire.NewTxOut(30_000, f.addr.PkScript())})
	res, err := a.AnalyzeBlock(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	tx := res.Txs[0]
	var de *security.DeniedError
	if !tx.ML.Denied || !errors.As(tx.ML.Err, &de) || ran {
		t.Fatalf("ML leg %+v", tx.ML)
	}
	if tx.Links[0].Web5.Err != nil {
		t.Fatalf("Web5 leg %+v", tx.Links[0].Web5)
	}
	if res.Failures() != 1 {
		t.Fatalf("failures %d", res.Failures())
	}
	// Cancellation is returned as such.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.AnalyzeBlock(cctx, at); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	// Options.
	if _, err := analysis.New(f.sim.Chain(), bounds(t, bs), bitcoin.Regtest); !errors.Is(err, analysis.ErrInvalidOption) {
		t.Fatalf("no legs: %v", err)
	}
	if _, err := analysis.New(f.sim.Chain(), nil, bitcoin.Regtest, analysis.WithML(f.ml)); !errors.Is(err, analysis.ErrInvalidOption) {
		t.Fatalf("no boundary: %v", err)
	}
}

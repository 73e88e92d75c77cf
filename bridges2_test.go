package anya_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/analysis"
	"github.com/anya-org/anya-go/bridge/feed"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/web5/dwn"
)

// With WithBlockAnalysis every block is analysed as it connects: a payment to a linked
// address gets a Web5 leg (the link checked again) and an ML leg (the fraud model's score),
// correlated in one result, published on the bus.
func TestBlockAnalysis(t *testing.T) {
	e := newEnv(t, anya.WithBlockAnalysis())
	got := make(chan *analysis.BlockResult, 8)
	if _, err := bus.Subscribe(e.m.Bus(), anya.TopicBlockAnalysed, func(_ context.Context, ev bus.Envelope[*analysis.BlockResult]) error {
		got <- ev.Payload
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.link(e.bob)
	p := e.pay("analysed-1", e.alice, e.bob, 30_000)
	blk := e.mineOne()
	txid := mustHash(t, p.Txid)
	for {
		var r *analysis.BlockResult
		select {
		case r = <-got:
		case <-e.ctx.Done():
			t.Fatal(e.ctx.Err())
		}
		if r.Block.Hash != blk {
			continue
		}
		for _, tx := range r.Txs {
			if tx.Txid != txid {
				continue
			}
			if tx.ML == nil || tx.ML.Denied || tx.ML.Err != nil || tx.ML.Findings["model"] == nil {
				t.Fatalf("ML leg %+v", tx.ML)
			}
			var bob *analysis.LinkResult
			for i := range tx.Links {
				if tx.Links[i].DID == e.bob.String() {
					bob = &tx.Links[i]
				}
			}
			if bob == nil || bob.Web5.Err != nil || bob.Web5.Findings["link_verified"] != true {
				t.Fatalf("Web5 legs %+v", tx.Links)
			}
			return
		}
		t.Fatalf("the analysis of %s lacks the payment %s", blk, txid)
	}
}

// A pipeline declared with WithPipeline scores the transaction records the triggers write in
// a linked DID's store, with the Manager's fraud model, and writes the score back next to it.
func TestPipelineScoresRecords(t *testing.T) {
	spec, err := feed.ParseSpec([]byte(`
name: tx-risk
protocol: https://anya.org/protocols/bridge/v1
path: tx
filter: data.amount_sat > 0
validate:
  - {name: positive, expr: "data.amount_sat >= 0"}
features:
  out_total_btc: double(data.amount_sat) / 1e8
explain: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, anya.WithPipeline(spec, nil))
	e.link(e.bob)
	p := e.pay("piped-1", e.alice, e.bob, 40_000)
	writes := watch(t, e.m.Bus(), dwn.TopicPrefix+".>")
	e.mineOne()
	recs := e.txRecords(e.bob, p.Txid)
	if len(recs) != 1 {
		t.Fatalf("transaction records %+v", recs)
	}
	// The score record follows the transaction record, written by the pipeline's subscriber:
	// look again at every records-store event.
	var scored []*dwn.Record
	for {
		if scored = e.bridgeRecords(e.bob, bridge.PathScore); len(scored) > 0 {
			break
		}
		select {
		case <-writes:
		case <-e.ctx.Done():
			t.Fatal(e.ctx.Err())
		}
	}
	if len(scored) != 1 {
		t.Fatalf("%d score records in bob's store", len(scored))
	}
	var s map[string]any
	if err := json.Unmarshal(scored[0].Data, &s); err != nil || s["pipeline"] != "tx-risk" || s["model"] != "fraud@1" {
		t.Fatalf("score record %v (%v)", s, err)
	}
	// The pipeline counts the score once its record is written: the count may trail the record.
	for st := e.m.Pipelines()[0].Stats(); st.Scored < 1; st = e.m.Pipelines()[0].Stats() {
		select {
		case <-time.After(5 * time.Millisecond):
		case <-e.ctx.Done():
			t.Fatalf("pipeline stats %+v: %v", st, e.ctx.Err())
		}
	}
}

// watch returns a channel that receives a value for every event on pattern.
func watch(t *testing.T, b *bus.Bus, pattern string) <-chan struct{} {
	t.Helper()
	ch := make(chan struct{}, 1)
	sub, err := bus.Subscribe(b, pattern, func(context.Context, bus.Envelope[any]) error {
		select {
		case ch <- struct{}{}:
		default:
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return ch
}

// mlOutputs is a model's side of a sync, in memory.
type mlOutputs struct {
	mu  sync.Mutex
	out map[string]feed.Version
}

func (m *mlOutputs) Outputs(context.Context) (map[string]feed.Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := make(map[string]feed.Version, len(m.out))
	for k, v := range m.out {
		c[k] = v
	}
	return c, nil
}

func (m *mlOutputs) Put(_ context.Context, k string, v feed.Version) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out == nil {
		m.out = map[string]feed.Version{}
	}
	m.out[k] = v
	return nil
}

// A conflicting edit: the identity edits a synced value in its store while the model changes
// it too; the declared strategy (prefer Web5) decides, and both sides end equal.
func TestSyncConflictingEdit(t *testing.T) {
	e := newEnv(t)
	ml := &mlOutputs{}
	s, err := e.m.Sync(e.alice.String(), ml, feed.PreferWeb5())
	if err != nil {
		t.Fatal(err)
	}
	_ = ml.Put(e.ctx, "risk-tier", feed.Version{Value: map[string]any{"v": "low"}, Time: time.Now()})
	if rep, err := s.Sync(e.ctx); err != nil || rep.ToWeb5 != 1 {
		t.Fatalf("first sync: %+v %v", rep, err)
	}
	// alice edits her copy (as the record's recipient) while the model moves on.
	own, err := bridge.NewRecords(e.m.DWN(), e.alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := own.Query(e.ctx, e.alice.String(), bridge.PathSync, dwn.Filter{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("sync records %d %v", len(recs), err)
	}
	if _, err := own.Update(e.ctx, e.alice.String(), recs[0], map[string]any{"key": "risk-tier", "value": map[string]any{"v": "disputed"}}); err != nil {
		t.Fatal(err)
	}
	_ = ml.Put(e.ctx, "risk-tier", feed.Version{Value: map[string]any{"v": "high"}, Time: time.Now()})
	rep, err := s.Sync(e.ctx)
	if err != nil || len(rep.Conflicts) != 1 || !rep.Conflicts[0].Decided || !rep.Conflicts[0].KeptWeb5 {
		t.Fatalf("conflicting sync: %+v %v", rep, err)
	}
	out, _ := ml.Outputs(e.ctx)
	if out["risk-tier"].Value["v"] != "disputed" {
		t.Fatalf("the model has %v, want alice's edit", out["risk-tier"].Value)
	}
	if _, err := e.m.Sync("did:key:z6MkNotRegistered", ml, feed.PreferML()); !errors.Is(err, anya.ErrUnknownIdentity) {
		t.Fatalf("sync with an unregistered identity: %v", err)
	}
}

// With a shared cache store, the UTXOs Balance loads go to the store behind the in-process
// tiers (under the bitcoin namespace), and a payment from the address invalidates them there
// too.
func TestCacheStoreTier(t *testing.T) {
	store, err := cache.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	e := newEnv(t, anya.WithCacheStore(store, time.Minute))
	addr := e.alice.Address.String()
	c, _, err := e.m.Balance(e.ctx, addr)
	if err != nil || c == 0 {
		t.Fatalf("balance %v %v", c, err)
	}
	raw, err := store.Get(e.ctx, cache.Key(anya.CacheBitcoin, addr))
	if err != nil {
		t.Fatalf("the shared store holds no UTXOs of %s: %v", addr, err)
	}
	var utxos []bitcoin.UTXO
	if err := json.Unmarshal(raw, &utxos); err != nil || len(utxos) == 0 {
		t.Fatalf("stored UTXOs %s: %v", raw, err)
	}
	// A payment from the address drops its UTXOs from every tier, the store's included.
	if p := e.pay("cached-1", e.alice, e.bob, 10_000); p.Outcome != anya.OutcomeSent {
		t.Fatalf("%s %+v", p.Outcome, p.Refusal)
	}
	if _, err := store.Get(e.ctx, cache.Key(anya.CacheBitcoin, addr)); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("after the payment the store still holds the UTXOs of %s: %v", addr, err)
	}
}

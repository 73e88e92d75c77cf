package anya_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/internal/telemetry"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/workflow"
)

// countingChain counts the calls the Manager makes to its chain: every one but Params,
// Subscribe and Close goes through the chain's circuit breaker (BreakerChain).
type countingChain struct {
	*simchain.Chain
	calls atomic.Int64
}

func (c *countingChain) count() { c.calls.Add(1) }

func (c *countingChain) BestBlock(ctx context.Context) (bitcoin.BlockStamp, error) {
	c.count()
	return c.Chain.BestBlock(ctx)
}

func (c *countingChain) BlockHash(ctx context.Context, h int32) (chainhash.Hash, error) {
	c.count()
	return c.Chain.BlockHash(ctx, h)
}

func (c *countingChain) BlockHeader(ctx context.Context, h chainhash.Hash) (wire.BlockHeader, error) {
	c.count()
	return c.Chain.BlockHeader(ctx, h)
}

func (c *countingChain) Block(ctx context.Context, h chainhash.Hash) (*wire.MsgBlock, error) {
	c.count()
	return c.Chain.Block(ctx, h)
}

func (c *countingChain) Tx(ctx context.Context, txid chainhash.Hash) (bitcoin.TxInfo, error) {
	c.count()
	return c.Chain.Tx(ctx, txid)
}

func (c *countingChain) TxOut(ctx context.Context, op wire.OutPoint, mempool bool) (bitcoin.UTXO, error) {
	c.count()
	return c.Chain.TxOut(ctx, op, mempool)
}

func (c *countingChain) UTXOs(ctx context.Context, pkScript []byte) ([]bitcoin.UTXO, error) {
	c.count()
	return c.Chain.UTXOs(ctx, pkScript)
}

func (c *countingChain) Mempool(ctx context.Context) ([]bitcoin.MempoolEntry, error) {
	c.count()
	return c.Chain.Mempool(ctx)
}

func (c *countingChain) EstimateFee(ctx context.Context, target int) (bitcoin.FeeRate, error) {
	c.count()
	return c.Chain.EstimateFee(ctx, target)
}

func (c *countingChain) TestAccept(ctx context.Context, tx *wire.MsgTx) error {
	c.count()
	return c.Chain.TestAccept(ctx, tx)
}

func (c *countingChain) Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	c.count()
	return c.Chain.Broadcast(ctx, tx)
}

func (c *countingChain) ScriptUses(ctx context.Context, pkScript []byte) (int, bool, error) {
	c.count()
	return c.Chain.ScriptUses(ctx, pkScript)
}

func (c *countingChain) Watch(ctx context.Context, pkScripts [][]byte) error {
	c.count()
	return c.Chain.Watch(ctx, pkScripts)
}

// topicCounter counts every message published on a bus, by topic as telemetry names it.
type topicCounter struct {
	mu sync.Mutex
	n  map[string]int64
}

// TestDemoMetrics (issue 17): the demo's workload — three identities, the sender linked, its
// reputation read, three verified payments (one sent, one blocked by the fraud model, one from
// a stranger refused as unverified), a block mined and the sent payment confirmed — on a
// Manager given an sdk/metric ManualReader, and the metrics compared with what the workload
// did, counted another way: workflow runs by outcome against the runs and the payments'
// outcomes, boundary crossings and denials and audit appends against the audit log, bus
// messages per topic against a subscriber of every topic, DID cache hits and misses against
// resolutions the test makes, model batches against the payments scored, breaker calls against
// the calls the chain received.
func TestDemoMetrics(t *testing.T) {
	ctx := t.Context()
	k := telemetrytest.New(t)
	b, err := bus.New(bus.WithMeterProvider(k.MP), bus.WithTopicTemplate(dwn.TopicTemplate))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	seen := &topicCounter{n: map[string]int64{}}
	all, err := bus.Subscribe(b, ">", func(_ context.Context, e bus.Envelope[any]) error {
		seen.mu.Lock()
		seen.n[dwn.TopicTemplate(e.Topic)]++
		seen.mu.Unlock()
		return nil
	}, bus.Named("test.all"))
	if err != nil {
		t.Fatal(err)
	}
	defer all.Unsubscribe()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	chain := &countingChain{Chain: sim}
	// The block pipeline's reports say which triggers fired: assess-large-tx scores a block's
	// large transaction with the fraud model.
	var assessed atomic.Int64
	blocks, err := bus.Subscribe(b, anya.TopicBridgeBlock, func(_ context.Context, e bus.Envelope[anya.BridgeBlock]) error {
		for _, o := range e.Payload.Triggers {
			if o.Trigger == "assess-large-tx" && !o.Denied && !o.Repeated && o.Err == "" {
				assessed.Add(1)
			}
		}
		return nil
	}, bus.Named("test.blocks"))
	if err != nil {
		t.Fatal(err)
	}
	defer blocks.Unsubscribe()
	m, err := anya.New(anya.WithBus(b), anya.WithChain(chain), anya.WithMeterProvider(k.MP))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	// The demo's workload.
	var sender, shop, stranger *anya.Identity
	for _, id := range []**anya.Identity{&sender, &shop, &stranger} {
		if *id, err = m.NewIdentity(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []bitcoin.Address{sender.Address, stranger.Address} {
		if _, err := sim.Mine(1, simchain.PayTo(a.PkScript())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.Mine(100); err != nil {
		t.Fatal(err)
	}
	ch, err := m.Challenge(sender.String(), sender.Address.String())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := sender.SignChallenge(ch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Link(ctx, anya.BitcoinToWeb5{DID: sender.String(), Address: sender.Address.String(), Challenge: ch, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reputation(ctx, sender.String()); err != nil {
		t.Fatal(err)
	}
	outcomes := map[anya.Outcome]int{}
	for _, p := range []struct {
		id     string
		from   *anya.Identity
		amount int64
	}{{"order-1", sender, 25_000}, {"order-2", sender, 100_000_000}, {"order-3", stranger, 25_000}} {
		pm, err := m.Pay(ctx, anya.TriProtocol{PaymentID: p.id, SenderDID: p.from.String(), SenderAddress: p.from.Address.String(),
			RecipientAddress: shop.Address.String(), AmountSat: p.amount})
		if err != nil {
			t.Fatal(err)
		}
		outcomes[pm.Outcome]++
	}
	if outcomes[anya.OutcomeSent] != 1 || outcomes[anya.OutcomeBlocked] != 1 || outcomes[anya.OutcomeUnverified] != 1 {
		t.Fatalf("the demo's payments ended %v, want one sent, one blocked, one unverified", outcomes)
	}
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	if _, err := m.WaitBridges(ctx, sim.Tip()); err != nil { // sim's tip: the test's own calls do not reach the Manager's chain
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		p, err := m.Payment(ctx, "order-1")
		return err == nil && p.Confirmation != nil && p.Confirmation.Status == anya.PaymentConfirmed
	})

	// The metrics, once the Manager is quiet: every message the bus took delivered, the
	// chain's calls all through the breaker.
	var (
		rm         metricdata.ResourceMetrics
		mismatch   string
		chainCalls int64 // the calls the chain had received when rm was collected
	)
	deadline := time.Now().Add(30 * time.Second)
	for {
		before := chain.calls.Load()
		rm = k.Collect(t)
		if chainCalls = chain.calls.Load(); chainCalls != before {
			continue // a call in flight: collect again
		}
		if mismatch = busMismatch(rm, seen); mismatch == "" {
			if n, _ := breakerCalls(rm, anya.BreakerChain); n == chainCalls {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	t.Run("workflow runs by outcome", func(t *testing.T) {
		runs, err := m.Runs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 3 {
			t.Fatalf("%d runs, want one per payment (3)", len(runs))
		}
		byStatus := map[workflow.RunStatus]int64{}
		for _, r := range runs {
			byStatus[r.Status]++
		}
		var total int64
		for status, want := range byStatus {
			got, _ := telemetrytest.Int(rm, workflow.MetricNameRuns, telemetry.KeyOutcome.String(string(status)))
			if got != want {
				t.Errorf("%s{%s} = %d, want %d", workflow.MetricNameRuns, status, got, want)
			}
			total += want
		}
		if got, ok := telemetrytest.Int(rm, workflow.MetricNameRuns); !ok || got != total {
			t.Errorf("%s = %d in all, want %d", workflow.MetricNameRuns, got, total)
		}
		// The unverified payment's run is the one that did not complete.
		if byStatus[workflow.StatusCompleted] != int64(outcomes[anya.OutcomeSent]+outcomes[anya.OutcomeBlocked]) {
			t.Errorf("completed runs %d, want the sent and the blocked payments' (%d)", byStatus[workflow.StatusCompleted],
				outcomes[anya.OutcomeSent]+outcomes[anya.OutcomeBlocked])
		}
	})

	t.Run("crossings, denials and audit appends", func(t *testing.T) {
		rep, err := m.Audit().Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := m.Audit().Entries(ctx, 1, rep.Entries)
		if err != nil {
			t.Fatal(err)
		}
		type kd struct{ kind, decision string }
		want := map[kd]int64{}
		for _, e := range entries {
			want[kd{e.Kind, e.Decision}]++
		}
		for _, c := range []kd{{security.KindCrossing, security.DecisionAllow}, {security.KindCrossing, security.DecisionDeny},
			{security.KindDecision, security.DecisionAllow}, {security.KindDecision, security.DecisionDeny}} {
			got, _ := telemetrytest.Int(rm, security.MetricNameAuditAppends, attribute.String("anya.security.audit.kind", c.kind),
				attribute.String("anya.security.decision", c.decision))
			if got != want[c] {
				t.Errorf("%s{%s, %s} = %d, want %d (audit entries)", security.MetricNameAuditAppends, c.kind, c.decision, got, want[c])
			}
		}
		for _, d := range []string{security.DecisionAllow, security.DecisionDeny} {
			got, _ := telemetrytest.Int(rm, security.MetricNameCrossings, attribute.String("anya.security.decision", d))
			if got != want[kd{security.KindCrossing, d}] {
				t.Errorf("%s{%s} = %d, want %d (crossings in the audit log)", security.MetricNameCrossings, d, got, want[kd{security.KindCrossing, d}])
			}
		}
	})

	t.Run("bus published and delivered per topic", func(t *testing.T) {
		if mismatch != "" {
			t.Fatalf("bus metrics never matched the messages a subscriber of every topic saw: %s", mismatch)
		}
		// The payment events follow from the outcomes: one sent, then confirmed.
		for topic, want := range map[string]int64{anya.TopicPaymentSent: int64(outcomes[anya.OutcomeSent]),
			anya.TopicPaymentConfirmed: int64(outcomes[anya.OutcomeSent])} {
			if got, _ := telemetrytest.Int(rm, bus.MetricNamePublished, attribute.String("messaging.destination.name", topic)); got != want {
				t.Errorf("%s{%s} = %d, want %d", bus.MetricNamePublished, topic, got, want)
			}
		}
	})

	t.Run("ML batches", func(t *testing.T) {
		// Each model's rows are the requests its engine served.
		h, err := m.Health(ctx, anya.WithAuditVerifyLimit(0))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range h.Engines {
			name, _, _ := strings.Cut(e.Model, "@")
			_, rows, ok := telemetrytest.Histogram(rm, ml.MetricNameBatchSize, attribute.String("anya.ml.model", name))
			if !ok {
				t.Fatalf("no %s", ml.MetricNameBatchSize)
			}
			if int64(rows) != int64(e.Stats.Requests) {
				t.Errorf("%s{%s}: %v rows, the engine scored %d requests", ml.MetricNameBatchSize, name, rows, e.Stats.Requests)
			}
			// One row per verified payment (sent or blocked), one per large transaction the
			// block triggers assessed.
			want := int64(outcomes[anya.OutcomeSent]+outcomes[anya.OutcomeBlocked]) + assessed.Load()
			if e.Role == "fraud" && int64(rows) != want {
				t.Errorf("the fraud model scored %v rows, want %d: one per verified payment and per large transaction assessed (%d)",
					rows, want, assessed.Load())
			}
		}
	})

	t.Run("breaker calls", func(t *testing.T) {
		got, failures := breakerCalls(rm, anya.BreakerChain)
		if got != chainCalls || failures != 0 {
			t.Errorf("%s{%s} = %d (%d failures), the chain had received %d calls", resilience.MetricNameBreakerCalls, anya.BreakerChain, got,
				failures, chainCalls)
		}
	})

	t.Run("cache hits and misses", func(t *testing.T) {
		// Three resolutions the test makes: a DID resolved before (a hit), a new one (a miss,
		// then a hit).
		lookups := func() (hits, misses int64) {
			rm := k.Collect(t)
			hits, _ = telemetrytest.Int(rm, cache.MetricNameLookups, attribute.String("anya.cache.name", "dids"), attribute.String("anya.cache.result", "hit"))
			misses, _ = telemetrytest.Int(rm, cache.MetricNameLookups, attribute.String("anya.cache.name", "dids"), attribute.String("anya.cache.result", "miss"))
			return hits, misses
		}
		h0, m0 := lookups()
		if h0+m0 == 0 {
			t.Fatal("the demo resolved no DID through the cache")
		}
		fresh, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{sender.String(), fresh.String(), fresh.String()} {
			if _, err := m.Resolver().Resolve(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		h1, m1 := lookups()
		if h1-h0 != 2 || m1-m0 != 1 {
			t.Errorf("three resolutions moved the DID cache's hits by %d and misses by %d, want 2 and 1", h1-h0, m1-m0)
		}
	})
}

// busMismatch compares the bus's published and delivered counters per topic with the messages
// the test's subscriber of every topic saw: each topic published as often as it was seen, and
// delivered at least that often (the test's subscriber is one of its subscribers). It returns
// what differs, "" when nothing does.
func busMismatch(rm metricdata.ResourceMetrics, seen *topicCounter) string {
	seen.mu.Lock()
	defer seen.mu.Unlock()
	var diffs []string
	published := perTopic(rm, bus.MetricNamePublished)
	delivered := perTopic(rm, bus.MetricNameDelivered)
	for topic, n := range seen.n {
		if published[topic] != n {
			diffs = append(diffs, fmt.Sprintf("%s published %d, seen %d", topic, published[topic], n))
		}
		if delivered[topic] < n {
			diffs = append(diffs, fmt.Sprintf("%s delivered %d, seen %d", topic, delivered[topic], n))
		}
	}
	for topic, n := range published {
		if _, ok := seen.n[topic]; !ok && n > 0 {
			diffs = append(diffs, fmt.Sprintf("%s published %d, never seen", topic, n))
		}
	}
	if len(seen.n) == 0 {
		diffs = append(diffs, "no message seen")
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// perTopic returns the int64 counter name per messaging.destination.name.
func perTopic(rm metricdata.ResourceMetrics, name string) map[string]int64 {
	out := map[string]int64{}
	m, ok := telemetrytest.Metric(rm, name)
	if !ok {
		return out
	}
	if s, ok := m.Data.(metricdata.Sum[int64]); ok {
		for _, p := range s.DataPoints {
			topic, _ := p.Attributes.Value("messaging.destination.name")
			out[topic.AsString()] += p.Value
		}
	}
	return out
}

// breakerCalls returns the calls that went through breaker name (succeeded, failed or not
// judged; not those it rejected), and those that failed.
func breakerCalls(rm metricdata.ResourceMetrics, name string) (calls, failures int64) {
	for _, outcome := range []string{"success", "failure", "ignored"} {
		n, _ := telemetrytest.Int(rm, resilience.MetricNameBreakerCalls, attribute.String("anya.resilience.name", name),
			telemetry.KeyOutcome.String(outcome))
		calls += n
		if outcome == "failure" {
			failures = n
		}
	}
	return calls, failures
}

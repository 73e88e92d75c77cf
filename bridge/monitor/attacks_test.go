package monitor_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/security"
)

// prevouts is a FeatureLookup over a map: the outputs synthetic transactions spend.
type prevouts struct {
	mu   sync.Mutex
	outs map[wire.OutPoint]*wire.TxOut
}

func (p *prevouts) PrevOutput(_ context.Context, op wire.OutPoint) (*wire.TxOut, int32, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o, ok := p.outs[op]
	return o, 100, ok, nil
}

func (p *prevouts) ScriptUses(context.Context, []byte) (int, bool, error) { return 0, false, nil }

// spend returns a transaction spending a new output worth in, paying script (whose key is
// owner's), with witness as its input's witness, to out sat at to.
func (p *prevouts) spend(seed string, in btcutil.Amount, script []byte, witness wire.TxWitness, out int64) *wire.MsgTx {
	op := wire.OutPoint{Hash: chainhash.Hash(sha256.Sum256([]byte(seed)))}
	p.mu.Lock()
	if p.outs == nil {
		p.outs = map[wire.OutPoint]*wire.TxOut{}
	}
	p.outs[op] = wire.NewTxOut(int64(in), script)
	p.mu.Unlock()
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: op, Witness: witness, Sequence: wire.MaxTxInSequenceNum})
	tx.AddTxOut(wire.NewTxOut(out, bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("payee"))))
	return tx
}

// fakeSig is the shape of a P2WPKH witness: a signature and a compressed public key.
func fakeWitness(seed string) wire.TxWitness {
	return wire.TxWitness{make([]byte, 71), bitcointest.KeyFromSeed(seed).PubKey().SerializeCompressed()}
}

func regtestAddress(t *testing.T, seed string) string {
	t.Helper()
	a, err := bitcoin.AddressFromScript(bitcointest.P2WPKHScript(bitcointest.KeyFromSeed(seed)), bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

// Attacks on what the monitor reads from outside: mempool events on the bus, transactions and
// identities. Each row publishes its events; a final marker transaction tells when the
// monitor has handled them.
func TestMempoolAttacks(t *testing.T) {
	aliceScript := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("alice"))
	bobScript := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("bob"))
	for _, tc := range []struct {
		name string
		// events returns what to publish and the transaction expected to be scored (nil: none).
		events func(p *prevouts) ([]bitcoin.MempoolTx, *wire.MsgTx)
		check  func(t *testing.T, s []monitor.Scored, st monitor.Stats)
	}{
		{"event names another transaction", func(p *prevouts) ([]bitcoin.MempoolTx, *wire.MsgTx) {
			tx := p.spend("a", 1_000_000, bobScript, fakeWitness("bob"), 900_000)
			return []bitcoin.MempoolTx{{Txid: chainhash.Hash{1}, Tx: tx}}, tx
		}, func(t *testing.T, s []monitor.Scored, _ monitor.Stats) {
			if len(s) != 1 {
				t.Fatalf("scored %+v", s)
			}
		}},
		{"event without its transaction", func(p *prevouts) ([]bitcoin.MempoolTx, *wire.MsgTx) {
			return []bitcoin.MempoolTx{{Txid: chainhash.Hash{2}}}, nil
		}, func(t *testing.T, s []monitor.Scored, st monitor.Stats) {
			if len(s) != 0 || st.Failed != 0 {
				t.Fatalf("scored %+v, stats %+v", s, st)
			}
		}},
		{"the same transaction delivered again and again", func(p *prevouts) ([]bitcoin.MempoolTx, *wire.MsgTx) {
			tx := p.spend("b", 1_000_000, bobScript, fakeWitness("bob"), 900_000)
			ev := bitcoin.MempoolTx{Txid: tx.TxHash(), Tx: tx}
			return []bitcoin.MempoolTx{ev, ev, ev}, tx
		}, func(t *testing.T, s []monitor.Scored, st monitor.Stats) {
			if len(s) != 1 || st.Duplicates != 2 {
				t.Fatalf("scored %d times, stats %+v", len(s), st)
			}
		}},
		{"outputs beyond 21 million bitcoin", func(p *prevouts) ([]bitcoin.MempoolTx, *wire.MsgTx) {
			tx := p.spend("c", 1_000_000, bobScript, fakeWitness("bob"), 900_000)
			tx.TxOut[0].Value = math.MaxInt64
			return []bitcoin.MempoolTx{{Txid: tx.TxHash(), Tx: tx}}, nil
		}, func(t *testing.T, s []monitor.Scored, st monitor.Stats) {
			if len(s) != 0 || st.Failed != 1 {
				t.Fatalf("scored %+v, stats %+v", s, st)
			}
		}},
		{"a witness that shows a linked sender's key, spending someone else's output", func(p *prevouts) ([]bitcoin.MempoolTx, *wire.MsgTx) {
			// The sender is whom the spent output pays (bob), not whom the witness names.
			tx := p.spend("d", 1_000_000, bobScript, fakeWitness("alice"), 900_000)
			return []bitcoin.MempoolTx{{Txid: tx.TxHash(), Tx: tx}}, tx
		}, func(t *testing.T, s []monitor.Scored, st monitor.Stats) {
			if len(s) != 1 || s[0].DID != "" || st.Linked != 0 {
				t.Fatalf("scored %+v, stats %+v", s, st)
			}
		}},
		{"the linked sender itself", func(p *prevouts) ([]bitcoin.MempoolTx, *wire.MsgTx) {
			tx := p.spend("e", 1_000_000, aliceScript, fakeWitness("alice"), 900_000)
			return []bitcoin.MempoolTx{{Txid: tx.TxHash(), Tx: tx}}, tx
		}, func(t *testing.T, s []monitor.Scored, st monitor.Stats) {
			if len(s) != 1 || s[0].DID != "did:example:alice" || st.Linked != 1 {
				t.Fatalf("scored %+v, stats %+v", s, st)
			}
		}},
		{"a fee rate beyond the model's range", func(p *prevouts) ([]bitcoin.MempoolTx, *wire.MsgTx) {
			// 1,000 BTC in, 0.009 BTC out: a fee rate far above the model's maximum is scored
			// at the maximum, not refused (an extreme value must not escape scoring).
			tx := p.spend("f", 100_000_000_000, bobScript, fakeWitness("bob"), 900_000)
			return []bitcoin.MempoolTx{{Txid: tx.TxHash(), Tx: tx}}, tx
		}, func(t *testing.T, s []monitor.Scored, st monitor.Stats) {
			if len(s) != 1 || !slices.Contains(s[0].Clamped, "fee_rate_sat_vb") || st.Clamped != 1 {
				t.Fatalf("scored %+v, stats %+v", s, st)
			}
		}},
		{"identity features that are not numbers", func(p *prevouts) ([]bitcoin.MempoolTx, *wire.MsgTx) {
			tx := p.spend("g", 1_000_000, bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("mallory")), fakeWitness("mallory"), 900_000)
			return []bitcoin.MempoolTx{{Txid: tx.TxHash(), Tx: tx}}, tx
		}, func(t *testing.T, s []monitor.Scored, st monitor.Stats) {
			if len(s) != 1 || s[0].DID != "" || st.IdentityErrors != 1 {
				t.Fatalf("scored %+v, stats %+v", s, st)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.ids.link("did:example:alice", regtestAddress(t, "alice"), reported)
			f.ids.link("did:example:mallory", regtestAddress(t, "mallory"), map[string]float64{"did_age_days": math.NaN()})
			p := &prevouts{}
			m, err := monitor.New(f.sim.Chain(), f.notifier, f.bus, f.engine, f.bounds, monitor.WithIdentities(f.ids),
				monitor.WithLookup(p), monitor.WithMaxWait(0), monitor.WithWorkers(1)) // one worker: batches in order
			if err != nil {
				t.Fatal(err)
			}
			start(t, m)
			f.ready(t, m)
			base := m.Stats()
			evs, want := tc.events(p)
			marker := p.spend("marker", 1_000_000, bobScript, fakeWitness("bob"), 500_000)
			ctx := context.Background()
			for _, ev := range append(evs, bitcoin.MempoolTx{Txid: marker.TxHash(), Tx: marker}) {
				if err := bus.Publish(ctx, f.bus, bitcoin.TopicMempoolTx, ev); err != nil {
					t.Fatal(err)
				}
			}
			f.ev.until(t, "the marker", func(ev *events) bool { return len(ev.scoredFor(marker.TxHash())) == 1 })
			scored, _, _ := f.ev.snapshot()
			scored = slices.DeleteFunc(scored, func(s monitor.Scored) bool { return s.Txid == marker.TxHash() || s.Source != monitor.SourceMempool })
			if want != nil {
				for _, s := range scored {
					if s.Txid != want.TxHash() {
						t.Errorf("scored %s, which is not the transaction", s.Txid)
					}
				}
			}
			st := m.Stats()
			st = monitor.Stats{Scored: st.Scored - base.Scored - 1, Duplicates: st.Duplicates - base.Duplicates, Linked: st.Linked - base.Linked,
				Clamped: st.Clamped - base.Clamped, Failed: st.Failed - base.Failed, IdentityErrors: st.IdentityErrors - base.IdentityErrors}
			tc.check(t, scored, st)
		})
	}
}

// tamper is a boundary that alters what crosses, as a misconfigured or hostile boundary might.
type tamper struct {
	monitor.Boundary
	pair   string
	mutate func(data map[string]any)
}

func (b tamper) Cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error) {
	out, err := b.Boundary.Cross(ctx, from, to, action, data)
	if err == nil && from+"→"+to == b.pair {
		b.mutate(out)
	}
	return out, err
}

// anyRows is a crossed feature table as a list of lists of numbers: the form a boundary that
// does not keep typed tables typed returns.
func anyRows(v any) []any {
	if list, ok := v.([]any); ok {
		return list
	}
	typed := v.([][]float32)
	out := make([]any, len(typed))
	for i, row := range typed {
		r := make([]any, len(row))
		for k, x := range row {
			r[k] = float64(x)
		}
		out[i] = r
	}
	return out
}

// anyScores is crossed scores as a list of numbers.
func anyScores(v any) []any {
	if list, ok := v.([]any); ok {
		return list
	}
	typed := v.([]float32)
	out := make([]any, len(typed))
	for i, x := range typed {
		out[i] = float64(x)
	}
	return out
}

// Data that comes back from a boundary in another shape than it went in is refused: the batch
// is not scored, rather than scored on data the monitor did not send.
func TestCrossedDataAttacks(t *testing.T) {
	for _, tc := range []struct {
		name, pair string
		mutate     func(data map[string]any)
	}{
		{"feature names swapped", "bitcoin→ml", func(d map[string]any) {
			n := d[monitor.FieldFeatureNames].([]any)
			n[0], n[1] = n[1], n[0]
		}},
		{"a row dropped", "bitcoin→ml", func(d map[string]any) {
			d[monitor.FieldFeatureRows] = anyRows(d[monitor.FieldFeatureRows])[1:]
		}},
		{"a typed row dropped", "bitcoin→ml", func(d map[string]any) {
			d[monitor.FieldFeatureRows] = d[monitor.FieldFeatureRows].([][]float32)[1:]
		}},
		{"rows removed", "bitcoin→ml", func(d map[string]any) { delete(d, monitor.FieldFeatureRows) }},
		{"a value that is not a number", "bitcoin→ml", func(d map[string]any) {
			rows := anyRows(d[monitor.FieldFeatureRows])
			rows[0].([]any)[0] = "1e9"
			d[monitor.FieldFeatureRows] = rows
		}},
		{"a short row", "bitcoin→ml", func(d map[string]any) {
			rows := anyRows(d[monitor.FieldFeatureRows])
			rows[0] = rows[0].([]any)[1:]
			d[monitor.FieldFeatureRows] = rows
		}},
		{"a short typed row", "bitcoin→ml", func(d map[string]any) {
			rows := d[monitor.FieldFeatureRows].([][]float32)
			rows[0] = rows[0][1:]
		}},
		{"rows of another type", "bitcoin→ml", func(d map[string]any) {
			d[monitor.FieldFeatureRows] = [][]float64{{1}}
		}},
		{"identity rows moved to another transaction", "web5→ml", func(d map[string]any) {
			d[monitor.FieldRowIndex].([]any)[0] = d[monitor.FieldRowIndex].([]any)[0].(int64) + 1
		}},
		{"identity row index out of the batch", "web5→ml", func(d map[string]any) {
			d[monitor.FieldRowIndex].([]any)[0] = int64(1 << 40)
		}},
		{"a score above 1", "ml→host", func(d map[string]any) {
			scores := anyScores(d[monitor.FieldScores])
			scores[0] = 7.5
			d[monitor.FieldScores] = scores
		}},
		{"a typed score above 1", "ml→host", func(d map[string]any) { d[monitor.FieldScores].([]float32)[0] = 7.5 }},
		{"a typed score that is not a number", "ml→host", func(d map[string]any) {
			d[monitor.FieldScores].([]float32)[0] = float32(math.NaN())
		}},
		{"a score dropped", "ml→host", func(d map[string]any) {
			d[monitor.FieldScores] = anyScores(d[monitor.FieldScores])[1:]
		}},
		{"a typed score dropped", "ml→host", func(d map[string]any) {
			d[monitor.FieldScores] = d[monitor.FieldScores].([]float32)[1:]
		}},
		{"scores of another type", "ml→host", func(d map[string]any) { d[monitor.FieldScores] = []float64{0.5, 0.5, 0.5} }},
		{"no model", "ml→host", func(d map[string]any) { delete(d, monitor.FieldModel) }},
		{"factors that are not factors", "ml→host", func(d map[string]any) {
			d[monitor.FieldFactors] = []any{[]any{"approve"}, []any{}, []any{}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			alice := f.sim.NewFundedWallet(t, "alice", 20_000_000)
			bob := f.sim.NewFundedWallet(t, "bob", 20_000_000)
			f.ids.link("did:example:alice", address(alice), reported)
			f.age(t)
			f.pay(t, bob, 1_000_000)
			f.pay(t, alice, 1_000_000)
			f.pay(t, bob, 2_000_000)
			blk, err := f.sim.SimChain().Block(context.Background(), f.mine(t, 1)[0])
			if err != nil {
				t.Fatal(err)
			}
			b := tamper{Boundary: f.bounds, pair: tc.pair, mutate: tc.mutate}
			m, err := monitor.New(f.sim.Chain(), f.notifier, f.bus, f.engine, b, monitor.WithIdentities(f.ids))
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.ScoreBlock(context.Background(), blk, 300)
			var be *monitor.BatchError
			if !errors.Is(err, monitor.ErrCrossedData) || !errors.As(err, &be) || be.Stage != tc.pair || got != nil {
				t.Fatalf("ScoreBlock = %v, %v", got, err)
			}
		})
	}
}

// A boundary that refuses a crossing keeps the batch's scores from the host: nothing is
// published on the bus, the transactions count as denied, and the refusal is in the audit log.
func TestBoundaryDenial(t *testing.T) {
	refuse := []security.Policy{{Name: "closed", Expr: "false", Message: "closed for the test"}}
	for _, tc := range []struct {
		name  string
		bs    func() []security.Boundary
		to    security.Protocol
		reach bool // whether ML was reached (the ml→host crossing was attempted)
	}{
		{"no ml→host boundary (deny by default)", func() []security.Boundary { return monitor.Boundaries()[:2] }, monitor.Host, true},
		{"an ml→host policy refuses", func() []security.Boundary {
			bs := monitor.Boundaries()
			bs[2].Inbound = refuse
			return bs
		}, monitor.Host, true},
		{"a bitcoin→ml policy refuses", func() []security.Boundary {
			bs := monitor.Boundaries()
			bs[0].Outbound = refuse
			return bs
		}, security.ML, false},
		{"ml→host does not allow the action", func() []security.Boundary {
			bs := monitor.Boundaries()
			bs[2].Actions = []string{"host.something_else"}
			return bs
		}, monitor.Host, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.bs())
			alice := f.sim.NewFundedWallet(t, "alice", 20_000_000)
			f.ids.link("did:example:alice", address(alice), reported)
			f.age(t)
			m := f.monitor(t)
			start(t, m)
			f.ready(t, m)
			before := m.Stats().Denied
			f.pay(t, alice, 10_000_000)
			deadline := time.Now().Add(wait)
			for m.Stats().Denied == before {
				if time.Now().After(deadline) {
					t.Fatalf("no denial: %+v", m.Stats())
				}
				time.Sleep(time.Millisecond)
			}
			scored, alerts, _ := f.ev.snapshot()
			if len(scored) != 0 || len(alerts) != 0 {
				t.Fatalf("a refused score reached the host: %+v %+v", scored, alerts)
			}
			entries, err := f.audit.Entries(context.Background(), 1, 10_000)
			if err != nil {
				t.Fatal(err)
			}
			var denied []security.Entry
			for _, e := range entries {
				if e.Decision == security.DecisionDeny {
					denied = append(denied, e)
				}
			}
			if len(denied) == 0 || denied[len(denied)-1].To != string(tc.to) {
				t.Fatalf("audit denials %+v", denied)
			}
			// The score was computed only if the batch got to ML.
			if reached := slices.ContainsFunc(entries, func(e security.Entry) bool { return e.To == string(monitor.Host) }); reached != tc.reach {
				t.Errorf("ml→host attempted: %v", reached)
			}
			if !strings.Contains(denied[len(denied)-1].Action, ".") {
				t.Errorf("denial without its action: %+v", denied[len(denied)-1])
			}
		})
	}
}

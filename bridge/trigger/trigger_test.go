package trigger_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/handler"
	"github.com/anya-org/anya-go/bridge/trigger"
	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memOnce is a minimal idempotency store for the tests.
type memOnce struct {
	mu   sync.Mutex
	done map[string]any
}

func (o *memOnce) Once(ctx context.Context, key string, f func(context.Context) (any, error)) (any, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r, ok := o.done[key]; ok {
		return r, false, nil
	}
	r, err := f(ctx)
	if err != nil {
		return nil, true, err
	}
	if o.done == nil {
		o.done = map[string]any{}
	}
	o.done[key] = r
	return r, true, nil
}

func boundaries(t testing.TB, bs []security.Boundary) *security.Boundaries {
	t.Helper()
	b, err := security.New(bs, security.WithRedactionKey([]byte("0123456789abcdef0123456789abcdef")),
		security.WithProvenance("web5.signature", func(context.Context, security.Crossing) error { return errors.New("not used") }))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture is a chain, a records store with one user whose address is linked, the SDK's fraud
// and reputation models, and the actions of DefaultDefinitions built on them.
type fixture struct {
	sim      *bitcointest.Sim
	payer    *bitcointest.Wallet
	records  *bridge.Records
	resolver *did.Resolver
	user     *did.BearerDID
	addr     bitcoin.Address
	owners   trigger.Owners
	actions  []trigger.Option
	runs     atomic.Int32 // Run calls of ActionRecordTx
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{sim: bitcointest.NewSim(t)}
	// The payer holds coins of 0.45 and 0.01 BTC, each below the 0.5 BTC threshold of the
	// tests, so only a payment above it makes a transaction above it.
	f.payer, _ = bitcointest.NewWallet(f.sim.Chain(), bitcointest.KeyFromSeed("payer"))
	for _, v := range []int64{45_000_000, 45_000_000, 1_000_000, 1_000_000} {
		if _, err := f.sim.Wallet().Send(ctx, wire.NewTxOut(v, f.payer.PkScript())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.sim.Mine(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.resolver, _ = did.NewResolver(did.WithMethods(didkey.New()))
	node, err := dwn.New(f.resolver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	host, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	f.user, _ = didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	g, err := bridge.Setup(ctx, node, f.user, host.String(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var book bridge.GrantBook
	book.Add(f.user.String(), g)
	f.records, _ = bridge.NewRecords(node, host, bridge.WithGrants(book.Lookup))
	f.addr, _ = bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("linked").PubKey(), bitcoin.Regtest)
	linked := map[string][]string{string(f.addr.PkScript()): {f.user.String()}}
	f.owners = func(s []byte) []string { return linked[string(s)] }

	fraudModel, err := models.Load(ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	repModel, err := models.Load(ctx, models.Reputation)
	if err != nil {
		t.Fatal(err)
	}
	fraud, rep := mltest.NewEngine(t, fraudModel), mltest.NewEngine(t, repModel)
	fx, err := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(bitcoin.ChainFeatureLookup(f.sim.Chain())), bitcoin.WithFeatureNetwork(bitcoin.Regtest))
	if err != nil {
		t.Fatal(err)
	}
	score := func(ctx context.Context, e *ml.Engine, named map[string]any) (any, error) {
		schema := e.Model().Schema()
		vals := map[string]float32{}
		for _, n := range schema.Names() {
			if v, ok := named[n].(float64); ok {
				vals[n] = float32(v)
			}
		}
		v, err := schema.Vector(vals)
		if err != nil {
			return nil, err
		}
		r, err := e.Score(ctx, v)
		if err != nil {
			return nil, err
		}
		return float64(r.Score), nil
	}
	f.actions = []trigger.Option{
		trigger.WithAction(trigger.ActionRecordTx, trigger.Action{Run: func(ctx context.Context, _ string, data map[string]any) (any, error) {
			f.runs.Add(1)
			var ids []string
			links, _ := data["links"].([]any)
			for _, l := range links {
				m, _ := l.(map[string]any)
				d, _ := m["did"].(string)
				a, _ := m["address"].(string)
				// Re-verify the link before recording: the address must still be linked to d.
				pa, err := bitcoin.ParseAddress(a, bitcoin.Regtest)
				if err != nil || !contains(f.owners(pa.PkScript()), d) {
					return nil, fmt.Errorf("link of %s to %s no longer holds", a, d)
				}
				rec, err := f.records.Create(ctx, d, bridge.PathTx, map[string]any{"txid": data["txid"], "amount_sat": data["amount_sat"], "address": a})
				if err != nil {
					return nil, err
				}
				ids = append(ids, rec.ID)
			}
			return ids, nil
		}}),
		trigger.WithAction(trigger.ActionAssessTx, trigger.Action{
			Prepare: func(ctx context.Context, _ trigger.Event, params map[string]any) (map[string]any, error) {
				h, err := chainhash.NewHashFromStr(params["txid"].(string))
				if err != nil {
					return nil, err
				}
				info, err := f.sim.Chain().Tx(ctx, *h)
				if err != nil {
					return nil, err
				}
				vec, err := fx.Tx(ctx, info.Tx, -1, nil)
				if err != nil {
					return nil, err
				}
				features := map[string]any{}
				for i, n := range bitcoin.TxFeatureSchema().Names {
					features[n] = float64(vec[i])
				}
				return map[string]any{"txid": params["txid"], "amount_sat": params["amount_sat"], "features": features}, nil
			},
			Run: func(ctx context.Context, _ string, data map[string]any) (any, error) {
				return score(ctx, fraud, data["features"].(map[string]any))
			},
		}),
		trigger.WithAction(trigger.ActionRescore, trigger.Action{
			Prepare: func(ctx context.Context, _ trigger.Event, params map[string]any) (map[string]any, error) {
				res, err := f.resolver.Resolve(ctx, params["did"].(string))
				if err != nil {
					return nil, err
				}
				return map[string]any{"identity_features": map[string]any{
					"service_endpoints": float64(len(res.Document.Service)), "did_method": 1.0, "address_linked": 1.0,
				}}, nil
			},
			Run: func(ctx context.Context, _ string, data map[string]any) (any, error) {
				return score(ctx, rep, data["identity_features"].(map[string]any))
			},
		}),
	}
	return f
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// confirmedTx pays amounts to the given scripts in one transaction and mines it.
func (f *fixture) confirmedTx(t *testing.T, outs ...*wire.TxOut) (*wire.MsgTx, bitcoin.BlockStamp) {
	t.Helper()
	ctx := context.Background()
	tx, err := f.payer.Send(ctx, outs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.Mine(ctx, 1); err != nil {
		t.Fatal(err)
	}
	tip, _ := f.sim.Chain().BestBlock(ctx)
	return tx, tip
}

func byTrigger(out []trigger.Outcome) map[string]trigger.Outcome {
	m := map[string]trigger.Outcome{}
	for _, o := range out {
		m[o.Trigger] = o
	}
	return m
}

func TestDefaultTriggers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	once := &memOnce{}
	eng, err := trigger.New(trigger.DefaultDefinitions(50_000_000), boundaries(t, trigger.Boundaries(security.DefaultBoundaries())),
		append(f.actions, trigger.WithOnce(once))...)
	if err != nil {
		t.Fatal(err)
	}

	// A large payment to the linked address: recorded in the DID's store and assessed.
	tx, blk := f.confirmedTx(t, wire.NewTxOut(60_000_000, f.addr.PkScript()))
	ev := trigger.TxEvent(tx, &blk, bitcoin.Regtest, f.owners, time.Now())
	out, err := eng.Fire(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	got := byTrigger(out)
	if len(out) != 2 {
		t.Fatalf("outcomes %+v", out)
	}
	rec := got["record-linked-tx"]
	if rec.Err != nil || len(rec.Result.([]string)) != 1 {
		t.Fatalf("record-linked-tx: %+v", rec)
	}
	assess := got["assess-large-tx"]
	if assess.Err != nil {
		t.Fatalf("assess-large-tx: %v", assess.Err)
	}
	if s, ok := assess.Result.(float64); !ok || s < 0 || s > 1 {
		t.Fatalf("fraud score %v", assess.Result)
	}
	stored, err := f.records.Query(ctx, f.user.String(), bridge.PathTx, dwn.Filter{})
	if err != nil || len(stored) != 1 || !strings.Contains(string(stored[0].Data), tx.TxHash().String()) {
		t.Fatalf("stored: %v %d", err, len(stored))
	}

	// The same event again: side effects do not repeat.
	out, err = eng.Fire(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if !o.Repeated || o.Err != nil {
			t.Fatalf("second firing: %+v", o)
		}
	}
	if n := f.runs.Load(); n != 1 {
		t.Fatalf("record action ran %d times", n)
	}
	stored, _ = f.records.Query(ctx, f.user.String(), bridge.PathTx, dwn.Filter{})
	if len(stored) != 1 {
		t.Fatalf("%d tx records after a repeated event", len(stored))
	}

	// A small payment to an address nobody linked fires nothing.
	other, _ := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("nobody").PubKey(), bitcoin.Regtest)
	tx2, blk2 := f.confirmedTx(t, wire.NewTxOut(10_000, other.PkScript()))
	if out, _ := eng.Fire(ctx, trigger.TxEvent(tx2, &blk2, bitcoin.Regtest, f.owners, time.Now())); len(out) != 0 {
		t.Fatalf("outcomes for an unrelated tx: %+v", out)
	}

	// A DID document change re-scores the identity's reputation.
	out, err = eng.Fire(ctx, trigger.DIDEvent(f.user.Document, "2", false, time.Now()))
	if err != nil || len(out) != 1 || out[0].Err != nil {
		t.Fatalf("rescore: %v %+v", err, out)
	}
	if _, ok := out[0].Params["identity_features"]; !ok || len(out[0].Params) != 1 {
		t.Fatalf("what crossed into ML: %v", out[0].Params)
	}
	if out, _ := eng.Fire(ctx, trigger.DIDEvent(f.user.Document, "3", true, time.Now())); len(out) != 0 {
		t.Fatalf("a deactivation fired %+v", out)
	}
}

// A side effect the boundary denies does not run, and the outcome says why.
func TestDeniedSideEffect(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// The SDK's default boundaries do not let a transaction record cross into Web5.
	eng, err := trigger.New(trigger.DefaultDefinitions(0), boundaries(t, security.DefaultBoundaries()), f.actions...)
	if err != nil {
		t.Fatal(err)
	}
	tx, blk := f.confirmedTx(t, wire.NewTxOut(20_000, f.addr.PkScript()))
	out, err := eng.Fire(ctx, trigger.TxEvent(tx, &blk, bitcoin.Regtest, f.owners, time.Now()))
	if err != nil || len(out) != 1 {
		t.Fatalf("%v %+v", err, out)
	}
	var de *security.DeniedError
	if !out[0].Denied || !errors.As(out[0].Err, &de) || de.Rule != "action" {
		t.Fatalf("outcome %+v", out[0])
	}
	if f.runs.Load() != 0 {
		t.Fatal("the denied side effect ran")
	}
	if stored, _ := f.records.Query(ctx, f.user.String(), bridge.PathTx, dwn.Filter{}); len(stored) != 0 {
		t.Fatal("a record was written")
	}

	// Personal data in a param is refused by the ML boundary's detection, from YAML.
	defs, err := trigger.ParseDefinitions([]byte(`
- name: leaky
  on: bitcoin.tx
  action: assess_tx
  cross: {from: bitcoin, to: ml, action: ml.assess_risk}
  params:
    txid: data.txid
    amount_sat: "'alice@example.com'"
`))
	if err != nil {
		t.Fatal(err)
	}
	leaky := trigger.Action{Run: func(context.Context, string, map[string]any) (any, error) {
		t.Error("the leaky side effect ran")
		return nil, nil
	}}
	eng2, err := trigger.New(defs, boundaries(t, security.DefaultBoundaries()), trigger.WithAction("assess_tx", leaky))
	if err != nil {
		t.Fatal(err)
	}
	out, _ = eng2.Fire(ctx, trigger.TxEvent(tx, &blk, bitcoin.Regtest, f.owners, time.Now()))
	if len(out) != 1 || !out[0].Denied {
		t.Fatalf("outcome %+v", out)
	}
}

func noop() trigger.Action {
	return trigger.Action{Run: func(context.Context, string, map[string]any) (any, error) { return "ok", nil }}
}

// Invalid definitions are refused with every problem listed.
func TestDefinitionProblems(t *testing.T) {
	b := boundaries(t, security.DefaultBoundaries())
	good := trigger.Definition{Name: "ok", On: "bitcoin.tx", Action: "a", Cross: trigger.Crossing{From: "bitcoin", To: "ml", Action: "ml.assess_risk"}}
	with := func(edit func(d *trigger.Definition)) trigger.Definition {
		d := good
		d.Params = map[string]string{}
		edit(&d)
		return d
	}
	rows := []struct {
		name  string
		def   trigger.Definition
		field string
	}{
		{"no name", with(func(d *trigger.Definition) { d.Name = "" }), "name"},
		{"bad name", with(func(d *trigger.Definition) { d.Name = "has space" }), "name"},
		{"no pattern", with(func(d *trigger.Definition) { d.Name, d.On = "p1", "" }), "on"},
		{"bad pattern", with(func(d *trigger.Definition) { d.Name, d.On = "p2", "bitcoin..tx" }), "on"},
		{"CEL syntax", with(func(d *trigger.Definition) { d.Name, d.When = "c1", "data.amount_sat >" }), "when"},
		{"not a bool", with(func(d *trigger.Definition) { d.Name, d.When = "c2", "data.amount_sat + 1" }), "when"},
		{"unknown variable", with(func(d *trigger.Definition) { d.Name, d.When = "c3", "secrets.key == 'x'" }), "when"},
		{"huge expression", with(func(d *trigger.Definition) { d.Name, d.When = "c4", strings.Repeat("true && ", 600)+"true" }), "when"},
		{"unregistered action", with(func(d *trigger.Definition) { d.Name, d.Action = "a1", "format_disk" }), "action"},
		{"no action", with(func(d *trigger.Definition) { d.Name, d.Action = "a2", "" }), "action"},
		{"unknown protocol", with(func(d *trigger.Definition) { d.Name, d.Cross.To = "x1", "ethereum" }), "cross.to"},
		{"same protocol", with(func(d *trigger.Definition) { d.Name, d.Cross.To = "x2", "bitcoin" }), "cross"},
		{"no crossing action", with(func(d *trigger.Definition) { d.Name, d.Cross.Action = "x3", "" }), "cross.action"},
		{"bad param", with(func(d *trigger.Definition) { d.Name = "q1"; d.Params["v"] = "data." }), "params.v"},
		{"unnamed param", with(func(d *trigger.Definition) { d.Name = "q2"; d.Params[""] = "1" }), "params"},
	}
	defs := []trigger.Definition{good, good} // a duplicate name too
	for _, r := range rows {
		defs = append(defs, r.def)
	}
	_, err := trigger.New(defs, b, trigger.WithAction("a", noop()))
	var de *trigger.DefinitionError
	if !errors.As(err, &de) || !errors.Is(err, trigger.ErrInvalidDefinition) {
		t.Fatalf("got %v", err)
	}
	found := map[string]bool{}
	for _, p := range de.Problems {
		found[p.Trigger+"/"+p.Field] = true
	}
	if !found["ok/name"] {
		t.Error("the duplicate name is not reported")
	}
	for i, r := range rows {
		who := r.def.Name
		if who == "" {
			who = fmt.Sprintf("#%d", i+2)
		}
		if !found[who+"/"+r.field] {
			t.Errorf("%s: no problem %s/%s in %v", r.name, who, r.field, de.Problems)
		}
	}
	// Options.
	if _, err := trigger.New(nil, nil); !errors.Is(err, trigger.ErrInvalidOption) {
		t.Errorf("nil boundary: %v", err)
	}
	if _, err := trigger.New(nil, b, trigger.WithAction("x", trigger.Action{})); !errors.Is(err, trigger.ErrInvalidOption) {
		t.Errorf("action without Run: %v", err)
	}
	if _, err := trigger.New(nil, b, trigger.WithCostLimit(0)); !errors.Is(err, trigger.ErrInvalidOption) {
		t.Errorf("zero cost: %v", err)
	}
}

func TestEvaluationErrors(t *testing.T) {
	ctx := context.Background()
	b := boundaries(t, trigger.Boundaries(security.DefaultBoundaries()))
	defs := []trigger.Definition{
		{Name: "missing-field", On: "x.y", When: "data.nothing > 1", Action: "a", Cross: trigger.Crossing{From: "bitcoin", To: "web5", Action: trigger.CrossRecordTx}},
		{Name: "expensive", On: "x.y", When: "data.list.all(a, data.list.all(b, data.list.all(c, a + b + c >= 0)))", Action: "a",
			Cross: trigger.Crossing{From: "bitcoin", To: "web5", Action: trigger.CrossRecordTx}},
		{Name: "bad-param", On: "x.y", Action: "a", Cross: trigger.Crossing{From: "bitcoin", To: "web5", Action: trigger.CrossRecordTx},
			Params: map[string]string{"txid": "string(1 / data.zero)"}},
	}
	eng, err := trigger.New(defs, b, trigger.WithAction("a", noop()))
	if err != nil {
		t.Fatal(err)
	}
	list := make([]any, 200)
	for i := range list {
		list[i] = int64(i)
	}
	out, err := eng.Fire(ctx, trigger.Event{ID: "1", Kind: "x.y", Data: map[string]any{"list": list, "zero": int64(0)}})
	if err != nil || len(out) != 3 {
		t.Fatalf("%v %+v", err, out)
	}
	for _, o := range out {
		var ee *trigger.EvalError
		if !errors.As(o.Err, &ee) || !errors.Is(o.Err, trigger.ErrEvaluation) {
			t.Errorf("%s: %v", o.Trigger, o.Err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := eng.Fire(cctx, trigger.Event{Kind: "x.y"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestParseDefinitions(t *testing.T) {
	js, _ := json.Marshal(trigger.DefaultDefinitions(0))
	fromJSON, err := trigger.ParseDefinitions(js)
	if err != nil {
		t.Fatal(err)
	}
	yml := `
- name: record-linked-tx
  on: bitcoin.tx
  when: size(data.links) > 0
  action: record_tx
  cross: {from: bitcoin, to: web5, action: web5.record_tx}
  params: {txid: data.txid}
`
	fromYAML, err := trigger.ParseDefinitions([]byte(yml))
	if err != nil || len(fromYAML) != 1 || fromYAML[0].Cross.To != "web5" || len(fromJSON) != 3 {
		t.Fatalf("%v %+v", err, fromYAML)
	}
	for name, in := range map[string]string{
		"unknown JSON field": `[{"name":"x","on":"a","action":"b","cross":{},"run":"rm -rf"}]`,
		"unknown YAML field": "- name: x\n  shell: true\n",
		"two YAML documents": "- name: x\n---\n- name: y\n",
		"JSON trailing data": `[] []`,
		"not a list":         `name: x`,
		"bad JSON":           `[{"name":`,
	} {
		if _, err := trigger.ParseDefinitions([]byte(in)); !errors.Is(err, trigger.ErrInvalidDefinition) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseDefinitions(f *testing.F) {
	js, _ := json.Marshal(trigger.DefaultDefinitions(0))
	f.Add(js)
	f.Add([]byte("- name: a\n  on: bitcoin.tx\n  when: data.amount_sat > 1\n  action: record_tx\n  cross: {from: bitcoin, to: web5, action: x}\n"))
	f.Add([]byte(`[{"name":"a","on":">","when":"true","action":"assess_tx","cross":{"from":"bitcoin","to":"ml","action":"a"},"params":{"p":"[1,2]"}}]`))
	b := boundaries(f, trigger.Boundaries(security.DefaultBoundaries()))
	actions := []trigger.Option{trigger.WithAction(trigger.ActionRecordTx, noop()), trigger.WithAction(trigger.ActionAssessTx, noop()), trigger.WithAction(trigger.ActionRescore, noop())}
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := trigger.ParseDefinitions(data)
		if err != nil {
			if !errors.Is(err, trigger.ErrInvalidDefinition) {
				t.Fatalf("untyped parse error %v", err)
			}
			return
		}
		eng, err := trigger.New(defs, b, actions...)
		if err != nil {
			if !errors.Is(err, trigger.ErrInvalidDefinition) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Whatever compiled must evaluate without panicking.
		_, _ = eng.Fire(context.Background(), trigger.Event{ID: "f", Kind: "bitcoin.tx", Data: map[string]any{"amount_sat": int64(5), "links": []any{}}})
	})
}

// Retracting an event takes its side effects back: an action with Undo is given the result
// its run returned; one without is only marked retracted; firing the event again runs both
// again. An event nothing ran for retracts nothing.
func TestRetract(t *testing.T) {
	ctx := context.Background()
	once, err := handler.OpenStore(ctx, sqlitex.Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	var runs, undone []string
	cross := trigger.Crossing{From: string(security.Bitcoin), To: string(security.Web5), Action: trigger.CrossRecordTx}
	defs := []trigger.Definition{
		{Name: "with-undo", On: "host.event", Action: "note", Cross: cross, Params: map[string]string{"amount_sat": "data.n"}},
		{Name: "without-undo", On: "host.event", Action: "mail", Cross: cross},
	}
	eng, err := trigger.New(defs, boundaries(t, trigger.Boundaries(security.DefaultBoundaries())), trigger.WithOnce(once),
		trigger.WithAction("note", trigger.Action{
			Run: func(_ context.Context, id string, data map[string]any) (any, error) {
				runs = append(runs, "note "+id)
				return map[string]any{"noted": data["amount_sat"]}, nil
			},
			Undo: func(_ context.Context, id string, result any) error {
				undone = append(undone, fmt.Sprintf("note %s %v", id, result.(map[string]any)["noted"]))
				return nil
			},
		}),
		trigger.WithAction("mail", trigger.Action{Run: func(_ context.Context, id string, _ map[string]any) (any, error) {
			runs = append(runs, "mail "+id)
			return "sent", nil
		}}))
	if err != nil {
		t.Fatal(err)
	}
	ev := trigger.Event{ID: "ev-1", Kind: "host.event", Time: time.Now(), Data: map[string]any{"n": int64(7)}}
	if out, err := eng.Fire(ctx, ev); err != nil || len(out) != 2 || out[0].Err != nil || out[1].Err != nil {
		t.Fatalf("Fire: %+v %v", out, err)
	}
	got, err := eng.Retract(ctx, "ev-1")
	if err != nil || len(got) != 2 {
		t.Fatalf("Retract: %+v %v", got, err)
	}
	if got[0].Trigger != "with-undo" || !got[0].Undone || got[1].Trigger != "without-undo" || got[1].Undone || got[1].Result != "sent" {
		t.Fatalf("retractions %+v", got)
	}
	if !slices.Equal(undone, []string{"note ev-1 7"}) {
		t.Fatalf("undone %v", undone)
	}
	if again, err := eng.Retract(ctx, "ev-1"); err != nil || len(again) != 0 {
		t.Fatalf("retracting again: %+v %v", again, err)
	}
	out, err := eng.Fire(ctx, ev)
	if err != nil || len(out) != 2 || out[0].Repeated || out[1].Repeated {
		t.Fatalf("firing the retracted event again: %+v %v", out, err)
	}
	if len(runs) != 4 {
		t.Fatalf("runs %v, want each action twice", runs)
	}
	if none, err := eng.Retract(ctx, "ev-unknown"); err != nil || len(none) != 0 {
		t.Fatalf("retracting an event nothing ran for: %+v %v", none, err)
	}
}

// record-linked-tx's data for a transaction paying 1,000 linked did:jwk addresses (about 300
// KB) crosses bitcoin→web5 under Boundaries' bound; under security.DefaultMaxBytes it would be
// refused as too large, and a transaction paying many linked addresses recorded nowhere. Data
// beyond DefaultRecordTxMaxBytes is still refused.
func TestRecordTxCrossesWithManyLinks(t *testing.T) {
	links := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"did": "did:jwk:" + strings.Repeat("e", 230) + fmt.Sprint(i), "address": "bcrt1q" + strings.Repeat("q", 38)}
		}
		return out
	}
	data := func(n int) map[string]any {
		return map[string]any{"txid": strings.Repeat("a", 64), "amount_sat": int64(10_000), "block_height": int64(7), "links": links(n)}
	}
	ctx := t.Context()
	wide := boundaries(t, trigger.Boundaries(security.DefaultBoundaries()))
	if _, err := wide.Cross(ctx, string(security.Bitcoin), string(security.Web5), trigger.CrossRecordTx, data(1000)); err != nil {
		t.Fatalf("1,000 links: %v", err)
	}
	if _, err := wide.Cross(ctx, string(security.Bitcoin), string(security.Web5), trigger.CrossRecordTx, data(4000)); !errors.Is(err, security.ErrTooLarge) {
		t.Fatalf("4,000 links (over 1 MiB): %v", err)
	}
	narrow := security.DefaultBoundaries()
	for i := range narrow {
		narrow[i].MaxBytes = security.DefaultMaxBytes
	}
	if _, err := boundaries(t, trigger.Boundaries(narrow)).Cross(ctx, string(security.Bitcoin), string(security.Web5), trigger.CrossRecordTx, data(1000)); !errors.Is(err, security.ErrTooLarge) {
		t.Fatalf("1,000 links under a boundary's own 64 KiB bound: %v", err)
	}
}

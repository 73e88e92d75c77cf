package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/feed"
	"github.com/anya-org/anya-go/bus"
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

type world struct {
	bus    *bus.Bus
	node   *dwn.Node
	host   *did.BearerDID
	user   *did.BearerDID
	hostR  *bridge.Records // the host, under the user's grants
	userR  *bridge.Records // the user, as owner
	engine *ml.Engine
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	r, _ := did.NewResolver(did.WithMethods(didkey.New()))
	node, err := dwn.New(r, dwn.WithBus(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	w := &world{bus: b, node: node}
	w.host, _ = didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	w.user, _ = didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	g, err := bridge.Setup(ctx, node, w.user, w.host.String(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var book bridge.GrantBook
	book.Add(w.user.String(), g)
	w.hostR, _ = bridge.NewRecords(node, w.host, bridge.WithGrants(book.Lookup))
	w.userR, _ = bridge.NewRecords(node, w.user)
	m, err := models.Load(ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	w.engine = mltest.NewEngine(t, m, ml.WithFactors(3))
	return w
}

func bounds(t testing.TB, bs []security.Boundary) *security.Boundaries {
	t.Helper()
	b, err := security.New(bs, security.WithRedactionKey([]byte("0123456789abcdef0123456789abcdef")),
		security.WithProvenance("web5.signature", func(context.Context, security.Crossing) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const specYAML = `
name: tx-risk
path: tx
filter: data.amount_sat > 1000
validate:
  - {name: not-negative, expr: "data.amount_sat >= 0"}
  - {name: below-supply, expr: "data.amount_sat <= 2100000000000000"}
features:
  out_total_btc: double(data.amount_sat) / 1e8
  n_outputs: "2.0"
  n_inputs: "1.0"
  address_linked: "1.0"
explain: 2
`

func TestPipeline(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	spec, err := feed.ParseSpec([]byte(specYAML))
	if err != nil {
		t.Fatal(err)
	}
	p, err := feed.New(spec, w.hostR, w.hostR, w.engine, bounds(t, feed.Boundaries(security.DefaultBoundaries())))
	if err != nil {
		t.Fatal(err)
	}
	tenant := w.user.String()
	write := func(amount int64) *dwn.Record {
		rec, err := w.hostR.Create(ctx, tenant, bridge.PathTx, map[string]any{"txid": fmt.Sprint(amount), "amount_sat": amount})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	// Scored, with its explanation, written back to the user's store.
	s, err := p.Process(ctx, tenant, write(250_000_000).ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Score < 0 || s.Score > 1 || len(s.Factors) != 2 || s.Model != "fraud@1" {
		t.Fatalf("scored %+v", s)
	}
	scores, err := w.hostR.Query(ctx, tenant, bridge.PathScore, dwn.Filter{})
	if err != nil || len(scores) != 1 {
		t.Fatalf("%v %d", err, len(scores))
	}
	var sd map[string]any
	json.Unmarshal(scores[0].Data, &sd)
	if sd["record_id"] != s.RecordID || sd["pipeline"] != "tx-risk" || len(sd["factors"].([]any)) != 2 {
		t.Fatalf("score record %v", sd)
	}
	// Filtered out.
	if s, err := p.Process(ctx, tenant, write(500).ID); s != nil || err != nil {
		t.Fatalf("filtered: %v %v", s, err)
	}
	// Rejected by a rule.
	_, err = p.Process(ctx, tenant, write(3_000_000_000_000_000).ID)
	var re *feed.RejectError
	if !errors.As(err, &re) || re.Rule != "below-supply" {
		t.Fatalf("rejected: %v", err)
	}
	// Another path is not the pipeline's.
	other, _ := w.hostR.Create(ctx, tenant, bridge.PathAnchor, map[string]any{"amount_sat": 99999})
	if s, err := p.Process(ctx, tenant, other.ID); s != nil || err != nil {
		t.Fatalf("other path: %v %v", s, err)
	}
	if st := p.Stats(); st.Seen != 4 || st.Scored != 1 || st.Skipped != 2 || st.Rejected != 1 {
		t.Fatalf("stats %+v", st)
	}

	// Without the ml→web5 crossing the score is denied and nothing is written.
	denied, _ := feed.New(spec, w.hostR, w.hostR, w.engine, bounds(t, security.DefaultBoundaries()))
	if _, err := denied.Process(ctx, tenant, write(300_000_000).ID); !errors.Is(err, security.ErrDenied) {
		t.Fatalf("denied: %v", err)
	}
	if scores, _ := w.hostR.Query(ctx, tenant, bridge.PathScore, dwn.Filter{}); len(scores) != 1 {
		t.Fatalf("%d score records after a denial", len(scores))
	}
}

// Fed by the store's events: records written are scored as they arrive.
func TestPipelineSubscription(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	spec, _ := feed.ParseSpec([]byte(specYAML))
	p, err := feed.New(spec, w.hostR, w.hostR, w.engine, bounds(t, feed.Boundaries(security.DefaultBoundaries())))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := p.Subscribe(w.bus)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for _, amount := range []int64{10_000, 20_000, 30_000} {
		if _, err := w.hostR.Create(ctx, w.user.String(), bridge.PathTx, map[string]any{"amount_sat": amount}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Scored < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", p.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The score records do not feed the pipeline back.
	if err := w.bus.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Seen != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSpecProblems(t *testing.T) {
	w := newWorld(t)
	b := bounds(t, security.DefaultBoundaries())
	spec := feed.Spec{
		Filter:   "data.amount_sat + 1",
		Validate: []feed.Rule{{Name: "r", Expr: "true"}, {Name: "r", Expr: "data."}},
		Features: map[string]string{"no_such_feature": "1.0", "n_inputs": "'one'", "n_outputs": "data.x +"},
		Explain:  -1,
	}
	_, err := feed.New(spec, w.hostR, w.hostR, w.engine, b)
	var se *feed.SpecError
	if !errors.As(err, &se) || !errors.Is(err, feed.ErrInvalidSpec) {
		t.Fatalf("got %v", err)
	}
	fields := map[string]bool{}
	for _, p := range se.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{"name", "filter", "validate[1]", "features.no_such_feature", "features.n_inputs", "features.n_outputs", "explain"} {
		if !fields[f] {
			t.Errorf("no problem for %s in %v", f, se.Problems)
		}
	}
	for name, in := range map[string]string{
		"unknown field": "name: x\nrun: true\n",
		"two documents": "name: x\n---\nname: y\n",
		"bad JSON":      `{"name": }`,
		"empty":         "",
	} {
		if _, err := feed.ParseSpec([]byte(in)); !errors.Is(err, feed.ErrInvalidSpec) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(specYAML))
	f.Add([]byte(`{"name":"x","features":{"n_inputs":"1.0"},"filter":"record.author != ''"}`))
	m, err := models.Load(context.Background(), models.Fraud)
	if err != nil {
		f.Fatal(err)
	}
	eng, err := ml.NewEngine(m, ml.WithBackend(ml.NewGoBackend()))
	if err != nil {
		f.Fatal(err)
	}
	defer eng.Close()
	b := bounds(f, security.DefaultBoundaries())
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := feed.ParseSpec(data)
		if err != nil {
			if !errors.Is(err, feed.ErrInvalidSpec) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		if _, err := feed.New(spec, nopRecords{}, nopRecords{}, eng, b); err != nil && !errors.Is(err, feed.ErrInvalidSpec) {
			t.Fatalf("untyped %v", err)
		}
	})
}

type nopRecords struct{}

func (nopRecords) Read(context.Context, string, string) (*dwn.Record, error) {
	return nil, dwn.ErrNotFound
}
func (nopRecords) Create(context.Context, string, string, any, ...bridge.WriteOption) (*dwn.Record, error) {
	return nil, errors.New("nop")
}

// memML is the model side of a sync: outputs in memory.
type memML struct {
	mu  sync.Mutex
	out map[string]feed.Version
}

func (m *memML) Outputs(context.Context) (map[string]feed.Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := make(map[string]feed.Version, len(m.out))
	for k, v := range m.out {
		c[k] = v
	}
	return c, nil
}

func (m *memML) Put(_ context.Context, k string, v feed.Version) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out == nil {
		m.out = map[string]feed.Version{}
	}
	m.out[k] = v
	return nil
}

// edit is the tenant co-updating the host's sync record of key (retrying a lost race).
func edit(t *testing.T, w *world, key string, value any) {
	t.Helper()
	ctx := context.Background()
	for range 20 {
		recs, err := w.userR.Query(ctx, w.user.String(), bridge.PathSync, dwn.Filter{})
		if err != nil {
			t.Error(err)
			return
		}
		for _, r := range recs {
			var d struct{ Key string }
			json.Unmarshal(r.Data, &d)
			if d.Key != key {
				continue
			}
			_, err := w.userR.Update(ctx, w.user.String(), r, map[string]any{"key": key, "value": map[string]any{"v": value}})
			if errors.Is(err, dwn.ErrConflict) {
				break // lost a race with the syncer: read again
			}
			if err != nil {
				t.Error(err)
			}
			return
		}
	}
}

// web5Values reads the sync records as the tenant sees them.
func web5Values(t *testing.T, w *world) map[string]any {
	t.Helper()
	recs, err := w.userR.Query(context.Background(), w.user.String(), bridge.PathSync, dwn.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, r := range recs {
		var d struct {
			Key   string
			Value map[string]any
		}
		json.Unmarshal(r.Data, &d)
		out[d.Key] = d.Value["v"]
	}
	return out
}

func mlValues(m *memML) map[string]any {
	out := map[string]any{}
	o, _ := m.Outputs(context.Background())
	for k, v := range o {
		out[k] = v.Value["v"]
	}
	return out
}

func TestSyncStrategies(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now()
	for _, tc := range []struct {
		name     string
		strategy feed.Strategy
		mlTime   time.Time
		want     any
	}{
		{"prefer web5", feed.PreferWeb5(), t0, "web5"},
		{"prefer ML", feed.PreferML(), t0, "ml"},
		{"last writer: ML later", feed.LastWriter(), t0.Add(time.Hour), "ml"},
		{"last writer: Web5 later", feed.LastWriter(), t0.Add(-time.Hour), "web5"},
		{"a function", func(_ string, w, m feed.Version) (feed.Version, error) {
			return feed.Version{Value: map[string]any{"v": fmt.Sprint(w.Value["v"], "+", m.Value["v"])}, Time: time.Now()}, nil
		}, t0, "web5+ml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			m := &memML{}
			s, err := feed.NewSyncer(w.hostR, w.user.String(), m, tc.strategy)
			if err != nil {
				t.Fatal(err)
			}
			// The model's output reaches the store.
			m.Put(ctx, "alice", feed.Version{Value: map[string]any{"v": "first"}, Time: t0})
			if rep, err := s.Sync(ctx); err != nil || rep.ToWeb5 != 1 {
				t.Fatalf("%v %+v", err, rep)
			}
			// The tenant edits it: the model gets the edit.
			edit(t, w, "alice", "edited")
			if rep, err := s.Sync(ctx); err != nil || rep.ToML != 1 || mlValues(m)["alice"] != "edited" {
				t.Fatalf("%v %+v %v", err, rep, mlValues(m))
			}
			// Both sides edit before the next sync: a conflict the strategy decides.
			edit(t, w, "alice", "web5")
			m.Put(ctx, "alice", feed.Version{Value: map[string]any{"v": "ml"}, Time: tc.mlTime})
			rep, err := s.Sync(ctx)
			if err != nil || len(rep.Conflicts) != 1 || !rep.Conflicts[0].Decided {
				t.Fatalf("%v %+v", err, rep)
			}
			if got := web5Values(t, w)["alice"]; got != tc.want {
				t.Fatalf("web5 has %v, want %v", got, tc.want)
			}
			if got := mlValues(m)["alice"]; got != tc.want {
				t.Fatalf("ML has %v, want %v", got, tc.want)
			}
			// Settled: the next sync has nothing to do.
			if rep, err := s.Sync(ctx); err != nil || rep.ToML+rep.ToWeb5+len(rep.Conflicts) != 0 {
				t.Fatalf("%v %+v", err, rep)
			}
		})
	}
}

// Concurrent edits on both sides while syncs run: once the edits stop, a few syncs make the
// two sides equal.
func TestSyncConcurrentEdits(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	m := &memML{}
	s, _ := feed.NewSyncer(w.hostR, w.user.String(), m, feed.LastWriter())
	keys := []string{"k0", "k1", "k2", "k3"}
	for _, k := range keys {
		m.Put(ctx, k, feed.Version{Value: map[string]any{"v": "seed"}, Time: time.Now()})
	}
	if _, err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	conflicts := 0
	var cmu sync.Mutex
	wg.Go(func() { // the syncer
		for {
			select {
			case <-stop:
				return
			default:
			}
			rep, err := s.Sync(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			cmu.Lock()
			conflicts += len(rep.Conflicts)
			cmu.Unlock()
		}
	})
	var editors sync.WaitGroup
	editors.Go(func() { // the tenant
		for i := range 15 {
			edit(t, w, keys[i%len(keys)], fmt.Sprint("web5-", i))
		}
	})
	editors.Go(func() { // the model
		for i := range 15 {
			m.Put(ctx, keys[i%len(keys)], feed.Version{Value: map[string]any{"v": fmt.Sprint("ml-", i)}, Time: time.Now()})
			time.Sleep(time.Millisecond)
		}
	})
	editors.Wait()
	close(stop)
	wg.Wait()
	for range 3 {
		if _, err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wv, mv := web5Values(t, w), mlValues(m)
	for _, k := range keys {
		if wv[k] != mv[k] {
			t.Fatalf("%s: web5 %v, ML %v", k, wv[k], mv[k])
		}
	}
	if len(wv) != len(keys) {
		t.Fatalf("%d records for %d keys", len(wv), len(keys))
	}
	t.Logf("%d conflicts decided", conflicts)
}

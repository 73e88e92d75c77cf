package learn_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bridge/learn"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/dataset"
	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/ml/modelcard"
	"github.com/anya-org/anya-go/models"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openFS(t *testing.T, opts ...featurestore.Option) *featurestore.Store {
	t.Helper()
	fs, err := featurestore.Open(context.Background(), ":memory:", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// countingScorer counts the vectors it scores.
type countingScorer struct {
	s learn.Scorer
	n atomic.Int32
}

func (c *countingScorer) Score(ctx context.Context, v ml.Vector) (ml.Result, error) {
	c.n.Add(1)
	return c.s.Score(ctx, v)
}

// What is served is what is stored: every scored vector is in the feature store.
func TestRecorder(t *testing.T) {
	ctx := context.Background()
	m, err := models.Load(ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	eng := &countingScorer{s: mltest.NewEngine(t, m)}
	fs := openFS(t, featurestore.WithSchemas(*m.Schema()))
	rec, err := learn.NewRecorder(eng, fs)
	if err != nil {
		t.Fatal(err)
	}
	d := dataset.Transactions(7, 3)
	for i := range 3 {
		v := ml.Vector{Schema: d.Schema.Name, Version: d.Schema.Version, Values: d.Row(i)}
		if _, err := rec.Score(ctx, fmt.Sprint("tx-", i), v); err != nil {
			t.Fatal(err)
		}
		got, err := fs.Get(ctx, fmt.Sprint("tx-", i), d.Schema.Name, d.Schema.Version)
		if err != nil || len(got.Vector.Values) != len(v.Values) || got.Vector.Values[0] != v.Values[0] {
			t.Fatalf("stored %v %+v", err, got)
		}
	}
	// A vector the store refuses is not scored.
	bad := ml.Vector{Schema: "fraud", Version: 1, Values: []float32{1, 2}}
	if _, err := rec.Score(ctx, "bad", bad); !errors.Is(err, learn.ErrRecord) {
		t.Fatalf("got %v", err)
	}
	if eng.n.Load() != 3 {
		t.Fatalf("%d vectors scored", eng.n.Load())
	}
}

// fill writes n labelled decisions to the offline tier: vector at t, label just after.
func fill(t *testing.T, fs *featurestore.Store, n int) []featurestore.Event {
	t.Helper()
	ctx := context.Background()
	d := dataset.Transactions(42, n)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	events := make([]featurestore.Event, n)
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second)
		e := fmt.Sprint("tx-", i)
		if _, err := fs.PutAt(ctx, e, ml.Vector{Schema: d.Schema.Name, Version: d.Schema.Version, Values: d.Row(i)}, at); err != nil {
			t.Fatal(err)
		}
		events[i] = featurestore.Event{Entity: e, Time: at.Add(time.Millisecond), Label: d.Y[i]}
	}
	return events
}

func TestEnsureModel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs := openFS(t)
	events := fill(t, fs, 1500)
	// An event whose entity never had a vector is left out.
	events = append(events, featurestore.Event{Entity: "unknown", Time: time.Now(), Label: 1})
	sdk, _ := models.Load(ctx, models.Fraud)
	eng := mltest.NewEngine(t, sdk)

	m, trained, err := learn.EnsureModel(ctx, dir, "fraud-host", fs, dataset.FraudSchema(), events, learn.WithActivate(eng))
	if err != nil {
		t.Fatal(err)
	}
	if !trained || m.ID() != "fraud-host@1" {
		t.Fatalf("trained %v %s", trained, m.ID())
	}
	if auc := m.Manifest().Metrics["auc"]; auc < 0.75 {
		t.Fatalf("held-out AUC %.3f", auc)
	}
	if eng.Model().ID() != m.ID() {
		t.Fatalf("the engine serves %s", eng.Model().ID())
	}
	card, err := os.ReadFile(filepath.Join(dir, "fraud-host", "1", modelcard.CardFile))
	if err != nil || len(card) == 0 {
		t.Fatalf("card: %v", err)
	}
	// The registry now has it: nothing is trained again.
	m2, trained, err := learn.EnsureModel(ctx, dir, "fraud-host", fs, dataset.FraudSchema(), nil)
	if err != nil || trained || m2.ID() != m.ID() {
		t.Fatalf("second call: %v %v %s", err, trained, m2.ID())
	}
	// The model scores what the store serves.
	d := dataset.Transactions(9, 1)
	if _, err := eng.Score(ctx, ml.Vector{Schema: d.Schema.Name, Version: d.Schema.Version, Values: d.Row(0)}); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureModelRefusals(t *testing.T) {
	ctx := context.Background()
	fs := openFS(t)
	events := fill(t, fs, 50)
	_, _, err := learn.EnsureModel(ctx, t.TempDir(), "small", fs, dataset.FraudSchema(), events)
	var de *learn.DataError
	if !errors.As(err, &de) || de.Rows != 50 || !errors.Is(err, learn.ErrNotEnoughData) {
		t.Fatalf("got %v", err)
	}
	oneClass := make([]featurestore.Event, len(events))
	copy(oneClass, events)
	for i := range oneClass {
		oneClass[i].Label = 0
	}
	if _, _, err := learn.EnsureModel(ctx, t.TempDir(), "oneclass", fs, dataset.FraudSchema(), oneClass, learn.WithMinRows(10)); !errors.Is(err, learn.ErrNotEnoughData) {
		t.Fatalf("one class: %v", err)
	}
	for name, opt := range map[string]learn.TrainOption{
		"WithAlgorithm":  learn.WithAlgorithm("magic"),
		"WithMinRows":    learn.WithMinRows(1),
		"WithValidation": learn.WithValidation(1),
		"WithThreshold":  learn.WithThreshold(0),
		"WithVersion":    learn.WithVersion(""),
	} {
		var oe *learn.OptionError
		if _, _, err := learn.EnsureModel(ctx, t.TempDir(), "x", fs, dataset.FraudSchema(), events, opt); !errors.As(err, &oe) || oe.Option != name {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := learn.EnsureModel(ctx, t.TempDir(), "../escape", fs, dataset.FraudSchema(), events); !errors.Is(err, learn.ErrInvalidOption) {
		t.Errorf("bad name: %v", err)
	}
}

// fixedScorer scores without goroutines, so the rescoring test can run in a synctest bubble.
type fixedScorer struct{}

func (fixedScorer) Score(_ context.Context, v ml.Vector) (ml.Result, error) {
	return ml.Result{Model: "fixed", Version: "1", Score: v.Values[0]}, nil
}

type memFS struct{ n atomic.Int32 }

func (m *memFS) Put(_ context.Context, e string, v ml.Vector) (featurestore.Record, error) {
	m.n.Add(1)
	return featurestore.Record{Entity: e, Vector: v}, nil
}

// Re-scoring runs at its frequency: three intervals, three passes over every entity.
func TestRescorerFrequency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		fs := &memFS{}
		rec, _ := learn.NewRecorder(fixedScorer{}, fs)
		var sunk atomic.Int32
		r, err := learn.NewRescorer(time.Hour,
			func(context.Context) ([]string, error) { return []string{"did:a", "did:b"}, nil },
			func(_ context.Context, e string) (ml.Vector, error) {
				if e == "did:b" {
					return ml.Vector{Schema: "reputation", Version: 1, Values: []float32{0.5}}, nil
				}
				return ml.Vector{Schema: "reputation", Version: 1, Values: []float32{0.9}}, nil
			},
			rec,
			func(context.Context, string, ml.Result) error { sunk.Add(1); return nil })
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
		if sunk.Load() != 6 || fs.n.Load() != 6 {
			t.Fatalf("%d scores sunk, %d vectors recorded after three intervals", sunk.Load(), fs.n.Load())
		}
	})
	if _, err := learn.NewRescorer(0, nil, nil, nil, nil); !errors.Is(err, learn.ErrInvalidOption) {
		t.Fatalf("bad rescorer: %v", err)
	}
}

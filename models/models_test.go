package models_test

import (
	"bytes"
	"context"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/dataset"
	"github.com/anya-org/anya-go/ml/onnx"
	"github.com/anya-org/anya-go/ml/train"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/models/recipe"
)

func TestShippedModelsLoadVerified(t *testing.T) {
	reg := models.Registry()
	names, err := reg.Names()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0] != models.Fraud || names[1] != models.Reputation {
		t.Fatalf("shipped models %v", names)
	}
	for _, name := range names {
		m, err := models.Load(context.Background(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err) // Load checks the sha256 of model.onnx
		}
		man := m.Manifest()
		if man.Metrics["auc"] < 0.9 {
			t.Errorf("%s: test AUC %v", m.ID(), man.Metrics["auc"])
		}
		if m.Graph().IRVersion != 8 || m.Graph().OpsetVersionOf("") != 13 {
			t.Errorf("%s: IR %d opset %d", m.ID(), m.Graph().IRVersion, m.Graph().OpsetVersionOf(""))
		}
	}
}

// TestRebuildIsBitForBit retrains every model from scratch and requires every shipped file to
// come out byte-identical.
func TestRebuildIsBitForBit(t *testing.T) {
	if testing.Short() {
		t.Skip("retrains the models")
	}
	dir := t.TempDir()
	if _, err := recipe.Build(context.Background(), dir, nil); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := fs.WalkDir(models.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		want, err := fs.ReadFile(models.FS(), p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s was not rebuilt: %v", p, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs after rebuilding (%d bytes, shipped %d): run `make models`", p, len(got), len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Fatalf("%d shipped files, want 8 (4 per model)", n)
	}
}

func heldOut(name string) *dataset.Dataset {
	if name == models.Fraud {
		return dataset.Transactions(99, 2000)
	}
	return dataset.Identities(99, 2000)
}

// TestRegistryRollback registers a retrained fraud@2 beside the shipped fraud@1, serves 1, activates
// the latest, and rolls back to 1.
func TestRegistryRollback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg, err := ml.OpenRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := models.Load(ctx, models.Fraud)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Register(ctx, v1.Bytes(), v1.Manifest()); err != nil {
		t.Fatal(err)
	}
	// Version 2: a smaller ensemble trained on other rows, registered beside version 1.
	d2 := dataset.Transactions(7, 12000)
	tr, va := d2.Split(8000)
	td := func(x *dataset.Dataset) train.Data { return train.Data{X: x.X, Y: x.Y, Width: x.Width()} }
	ens, err := train.FitGBT(ctx, td(tr), td(va), train.GBTConfig{MaxTrees: 20, Depth: 3, LearningRate: 0.3, Bins: 32, Lambda: 1, MinChildWeight: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	man := v1.Manifest()
	man.Version, man.SHA256 = "2", ""
	if _, err := reg.Register(ctx, onnx.Encode(ens.ONNX("fraud_2", recipe.InputName, recipe.OutputName)), man); err != nil {
		t.Fatal(err)
	}
	latest, err := reg.Load(ctx, models.Fraud, "")
	if err != nil || latest.Version() != "2" {
		t.Fatalf("latest %v, %v", latest, err)
	}
	v1r, err := reg.Load(ctx, models.Fraud, "1")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ml.NewEngine(v1r, ml.WithBackend(ml.NewGoBackend()))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	d := heldOut(models.Fraud)
	vs := make([]ml.Vector, d.Rows())
	for i := range vs {
		vs[i] = ml.Vector{Schema: dataset.FraudSchemaName, Version: dataset.SchemaVersion, Values: d.Row(i)}
	}
	scores := func(want string) []float32 {
		rs, err := e.ScoreBatch(ctx, vs)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(rs))
		for i, r := range rs {
			if r.Version != want {
				t.Fatalf("row %d scored by version %s, want %s", i, r.Version, want)
			}
			out[i] = r.Score
		}
		return out
	}
	s1 := scores("1")
	if err := e.Activate(ctx, latest); err != nil {
		t.Fatal(err)
	}
	s2 := scores("2")
	differ := 0
	for i := range s1 {
		if !near(s1[i], s2[i]) {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("versions 1 and 2 score identically: the retrained version was not served")
	}
	if err := e.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	back := scores("1")
	for i := range s1 {
		if back[i] != s1[i] {
			t.Fatalf("row %d: %v after rollback, %v before", i, back[i], s1[i])
		}
	}
}

func near(a, b float32) bool { return math.Abs(float64(a)-float64(b)) <= 1e-5 }

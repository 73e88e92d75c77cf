package train_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/modelcard"
	"github.com/anya-org/anya-go/ml/onnx"
	"github.com/anya-org/anya-go/ml/train"
)

// xor labels rows positive when exactly one of the first two features exceeds 0.5: no linear
// model can separate it. A third feature is noise.
func xor(seed uint64, n int) train.Data {
	r := rand.New(rand.NewPCG(seed, 1))
	d := train.Data{Width: 3, X: make([]float32, 3*n), Y: make([]uint8, n)}
	for i := range n {
		a, b, c := r.Float32(), r.Float32(), r.Float32()
		d.X[3*i], d.X[3*i+1], d.X[3*i+2] = a, b, c
		if (a > 0.5) != (b > 0.5) {
			d.Y[i] = 1
		}
	}
	return d
}

// linear labels rows by a noisy linear rule over non-negative features.
func linear(seed uint64, n int) train.Data {
	r := rand.New(rand.NewPCG(seed, 2))
	d := train.Data{Width: 2, X: make([]float32, 2*n), Y: make([]uint8, n)}
	for i := range n {
		a, b := r.Float32()*10, r.Float32()*10
		d.X[2*i], d.X[2*i+1] = a, b
		if math.Log1p(float64(a))-math.Log1p(float64(b))+0.3*r.NormFloat64() > 0 {
			d.Y[i] = 1
		}
	}
	return d
}

func exp(v float64) float64 { return math.Exp(v) }

func auc(t *testing.T, raw func([]float32) float64, d train.Data) float64 {
	t.Helper()
	scores := make([]float64, len(d.Y))
	for i := range scores {
		scores[i] = 1 / (1 + math.Exp(-raw(d.X[i*d.Width:(i+1)*d.Width])))
	}
	m, _, _, err := modelcard.Evaluate(scores, d.Y, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	return m.AUC
}

// exported scores d with the ONNX export through the pure-Go evaluator.
func exported(t *testing.T, g *onnx.Model, d train.Data) []float32 {
	t.Helper()
	decoded, err := onnx.Decode(onnx.Encode(g))
	if err != nil {
		t.Fatal(err)
	}
	p, err := onnx.Compile(decoded)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.NewEvaluator().Run([]onnx.Tensor{{DataType: onnx.Float, Dims: []int64{int64(len(d.Y)), int64(d.Width)}, Floats: d.X}})
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Floats
}

func TestGBTLearnsInteractionsAndExportsExactly(t *testing.T) {
	ctx := context.Background()
	tr, va, te := xor(1, 4000), xor(2, 1000), xor(3, 1000)
	cfg := train.DefaultGBT()
	e, err := train.FitGBT(ctx, tr, va, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := auc(t, e.Raw, te); a < 0.97 {
		t.Fatalf("trees reach AUC %.3f on XOR", a)
	}
	lr, err := train.FitLogistic(ctx, tr, train.DefaultLogistic())
	if err != nil {
		t.Fatal(err)
	}
	if a := auc(t, lr.Raw, te); a > 0.6 {
		t.Fatalf("logistic regression reaches AUC %.3f on XOR: the data is not what the test thinks", a)
	}
	scores := exported(t, e.ONNX("xor", "x", "p"), te)
	for i := range te.Y {
		want := 1 / (1 + math.Exp(-e.Raw(te.X[i*3:(i+1)*3])))
		if math.Abs(float64(scores[i])-want) > 1e-5 {
			t.Fatalf("row %d: exported %v, trainer %v", i, scores[i], want)
		}
	}
	again, _ := train.FitGBT(ctx, tr, va, cfg, nil)
	if !reflect.DeepEqual(e, again) {
		t.Fatal("two fits on the same data differ")
	}
	if len(e.Trees) == 0 || len(e.Trees) > cfg.MaxTrees || len(e.ValidLoss) < len(e.Trees) {
		t.Fatalf("%d trees, %d validation losses", len(e.Trees), len(e.ValidLoss))
	}
}

func TestLogisticFitsAndExportsExactly(t *testing.T) {
	ctx := context.Background()
	tr, te := linear(1, 5000), linear(2, 1000)
	lr, err := train.FitLogistic(ctx, tr, train.DefaultLogistic())
	if err != nil {
		t.Fatal(err)
	}
	if lr.W[0] <= 0 || lr.W[1] >= 0 {
		t.Fatalf("weights %v: want positive for the first feature, negative for the second", lr.W)
	}
	if a := auc(t, lr.Raw, te); a < 0.9 {
		t.Fatalf("AUC %.3f", a)
	}
	g := lr.ONNX("lin", "x", "p")
	scores := exported(t, g, te)
	for i := range te.Y {
		want := 1 / (1 + math.Exp(-lr.Raw(te.X[i*2:(i+1)*2])))
		if math.Abs(float64(scores[i])-want) > 1e-5 {
			t.Fatalf("row %d: exported %v, trainer %v", i, scores[i], want)
		}
	}
	// The explainer reads the export: contributions are W_i·z_i.
	x, err := onnx.NewExplainer(g)
	if err != nil {
		t.Fatal(err)
	}
	contrib := make([]float32, 2)
	bias, _ := x.Explain(te.X[:2], contrib)
	if math.Abs(float64(bias)-lr.B) > 1e-6 || math.Abs(float64(contrib[0]+contrib[1]+bias)-lr.Raw(te.X[:2])) > 1e-4 {
		t.Fatalf("explanation %v + %v does not add up to %v", contrib, bias, lr.Raw(te.X[:2]))
	}
}

func TestTreeExportIsAModelTheRegistryAccepts(t *testing.T) {
	tr, va := xor(4, 500), xor(5, 200)
	e, err := train.FitGBT(context.Background(), tr, va, train.GBTConfig{MaxTrees: 5, Depth: 2, LearningRate: 0.3, Bins: 16, Lambda: 1, MinChildWeight: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Trees) != 5 {
		t.Fatalf("%d trees without early stopping, want 5", len(e.Trees))
	}
	s := ml.Schema{Name: "xor", Version: 1, Features: []ml.Feature{{Name: "a", Max: 1}, {Name: "b", Max: 1}, {Name: "c", Max: 1}}}
	_, err = ml.NewModel(onnx.Encode(e.ONNX("xor", "x", "p")), ml.Manifest{Name: "xor", Version: "1",
		Input: ml.Tensor{Name: "x", Shape: []int64{-1, 3}}, Output: ml.Tensor{Name: "p", Shape: []int64{-1, 1}}, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	good := xor(1, 100)
	nan := xor(1, 100)
	nan.X[5] = float32(math.NaN())
	for name, d := range map[string]train.Data{
		"NaN":        nan,
		"shape":      {X: good.X[:10], Y: good.Y, Width: 3},
		"label 2":    {X: good.X, Y: append(append([]uint8(nil), good.Y[:99]...), 2), Width: 3},
		"no rows":    {Width: 3},
		"zero width": {X: good.X, Y: good.Y},
	} {
		if _, err := train.FitGBT(ctx, d, good, train.DefaultGBT(), nil); !errors.Is(err, train.ErrData) {
			t.Errorf("GBT %s: %v", name, err)
		}
		if _, err := train.FitLogistic(ctx, d, train.DefaultLogistic()); !errors.Is(err, train.ErrData) {
			t.Errorf("logistic %s: %v", name, err)
		}
	}
	neg := xor(1, 100)
	neg.X[0] = -1
	if _, err := train.FitLogistic(ctx, neg, train.DefaultLogistic()); !errors.Is(err, train.ErrData) {
		t.Errorf("log1p of a negative value: %v", err)
	}
	if _, err := train.FitGBT(ctx, good, good, train.GBTConfig{}, nil); !errors.Is(err, train.ErrConfig) {
		t.Errorf("zero config: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := train.FitGBT(cancelled, good, good, train.DefaultGBT(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled GBT: %v", err)
	}
}

package onnx_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/ml/onnx"
)

func run(t *testing.T, m *onnx.Model, rows [][]float32) []onnx.Tensor {
	t.Helper()
	p, err := onnx.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	var x []float32
	for _, r := range rows {
		x = append(x, r...)
	}
	out, err := p.NewEvaluator().Run([]onnx.Tensor{{DataType: onnx.Float, Dims: []int64{int64(len(rows)), int64(len(rows[0]))}, Floats: x}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEvaluatorMatchesReference(t *testing.T) {
	for _, tm := range []*mltest.Tiny{
		mltest.Linear([]float32{0.5, -1, 2}, 0.25),
		mltest.StandardizedLinear([]float32{1, 2}, []float32{0.5, 4}, []float32{1, -2}, 0.1),
		mltest.MLP(7, 32, 16),
		mltest.Trees(8, 50, 4, 24),
		mltest.Classifier(9, 10, 3, 6, 5, 4),
	} {
		rows := mltest.Rows(1, 100, tm.Model.Width())
		out := run(t, tm.Graph, rows)
		scores := out[len(out)-1]
		k := len(scores.Floats) / len(rows)
		col := tm.Model.Manifest().Output.Index
		for i, r := range rows {
			got := float64(scores.Floats[i*k+col])
			if d := math.Abs(got - tm.Reference(r)); d > 1e-5 {
				t.Fatalf("%s row %d: %v, reference %v", tm.Model.ID(), i, got, tm.Reference(r))
			}
		}
	}
}

func TestEvaluatorDoesNotAllocate(t *testing.T) {
	for _, tm := range []*mltest.Tiny{mltest.MLP(1, 32, 16), mltest.Trees(2, 50, 4, 32)} {
		p, err := onnx.Compile(tm.Graph)
		if err != nil {
			t.Fatal(err)
		}
		ev := p.NewEvaluator()
		rows := mltest.Rows(3, 64, tm.Model.Width())
		var x []float32
		for _, r := range rows {
			x = append(x, r...)
		}
		in := []onnx.Tensor{{DataType: onnx.Float, Dims: []int64{64, int64(tm.Model.Width())}, Floats: x}}
		if _, err := ev.Run(in); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(20, func() { ev.Run(in) }); n != 0 {
			t.Errorf("%s: %v allocations per run", tm.Model.ID(), n)
		}
	}
}

func graphWith(nodes []onnx.Node, inits []onnx.Tensor, width int64) *onnx.Model {
	return &onnx.Model{IRVersion: onnx.IRVersion,
		Opsets: []onnx.Opset{{Version: onnx.OpsetVersion}, {Domain: onnx.DomainML, Version: onnx.MLOpsetVersion}},
		Graph: onnx.Graph{Nodes: nodes, Initializers: inits,
			Inputs: []onnx.ValueInfo{onnx.FloatInput("x", width)}, Outputs: []onnx.ValueInfo{onnx.FloatInput("y", 1)}}}
}

// treeNode returns a one-node-per-tree ensemble attribute set whose nodes list can be edited.
func treeAttrs(trueIDs, falseIDs []int64) []onnx.Attribute {
	n := len(trueIDs)
	modes := make([]string, n)
	ids := make([]int64, n)
	zeros := make([]int64, n)
	vals := make([]float32, n)
	for i := range n {
		ids[i] = int64(i)
		modes[i] = "BRANCH_LEQ"
		if trueIDs[i] < 0 {
			modes[i] = "LEAF"
			trueIDs[i], falseIDs[i] = 0, 0
		}
	}
	return []onnx.Attribute{
		onnx.IntsAttr("nodes_treeids", zeros), onnx.IntsAttr("nodes_nodeids", ids), onnx.IntsAttr("nodes_featureids", zeros),
		onnx.FloatsAttr("nodes_values", vals), onnx.StringsAttr("nodes_modes", modes),
		onnx.IntsAttr("nodes_truenodeids", trueIDs), onnx.IntsAttr("nodes_falsenodeids", falseIDs),
		onnx.IntsAttr("target_treeids", []int64{0}), onnx.IntsAttr("target_nodeids", []int64{int64(n - 1)}),
		onnx.IntsAttr("target_ids", []int64{0}), onnx.FloatsAttr("target_weights", []float32{1}),
	}
}

func TestCompileRejects(t *testing.T) {
	trees := func(attrs []onnx.Attribute) []onnx.Node {
		return []onnx.Node{{OpType: "TreeEnsembleRegressor", Domain: onnx.DomainML, Inputs: []string{"x"}, Outputs: []string{"y"}, Attributes: attrs}}
	}
	cycle := treeAttrs([]int64{1, 0, -1}, []int64{2, 2, -1})  // node 1 branches back to node 0
	shared := treeAttrs([]int64{1, 2, -1}, []int64{2, 2, -1}) // node 2 reached twice
	outside := treeAttrs([]int64{5, -1}, []int64{1, -1})
	binary := []onnx.Attribute{
		onnx.IntsAttr("nodes_treeids", []int64{0}), onnx.IntsAttr("nodes_nodeids", []int64{0}), onnx.IntsAttr("nodes_featureids", []int64{0}),
		onnx.FloatsAttr("nodes_values", []float32{0}), onnx.StringsAttr("nodes_modes", []string{"LEAF"}),
		onnx.IntsAttr("nodes_truenodeids", []int64{0}), onnx.IntsAttr("nodes_falsenodeids", []int64{0}),
		onnx.IntsAttr("class_treeids", []int64{0}), onnx.IntsAttr("class_nodeids", []int64{0}),
		onnx.IntsAttr("class_ids", []int64{0}), onnx.FloatsAttr("class_weights", []float32{1}),
		onnx.IntsAttr("classlabels_int64s", []int64{0, 1}),
	}
	cases := []struct {
		name string
		m    *onnx.Model
		want error
	}{
		{"unknown operator", graphWith([]onnx.Node{{OpType: "Conv", Inputs: []string{"x"}, Outputs: []string{"y"}}}, nil, 2), onnx.ErrUnsupported},
		{"undefined input", graphWith([]onnx.Node{{OpType: "Relu", Inputs: []string{"nope"}, Outputs: []string{"y"}}}, nil, 2), onnx.ErrInvalid},
		{"output defined twice", graphWith([]onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"x"}}}, nil, 2), onnx.ErrInvalid},
		{"missing graph output", graphWith([]onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"z"}}}, nil, 2), onnx.ErrInvalid},
		{"initializer length", graphWith([]onnx.Node{{OpType: "Add", Inputs: []string{"x", "c"}, Outputs: []string{"y"}}},
			[]onnx.Tensor{onnx.FloatTensor("c", []int64{3}, []float32{1})}, 3), onnx.ErrInvalid},
		{"tree cycle", graphWith(trees(cycle), nil, 1), onnx.ErrInvalid},
		{"tree node shared", graphWith(trees(shared), nil, 1), onnx.ErrInvalid},
		{"tree child outside", graphWith(trees(outside), nil, 1), onnx.ErrInvalid},
		{"binary classifier", graphWith([]onnx.Node{{OpType: "TreeEnsembleClassifier", Domain: onnx.DomainML, Inputs: []string{"x"}, Outputs: []string{"l", "y"}, Attributes: binary}}, nil, 1), onnx.ErrUnsupported},
		{"double thresholds", graphWith(trees(append(treeAttrs([]int64{-1}, []int64{-1}), onnx.Attribute{Name: "nodes_values_as_tensor", Type: onnx.AttrTensor, T: &onnx.Tensor{DataType: onnx.Double}})), nil, 1), onnx.ErrUnsupported},
	}
	old := graphWith([]onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}, nil, 2)
	old.Opsets[0].Version = 9
	cases = append(cases, struct {
		name string
		m    *onnx.Model
		want error
	}{"opset 9", old, onnx.ErrUnsupported})
	for _, c := range cases {
		_, err := onnx.Compile(c.m)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Compile error %v, want %v", c.name, err, c.want)
		}
	}
}

func TestRunRejectsBadInputs(t *testing.T) {
	p, err := onnx.Compile(mltest.Linear([]float32{1, 2, 3}, 0).Graph)
	if err != nil {
		t.Fatal(err)
	}
	ev := p.NewEvaluator()
	for name, in := range map[string][]onnx.Tensor{
		"no inputs":   nil,
		"wrong width": {{DataType: onnx.Float, Dims: []int64{1, 4}, Floats: make([]float32, 4)}},
		"wrong rank":  {{DataType: onnx.Float, Dims: []int64{3}, Floats: make([]float32, 3)}},
		"short data":  {{DataType: onnx.Float, Dims: []int64{2, 3}, Floats: make([]float32, 5)}},
	} {
		if _, err := ev.Run(in); !errors.Is(err, onnx.ErrShape) {
			t.Errorf("%s: %v, want ErrShape", name, err)
		}
	}
}

// TestRunBoundsGrowth: a chain of Concats doubling their input would need 2^40 elements; the
// evaluator stops at MaxElements instead of allocating.
func TestRunBoundsGrowth(t *testing.T) {
	var nodes []onnx.Node
	prev := "x"
	for i := range 40 {
		out := "c" + strings.Repeat("i", i+1)
		nodes = append(nodes, onnx.Node{OpType: "Concat", Inputs: []string{prev, prev}, Outputs: []string{out}, Attributes: []onnx.Attribute{onnx.IntAttr("axis", 1)}})
		prev = out
	}
	nodes = append(nodes, onnx.Node{OpType: "Identity", Inputs: []string{prev}, Outputs: []string{"y"}})
	m := graphWith(nodes, nil, 1)
	m.Graph.Outputs[0].Shape = nil
	p, err := onnx.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.NewEvaluator().Run([]onnx.Tensor{{DataType: onnx.Float, Dims: []int64{1, 1}, Floats: []float32{1}}})
	if !errors.Is(err, onnx.ErrShape) {
		t.Fatalf("Run: %v, want ErrShape", err)
	}
}

func TestExplainerDecomposesRawScore(t *testing.T) {
	for _, tm := range []*mltest.Tiny{
		mltest.Linear([]float32{0.5, -1, 2}, 0.25),
		mltest.StandardizedLinear([]float32{0.3, 0.6}, []float32{0.5, 0.25}, []float32{1, -2}, 0.1),
		mltest.Trees(8, 50, 4, 12),
	} {
		x, err := onnx.NewExplainer(tm.Graph)
		if err != nil {
			t.Fatalf("%s: %v", tm.Model.ID(), err)
		}
		contrib := make([]float32, x.Features())
		for i, r := range mltest.Rows(4, 50, tm.Model.Width()) {
			bias, err := x.Explain(r, contrib)
			if err != nil {
				t.Fatal(err)
			}
			sum := float64(bias)
			for _, c := range contrib {
				sum += float64(c)
			}
			p := tm.Reference(r)
			logit := math.Log(p / (1 - p))
			if d := math.Abs(sum - logit); d > 1e-4 {
				t.Fatalf("%s row %d: bias+contributions = %v, raw score %v", tm.Model.ID(), i, sum, logit)
			}
		}
	}
}

func TestExplainerLinearContributions(t *testing.T) {
	// ((x - mean) / std) · w: feature i contributes w_i (x_i - mean_i) / std_i.
	mean, std, w := []float32{1, 2}, []float32{2, 4}, []float32{3, -1}
	x, err := onnx.NewExplainer(mltest.StandardizedLinear(mean, std, w, 0.5).Graph)
	if err != nil {
		t.Fatal(err)
	}
	row := []float32{5, 10}
	contrib := make([]float32, 2)
	bias, _ := x.Explain(row, contrib)
	for i := range row {
		want := w[i] * (row[i] - mean[i]) / std[i]
		if math.Abs(float64(contrib[i]-want)) > 1e-6 {
			t.Errorf("feature %d: %v, want %v", i, contrib[i], want)
		}
	}
	if bias != 0.5 {
		t.Errorf("bias %v, want 0.5", bias)
	}
}

func TestExplainerRefusesOtherModels(t *testing.T) {
	for _, tm := range []*mltest.Tiny{mltest.MLP(1, 4, 3), mltest.Classifier(1, 2, 2, 3, 3, 0)} {
		if _, err := onnx.NewExplainer(tm.Graph); !errors.Is(err, onnx.ErrNotExplainable) {
			t.Errorf("%s: %v, want ErrNotExplainable", tm.Model.ID(), err)
		}
	}
}

func TestOperatorsListed(t *testing.T) {
	ops := onnx.Operators()
	for _, want := range []string{"MatMul", "Gemm", "Add", "Relu", "Sigmoid", "Softmax", "ai.onnx.ml:TreeEnsembleClassifier", "ai.onnx.ml:TreeEnsembleRegressor"} {
		if !slices.Contains(ops, want) {
			t.Errorf("Operators() lacks %s", want)
		}
	}
}

// TestLogf checks the evaluator's float32 logarithm against math.Log across the float32 range,
// including the points where the mantissa folds at √2.
func TestLogf(t *testing.T) {
	for _, x := range []float32{1e-30, 1e-7, 0.5, 0.70710677, 0.7071068, 1, 1.0000001, 1.4142135, 1.4142137, 2, 3, 10, 1234.5, 1e7, 3.4e38} {
		want := math.Log(float64(x))
		got := float64(onnx.LogfForTest(x))
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("logf(%v) = %v, want %v", x, got, want)
		}
	}
}

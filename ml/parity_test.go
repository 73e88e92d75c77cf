//go:build cgo

package ml_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/ml/onnx"
)

// The tests in this file run the same ONNX bytes through ONNX Runtime (raw onnxruntime_go, all
// outputs) and the pure-Go evaluator and require every output element to agree within 1e-5.

type parityCase struct {
	name  string
	m     *onnx.Model
	dims  []int64   // input dims
	input []float32 // input values
}

func (c parityCase) check(t *testing.T) {
	t.Helper()
	c.m.IRVersion = onnx.IRVersion
	if len(c.m.Opsets) == 0 {
		c.m.Opsets = []onnx.Opset{{Version: onnx.OpsetVersion}, {Domain: onnx.DomainML, Version: onnx.MLOpsetVersion}}
	}
	data := onnx.Encode(c.m)
	var outNames []string
	for _, o := range c.m.Graph.Outputs {
		outNames = append(outNames, o.Name)
	}

	// ONNX Runtime
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{c.m.Graph.Inputs[0].Name}, outNames, nil)
	if err != nil {
		t.Fatalf("%s: ORT session: %v", c.name, err)
	}
	defer sess.Destroy()
	in, err := ort.NewTensor(ort.NewShape(c.dims...), append([]float32(nil), c.input...))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	outs := make([]ort.Value, len(outNames))
	if err := sess.Run([]ort.Value{in}, outs); err != nil {
		t.Fatalf("%s: ORT run: %v", c.name, err)
	}
	defer func() {
		for _, o := range outs {
			o.Destroy()
		}
	}()

	// pure Go
	p, err := onnx.Compile(c.m)
	if err != nil {
		t.Fatalf("%s: Compile: %v", c.name, err)
	}
	got, err := p.NewEvaluator().Run([]onnx.Tensor{{DataType: onnx.Float, Dims: c.dims, Floats: c.input}})
	if err != nil {
		t.Fatalf("%s: Go run: %v", c.name, err)
	}

	for k, o := range outs {
		if shape := o.GetShape(); fmt.Sprint([]int64(shape)) != fmt.Sprint(got[k].Dims) {
			t.Fatalf("%s output %s: ORT shape %v, Go %v", c.name, outNames[k], shape, got[k].Dims)
		}
		switch v := o.(type) {
		case *ort.Tensor[float32]:
			want := v.GetData()
			if len(want) != len(got[k].Floats) {
				t.Fatalf("%s output %s: %d values from ORT, %d from Go", c.name, outNames[k], len(want), len(got[k].Floats))
			}
			for i := range want {
				a, b := float64(got[k].Floats[i]), float64(want[i])
				if math.IsNaN(a) != math.IsNaN(b) || math.Abs(a-b) > 1e-5*math.Max(1, math.Abs(b)) {
					t.Fatalf("%s output %s[%d]: Go %v, ORT %v", c.name, outNames[k], i, a, b)
				}
			}
		case *ort.Tensor[int64]:
			want := v.GetData()
			for i := range want {
				if got[k].Int64s[i] != want[i] {
					t.Fatalf("%s output %s[%d]: Go %v, ORT %v", c.name, outNames[k], i, got[k].Int64s[i], want[i])
				}
			}
		default:
			t.Fatalf("%s: unexpected ORT output type %T", c.name, o)
		}
	}
}

func randomFloats(rng *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + rng.Float64()*(hi-lo))
	}
	return v
}

func graph(nodes []onnx.Node, inits []onnx.Tensor, in onnx.ValueInfo, outs ...string) *onnx.Model {
	g := &onnx.Model{Graph: onnx.Graph{Name: "parity", Nodes: nodes, Initializers: inits, Inputs: []onnx.ValueInfo{in}}}
	for _, o := range outs {
		g.Graph.Outputs = append(g.Graph.Outputs, onnx.ValueInfo{Name: o, ElemType: onnx.Float})
	}
	return g
}

func node(op string, in []string, out string, attrs ...onnx.Attribute) onnx.Node {
	return onnx.Node{OpType: op, Inputs: in, Outputs: []string{out}, Attributes: attrs}
}

func TestParityOperators(t *testing.T) {
	b := newORT(t)
	defer b.Close()
	rng := rand.New(rand.NewPCG(42, 6))
	const N, F = 9, 6
	x := onnx.FloatInput("x", F)
	input := randomFloats(rng, N*F, -3, 3)
	dims := []int64{N, F}
	var cases []parityCase
	add := func(name string, m *onnx.Model) {
		cases = append(cases, parityCase{name: name, m: m, dims: dims, input: input})
	}

	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		for _, cdims := range [][]int64{{F}, {1, F}, {}, {N, F}} {
			n := 1
			for _, d := range cdims {
				n *= int(d)
			}
			c := onnx.FloatTensor("c", cdims, randomFloats(rng, n, 0.5, 2))
			add(fmt.Sprintf("%s const %v", op, cdims), graph([]onnx.Node{node(op, []string{"x", "c"}, "y")}, []onnx.Tensor{c}, x, "y"))
			add(fmt.Sprintf("%s const-first %v", op, cdims), graph([]onnx.Node{node(op, []string{"c", "x"}, "y")}, []onnx.Tensor{c}, x, "y"))
		}
		// [N, F] op [N, 1]: general broadcasting between two computed values
		w := onnx.FloatTensor("w", []int64{F, 1}, randomFloats(rng, F, -1, 1))
		add(op+" computed broadcast", graph([]onnx.Node{
			node("MatMul", []string{"x", "w"}, "col"),
			node("Abs", []string{"col"}, "acol"),
			node("Add", []string{"acol", "one"}, "pos"),
			node(op, []string{"x", "pos"}, "y"),
		}, []onnx.Tensor{w, onnx.FloatTensor("one", []int64{1}, []float32{1})}, x, "y"))
	}
	for _, op := range []string{"Relu", "Sigmoid", "Tanh", "Exp", "Abs", "Neg", "Identity"} {
		add(op, graph([]onnx.Node{node(op, []string{"x"}, "y")}, nil, x, "y"))
	}
	add("LeakyRelu", graph([]onnx.Node{node("LeakyRelu", []string{"x"}, "y", onnx.FloatAttr("alpha", 0.2))}, nil, x, "y"))
	for _, op := range []string{"Log", "Sqrt"} {
		add(op, graph([]onnx.Node{
			node("Abs", []string{"x"}, "a"), node("Add", []string{"a", "one"}, "p"), node(op, []string{"p"}, "y"),
		}, []onnx.Tensor{onnx.FloatTensor("one", nil, []float32{1})}, x, "y"))
	}
	for _, axis := range []int64{-1, 0, 1} {
		add(fmt.Sprintf("Softmax axis %d", axis), graph([]onnx.Node{node("Softmax", []string{"x"}, "y", onnx.IntAttr("axis", axis))}, nil, x, "y"))
	}
	const M = 5
	add("MatMul", graph([]onnx.Node{node("MatMul", []string{"x", "w"}, "y")},
		[]onnx.Tensor{onnx.FloatTensor("w", []int64{F, M}, randomFloats(rng, F*M, -1, 1))}, x, "y"))
	add("Gemm alpha beta", graph([]onnx.Node{node("Gemm", []string{"x", "w", "c"}, "y", onnx.FloatAttr("alpha", 0.7), onnx.FloatAttr("beta", 1.3))},
		[]onnx.Tensor{onnx.FloatTensor("w", []int64{F, M}, randomFloats(rng, F*M, -1, 1)), onnx.FloatTensor("c", []int64{M}, randomFloats(rng, M, -1, 1))}, x, "y"))
	add("Gemm transB", graph([]onnx.Node{node("Gemm", []string{"x", "w", "c"}, "y", onnx.IntAttr("transB", 1))},
		[]onnx.Tensor{onnx.FloatTensor("w", []int64{M, F}, randomFloats(rng, F*M, -1, 1)), onnx.FloatTensor("c", []int64{1, M}, randomFloats(rng, M, -1, 1))}, x, "y"))
	add("Gemm no C", graph([]onnx.Node{node("Gemm", []string{"x", "w"}, "y")},
		[]onnx.Tensor{onnx.FloatTensor("w", []int64{F, M}, randomFloats(rng, F*M, -1, 1))}, x, "y"))
	add("Flatten", graph([]onnx.Node{node("Flatten", []string{"x"}, "y", onnx.IntAttr("axis", 0))}, nil, x, "y"))
	add("Reshape", graph([]onnx.Node{node("Reshape", []string{"x", "s"}, "y")},
		[]onnx.Tensor{onnx.Int64Tensor("s", []int64{3}, []int64{0, -1, 2})}, x, "y"))
	for _, axis := range []int64{0, 1, -1} {
		add(fmt.Sprintf("Concat axis %d", axis), graph([]onnx.Node{node("Relu", []string{"x"}, "r"), node("Concat", []string{"x", "r", "x"}, "y", onnx.IntAttr("axis", axis))}, nil, x, "y"))
	}
	add("Clip", graph([]onnx.Node{node("Clip", []string{"x", "lo", "hi"}, "y")},
		[]onnx.Tensor{onnx.FloatTensor("lo", nil, []float32{-1}), onnx.FloatTensor("hi", nil, []float32{0.5})}, x, "y"))
	add("Clip min only", graph([]onnx.Node{node("Clip", []string{"x", "lo"}, "y")},
		[]onnx.Tensor{onnx.FloatTensor("lo", nil, []float32{-0.5})}, x, "y"))

	// Gemm with transA needs a fixed batch size: A^T is [F, N].
	fixed := onnx.ValueInfo{Name: "x", ElemType: onnx.Float, Shape: []onnx.Dim{{Value: N}, {Value: F}}}
	cases = append(cases, parityCase{name: "Gemm transA", dims: dims, input: input, m: graph(
		[]onnx.Node{node("Gemm", []string{"x", "w", "c"}, "y", onnx.IntAttr("transA", 1))},
		[]onnx.Tensor{onnx.FloatTensor("w", []int64{N, M}, randomFloats(rng, N*M, -1, 1)), onnx.FloatTensor("c", []int64{F, 1}, randomFloats(rng, F, -1, 1))},
		fixed, "y")})

	for _, c := range cases {
		c.check(t)
	}
}

// randomTrees builds a tree-ensemble attribute list: trees of depth 3 with random modes over
// thresholds from a small grid (so EQ/NEQ branches are taken), random missing-value tracking,
// and leaf weights for every target.
func randomTrees(rng *rand.Rand, trees, features, targets int, prefix string, leafScale float64) []onnx.Attribute {
	const depth = 3
	inner, leaves := 1<<depth-1, 1<<depth
	modes := []string{"BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"}
	var treeIDs, nodeIDs, featIDs, trueIDs, falseIDs, missing, wTree, wNode, wID []int64
	var values, wVal []float32
	var nodeModes []string
	for t := range trees {
		for i := range inner + leaves {
			treeIDs = append(treeIDs, int64(t))
			nodeIDs = append(nodeIDs, int64(i))
			if i < inner {
				featIDs = append(featIDs, int64(rng.IntN(features)))
				values = append(values, float32(rng.IntN(5))/4)
				nodeModes = append(nodeModes, modes[rng.IntN(len(modes))])
				trueIDs = append(trueIDs, int64(2*i+1))
				falseIDs = append(falseIDs, int64(2*i+2))
				missing = append(missing, int64(rng.IntN(2)))
				continue
			}
			featIDs = append(featIDs, 0)
			values = append(values, 0)
			nodeModes = append(nodeModes, "LEAF")
			trueIDs = append(trueIDs, 0)
			falseIDs = append(falseIDs, 0)
			missing = append(missing, 0)
			for k := range targets {
				wTree = append(wTree, int64(t))
				wNode = append(wNode, int64(i))
				wID = append(wID, int64(k))
				wVal = append(wVal, float32((rng.Float64()-0.5)*leafScale))
			}
		}
	}
	return []onnx.Attribute{
		onnx.IntsAttr("nodes_treeids", treeIDs), onnx.IntsAttr("nodes_nodeids", nodeIDs),
		onnx.IntsAttr("nodes_featureids", featIDs), onnx.FloatsAttr("nodes_values", values),
		onnx.StringsAttr("nodes_modes", nodeModes), onnx.IntsAttr("nodes_truenodeids", trueIDs),
		onnx.IntsAttr("nodes_falsenodeids", falseIDs), onnx.IntsAttr("nodes_missing_value_tracks_true", missing),
		onnx.IntsAttr(prefix+"treeids", wTree), onnx.IntsAttr(prefix+"nodeids", wNode),
		onnx.IntsAttr(prefix+"ids", wID), onnx.FloatsAttr(prefix+"weights", wVal),
	}
}

func TestParityTreeEnsembles(t *testing.T) {
	b := newORT(t)
	defer b.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	const N, F = 64, 5
	input := make([]float32, N*F)
	for i := range input {
		if rng.IntN(20) == 0 {
			input[i] = float32(math.NaN())
		} else {
			input[i] = float32(rng.IntN(5)) / 4
		}
	}
	x := onnx.FloatInput("x", F)
	var cases []parityCase
	regressor := func(name string, targets int, leafScale float64, extra ...onnx.Attribute) {
		attrs := append(randomTrees(rng, 7, F, targets, "target_", leafScale), onnx.IntAttr("n_targets", int64(targets)))
		attrs = append(attrs, extra...)
		m := graph([]onnx.Node{{OpType: "TreeEnsembleRegressor", Domain: onnx.DomainML, Inputs: []string{"x"}, Outputs: []string{"y"}, Attributes: attrs}}, nil, x, "y")
		cases = append(cases, parityCase{name: name, m: m, dims: []int64{N, F}, input: input})
	}
	regressor("sum", 1, 1)
	regressor("sum base", 1, 1, onnx.FloatsAttr("base_values", []float32{0.3}))
	regressor("average", 1, 1, onnx.StringAttr("aggregate_function", "AVERAGE"))
	regressor("min", 1, 1, onnx.StringAttr("aggregate_function", "MIN"))
	regressor("max", 1, 1, onnx.StringAttr("aggregate_function", "MAX"))
	regressor("probit", 1, 0.05, onnx.FloatsAttr("base_values", []float32{0.5}), onnx.StringAttr("post_transform", "PROBIT"))
	regressor("single-target logistic", 1, 1, onnx.StringAttr("post_transform", "LOGISTIC"))
	for _, post := range []string{"NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"} {
		regressor("3 targets "+post, 3, 1, onnx.StringAttr("post_transform", post), onnx.FloatsAttr("base_values", []float32{0.1, -0.2, 0.3}))
	}
	regressor("3 targets average", 3, 1, onnx.StringAttr("aggregate_function", "AVERAGE"))
	regressor("3 targets max", 3, 1, onnx.StringAttr("aggregate_function", "MAX"))
	for _, post := range []string{"NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"} {
		attrs := append(randomTrees(rng, 6, F, 4, "class_", 1),
			onnx.IntsAttr("classlabels_int64s", []int64{3, 5, 7, 9}),
			onnx.StringAttr("post_transform", post),
			onnx.FloatsAttr("base_values", []float32{0.05, 0, -0.1, 0.2}))
		m := graph([]onnx.Node{{OpType: "TreeEnsembleClassifier", Domain: onnx.DomainML, Inputs: []string{"x"}, Outputs: []string{"label", "probabilities"}, Attributes: attrs}}, nil, x)
		m.Graph.Outputs = []onnx.ValueInfo{{Name: "label", ElemType: onnx.Int64}, {Name: "probabilities", ElemType: onnx.Float}}
		cases = append(cases, parityCase{name: "classifier " + post, m: m, dims: []int64{N, F}, input: input})
	}
	for _, c := range cases {
		c.check(t)
	}
}

// TestParityTinyModels compares the backends through the ml.Session interface on the test kit's
// models, on many rows.
func TestParityTinyModels(t *testing.T) {
	ob := newORT(t)
	defer ob.Close()
	for _, tm := range []*mltest.Tiny{mltest.MLP(5, 32, 16), mltest.Trees(6, 50, 4, 32), mltest.Classifier(7, 20, 4, 12, 3, 1)} {
		rows := mltest.Rows(8, 1000, tm.Model.Width())
		cases := parityCase{name: tm.Model.ID(), m: tm.Graph, dims: []int64{int64(len(rows)), int64(tm.Model.Width())}}
		for _, r := range rows {
			cases.input = append(cases.input, r...)
		}
		cases.check(t)
	}
}

package mltest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/onnx"
)

// Names of the tensors of every tiny model.
const (
	InputName  = "x"
	OutputName = "score"
	// FeatureMin and FeatureMax bound the features of the tiny models' schemas.
	FeatureMin = -1000
	FeatureMax = 1000
)

// Schema returns a schema called name (version 1) of width features "f0", "f1", ... each in
// [FeatureMin, FeatureMax] with default 0.
func Schema(name string, width int) ml.Schema {
	s := ml.Schema{Name: name, Version: 1, Features: make([]ml.Feature, width)}
	for i := range s.Features {
		s.Features[i] = ml.Feature{Name: fmt.Sprintf("f%d", i), Min: FeatureMin, Max: FeatureMax}
	}
	return s
}

// Tiny is a small model built in-process together with an independent reference scorer: the
// test kit's way to check backends against arithmetic that does not go through package onnx.
type Tiny struct {
	// Model is the verified model (input "x" [N, width], output "score").
	Model *ml.Model
	// Graph is the model's ONNX graph.
	Graph *onnx.Model
	// Reference scores one row in float64, independently of any backend.
	Reference func(row []float32) float64
}

func build(name string, g *onnx.Model, width int, outWidth int64, index int, ref func([]float32) float64) *Tiny {
	g.IRVersion = onnx.IRVersion
	g.ProducerName = "anya-go mltest"
	if len(g.Opsets) == 0 {
		g.Opsets = []onnx.Opset{{Version: onnx.OpsetVersion}}
	}
	g.Graph.Name = name
	g.Graph.Inputs = []onnx.ValueInfo{onnx.FloatInput(InputName, int64(width))}
	if len(g.Graph.Outputs) == 0 {
		g.Graph.Outputs = []onnx.ValueInfo{onnx.FloatInput(OutputName, outWidth)}
	}
	man := ml.Manifest{
		Name:      name,
		Version:   "1",
		Input:     ml.Tensor{Name: InputName, Shape: []int64{-1, int64(width)}},
		Output:    ml.Tensor{Name: OutputName, Shape: []int64{-1, outWidth}, Index: index},
		Schema:    Schema(name, width),
		Threshold: 0.5,
	}
	m, err := ml.NewModel(onnx.Encode(g), man)
	if err != nil {
		panic(fmt.Sprintf("mltest: building %s: %v", name, err)) // a bug in this package
	}
	return &Tiny{Model: m, Graph: g, Reference: ref}
}

func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// Linear returns a logistic-regression model: sigmoid(x·w + b) through MatMul, Add and Sigmoid.
func Linear(w []float32, b float32) *Tiny {
	F := len(w)
	if F == 0 {
		panic("mltest: Linear needs weights")
	}
	g := &onnx.Model{Graph: onnx.Graph{
		Initializers: []onnx.Tensor{
			onnx.FloatTensor("W", []int64{int64(F), 1}, append([]float32(nil), w...)),
			onnx.FloatTensor("B", []int64{1}, []float32{b}),
		},
		Nodes: []onnx.Node{
			{OpType: "MatMul", Inputs: []string{InputName, "W"}, Outputs: []string{"xw"}, Name: "matmul"},
			{OpType: "Add", Inputs: []string{"xw", "B"}, Outputs: []string{"logit"}, Name: "bias"},
			{OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{OutputName}, Name: "link"},
		},
	}}
	ref := func(row []float32) float64 {
		s := float64(b)
		for i, v := range row {
			s += float64(w[i]) * float64(v)
		}
		return sigmoid(s)
	}
	return build("tiny-linear", g, F, 1, 0, ref)
}

// StandardizedLinear returns sigmoid(((x - mean) / std)·w + b) through Sub, Div, Gemm and
// Sigmoid: the shape of a logistic regression exported with its feature scaling.
func StandardizedLinear(mean, std, w []float32, b float32) *Tiny {
	F := len(w)
	if len(mean) != F || len(std) != F || F == 0 {
		panic("mltest: StandardizedLinear needs equal-length mean, std and weights")
	}
	g := &onnx.Model{Graph: onnx.Graph{
		Initializers: []onnx.Tensor{
			onnx.FloatTensor("mean", []int64{int64(F)}, append([]float32(nil), mean...)),
			onnx.FloatTensor("std", []int64{int64(F)}, append([]float32(nil), std...)),
			onnx.FloatTensor("W", []int64{int64(F), 1}, append([]float32(nil), w...)),
			onnx.FloatTensor("B", []int64{1}, []float32{b}),
		},
		Nodes: []onnx.Node{
			{OpType: "Sub", Inputs: []string{InputName, "mean"}, Outputs: []string{"centered"}},
			{OpType: "Div", Inputs: []string{"centered", "std"}, Outputs: []string{"z"}},
			{OpType: "Gemm", Inputs: []string{"z", "W", "B"}, Outputs: []string{"logit"}},
			{OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{OutputName}},
		},
	}}
	ref := func(row []float32) float64 {
		s := float64(b)
		for i, v := range row {
			z := float32(v-mean[i]) / std[i]
			s += float64(w[i]) * float64(z)
		}
		return sigmoid(s)
	}
	return build("tiny-standardized", g, F, 1, 0, ref)
}

// MLP returns a multilayer perceptron in→hidden→1 (Gemm, Relu, Gemm, Sigmoid) with weights drawn
// from seed: the shape of the "MLP 32→16→1" reference model.
func MLP(seed uint64, in, hidden int) *Tiny {
	if in < 1 || hidden < 1 {
		panic("mltest: MLP needs positive sizes")
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d6c70))
	draw := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((rng.Float64()*2 - 1) * scale)
		}
		return v
	}
	w1 := draw(in*hidden, 1/math.Sqrt(float64(in)))
	b1 := draw(hidden, 0.1)
	w2 := draw(hidden, 1/math.Sqrt(float64(hidden)))
	b2 := draw(1, 0.1)
	g := &onnx.Model{Graph: onnx.Graph{
		Initializers: []onnx.Tensor{
			onnx.FloatTensor("W1", []int64{int64(in), int64(hidden)}, w1),
			onnx.FloatTensor("B1", []int64{int64(hidden)}, b1),
			onnx.FloatTensor("W2", []int64{int64(hidden), 1}, w2),
			onnx.FloatTensor("B2", []int64{1}, b2),
		},
		Nodes: []onnx.Node{
			{OpType: "Gemm", Inputs: []string{InputName, "W1", "B1"}, Outputs: []string{"h"}},
			{OpType: "Relu", Inputs: []string{"h"}, Outputs: []string{"a"}},
			{OpType: "Gemm", Inputs: []string{"a", "W2", "B2"}, Outputs: []string{"logit"}},
			{OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{OutputName}},
		},
	}}
	ref := func(row []float32) float64 {
		s := float64(b2[0])
		for j := range hidden {
			h := float64(b1[j])
			for i, v := range row {
				h += float64(v) * float64(w1[i*hidden+j])
			}
			s += math.Max(h, 0) * float64(w2[j])
		}
		return sigmoid(s)
	}
	return build(fmt.Sprintf("tiny-mlp-%d-%d", in, hidden), g, in, 1, 0, ref)
}

// forest is a set of full binary trees in breadth-first layout: node i has children 2i+1, 2i+2.
type forest struct {
	depth    int
	features [][]int32
	thr      [][]float32
	leaf     [][][]float32 // [tree][leaf][target]
	hits     [][]float32
}

func newForest(rng *rand.Rand, trees, depth, features, targets int) *forest {
	f := &forest{depth: depth}
	inner := 1<<depth - 1
	leaves := 1 << depth
	for range trees {
		feat := make([]int32, inner)
		thr := make([]float32, inner)
		for i := range inner {
			feat[i] = int32(rng.IntN(features))
			thr[i] = float32(rng.Float64())
		}
		lw := make([][]float32, leaves)
		for l := range lw {
			lw[l] = make([]float32, targets)
			for t := range lw[l] {
				lw[l][t] = float32(rng.Float64() - 0.5)
			}
		}
		hits := make([]float32, inner+leaves)
		for l := range leaves {
			hits[inner+l] = float32(1 + rng.IntN(100))
		}
		for i := inner - 1; i >= 0; i-- {
			hits[i] = hits[2*i+1] + hits[2*i+2]
		}
		f.features = append(f.features, feat)
		f.thr = append(f.thr, thr)
		f.leaf = append(f.leaf, lw)
		f.hits = append(f.hits, hits)
	}
	return f
}

// walk returns the leaf index (0-based among leaves) row reaches in tree t.
func (f *forest) walk(t int, row []float32) int {
	i := 0
	inner := 1<<f.depth - 1
	for i < inner {
		if row[f.features[t][i]] <= f.thr[t][i] {
			i = 2*i + 1
		} else {
			i = 2*i + 2
		}
	}
	return i - inner
}

// attributes returns the nodes_* attributes and the leaf weight attributes (prefix "target_" or
// "class_").
func (f *forest) attributes(prefix string) []onnx.Attribute {
	var treeIDs, nodeIDs, featIDs, trueIDs, falseIDs, wTree, wNode, wID []int64
	var values, hits, wVal []float32
	var modes []string
	inner := 1<<f.depth - 1
	for t := range f.features {
		for i := range inner + 1<<f.depth {
			treeIDs = append(treeIDs, int64(t))
			nodeIDs = append(nodeIDs, int64(i))
			hits = append(hits, f.hits[t][i])
			if i < inner {
				featIDs = append(featIDs, int64(f.features[t][i]))
				values = append(values, f.thr[t][i])
				modes = append(modes, "BRANCH_LEQ")
				trueIDs = append(trueIDs, int64(2*i+1))
				falseIDs = append(falseIDs, int64(2*i+2))
				continue
			}
			featIDs = append(featIDs, 0)
			values = append(values, 0)
			modes = append(modes, "LEAF")
			trueIDs = append(trueIDs, 0)
			falseIDs = append(falseIDs, 0)
			for k, w := range f.leaf[t][i-inner] {
				wTree = append(wTree, int64(t))
				wNode = append(wNode, int64(i))
				wID = append(wID, int64(k))
				wVal = append(wVal, w)
			}
		}
	}
	return []onnx.Attribute{
		onnx.IntsAttr("nodes_treeids", treeIDs),
		onnx.IntsAttr("nodes_nodeids", nodeIDs),
		onnx.IntsAttr("nodes_featureids", featIDs),
		onnx.FloatsAttr("nodes_values", values),
		onnx.FloatsAttr("nodes_hitrates", hits),
		onnx.StringsAttr("nodes_modes", modes),
		onnx.IntsAttr("nodes_truenodeids", trueIDs),
		onnx.IntsAttr("nodes_falsenodeids", falseIDs),
		onnx.IntsAttr(prefix+"treeids", wTree),
		onnx.IntsAttr(prefix+"nodeids", wNode),
		onnx.IntsAttr(prefix+"ids", wID),
		onnx.FloatsAttr(prefix+"weights", wVal),
	}
}

var mlOpsets = []onnx.Opset{{Version: onnx.OpsetVersion}, {Domain: onnx.DomainML, Version: onnx.MLOpsetVersion}}

// Trees returns a gradient-boosting-shaped model: a TreeEnsembleRegressor of full binary trees
// (random features, thresholds in [0, 1), leaf values in [-0.5, 0.5), node hit rates) summed,
// with a base value, then Sigmoid. trees=50, depth=4 is the reference tree model.
func Trees(seed uint64, trees, depth, features int) *Tiny {
	if trees < 1 || depth < 1 || depth > 12 || features < 1 {
		panic("mltest: Trees needs trees >= 1, depth in 1..12, features >= 1")
	}
	rng := rand.New(rand.NewPCG(seed, 0x74726565))
	f := newForest(rng, trees, depth, features, 1)
	const baseValue = -0.25
	attrs := append(f.attributes("target_"),
		onnx.IntAttr("n_targets", 1),
		onnx.FloatsAttr("base_values", []float32{baseValue}),
		onnx.StringAttr("aggregate_function", "SUM"),
		onnx.StringAttr("post_transform", "NONE"),
	)
	g := &onnx.Model{Opsets: mlOpsets, Graph: onnx.Graph{
		Nodes: []onnx.Node{
			{OpType: "TreeEnsembleRegressor", Domain: onnx.DomainML, Inputs: []string{InputName}, Outputs: []string{"logit"}, Attributes: attrs},
			{OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{OutputName}},
		},
	}}
	ref := func(row []float32) float64 {
		s := float64(baseValue)
		for t := range f.features {
			s += float64(f.leaf[t][f.walk(t, row)][0])
		}
		return sigmoid(s)
	}
	return build(fmt.Sprintf("tiny-trees-%d-%d", trees, depth), g, features, 1, 0, ref)
}

// Classifier returns a multi-class TreeEnsembleClassifier (every leaf votes for every class,
// SOFTMAX post-transform) whose score is the probability of class index scoreClass. Its outputs
// are "label" [N] and "score" [N, classes].
func Classifier(seed uint64, trees, depth, features, classes, scoreClass int) *Tiny {
	if classes < 3 || scoreClass < 0 || scoreClass >= classes {
		panic("mltest: Classifier needs at least 3 classes and a valid score class")
	}
	rng := rand.New(rand.NewPCG(seed, 0x636c6173))
	f := newForest(rng, trees, depth, features, classes)
	labels := make([]int64, classes)
	for i := range labels {
		labels[i] = int64(10 + i)
	}
	attrs := append(f.attributes("class_"),
		onnx.IntsAttr("classlabels_int64s", labels),
		onnx.StringAttr("post_transform", "SOFTMAX"),
	)
	g := &onnx.Model{Opsets: mlOpsets, Graph: onnx.Graph{
		Nodes: []onnx.Node{
			{OpType: "TreeEnsembleClassifier", Domain: onnx.DomainML, Inputs: []string{InputName}, Outputs: []string{"label", OutputName}, Attributes: attrs},
		},
		Outputs: []onnx.ValueInfo{
			{Name: "label", ElemType: onnx.Int64, Shape: []onnx.Dim{{Param: "N"}}},
			onnx.FloatInput(OutputName, int64(classes)),
		},
	}}
	ref := func(row []float32) float64 {
		sums := make([]float64, classes)
		for t := range f.features {
			for c, w := range f.leaf[t][f.walk(t, row)] {
				sums[c] += float64(w)
			}
		}
		mx := math.Inf(-1)
		for _, s := range sums {
			mx = math.Max(mx, s)
		}
		var z float64
		for _, s := range sums {
			z += math.Exp(s - mx)
		}
		return math.Exp(sums[scoreClass]-mx) / z
	}
	return build(fmt.Sprintf("tiny-classifier-%d", classes), g, features, int64(classes), scoreClass, ref)
}

// Rows returns n random rows of width values in [0, 1), drawn from seed.
func Rows(seed uint64, n, width int) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 0x726f7773))
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, width)
		for j := range rows[i] {
			rows[i][j] = float32(rng.Float64())
		}
	}
	return rows
}

// Vectors returns n random vectors of m's schema with values in [0, 1), drawn from seed.
func Vectors(seed uint64, m *ml.Model, n int) []ml.Vector {
	s := m.Schema()
	rows := Rows(seed, n, s.Len())
	vs := make([]ml.Vector, n)
	for i, r := range rows {
		vs[i] = ml.Vector{Schema: s.Name, Version: s.Version, Values: r}
	}
	return vs
}

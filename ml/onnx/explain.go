package onnx

import (
	"fmt"
	"slices"
)

// Explainer attributes a model's raw score to its input features. The raw score is the value
// before a final Sigmoid (the log-odds for the SDK's classifiers), and it always equals
// Bias + the sum of the contributions, so the contributions are an exact decomposition:
//
//   - tree ensembles (TreeEnsembleRegressor with one target, SUM or AVERAGE): each split on the
//     decision path adds the change in the expected score to the split's feature (the "Saabas"
//     path attribution). Expected scores of branch nodes are the leaf values weighted by
//     nodes_hitrates (the SDK's trainer stores training-sample counts there), or equally when a
//     model has none;
//   - linear models (MatMul+Add or Gemm with one output, after an optional chain of per-feature
//     transforms: Add/Sub/Mul/Div by per-feature constants, as in standardisation, and unary
//     elementwise operators such as Log): feature i contributes w_i·z_i where z_i is its
//     transformed value.
//
// An Explainer is immutable and safe for concurrent use.
type Explainer struct {
	features int
	// trees
	forest *forest
	value  []float32 // expected raw score of each node
	scale  float32
	origin float32
	// linear: contribution_i = w[i] * steps(x_i)
	w     []float32
	steps []linStep
	bias  float32
}

// NewExplainer returns an Explainer for m, or an error wrapping [ErrNotExplainable] when the
// graph is not one of the shapes described on [Explainer].
func NewExplainer(m *Model) (*Explainer, error) {
	g := &m.Graph
	if len(g.Inputs) == 0 || len(g.Outputs) != 1 {
		return nil, fmt.Errorf("%w: want one input and one output", ErrNotExplainable)
	}
	consts := map[string]*Tensor{}
	for i := range g.Initializers {
		consts[g.Initializers[i].Name] = &g.Initializers[i]
	}
	var input string
	for _, in := range g.Inputs {
		if consts[in.Name] == nil {
			if input != "" {
				return nil, fmt.Errorf("%w: more than one graph input", ErrNotExplainable)
			}
			input = in.Name
		}
	}
	producer := map[string]*Node{}
	for i := range g.Nodes {
		for _, o := range g.Nodes[i].Outputs {
			producer[o] = &g.Nodes[i]
		}
	}
	// Step back over the output link (Sigmoid) and pass-through nodes.
	name := g.Outputs[0].Name
	n := producer[name]
	for n != nil && (n.OpType == "Sigmoid" || n.OpType == "Identity") && n.Domain == "" && len(n.Inputs) == 1 {
		name = n.Inputs[0]
		n = producer[name]
	}
	if n == nil {
		return nil, fmt.Errorf("%w: output is not computed from the input", ErrNotExplainable)
	}
	if n.Domain == DomainML && n.OpType == "TreeEnsembleRegressor" {
		if len(n.Inputs) != 1 || n.Inputs[0] != input {
			return nil, fmt.Errorf("%w: tree ensemble does not read the graph input directly", ErrNotExplainable)
		}
		return newTreeExplainer(n, graphWidth(g, input))
	}
	return newLinearExplainer(n, input, producer, consts)
}

func graphWidth(g *Graph, input string) int {
	for _, in := range g.Inputs {
		if in.Name == input && len(in.Shape) == 2 && in.Shape[1].Param == "" {
			return int(in.Shape[1].Value)
		}
	}
	return 0
}

func newTreeExplainer(n *Node, width int) (*Explainer, error) {
	f, err := parseForest(n, false)
	if err != nil {
		return nil, err
	}
	if f.nTargets != 1 || (f.agg != aggSum && f.agg != aggAverage) || f.post != postNone {
		return nil, fmt.Errorf("%w: tree ensemble with %d targets, aggregate %d, post-transform %d", ErrNotExplainable, f.nTargets, f.agg, f.post)
	}
	if width <= f.maxFeature {
		width = f.maxFeature + 1
	}
	x := &Explainer{features: width, forest: f, value: make([]float32, len(f.nodes)), scale: 1}
	if f.agg == aggAverage {
		x.scale = 1 / float32(len(f.roots))
	}
	if len(f.base) == 1 {
		x.origin = f.base[0]
	}
	// Expected values bottom-up: iterative post-order from every root.
	weight := make([]float64, len(f.nodes))
	for _, r := range f.roots {
		type frame struct {
			i    int32
			done bool
		}
		stack := []frame{{i: r}}
		for len(stack) > 0 {
			fr := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			nd := &f.nodes[fr.i]
			if nd.mode == modeLeaf {
				var v float32
				for _, w := range f.weights[nd.w0:nd.w1] {
					v += w.w
				}
				x.value[fr.i] = v
				weight[fr.i] = float64(nd.hit)
				continue
			}
			if !fr.done {
				stack = append(stack, frame{i: fr.i, done: true}, frame{i: nd.t}, frame{i: nd.f})
				continue
			}
			wt, wf := weight[nd.t], weight[nd.f]
			if wt <= 0 || wf <= 0 {
				wt, wf = 1, 1
			}
			x.value[fr.i] = float32((wt*float64(x.value[nd.t]) + wf*float64(x.value[nd.f])) / (wt + wf))
			weight[fr.i] = wt + wf
		}
	}
	return x, nil
}

func newLinearExplainer(n *Node, input string, producer map[string]*Node, consts map[string]*Tensor) (*Explainer, error) {
	var w []float32
	var bias float32
	var z string
	switch {
	case n.OpType == "Gemm" && n.Domain == "" && len(n.Inputs) >= 2:
		at := func(name string, def float32) float32 {
			if a := n.Attr(name); a != nil {
				return a.F
			}
			return def
		}
		if a := n.Attr("transA"); a != nil && a.I != 0 {
			return nil, fmt.Errorf("%w: Gemm with transA", ErrNotExplainable)
		}
		transB := false
		if a := n.Attr("transB"); a != nil {
			transB = a.I != 0
		}
		wt := consts[n.Inputs[1]]
		if wt == nil || wt.DataType != Float || len(wt.Dims) != 2 {
			return nil, fmt.Errorf("%w: Gemm weights are not a constant matrix", ErrNotExplainable)
		}
		if (!transB && wt.Dims[1] != 1) || (transB && wt.Dims[0] != 1) {
			return nil, fmt.Errorf("%w: Gemm with more than one output", ErrNotExplainable)
		}
		alpha := at("alpha", 1)
		w = make([]float32, len(wt.Floats))
		for i, v := range wt.Floats {
			w[i] = alpha * v
		}
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			bt := consts[n.Inputs[2]]
			if bt == nil || bt.DataType != Float || len(bt.Floats) != 1 {
				return nil, fmt.Errorf("%w: Gemm bias is not a constant scalar", ErrNotExplainable)
			}
			bias = at("beta", 1) * bt.Floats[0]
		}
		z = n.Inputs[0]
	case n.OpType == "Add" && n.Domain == "" && len(n.Inputs) == 2:
		mm, bname := producer[n.Inputs[0]], n.Inputs[1]
		if mm == nil || mm.OpType != "MatMul" {
			mm, bname = producer[n.Inputs[1]], n.Inputs[0]
		}
		bt := consts[bname]
		if mm == nil || mm.OpType != "MatMul" || bt == nil || bt.DataType != Float || len(bt.Floats) != 1 {
			return nil, fmt.Errorf("%w: Add is not MatMul plus a constant scalar", ErrNotExplainable)
		}
		bias = bt.Floats[0]
		wt := consts[mm.Inputs[1]]
		if wt == nil || wt.DataType != Float || len(wt.Dims) != 2 || wt.Dims[1] != 1 {
			return nil, fmt.Errorf("%w: MatMul weights are not a constant column", ErrNotExplainable)
		}
		w = append([]float32(nil), wt.Floats...)
		z = mm.Inputs[0]
	default:
		return nil, fmt.Errorf("%w: %s is neither a tree ensemble nor a linear layer", ErrNotExplainable, n.OpType)
	}
	F := len(w)
	// Walk back from the layer to the input through per-feature steps: elementwise operators
	// with a per-feature (or scalar) constant, and unary elementwise operators.
	var steps []linStep
	for z != input {
		p := producer[z]
		if p == nil || p.Domain != "" {
			return nil, fmt.Errorf("%w: %q is not a per-feature transform of the input", ErrNotExplainable, z)
		}
		if f, ok := unaryFuncs[p.OpType]; ok && len(p.Inputs) == 1 {
			steps = append(steps, linStep{unary: f})
			z = p.Inputs[0]
			continue
		}
		if len(p.Inputs) != 2 {
			return nil, fmt.Errorf("%w: %s is not a per-feature transform", ErrNotExplainable, p.OpType)
		}
		st := linStep{op: p.OpType}
		var cname string
		switch {
		case consts[p.Inputs[1]] != nil:
			z, cname = p.Inputs[0], p.Inputs[1]
		case consts[p.Inputs[0]] != nil:
			z, cname, st.constFirst = p.Inputs[1], p.Inputs[0], true
		default:
			return nil, fmt.Errorf("%w: %s of two computed values", ErrNotExplainable, p.OpType)
		}
		switch p.OpType {
		case "Add", "Sub", "Mul", "Div":
		default:
			return nil, fmt.Errorf("%w: %s is not an elementwise arithmetic operator", ErrNotExplainable, p.OpType)
		}
		c := consts[cname]
		if c.DataType != Float || (len(c.Floats) != 1 && len(c.Floats) != F) {
			return nil, fmt.Errorf("%w: constant %q is not per-feature", ErrNotExplainable, cname)
		}
		st.c = c.Floats
		steps = append(steps, st)
	}
	slices.Reverse(steps) // input first
	return &Explainer{features: F, w: w, steps: steps, bias: bias}, nil
}

// linStep is one per-feature transform between the input and a linear layer.
type linStep struct {
	unary      func(float32) float32
	op         string
	c          []float32 // one value, or one per feature
	constFirst bool
}

func (s *linStep) apply(i int, v float32) float32 {
	if s.unary != nil {
		return s.unary(v)
	}
	k := s.c[0]
	if len(s.c) > 1 {
		k = s.c[i]
	}
	a, b := v, k
	if s.constFirst {
		a, b = k, v
	}
	switch s.op {
	case "Add":
		return a + b
	case "Sub":
		return a - b
	case "Mul":
		return a * b
	}
	return a / b
}

// Features returns the number of input features the Explainer attributes to.
func (x *Explainer) Features() int { return x.features }

// Explain writes the contribution of each feature of row to contrib (both of length
// [Explainer.Features]) and returns the bias: the raw score of an average input. The raw score
// of row is bias + sum(contrib).
func (x *Explainer) Explain(row, contrib []float32) (bias float32, err error) {
	if len(row) != x.features || len(contrib) != x.features {
		return 0, fmt.Errorf("%w: row of %d and contrib of %d for %d features", ErrShape, len(row), len(contrib), x.features)
	}
	clear(contrib)
	if x.forest == nil {
		for i, v := range row {
			for k := range x.steps {
				v = x.steps[k].apply(i, v)
			}
			contrib[i] = x.w[i] * v
		}
		return x.bias, nil
	}
	f := x.forest
	var b float32
	for _, r := range f.roots {
		b += x.value[r] * x.scale
		i := r
		for {
			nd := &f.nodes[i]
			if nd.mode == modeLeaf {
				break
			}
			next := f.leafStep(nd, row)
			contrib[nd.feature] += (x.value[next] - x.value[i]) * x.scale
			i = next
		}
	}
	return b + x.origin, nil
}

// leafStep returns the child of branch node nd that row follows.
func (f *forest) leafStep(nd *treeNode, row []float32) int32 {
	v := row[nd.feature]
	var cond bool
	if nd.missTrue && v != v {
		cond = true
	} else {
		switch nd.mode {
		case modeLEQ:
			cond = v <= nd.thr
		case modeLT:
			cond = v < nd.thr
		case modeGTE:
			cond = v >= nd.thr
		case modeGT:
			cond = v > nd.thr
		case modeEQ:
			cond = v == nd.thr
		default:
			cond = v != nd.thr
		}
	}
	if cond {
		return nd.t
	}
	return nd.f
}

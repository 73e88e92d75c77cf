package onnx

import (
	"fmt"
	"math"
)

// Node modes of the tree-ensemble operators.
const (
	modeLEQ uint8 = iota
	modeLT
	modeGTE
	modeGT
	modeEQ
	modeNEQ
	modeLeaf
)

var modeNames = map[string]uint8{
	"BRANCH_LEQ": modeLEQ, "BRANCH_LT": modeLT, "BRANCH_GTE": modeGTE, "BRANCH_GT": modeGT,
	"BRANCH_EQ": modeEQ, "BRANCH_NEQ": modeNEQ, "LEAF": modeLeaf,
}

type aggregate uint8

const (
	aggSum aggregate = iota
	aggAverage
	aggMin
	aggMax
)

type transform uint8

const (
	postNone transform = iota
	postLogistic
	postSoftmax
	postSoftmaxZero
	postProbit
)

// treeNode is one node of a flattened forest. Children are indices into forest.nodes.
type treeNode struct {
	feature  int32
	mode     uint8
	missTrue bool
	thr      float32
	t, f     int32
	w0, w1   int32 // leaf weights: forest.weights[w0:w1]
	hit      float32
}

type leafWeight struct {
	target int32
	w      float32
}

// forest is the parsed form of a TreeEnsembleRegressor/Classifier node.
type forest struct {
	nodes      []treeNode
	roots      []int32
	weights    []leafWeight
	nTargets   int
	agg        aggregate
	post       transform
	base       []float32
	maxFeature int
	allLEQ     bool // every branch is BRANCH_LEQ without missing-value tracking: fast path
	labels     []int64
}

func stringAttr(n *Node, name, def string) string {
	if a := n.Attr(name); a != nil {
		return string(a.S)
	}
	return def
}

func intsAttr(n *Node, name string) []int64 {
	if a := n.Attr(name); a != nil {
		return a.Ints
	}
	return nil
}

func floatsAttr(n *Node, name string) []float32 {
	if a := n.Attr(name); a != nil {
		return a.Floats
	}
	return nil
}

// parseForest validates the tree-ensemble attributes of n and flattens them. Every tree must be
// acyclic with its root at node id 0 (as the operator specification requires), so evaluation
// always terminates.
func parseForest(n *Node, classifier bool) (*forest, error) {
	for _, a := range []string{"nodes_values_as_tensor", "nodes_hitrates_as_tensor", "base_values_as_tensor", "target_weights_as_tensor", "class_weights_as_tensor"} {
		if n.Attr(a) != nil {
			return nil, fmt.Errorf("%w: attribute %s (double precision trees)", ErrUnsupported, a)
		}
	}
	treeIDs := intsAttr(n, "nodes_treeids")
	nodeIDs := intsAttr(n, "nodes_nodeids")
	featIDs := intsAttr(n, "nodes_featureids")
	values := floatsAttr(n, "nodes_values")
	trueIDs := intsAttr(n, "nodes_truenodeids")
	falseIDs := intsAttr(n, "nodes_falsenodeids")
	missing := intsAttr(n, "nodes_missing_value_tracks_true")
	hitrates := floatsAttr(n, "nodes_hitrates")
	var modes []string
	if a := n.Attr("nodes_modes"); a != nil {
		for _, s := range a.Strings {
			modes = append(modes, string(s))
		}
	}
	nn := len(nodeIDs)
	if nn == 0 {
		return nil, fmt.Errorf("%w: no tree nodes", ErrInvalid)
	}
	for name, l := range map[string]int{"nodes_treeids": len(treeIDs), "nodes_featureids": len(featIDs), "nodes_modes": len(modes),
		"nodes_truenodeids": len(trueIDs), "nodes_falsenodeids": len(falseIDs)} {
		if l != nn {
			return nil, fmt.Errorf("%w: %s has %d entries for %d nodes", ErrInvalid, name, l, nn)
		}
	}
	if len(values) != nn && len(values) != 0 {
		return nil, fmt.Errorf("%w: nodes_values has %d entries for %d nodes", ErrInvalid, len(values), nn)
	}
	if len(missing) != 0 && len(missing) != nn {
		return nil, fmt.Errorf("%w: nodes_missing_value_tracks_true has %d entries for %d nodes", ErrInvalid, len(missing), nn)
	}
	if len(hitrates) != 0 && len(hitrates) != nn {
		return nil, fmt.Errorf("%w: nodes_hitrates has %d entries for %d nodes", ErrInvalid, len(hitrates), nn)
	}

	f := &forest{nodes: make([]treeNode, nn), allLEQ: true}
	type key struct{ tree, node int64 }
	index := make(map[key]int32, nn)
	var treeOrder []int64
	for i := range nn {
		k := key{treeIDs[i], nodeIDs[i]}
		if _, dup := index[k]; dup {
			return nil, fmt.Errorf("%w: node %d of tree %d defined twice", ErrInvalid, k.node, k.tree)
		}
		index[k] = int32(i)
		if k.node == 0 {
			treeOrder = append(treeOrder, k.tree)
		}
	}
	for i := range nn {
		m, ok := modeNames[modes[i]]
		if !ok {
			return nil, fmt.Errorf("%w: node mode %q", ErrInvalid, modes[i])
		}
		tn := treeNode{mode: m, t: -1, f: -1}
		if len(values) > 0 {
			tn.thr = values[i]
		}
		if len(hitrates) > 0 {
			tn.hit = hitrates[i]
		}
		if m != modeLeaf {
			if featIDs[i] < 0 || featIDs[i] > math.MaxInt32 {
				return nil, fmt.Errorf("%w: feature id %d", ErrInvalid, featIDs[i])
			}
			tn.feature = int32(featIDs[i])
			f.maxFeature = max(f.maxFeature, int(featIDs[i]))
			t, ok1 := index[key{treeIDs[i], trueIDs[i]}]
			fl, ok2 := index[key{treeIDs[i], falseIDs[i]}]
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%w: node %d of tree %d has a child outside the tree", ErrInvalid, nodeIDs[i], treeIDs[i])
			}
			tn.t, tn.f = t, fl
			if len(missing) > 0 && missing[i] != 0 {
				tn.missTrue = true
			}
			if m != modeLEQ || tn.missTrue {
				f.allLEQ = false
			}
		}
		f.nodes[i] = tn
	}
	for _, t := range treeOrder {
		f.roots = append(f.roots, index[key{t, 0}])
	}
	seenTree := map[int64]bool{}
	for _, t := range treeIDs {
		seenTree[t] = true
	}
	if len(seenTree) != len(f.roots) {
		return nil, fmt.Errorf("%w: %d trees but %d roots (node id 0)", ErrInvalid, len(seenTree), len(f.roots))
	}
	// Every tree must be a tree: each node reached at most once from its root.
	visited := make([]bool, nn)
	stack := make([]int32, 0, 64)
	for _, r := range f.roots {
		stack = append(stack[:0], r)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if visited[i] {
				return nil, fmt.Errorf("%w: tree %d is not a tree (node %d reached twice)", ErrInvalid, treeIDs[r], nodeIDs[i])
			}
			visited[i] = true
			if f.nodes[i].mode != modeLeaf {
				stack = append(stack, f.nodes[i].t, f.nodes[i].f)
			}
		}
	}

	prefix := "target_"
	if classifier {
		prefix = "class_"
	}
	wTree := intsAttr(n, prefix+"treeids")
	wNode := intsAttr(n, prefix+"nodeids")
	wID := intsAttr(n, prefix+"ids")
	wVal := floatsAttr(n, prefix+"weights")
	if len(wTree) != len(wNode) || len(wTree) != len(wID) || len(wTree) != len(wVal) {
		return nil, fmt.Errorf("%w: %s* attributes have different lengths", ErrInvalid, prefix)
	}
	if classifier {
		if a := n.Attr("classlabels_strings"); a != nil {
			return nil, fmt.Errorf("%w: string class labels", ErrUnsupported)
		}
		f.labels = intsAttr(n, "classlabels_int64s")
		f.nTargets = len(f.labels)
		if f.nTargets <= 2 {
			return nil, fmt.Errorf("%w: TreeEnsembleClassifier with %d classes (ONNX Runtime's binary special cases are not reproduced; export TreeEnsembleRegressor + Sigmoid instead)", ErrUnsupported, f.nTargets)
		}
	} else {
		nt := int64(1)
		if a := n.Attr("n_targets"); a != nil {
			nt = a.I
		}
		if nt < 1 || nt > 1<<16 {
			return nil, fmt.Errorf("%w: n_targets %d", ErrInvalid, nt)
		}
		f.nTargets = int(nt)
	}
	// Group weights per leaf, in attribute order.
	perLeaf := make([][]leafWeight, nn)
	for i := range wTree {
		idx, ok := index[key{wTree[i], wNode[i]}]
		if !ok {
			return nil, fmt.Errorf("%w: weight for unknown node %d of tree %d", ErrInvalid, wNode[i], wTree[i])
		}
		if f.nodes[idx].mode != modeLeaf {
			return nil, fmt.Errorf("%w: weight for branch node %d of tree %d", ErrInvalid, wNode[i], wTree[i])
		}
		if wID[i] < 0 || wID[i] >= int64(f.nTargets) {
			return nil, fmt.Errorf("%w: weight for target %d of %d", ErrInvalid, wID[i], f.nTargets)
		}
		perLeaf[idx] = append(perLeaf[idx], leafWeight{target: int32(wID[i]), w: wVal[i]})
	}
	for i := range f.nodes {
		f.nodes[i].w0 = int32(len(f.weights))
		f.weights = append(f.weights, perLeaf[i]...)
		f.nodes[i].w1 = int32(len(f.weights))
	}

	f.base = floatsAttr(n, "base_values")
	switch s := stringAttr(n, "post_transform", "NONE"); s {
	case "NONE":
		f.post = postNone
	case "LOGISTIC":
		f.post = postLogistic
	case "SOFTMAX":
		f.post = postSoftmax
	case "SOFTMAX_ZERO":
		f.post = postSoftmaxZero
	case "PROBIT":
		f.post = postProbit
	default:
		return nil, fmt.Errorf("%w: post_transform %q", ErrInvalid, s)
	}
	if classifier {
		if len(f.base) != 0 && len(f.base) != f.nTargets {
			return nil, fmt.Errorf("%w: %d base_values for %d classes", ErrInvalid, len(f.base), f.nTargets)
		}
		// Every class must receive a score on every row (some tree gives every leaf a weight for
		// it); otherwise ONNX Runtime's has-score bookkeeping decides the output.
		for c := range f.nTargets {
			if !f.coversTarget(int32(c)) {
				return nil, fmt.Errorf("%w: class %d is not scored by every path of any tree", ErrUnsupported, c)
			}
		}
	} else {
		switch s := stringAttr(n, "aggregate_function", "SUM"); s {
		case "SUM":
			f.agg = aggSum
		case "AVERAGE":
			f.agg = aggAverage
		case "MIN":
			f.agg = aggMin
		case "MAX":
			f.agg = aggMax
		default:
			return nil, fmt.Errorf("%w: aggregate_function %q", ErrInvalid, s)
		}
	}
	return f, nil
}

// coversTarget reports whether some tree has a weight for target c on every leaf.
func (f *forest) coversTarget(c int32) bool {
	for _, r := range f.roots {
		all := true
		stack := []int32{r}
		for len(stack) > 0 && all {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			nd := &f.nodes[i]
			if nd.mode != modeLeaf {
				stack = append(stack, nd.t, nd.f)
				continue
			}
			found := false
			for _, w := range f.weights[nd.w0:nd.w1] {
				if w.target == c {
					found = true
					break
				}
			}
			all = found
		}
		if all {
			return true
		}
	}
	return false
}

// leaf walks the tree from root for one input row and returns the leaf index.
func (f *forest) leaf(root int32, row []float32) int32 {
	nodes := f.nodes
	i := root
	if f.allLEQ {
		for {
			nd := &nodes[i]
			if nd.mode == modeLeaf {
				return i
			}
			if row[nd.feature] <= nd.thr {
				i = nd.t
			} else {
				i = nd.f
			}
		}
	}
	for {
		nd := &nodes[i]
		if nd.mode == modeLeaf {
			return i
		}
		i = f.leafStep(nd, row)
	}
}

type treesOp struct {
	base
	f          *forest
	classifier bool
}

func compileTrees(b base, n *Node, classifier bool) (step, error) {
	f, err := parseForest(n, classifier)
	if err != nil {
		return nil, err
	}
	if !classifier && len(b.out) > 1 {
		return nil, fmt.Errorf("%w: TreeEnsembleRegressor has one output", ErrInvalid)
	}
	return &treesOp{base: b, f: f, classifier: classifier}, nil
}

func (o *treesOp) run(e *Evaluator) error {
	x, err := e.floatIn(o.in[0])
	if err != nil {
		return err
	}
	var rows, width int
	switch len(x.dims) {
	case 1:
		rows, width = 1, x.dims[0]
	case 2:
		rows, width = x.dims[0], x.dims[1]
	default:
		return fmt.Errorf("%w: input of rank %d (want 2)", ErrShape, len(x.dims))
	}
	f := o.f
	if width <= f.maxFeature {
		return fmt.Errorf("%w: input has %d features, trees use feature %d", ErrShape, width, f.maxFeature)
	}
	nt := f.nTargets
	if rows > MaxElements/nt {
		return fmt.Errorf("%w: %d rows of %d targets exceeds %d elements", ErrShape, rows, nt, MaxElements)
	}
	var scores []float32
	var labels []int64
	if o.classifier {
		if len(o.out) > 0 && o.out[0] >= 0 {
			labels = e.int64Out(o.out[0], rows)
		}
		if len(o.out) > 1 && o.out[1] >= 0 {
			scores = e.floatOut(o.out[1], rows, nt)
		} else {
			scores = e.floatScratch(o.k, rows*nt)
		}
	} else {
		scores = e.floatOut(o.out[0], rows, nt)
	}
	hasScore := e.ints(o.k, 0, nt)
	for r := range rows {
		row := x.f[r*width : (r+1)*width]
		acc := scores[r*nt : (r+1)*nt]
		clear(acc)
		if nt == 1 && f.agg == aggSum {
			var s float32
			for _, root := range f.roots {
				lf := &f.nodes[f.leaf(root, row)]
				for _, w := range f.weights[lf.w0:lf.w1] {
					s += w.w
				}
			}
			acc[0] = s
			o.finalize1(acc, true)
			continue
		}
		clear(hasScore)
		for _, root := range f.roots {
			lf := &f.nodes[f.leaf(root, row)]
			for _, w := range f.weights[lf.w0:lf.w1] {
				t := w.target
				switch f.agg {
				case aggMin:
					if hasScore[t] == 0 || w.w < acc[t] {
						acc[t] = w.w
					}
				case aggMax:
					if hasScore[t] == 0 || w.w > acc[t] {
						acc[t] = w.w
					}
				default:
					acc[t] += w.w
				}
				hasScore[t] = 1
			}
		}
		if f.agg == aggAverage {
			for t := range acc {
				acc[t] /= float32(len(f.roots))
			}
		}
		if o.classifier {
			o.finalizeClasses(acc)
			if labels != nil {
				best := 0
				for t := 1; t < nt; t++ {
					if acc[t] > acc[best] {
						best = t
					}
				}
				labels[r] = f.labels[best]
			}
			writeScores(acc, f.post)
			continue
		}
		if nt == 1 {
			o.finalize1(acc, hasScore[0] != 0)
			continue
		}
		if len(f.base) == nt {
			for t := range acc {
				acc[t] += f.base[t]
			}
		}
		writeScores(acc, f.post)
	}
	return nil
}

// finalize1 adds the base value of a single-target regressor. As in ONNX Runtime, the only
// post-transform applied to a single target is PROBIT.
func (o *treesOp) finalize1(acc []float32, has bool) {
	f := o.f
	var origin float32
	if len(f.base) == 1 {
		origin = f.base[0]
	}
	if has {
		acc[0] += origin
	} else {
		acc[0] = origin
	}
	if f.post == postProbit {
		acc[0] = probit(acc[0])
	}
}

// finalizeClasses adds base values to class scores (label is chosen before the transform).
func (o *treesOp) finalizeClasses(acc []float32) {
	for t := range acc {
		if t < len(o.f.base) {
			acc[t] += o.f.base[t]
		}
	}
}

func writeScores(s []float32, post transform) {
	switch post {
	case postLogistic:
		for i, v := range s {
			s[i] = logistic(v)
		}
	case postSoftmax:
		mx := float32(math.Inf(-1))
		for _, v := range s {
			mx = max(mx, v)
		}
		var sum float32
		for i, v := range s {
			s[i] = float32(math.Exp(float64(v - mx)))
			sum += s[i]
		}
		for i := range s {
			s[i] /= sum
		}
	case postSoftmaxZero:
		mx := float32(math.Inf(-1))
		for _, v := range s {
			mx = max(mx, v)
		}
		expNeg := float32(math.Exp(float64(-mx)))
		var sum float32
		for i, v := range s {
			if v > 1e-7 || v < -1e-7 {
				s[i] = float32(math.Exp(float64(v - mx)))
				sum += s[i]
			} else {
				s[i] = v * expNeg
			}
		}
		for i := range s {
			s[i] /= sum
		}
	case postProbit:
		for i, v := range s {
			s[i] = probit(v)
		}
	}
}

func logistic(v float32) float32 {
	p := float32(1 / (1 + math.Exp(-math.Abs(float64(v)))))
	if v < 0 {
		return 1 - p
	}
	return p
}

// probit is sqrt(2)*erfinv(2v-1), using ONNX Runtime's closed-form erfinv approximation with
// its float32 rounding at every step, so that both evaluators agree.
func probit(v float32) float32 {
	var (
		pi   float32 = math.Pi
		k    float32 = 0.147
		two  float32 = 2
		half float32 = 0.5
		one  float32 = 1
	)
	x := two*v - one
	sgn := float32(1)
	if x < 0 {
		sgn = -1
	}
	x = (one - x) * (one + x)
	lg := float32(math.Log(float64(x)))
	a := float32(two/float32(pi*k)) + float32(half*lg)
	b := float32(one/k) * lg
	c := -a + float32(math.Sqrt(float64(float32(a*a)-b)))
	return float32(1.41421356) * float32(sgn*float32(math.Sqrt(float64(c))))
}

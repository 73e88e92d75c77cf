package train

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/anya-org/anya-go/ml/onnx"
)

// Data is a labelled, row-major feature matrix: len(X) == len(Y)*Width.
type Data struct {
	X     []float32
	Y     []uint8
	Width int
}

func (d Data) rows() int { return len(d.Y) }

func (d Data) check() error {
	if d.Width < 1 || len(d.Y) == 0 || len(d.X) != len(d.Y)*d.Width {
		return fmt.Errorf("%w: %d values, %d labels, width %d", ErrData, len(d.X), len(d.Y), d.Width)
	}
	for i, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: value %d is not finite", ErrData, i)
		}
	}
	for _, y := range d.Y {
		if y > 1 {
			return fmt.Errorf("%w: label %d (want 0 or 1)", ErrData, y)
		}
	}
	return nil
}

// GBTConfig holds the hyper-parameters of gradient-boosted trees (logistic loss,
// histogram-based split finding).
type GBTConfig struct {
	// MaxTrees bounds the number of boosting rounds.
	MaxTrees int
	// Depth is the depth of every tree (a tree has at most 2^Depth leaves).
	Depth int
	// LearningRate shrinks every tree's contribution.
	LearningRate float64
	// Bins is the number of quantile bins per feature (at most 256).
	Bins int
	// Lambda is the L2 penalty on leaf values.
	Lambda float64
	// MinChildWeight is the least hessian mass a child may hold.
	MinChildWeight float64
	// EarlyStop stops boosting after this many rounds without a better validation log-loss
	// (0: never); the ensemble keeps the best round.
	EarlyStop int
}

// DefaultGBT returns the configuration the SDK's models use: up to 120 trees of depth 4,
// learning rate 0.2, 64 bins, λ = 1, minimum child weight 1, early stop after 15 rounds.
func DefaultGBT() GBTConfig {
	return GBTConfig{MaxTrees: 120, Depth: 4, LearningRate: 0.2, Bins: 64, Lambda: 1, MinChildWeight: 1, EarlyStop: 15}
}

// Ensemble is a trained sum of regression trees over log-odds: p = sigmoid(Base + Σ tree(x)).
type Ensemble struct {
	Base  float64
	Trees []Tree
	Width int
	// ValidLoss records the validation log-loss after each round (for the model card).
	ValidLoss []float64
}

// Tree is one regression tree. Nodes[0] is the root.
type Tree struct{ Nodes []TreeNode }

// TreeNode is a split (Left >= 0: go Left when x[Feature] <= Threshold) or a leaf (Left < 0)
// with Value. Cover counts the training rows that reached the node.
type TreeNode struct {
	Feature     int
	Threshold   float32
	Left, Right int
	Value       float64
	Cover       float64
}

// Raw returns the log-odds the ensemble assigns to row.
func (e *Ensemble) Raw(row []float32) float64 {
	s := e.Base
	for i := range e.Trees {
		s += e.Trees[i].value(row)
	}
	return s
}

func (t *Tree) value(row []float32) float64 {
	n := &t.Nodes[0]
	for n.Left >= 0 {
		if row[n.Feature] <= n.Threshold {
			n = &t.Nodes[n.Left]
		} else {
			n = &t.Nodes[n.Right]
		}
	}
	return n.Value
}

// binner maps feature values to quantile bins: bin k holds values <= edges[k] (and above
// edges[k-1]); the last bin holds values above every edge. Edges are values from the data, so a
// split "bin <= k" is exactly "x <= edges[k]" in float32, as ONNX Runtime evaluates it.
type binner struct{ edges [][]float32 }

func newBinner(d Data, bins int) *binner {
	b := &binner{edges: make([][]float32, d.Width)}
	col := make([]float32, d.rows())
	for f := range d.Width {
		for i := range col {
			col[i] = d.X[i*d.Width+f]
		}
		slices.Sort(col)
		uniq := slices.Compact(slices.Clone(col))
		var edges []float32
		if len(uniq) <= bins {
			edges = uniq[:len(uniq)-1]
		} else {
			for q := 1; q < bins; q++ {
				v := col[q*len(col)/bins]
				if len(edges) == 0 || v > edges[len(edges)-1] {
					edges = append(edges, v)
				}
			}
			if len(edges) > 0 && edges[len(edges)-1] == col[len(col)-1] {
				edges = edges[:len(edges)-1]
			}
		}
		b.edges[f] = edges
	}
	return b
}

func (b *binner) bin(f int, v float32) uint8 {
	e := b.edges[f]
	k, _ := slices.BinarySearch(e, v) // first edge >= v
	return uint8(k)
}

// FitGBT trains gradient-boosted trees on train, early-stopping on valid. progress, when not
// nil, is called after every round. Training is deterministic: the same data and configuration
// always give the same ensemble.
func FitGBT(ctx context.Context, trainData, valid Data, cfg GBTConfig, progress func(round, total int)) (*Ensemble, error) {
	if err := trainData.check(); err != nil {
		return nil, err
	}
	if err := valid.check(); err != nil {
		return nil, err
	}
	if valid.Width != trainData.Width {
		return nil, fmt.Errorf("%w: validation width %d, training width %d", ErrData, valid.Width, trainData.Width)
	}
	if cfg.MaxTrees < 1 || cfg.Depth < 1 || cfg.Depth > 12 || cfg.LearningRate <= 0 || cfg.Bins < 2 || cfg.Bins > 256 || cfg.Lambda < 0 {
		return nil, fmt.Errorf("%w: %+v", ErrConfig, cfg)
	}
	n, w := trainData.rows(), trainData.Width
	bn := newBinner(trainData, cfg.Bins)
	binned := make([]uint8, n*w)
	for i := range n {
		for f := range w {
			binned[i*w+f] = bn.bin(f, trainData.X[i*w+f])
		}
	}
	var pos float64
	for _, y := range trainData.Y {
		pos += float64(y)
	}
	p0 := math.Min(math.Max(pos/float64(n), 1e-6), 1-1e-6)
	e := &Ensemble{Base: math.Log(p0 / (1 - p0)), Width: w}
	raw := make([]float64, n)
	for i := range raw {
		raw[i] = e.Base
	}
	vraw := make([]float64, valid.rows())
	for i := range vraw {
		vraw[i] = e.Base
	}
	grad := make([]float64, n)
	hess := make([]float64, n)
	b := &builder{cfg: cfg, bn: bn, binned: binned, w: w, grad: grad, hess: hess,
		idx: make([]int32, n), leafOf: make([]int32, n), scratch: make([]int32, 0, n), scratch2: make([]int32, 0, n)}

	best, bestLoss, since := 0, math.Inf(1), 0
	for round := range cfg.MaxTrees {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i := range n {
			p := sigmoid(raw[i])
			grad[i] = p - float64(trainData.Y[i])
			hess[i] = math.Max(p*(1-p), 1e-12)
		}
		t := b.tree()
		for i := range n {
			raw[i] += t.Nodes[b.leafOf[i]].Value
		}
		var loss float64
		for i := range vraw {
			vraw[i] += t.value(valid.X[i*w : (i+1)*w])
			loss += logLoss(vraw[i], valid.Y[i])
		}
		loss /= float64(len(vraw))
		e.Trees = append(e.Trees, t)
		e.ValidLoss = append(e.ValidLoss, loss)
		if progress != nil {
			progress(round+1, cfg.MaxTrees)
		}
		if loss < bestLoss-1e-9 {
			best, bestLoss, since = round+1, loss, 0
		} else if since++; cfg.EarlyStop > 0 && since >= cfg.EarlyStop {
			break
		}
	}
	e.Trees = e.Trees[:best]
	return e, nil
}

func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

func logLoss(raw float64, y uint8) float64 {
	// log(1+exp(-raw)) for y=1, log(1+exp(raw)) for y=0, computed stably.
	z := raw
	if y == 1 {
		z = -raw
	}
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

type histCell struct {
	g, h float64
	n    int32
}

type builder struct {
	cfg        GBTConfig
	bn         *binner
	binned     []uint8
	w          int
	grad, hess []float64
	pool       [][]histCell // spare histograms
	idx        []int32      // row indices, partitioned by node
	leafOf     []int32      // node index of each row's leaf
	scratch    []int32
	scratch2   []int32
}

type span struct {
	node       int
	start, end int // rows idx[start:end]
	depth      int
	hist       []histCell // the node's histogram, when it will be split
}

// tree grows one tree depth-first over the current gradients. A split node's smaller child gets
// its histogram from its rows; the larger child's is the parent's minus the smaller's.
func (b *builder) tree() Tree {
	n := len(b.grad)
	for i := range b.idx {
		b.idx[i] = int32(i)
	}
	t := Tree{Nodes: []TreeNode{{Left: -1, Right: -1}}}
	root := span{node: 0, start: 0, end: n}
	if b.cfg.Depth > 0 {
		root.hist = b.histogram(b.idx)
	}
	stack := []span{root}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		rows := b.idx[s.start:s.end]
		var G, H float64
		for _, r := range rows {
			G += b.grad[r]
			H += b.hess[r]
		}
		t.Nodes[s.node].Cover = float64(len(rows))
		f, k, ok := -1, 0, false
		if s.hist != nil {
			f, k, ok = b.bestSplit(s.hist, G, H)
		}
		if !ok {
			t.Nodes[s.node].Value = -G / (H + b.cfg.Lambda) * b.cfg.LearningRate
			for _, r := range rows {
				b.leafOf[r] = int32(s.node)
			}
			b.release(s.hist)
			continue
		}
		// Stable partition: rows going left keep their order, then rows going right.
		left := b.scratch[:0]
		right := b.scratch2[:0]
		for _, r := range rows {
			if int(b.binned[int(r)*b.w+f]) <= k {
				left = append(left, r)
			} else {
				right = append(right, r)
			}
		}
		copy(rows, left)
		copy(rows[len(left):], right)
		li, ri := len(t.Nodes), len(t.Nodes)+1
		t.Nodes = append(t.Nodes, TreeNode{Left: -1, Right: -1}, TreeNode{Left: -1, Right: -1})
		nd := &t.Nodes[s.node]
		nd.Feature, nd.Threshold, nd.Left, nd.Right = f, b.bn.edges[f][k], li, ri
		mid := s.start + len(left)
		ls := span{node: li, start: s.start, end: mid, depth: s.depth + 1}
		rs := span{node: ri, start: mid, end: s.end, depth: s.depth + 1}
		if s.depth+1 < b.cfg.Depth {
			small, large := &ls, &rs
			if rs.end-rs.start < ls.end-ls.start {
				small, large = &rs, &ls
			}
			small.hist = b.histogram(b.idx[small.start:small.end])
			for i := range s.hist {
				s.hist[i].g -= small.hist[i].g
				s.hist[i].h -= small.hist[i].h
				s.hist[i].n -= small.hist[i].n
			}
			large.hist = s.hist
		} else {
			b.release(s.hist)
		}
		stack = append(stack, rs, ls)
	}
	return t
}

// histogram accumulates gradient, hessian and count per feature bin over rows, in row order.
func (b *builder) histogram(rows []int32) []histCell {
	var h []histCell
	if k := len(b.pool); k > 0 {
		h, b.pool = b.pool[k-1], b.pool[:k-1]
		clear(h)
	} else {
		h = make([]histCell, b.w*b.cfg.Bins)
	}
	bins := b.cfg.Bins
	for _, r := range rows {
		g, hs := b.grad[r], b.hess[r]
		base := int(r) * b.w
		for f, bin := range b.binned[base : base+b.w] {
			c := &h[f*bins+int(bin)]
			c.g += g
			c.h += hs
			c.n++
		}
	}
	return h
}

func (b *builder) release(h []histCell) {
	if h != nil {
		b.pool = append(b.pool, h)
	}
}

// bestSplit returns the feature and bin of the best split given the node's histogram, if one
// gains anything.
func (b *builder) bestSplit(hist []histCell, G, H float64) (int, int, bool) {
	bins := b.cfg.Bins
	lambda := b.cfg.Lambda
	parent := G * G / (H + lambda)
	bestGain, bestF, bestK := 1e-9, -1, 0
	for f := range b.w {
		var gl, hl float64
		edges := len(b.bn.edges[f])
		for k := range edges {
			c := hist[f*bins+k]
			gl += c.g
			hl += c.h
			gr, hr := G-gl, H-hl
			if hl < b.cfg.MinChildWeight || hr < b.cfg.MinChildWeight {
				continue
			}
			gain := gl*gl/(hl+lambda) + gr*gr/(hr+lambda) - parent
			if gain > bestGain {
				bestGain, bestF, bestK = gain, f, k
			}
		}
	}
	return bestF, bestK, bestF >= 0
}

// ONNX exports the ensemble as TreeEnsembleRegressor (log-odds, with each node's training
// cover as its hit rate, which the explainer uses) followed by Sigmoid: input [N, Width] named
// input, output [N, 1] named output.
func (e *Ensemble) ONNX(graphName, input, output string) *onnx.Model {
	var treeIDs, nodeIDs, featIDs, trueIDs, falseIDs, wTree, wNode, wID []int64
	var values, hits, wVal []float32
	var modes []string
	for t, tr := range e.Trees {
		for i, nd := range tr.Nodes {
			treeIDs = append(treeIDs, int64(t))
			nodeIDs = append(nodeIDs, int64(i))
			hits = append(hits, float32(nd.Cover))
			if nd.Left >= 0 {
				featIDs = append(featIDs, int64(nd.Feature))
				values = append(values, nd.Threshold)
				modes = append(modes, "BRANCH_LEQ")
				trueIDs = append(trueIDs, int64(nd.Left))
				falseIDs = append(falseIDs, int64(nd.Right))
				continue
			}
			featIDs = append(featIDs, 0)
			values = append(values, 0)
			modes = append(modes, "LEAF")
			trueIDs = append(trueIDs, 0)
			falseIDs = append(falseIDs, 0)
			wTree = append(wTree, int64(t))
			wNode = append(wNode, int64(i))
			wID = append(wID, 0)
			wVal = append(wVal, float32(nd.Value))
		}
	}
	attrs := []onnx.Attribute{
		onnx.IntsAttr("nodes_treeids", treeIDs), onnx.IntsAttr("nodes_nodeids", nodeIDs),
		onnx.IntsAttr("nodes_featureids", featIDs), onnx.FloatsAttr("nodes_values", values),
		onnx.FloatsAttr("nodes_hitrates", hits), onnx.StringsAttr("nodes_modes", modes),
		onnx.IntsAttr("nodes_truenodeids", trueIDs), onnx.IntsAttr("nodes_falsenodeids", falseIDs),
		onnx.IntsAttr("target_treeids", wTree), onnx.IntsAttr("target_nodeids", wNode),
		onnx.IntsAttr("target_ids", wID), onnx.FloatsAttr("target_weights", wVal),
		onnx.IntAttr("n_targets", 1), onnx.FloatsAttr("base_values", []float32{float32(e.Base)}),
		onnx.StringAttr("aggregate_function", "SUM"), onnx.StringAttr("post_transform", "NONE"),
	}
	return &onnx.Model{
		IRVersion:    onnx.IRVersion,
		Opsets:       []onnx.Opset{{Version: onnx.OpsetVersion}, {Domain: onnx.DomainML, Version: onnx.MLOpsetVersion}},
		ProducerName: Producer,
		Graph: onnx.Graph{
			Name: graphName,
			Nodes: []onnx.Node{
				{Name: "trees", OpType: "TreeEnsembleRegressor", Domain: onnx.DomainML, Inputs: []string{input}, Outputs: []string{"log_odds"}, Attributes: attrs},
				{Name: "probability", OpType: "Sigmoid", Inputs: []string{"log_odds"}, Outputs: []string{output}},
			},
			Inputs:  []onnx.ValueInfo{onnx.FloatInput(input, int64(e.Width))},
			Outputs: []onnx.ValueInfo{onnx.FloatInput(output, 1)},
		},
	}
}

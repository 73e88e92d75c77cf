package onnx

import (
	"fmt"
	"math"
)

// Operators lists the operators the pure-Go evaluator implements, as "domain:op" for
// non-default domains.
var operators = []string{
	"Abs", "Add", "Clip", "Concat", "Div", "Exp", "Flatten", "Gemm", "Identity", "LeakyRelu", "Log",
	"MatMul", "Mul", "Neg", "Relu", "Reshape", "Sigmoid", "Softmax", "Sqrt", "Sub", "Tanh",
	DomainML + ":TreeEnsembleClassifier", DomainML + ":TreeEnsembleRegressor",
}

// Operators returns the operators the pure-Go evaluator implements ("ai.onnx.ml:..." for the
// classical-ML domain).
func Operators() []string { return append([]string(nil), operators...) }

type base struct {
	ne  *NodeError
	k   int // step index, for the Evaluator's per-step scratch
	in  []int
	out []int
}

func (b *base) node() *NodeError { return b.ne }

func compileNode(m *Model, n *Node, stepIndex int, in, out []int, consts map[int]*value, ne *NodeError) (step, error) {
	b := base{ne: ne, k: stepIndex, in: in, out: out}
	need := func(minIn, maxIn, nOut int) error {
		if len(in) < minIn || len(in) > maxIn {
			return fmt.Errorf("%w: %d inputs (want %d..%d)", ErrInvalid, len(in), minIn, maxIn)
		}
		for i := 0; i < minIn; i++ {
			if in[i] < 0 {
				return fmt.Errorf("%w: required input %d is empty", ErrInvalid, i)
			}
		}
		if len(out) < 1 || len(out) > nOut || out[0] < 0 {
			return fmt.Errorf("%w: %d outputs (want 1..%d)", ErrInvalid, len(out), nOut)
		}
		return nil
	}
	switch n.Domain {
	case "", "ai.onnx":
	case DomainML:
		if v := m.OpsetVersionOf(DomainML); v < minMLOpset || v > maxMLOpset {
			return nil, fmt.Errorf("%w: %s operator set version %d (want %d..%d)", ErrUnsupported, DomainML, v, minMLOpset, maxMLOpset)
		}
		switch n.OpType {
		case "TreeEnsembleRegressor":
			if err := need(1, 1, 1); err != nil {
				return nil, err
			}
			return compileTrees(b, n, false)
		case "TreeEnsembleClassifier":
			if err := need(1, 1, 2); err != nil {
				return nil, err
			}
			return compileTrees(b, n, true)
		}
		return nil, fmt.Errorf("%w: operator %s:%s", ErrUnsupported, n.Domain, n.OpType)
	default:
		return nil, fmt.Errorf("%w: operator domain %q", ErrUnsupported, n.Domain)
	}
	switch n.OpType {
	case "Add", "Sub", "Mul", "Div":
		if err := need(2, 2, 1); err != nil {
			return nil, err
		}
		return &binaryOp{base: b, op: binaryCodes[n.OpType]}, nil
	case "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Abs", "Neg", "Sqrt":
		if err := need(1, 1, 1); err != nil {
			return nil, err
		}
		return &unaryOp{base: b, f: unaryFuncs[n.OpType]}, nil
	case "LeakyRelu":
		if err := need(1, 1, 1); err != nil {
			return nil, err
		}
		alpha := float32(0.01)
		if a := n.Attr("alpha"); a != nil {
			alpha = a.F
		}
		return &unaryOp{base: b, f: func(x float32) float32 {
			if x < 0 {
				return alpha * x
			}
			return x
		}}, nil
	case "Identity":
		if err := need(1, 1, 1); err != nil {
			return nil, err
		}
		return &reshapeOp{base: b, kind: "Identity"}, nil
	case "Flatten":
		if err := need(1, 1, 1); err != nil {
			return nil, err
		}
		axis := int64(1)
		if a := n.Attr("axis"); a != nil {
			axis = a.I
		}
		return &reshapeOp{base: b, kind: "Flatten", axis: int(axis)}, nil
	case "Reshape":
		if err := need(2, 2, 1); err != nil {
			return nil, err
		}
		c, ok := consts[in[1]]
		if !ok || c.typ != Int64 || len(c.dims) != 1 {
			return nil, fmt.Errorf("%w: Reshape needs a constant 1-D INT64 shape", ErrUnsupported)
		}
		if a := n.Attr("allowzero"); a != nil && a.I != 0 {
			return nil, fmt.Errorf("%w: Reshape allowzero=1", ErrUnsupported)
		}
		return &reshapeOp{base: b, kind: "Reshape", shape: c.i}, nil
	case "MatMul":
		if err := need(2, 2, 1); err != nil {
			return nil, err
		}
		return &gemmOp{base: b, alpha: 1, beta: 0, matmul: true}, nil
	case "Gemm":
		if err := need(2, 3, 1); err != nil {
			return nil, err
		}
		g := &gemmOp{base: b, alpha: 1, beta: 1}
		if a := n.Attr("alpha"); a != nil {
			g.alpha = a.F
		}
		if a := n.Attr("beta"); a != nil {
			g.beta = a.F
		}
		if a := n.Attr("transA"); a != nil {
			g.transA = a.I != 0
		}
		if a := n.Attr("transB"); a != nil {
			g.transB = a.I != 0
		}
		return g, nil
	case "Softmax":
		if err := need(1, 1, 1); err != nil {
			return nil, err
		}
		axis := int64(-1)
		if a := n.Attr("axis"); a != nil {
			axis = a.I
		}
		return &softmaxOp{base: b, axis: int(axis)}, nil
	case "Concat":
		if len(in) < 1 || len(out) != 1 {
			return nil, fmt.Errorf("%w: Concat needs inputs and one output", ErrInvalid)
		}
		for _, s := range in {
			if s < 0 {
				return nil, fmt.Errorf("%w: Concat with an empty input", ErrInvalid)
			}
		}
		a := n.Attr("axis")
		if a == nil {
			return nil, fmt.Errorf("%w: Concat without axis", ErrInvalid)
		}
		return &concatOp{base: b, axis: int(a.I)}, nil
	case "Clip":
		if err := need(1, 3, 1); err != nil {
			return nil, err
		}
		return &clipOp{base: b}, nil
	}
	return nil, fmt.Errorf("%w: operator %s", ErrUnsupported, n.OpType)
}

// --- elementwise ------------------------------------------------------------------------------

var unaryFuncs = map[string]func(float32) float32{
	"Relu": func(x float32) float32 {
		if x < 0 {
			return 0
		}
		return x
	},
	"Sigmoid": sigmoid,
	"Tanh":    func(x float32) float32 { return float32(math.Tanh(float64(x))) },
	"Exp":     func(x float32) float32 { return float32(math.Exp(float64(x))) },
	"Log":     logf,
	"Abs":     func(x float32) float32 { return float32(math.Abs(float64(x))) },
	"Neg":     func(x float32) float32 { return -x },
	"Sqrt":    func(x float32) float32 { return float32(math.Sqrt(float64(x))) },
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// logf is the natural logarithm of a float32: x = m·2^e with m in [√½, √2), and
// log m = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + …) with s = (m-1)/(m+1), |s| < 0.172, so five terms
// leave an error below 1e-9, far inside float32. Zero, negative, subnormal, infinite and NaN
// inputs take math.Log's path.
func logf(x float32) float32 {
	bits := math.Float32bits(x)
	if bits-0x00800000 >= 0x7f800000-0x00800000 { // not a positive normal number
		return float32(math.Log(float64(x)))
	}
	e := int32(bits>>23) - 127
	m := float64(math.Float32frombits(bits&0x007fffff | 0x3f800000)) // [1, 2)
	if m > math.Sqrt2 {
		m *= 0.5
		e++
	}
	s := (m - 1) / (m + 1)
	s2 := s * s
	p := s * (2 + s2*(2.0/3+s2*(2.0/5+s2*(2.0/7+s2*(2.0/9)))))
	return float32(p + float64(e)*math.Ln2)
}

type unaryOp struct {
	base
	f func(float32) float32
}

func (o *unaryOp) run(e *Evaluator) error {
	x, err := e.floatIn(o.in[0])
	if err != nil {
		return err
	}
	y := e.floatOut(o.out[0], x.dims...)
	for i, v := range x.f {
		y[i] = o.f(v)
	}
	return nil
}

type binaryOp struct {
	base
	op uint8
}

const (
	opAdd uint8 = iota
	opSub
	opMul
	opDiv
)

var binaryCodes = map[string]uint8{"Add": opAdd, "Sub": opSub, "Mul": opMul, "Div": opDiv}

func (o *binaryOp) apply(a, b float32) float32 {
	switch o.op {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	}
	return a / b
}

// binaryLoop computes y[i] = a[i] op b[i]; the operator switch sits outside the loops.
func binaryLoop(op uint8, y, a, b []float32) {
	b = b[:len(y)]
	a = a[:len(y)]
	switch op {
	case opAdd:
		for i := range y {
			y[i] = a[i] + b[i]
		}
	case opSub:
		for i := range y {
			y[i] = a[i] - b[i]
		}
	case opMul:
		for i := range y {
			y[i] = a[i] * b[i]
		}
	default:
		for i := range y {
			y[i] = a[i] / b[i]
		}
	}
}

// scalarLoop computes y[i] = a[i] op k, or k op a[i] when kFirst.
func scalarLoop(op uint8, y, a []float32, k float32, kFirst bool) {
	a = a[:len(y)]
	switch {
	case op == opAdd:
		for i := range y {
			y[i] = a[i] + k
		}
	case op == opMul:
		for i := range y {
			y[i] = a[i] * k
		}
	case op == opSub && !kFirst:
		for i := range y {
			y[i] = a[i] - k
		}
	case op == opSub:
		for i := range y {
			y[i] = k - a[i]
		}
	case !kFirst:
		for i := range y {
			y[i] = a[i] / k
		}
	default:
		for i := range y {
			y[i] = k / a[i]
		}
	}
}

func (o *binaryOp) run(e *Evaluator) error {
	a, err := e.floatIn(o.in[0])
	if err != nil {
		return err
	}
	b, err := e.floatIn(o.in[1])
	if err != nil {
		return err
	}
	dims, err := broadcastDims(e.ints(o.k, 0, max(len(a.dims), len(b.dims))), a.dims, b.dims)
	if err != nil {
		return err
	}
	if err := checkSize(dims); err != nil {
		return err
	}
	// a or b may alias the output slot's old buffer only if they are the same slot, which Compile
	// forbids; reading them while writing the output is therefore safe.
	y := e.floatOut(o.out[0], dims...)
	na, nb := len(a.f), len(b.f)
	switch {
	case len(y) == 0:
	case na == len(y) && nb == len(y):
		binaryLoop(o.op, y, a.f, b.f)
	case nb == 1:
		scalarLoop(o.op, y, a.f, b.f[0], false)
	case na == 1:
		scalarLoop(o.op, y, b.f, a.f[0], true)
	case na == len(y) && trailing(b.dims, dims):
		for off := 0; off < len(y); off += nb {
			binaryLoop(o.op, y[off:off+nb], a.f[off:off+nb], b.f)
		}
	case nb == len(y) && trailing(a.dims, dims):
		// y = a op b with a repeating: compute per block with a first.
		for off := 0; off < len(y); off += na {
			yb, bb := y[off:off+na], b.f[off:off+na]
			for i := range yb {
				yb[i] = o.apply(a.f[i], bb[i])
			}
		}
	default:
		o.general(e, y, dims, a, b)
	}
	return nil
}

// trailing reports whether small, after dropping leading 1s, equals the trailing dims of full.
func trailing(small, full []int) bool {
	for len(small) > 0 && small[0] == 1 {
		small = small[1:]
	}
	if len(small) > len(full) {
		return false
	}
	off := len(full) - len(small)
	for i, d := range small {
		if full[off+i] != d {
			return false
		}
	}
	return true
}

func (o *binaryOp) general(e *Evaluator, y []float32, dims []int, a, b *value) {
	r := len(dims)
	sa, sb := bstrides(e.ints(o.k, 1, r), a.dims), bstrides(e.ints(o.k, 2, r), b.dims)
	idx := e.ints(o.k, 3, r)
	ia, ib := 0, 0
	for i := range y {
		y[i] = o.apply(a.f[ia], b.f[ib])
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			ia += sa[k]
			ib += sb[k]
			if idx[k] < dims[k] {
				break
			}
			ia -= sa[k] * dims[k]
			ib -= sb[k] * dims[k]
			idx[k] = 0
		}
	}
}

// bstrides fills s with the strides of dims right-aligned to rank len(s), with 0 for broadcast
// dimensions, and returns it.
func bstrides(s []int, dims []int) []int {
	r := len(s)
	stride := 1
	for k := len(dims) - 1; k >= 0; k-- {
		pos := r - len(dims) + k
		if dims[k] != 1 {
			s[pos] = stride
		}
		stride *= dims[k]
	}
	return s
}

// broadcastDims fills out (of rank max(len(a), len(b))) with the broadcast shape of a and b.
func broadcastDims(out []int, a, b []int) ([]int, error) {
	r := len(out)
	for k := 0; k < r; k++ {
		da, db := 1, 1
		if i := k - (r - len(a)); i >= 0 {
			da = a[i]
		}
		if i := k - (r - len(b)); i >= 0 {
			db = b[i]
		}
		switch {
		case da == db, db == 1:
			out[k] = da
		case da == 1:
			out[k] = db
		default:
			return nil, fmt.Errorf("%w: cannot broadcast %v with %v", ErrShape, a, b)
		}
	}
	return out, nil
}

type clipOp struct{ base }

func (o *clipOp) run(e *Evaluator) error {
	x, err := e.floatIn(o.in[0])
	if err != nil {
		return err
	}
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	for k, dst := range []*float32{&lo, &hi} {
		if len(o.in) > k+1 && o.in[k+1] >= 0 {
			v, err := e.floatIn(o.in[k+1])
			if err != nil {
				return err
			}
			if len(v.f) != 1 {
				return fmt.Errorf("%w: Clip bound must be a scalar", ErrShape)
			}
			*dst = v.f[0]
		}
	}
	y := e.floatOut(o.out[0], x.dims...)
	for i, v := range x.f {
		y[i] = min(max(v, lo), hi)
	}
	return nil
}

// --- shape-only operators ----------------------------------------------------------------------

type reshapeOp struct {
	base
	kind  string
	axis  int
	shape []int64
}

func (o *reshapeOp) run(e *Evaluator) error {
	x := &e.vals[o.in[0]]
	switch o.kind {
	case "Identity":
		e.alias(o.out[0], x, x.dims)
	case "Flatten":
		axis := o.axis
		if axis < 0 {
			axis += len(x.dims)
		}
		if axis < 0 || axis > len(x.dims) {
			return fmt.Errorf("%w: Flatten axis %d for rank %d", ErrShape, o.axis, len(x.dims))
		}
		outer, inner := 1, 1
		for i, d := range x.dims {
			if i < axis {
				outer *= d
			} else {
				inner *= d
			}
		}
		dims := e.ints(o.k, 0, 2)
		dims[0], dims[1] = outer, inner
		e.alias(o.out[0], x, dims)
	case "Reshape":
		dims := e.ints(o.k, 0, len(o.shape))[:0]
		infer := -1
		known := 1
		for i, s := range o.shape {
			switch {
			case s == 0:
				if i >= len(x.dims) {
					return fmt.Errorf("%w: Reshape copies dim %d of rank-%d input", ErrShape, i, len(x.dims))
				}
				dims = append(dims, x.dims[i])
				known *= x.dims[i]
			case s == -1:
				if infer >= 0 {
					return fmt.Errorf("%w: Reshape with two -1 dims", ErrShape)
				}
				infer = i
				dims = append(dims, 1)
			case s > 0:
				dims = append(dims, int(s))
				known *= int(s)
			default:
				return fmt.Errorf("%w: Reshape dim %d", ErrShape, s)
			}
		}
		n := x.size()
		if infer >= 0 {
			if known == 0 || n%known != 0 {
				return fmt.Errorf("%w: Reshape %v to %v", ErrShape, x.dims, o.shape)
			}
			dims[infer] = n / known
		} else if known != n {
			return fmt.Errorf("%w: Reshape %v to %v", ErrShape, x.dims, o.shape)
		}
		e.alias(o.out[0], x, dims)
	}
	return nil
}

type concatOp struct {
	base
	axis int
}

func (o *concatOp) run(e *Evaluator) error {
	first, err := e.floatIn(o.in[0])
	if err != nil {
		return err
	}
	r := len(first.dims)
	axis := o.axis
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return fmt.Errorf("%w: Concat axis %d for rank %d", ErrShape, o.axis, r)
	}
	dims := e.ints(o.k, 0, r)
	copy(dims, first.dims)
	dims[axis] = 0
	for _, s := range o.in {
		v, err := e.floatIn(s)
		if err != nil {
			return err
		}
		if len(v.dims) != r {
			return fmt.Errorf("%w: Concat of ranks %d and %d", ErrShape, r, len(v.dims))
		}
		for k := range r {
			if k != axis && v.dims[k] != first.dims[k] {
				return fmt.Errorf("%w: Concat of %v and %v on axis %d", ErrShape, first.dims, v.dims, axis)
			}
		}
		dims[axis] += v.dims[axis]
	}
	if err := checkSize(dims); err != nil {
		return err
	}
	outer := 1
	for _, d := range dims[:axis] {
		outer *= d
	}
	y := e.floatOut(o.out[0], dims...)
	off := 0
	for i := range outer {
		for _, s := range o.in {
			v := &e.vals[s]
			chunk := v.size() / max(outer, 1)
			off += copy(y[off:], v.f[i*chunk:(i+1)*chunk])
		}
	}
	return nil
}

// --- linear algebra -----------------------------------------------------------------------------

// gemmOp implements Gemm (Y = alpha*A'*B' + beta*C) and MatMul (A of rank >= 2 times a 2-D B).
type gemmOp struct {
	base
	alpha, beta    float32
	transA, transB bool
	matmul         bool
}

func (o *gemmOp) run(e *Evaluator) error {
	a, err := e.floatIn(o.in[0])
	if err != nil {
		return err
	}
	b, err := e.floatIn(o.in[1])
	if err != nil {
		return err
	}
	if len(b.dims) != 2 {
		return fmt.Errorf("%w: B of rank %d (want 2)", ErrUnsupported, len(b.dims))
	}
	var m, k int
	var outDims []int
	if o.matmul {
		if len(a.dims) < 2 {
			return fmt.Errorf("%w: MatMul A of rank %d (want >= 2)", ErrUnsupported, len(a.dims))
		}
		k = a.dims[len(a.dims)-1]
		m = a.size() / max(k, 1)
		if k == 0 {
			m = 1
			for _, d := range a.dims[:len(a.dims)-1] {
				m *= d
			}
		}
		outDims = e.ints(o.k, 0, len(a.dims))
		copy(outDims, a.dims)
	} else {
		if len(a.dims) != 2 {
			return fmt.Errorf("%w: Gemm A of rank %d (want 2)", ErrShape, len(a.dims))
		}
		m, k = a.dims[0], a.dims[1]
		if o.transA {
			m, k = k, m
		}
		outDims = e.ints(o.k, 0, 2)
		outDims[0] = m
	}
	kb, n := b.dims[0], b.dims[1]
	if o.transB {
		kb, n = n, kb
	}
	if kb != k {
		return fmt.Errorf("%w: A %v times B %v", ErrShape, a.dims, b.dims)
	}
	outDims[len(outDims)-1] = n
	if err := checkSize(outDims); err != nil {
		return err
	}
	y := e.floatOut(o.out[0], outDims...)

	// Bias first (beta*C broadcast to [m, n]), then accumulate alpha*A*B row by row.
	clear(y)
	if !o.matmul && len(o.in) > 2 && o.in[2] >= 0 && o.beta != 0 {
		c, err := e.floatIn(o.in[2])
		if err != nil {
			return err
		}
		if err := broadcastBias(y, m, n, c, o.beta); err != nil {
			return err
		}
	}
	if n == 1 && !o.transA && !o.transB {
		// One output column: a dot product per row.
		for i := range m {
			row := a.f[i*k : (i+1)*k]
			var s float32
			for p, av := range row {
				s += av * b.f[p]
			}
			y[i] += o.alpha * s
		}
		return nil
	}
	for i := range m {
		row := y[i*n : (i+1)*n]
		for p := range k {
			var av float32
			if o.transA {
				av = a.f[p*m+i]
			} else {
				av = a.f[i*k+p]
			}
			if av == 0 {
				continue
			}
			av *= o.alpha
			if o.transB {
				for j := range row {
					row[j] += av * b.f[j*k+p]
				}
			} else {
				brow := b.f[p*n : (p+1)*n]
				for j, bv := range brow {
					row[j] += av * bv
				}
			}
		}
	}
	return nil
}

func broadcastBias(y []float32, m, n int, c *value, beta float32) error {
	cm, cn := 1, 1
	switch len(c.dims) {
	case 0:
	case 1:
		cn = c.dims[0]
	case 2:
		cm, cn = c.dims[0], c.dims[1]
	default:
		return fmt.Errorf("%w: Gemm C of rank %d", ErrShape, len(c.dims))
	}
	if (cm != 1 && cm != m) || (cn != 1 && cn != n) {
		return fmt.Errorf("%w: Gemm C %v for output [%d %d]", ErrShape, c.dims, m, n)
	}
	for i := range m {
		ci := 0
		if cm != 1 {
			ci = i
		}
		for j := range n {
			cj := 0
			if cn != 1 {
				cj = j
			}
			y[i*n+j] = beta * c.f[ci*cn+cj]
		}
	}
	return nil
}

type softmaxOp struct {
	base
	axis int
}

func (o *softmaxOp) run(e *Evaluator) error {
	x, err := e.floatIn(o.in[0])
	if err != nil {
		return err
	}
	r := len(x.dims)
	axis := o.axis
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return fmt.Errorf("%w: Softmax axis %d for rank %d", ErrShape, o.axis, r)
	}
	outer, inner := 1, 1
	for i, d := range x.dims {
		if i < axis {
			outer *= d
		} else if i > axis {
			inner *= d
		}
	}
	n := x.dims[axis]
	y := e.floatOut(o.out[0], x.dims...)
	for oi := range outer {
		for ii := range inner {
			at := func(j int) int { return (oi*n+j)*inner + ii }
			mx := float32(math.Inf(-1))
			for j := range n {
				mx = max(mx, x.f[at(j)])
			}
			var sum float64
			for j := range n {
				v := math.Exp(float64(x.f[at(j)] - mx))
				y[at(j)] = float32(v)
				sum += v
			}
			for j := range n {
				y[at(j)] = float32(float64(y[at(j)]) / sum)
			}
		}
	}
	return nil
}

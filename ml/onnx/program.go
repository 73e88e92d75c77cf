package onnx

import (
	"fmt"
)

// Operator-set versions whose semantics the evaluator implements for its operator subset. Later
// versions of these operators only widened their type lists.
const (
	minOpset   = 13
	maxOpset   = 21
	minMLOpset = 1
	maxMLOpset = 4
)

// Program is a compiled graph: the pure-Go evaluator's form of a [Model]. A Program is immutable
// and safe for concurrent use; each goroutine runs it through its own [Evaluator].
type Program struct {
	inputs  []port
	outputs []port
	consts  map[int]*value
	steps   []step
	nslots  int
}

// port is a graph input or output: its slot and declared shape (-1 for a symbolic dimension).
type port struct {
	name string
	slot int
	typ  DataType
	dims []int
}

// value is a tensor during evaluation: float32 or int64 data, row-major.
type value struct {
	dims []int
	f    []float32
	i    []int64
	typ  DataType
}

func (v *value) size() int {
	n := 1
	for _, d := range v.dims {
		n *= d
	}
	return n
}

type step interface {
	run(e *Evaluator) error
	node() *NodeError
}

// Compile checks m against the evaluator's operator subset and returns its Program. Errors wrap
// [ErrInvalid] or [ErrUnsupported] (as a [*NodeError] when a node is at fault).
func Compile(m *Model) (*Program, error) {
	if v := m.OpsetVersionOf(""); v < minOpset || v > maxOpset {
		return nil, fmt.Errorf("%w: default operator set version %d (want %d..%d)", ErrUnsupported, v, minOpset, maxOpset)
	}
	g := &m.Graph
	p := &Program{consts: map[int]*value{}}
	slots := map[string]int{}
	newSlot := func(name string) int {
		s := p.nslots
		p.nslots++
		slots[name] = s
		return s
	}
	for i := range g.Initializers {
		t := &g.Initializers[i]
		if t.Name == "" {
			return nil, fmt.Errorf("%w: initializer %d has no name", ErrInvalid, i)
		}
		if _, dup := slots[t.Name]; dup {
			return nil, fmt.Errorf("%w: initializer %q defined twice", ErrInvalid, t.Name)
		}
		v, err := constValue(t)
		if err != nil {
			return nil, err
		}
		p.consts[newSlot(t.Name)] = v
	}
	for _, in := range g.Inputs {
		if _, isConst := slots[in.Name]; isConst {
			continue // an initializer listed as input: its default value is used
		}
		if in.Name == "" {
			return nil, fmt.Errorf("%w: graph input without a name", ErrInvalid)
		}
		if in.ElemType != Float && in.ElemType != Int64 {
			return nil, fmt.Errorf("%w: input %q of type %s", ErrUnsupported, in.Name, in.ElemType)
		}
		p.inputs = append(p.inputs, port{name: in.Name, slot: newSlot(in.Name), typ: in.ElemType, dims: portDims(in.Shape)})
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		ne := &NodeError{Node: n.Name, OpType: n.OpType}
		if ne.Node == "" {
			ne.Node = fmt.Sprintf("#%d", i)
		}
		in := make([]int, len(n.Inputs))
		for j, name := range n.Inputs {
			if name == "" {
				in[j] = -1
				continue
			}
			s, ok := slots[name]
			if !ok {
				ne.Err = fmt.Errorf("%w: input %q is not defined before the node", ErrInvalid, name)
				return nil, ne
			}
			in[j] = s
		}
		out := make([]int, len(n.Outputs))
		for j, name := range n.Outputs {
			if name == "" {
				out[j] = -1
				continue
			}
			if _, dup := slots[name]; dup {
				ne.Err = fmt.Errorf("%w: output %q is already defined", ErrInvalid, name)
				return nil, ne
			}
			out[j] = newSlot(name)
		}
		st, err := compileNode(m, n, len(p.steps), in, out, p.consts, ne)
		if err != nil {
			if ne.Err == nil {
				ne.Err = err
			}
			return nil, ne
		}
		p.steps = append(p.steps, st)
	}
	if len(g.Outputs) == 0 {
		return nil, fmt.Errorf("%w: graph has no outputs", ErrInvalid)
	}
	for _, o := range g.Outputs {
		s, ok := slots[o.Name]
		if !ok {
			return nil, fmt.Errorf("%w: output %q is not produced by the graph", ErrInvalid, o.Name)
		}
		p.outputs = append(p.outputs, port{name: o.Name, slot: s, typ: o.ElemType, dims: portDims(o.Shape)})
	}
	return p, nil
}

func portDims(shape []Dim) []int {
	if shape == nil {
		return nil
	}
	d := make([]int, len(shape))
	for i, s := range shape {
		if s.Param != "" || s.Value <= 0 {
			d[i] = -1
		} else {
			d[i] = int(s.Value)
		}
	}
	return d
}

func constValue(t *Tensor) (*value, error) {
	n := t.Len()
	if n < 0 {
		return nil, fmt.Errorf("%w: tensor %q has invalid dims %v", ErrInvalid, t.Name, t.Dims)
	}
	v := &value{dims: make([]int, len(t.Dims)), typ: t.DataType}
	for i, d := range t.Dims {
		v.dims[i] = int(d)
	}
	switch t.DataType {
	case Float:
		if len(t.Floats) != n {
			return nil, fmt.Errorf("%w: tensor %q has %d floats for dims %v", ErrInvalid, t.Name, len(t.Floats), t.Dims)
		}
		v.f = t.Floats
	case Int64:
		if len(t.Int64s) != n {
			return nil, fmt.Errorf("%w: tensor %q has %d int64s for dims %v", ErrInvalid, t.Name, len(t.Int64s), t.Dims)
		}
		v.i = t.Int64s
	default:
		return nil, fmt.Errorf("%w: tensor %q of type %s", ErrUnsupported, t.Name, t.DataType)
	}
	return v, nil
}

// InputNames returns the names of the graph inputs Run expects, in order.
func (p *Program) InputNames() []string {
	names := make([]string, len(p.inputs))
	for i, in := range p.inputs {
		names[i] = in.name
	}
	return names
}

// OutputNames returns the names of the graph outputs Run returns, in order.
func (p *Program) OutputNames() []string {
	names := make([]string, len(p.outputs))
	for i, o := range p.outputs {
		names[i] = o.name
	}
	return names
}

// Evaluator runs a [Program]. It owns the buffers of intermediate values and reuses them across
// calls, so steady-state runs do not allocate. An Evaluator is not safe for concurrent use.
// Create it with [Program.NewEvaluator]; the zero value's Run returns [ErrNotConstructed].
type Evaluator struct {
	p    *Program
	vals []value
	outs []Tensor
	// per-step scratch: ints[step][k] is the k-th small int buffer of that step
	intBuf [][4][]int
	// per-step float scratch (tree ensembles accumulate here)
	floatBuf [][]float32
}

// NewEvaluator returns an Evaluator for p.
func (p *Program) NewEvaluator() *Evaluator {
	e := &Evaluator{p: p, vals: make([]value, p.nslots), outs: make([]Tensor, len(p.outputs)),
		intBuf: make([][4][]int, len(p.steps)), floatBuf: make([][]float32, len(p.steps))}
	for s, c := range p.consts {
		e.vals[s] = *c
	}
	return e
}

// Run evaluates the graph on inputs, given in the order of [Program.InputNames] (Name is ignored;
// Dims and the data slice matching the input's type are read). The returned tensors, in the
// order of [Program.OutputNames], use memory owned by the Evaluator (or, for outputs that are
// inputs passed through, the caller's): they are valid until the next call to Run.
// Errors wrap [ErrShape] for inputs that do not fit the graph.
func (e *Evaluator) Run(inputs []Tensor) ([]Tensor, error) {
	p := e.p
	if p == nil {
		return nil, ErrNotConstructed
	}
	if len(inputs) != len(p.inputs) {
		return nil, fmt.Errorf("%w: %d inputs, graph has %d", ErrShape, len(inputs), len(p.inputs))
	}
	for k, in := range p.inputs {
		t := &inputs[k]
		v := &e.vals[in.slot]
		if in.dims != nil && len(t.Dims) != len(in.dims) {
			return nil, fmt.Errorf("%w: input %q has rank %d, want %d", ErrShape, in.name, len(t.Dims), len(in.dims))
		}
		v.dims = v.dims[:0]
		n := 1
		for i, d := range t.Dims {
			if d < 0 || (in.dims != nil && in.dims[i] >= 0 && int(d) != in.dims[i]) {
				return nil, fmt.Errorf("%w: input %q has dims %v, want %v", ErrShape, in.name, t.Dims, in.dims)
			}
			v.dims = append(v.dims, int(d))
			n *= int(d)
		}
		v.typ = in.typ
		switch in.typ {
		case Float:
			if len(t.Floats) < n {
				return nil, fmt.Errorf("%w: input %q has %d floats for dims %v", ErrShape, in.name, len(t.Floats), t.Dims)
			}
			v.f = t.Floats[:n]
		case Int64:
			if len(t.Int64s) < n {
				return nil, fmt.Errorf("%w: input %q has %d int64s for dims %v", ErrShape, in.name, len(t.Int64s), t.Dims)
			}
			v.i = t.Int64s[:n]
		}
	}
	for _, st := range p.steps {
		if err := st.run(e); err != nil {
			ne := st.node()
			return nil, &NodeError{Node: ne.Node, OpType: ne.OpType, Err: err}
		}
	}
	for k, o := range p.outputs {
		v := &e.vals[o.slot]
		t := &e.outs[k]
		t.Name = o.name
		t.DataType = v.typ
		t.Dims = t.Dims[:0]
		for _, d := range v.dims {
			t.Dims = append(t.Dims, int64(d))
		}
		t.Floats, t.Int64s = nil, nil
		if v.typ == Int64 {
			t.Int64s = v.i
		} else {
			t.Floats = v.f
		}
	}
	return e.outs, nil
}

// ints returns the k-th int scratch buffer of step, zeroed, with length n.
func (e *Evaluator) ints(step, k, n int) []int {
	b := e.intBuf[step][k]
	if cap(b) < n {
		b = make([]int, n)
		e.intBuf[step][k] = b
	}
	b = b[:n]
	clear(b)
	return b
}

// floatScratch returns the float scratch buffer of step with length n (contents unspecified).
func (e *Evaluator) floatScratch(step, n int) []float32 {
	b := e.floatBuf[step]
	if cap(b) < n {
		b = make([]float32, n)
		e.floatBuf[step] = b
	}
	return b[:n]
}

// MaxElements bounds the size of any value computed while running a graph (64 Mi elements), so
// a hostile model cannot make an operator chain allocate without limit.
const MaxElements = 1 << 26

func checkSize(dims []int) error {
	n := 1
	for _, d := range dims {
		if d < 0 || (d > 0 && n > MaxElements/d) {
			return fmt.Errorf("%w: value of dims %v exceeds %d elements", ErrShape, dims, MaxElements)
		}
		n *= d
	}
	return nil
}

// floatOut sizes slot s as a float tensor of dims (reusing its buffer) and returns its data.
func (e *Evaluator) floatOut(s int, dims ...int) []float32 {
	v := &e.vals[s]
	v.typ = Float
	v.dims = append(v.dims[:0], dims...)
	n := 1
	for _, d := range dims {
		n *= d
	}
	if cap(v.f) < n {
		v.f = make([]float32, n)
	}
	v.f = v.f[:n]
	return v.f
}

// int64Out sizes slot s as an int64 tensor of dims and returns its data.
func (e *Evaluator) int64Out(s int, dims ...int) []int64 {
	v := &e.vals[s]
	v.typ = Int64
	v.dims = append(v.dims[:0], dims...)
	n := 1
	for _, d := range dims {
		n *= d
	}
	if cap(v.i) < n {
		v.i = make([]int64, n)
	}
	v.i = v.i[:n]
	return v.i
}

// alias makes slot s share the data of v with new dims (for shape-only operators).
func (e *Evaluator) alias(s int, v *value, dims []int) {
	o := &e.vals[s]
	o.typ = v.typ
	o.f, o.i = v.f, v.i
	o.dims = append(o.dims[:0], dims...)
}

// floatIn returns the float value in slot s or an error naming the problem.
func (e *Evaluator) floatIn(s int) (*value, error) {
	v := &e.vals[s]
	if v.typ != Float {
		return nil, fmt.Errorf("%w: input of type %s, want FLOAT", ErrUnsupported, v.typ)
	}
	return v, nil
}

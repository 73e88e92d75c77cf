package ml

import (
	"fmt"
	"sync"

	"github.com/anya-org/anya-go/ml/onnx"
)

// Backend runs models. The SDK has two: [NewORTBackend] (ONNX Runtime through cgo) and
// [NewGoBackend] (the pure-Go evaluator of package onnx). mltest.RunBackend is the conformance
// suite every Backend must pass.
//
// Contract:
//   - NewSession MUST be safe for concurrent use, and MUST return an error wrapping
//     [ErrBackend] or [onnx.ErrUnsupported] (never panic) for a model it cannot run.
//   - A Session is used by one goroutine at a time; different sessions of one backend MUST be
//     usable concurrently.
//   - Session.Run(x, rows, scores) reads rows*Width floats of x (row-major) and writes one score
//     per row into scores[:rows]: column Output.Index of the model's output. It MUST NOT keep x
//     or scores after returning, and MUST give the same scores for a row regardless of the batch
//     it is in (within 1e-6).
//   - Close (of a Session or the Backend) MUST be idempotent. A closed Backend returns errors
//     wrapping [ErrClosed] from NewSession; sessions are closed before their backend.
type Backend interface {
	// Name identifies the backend: "ort" or "go" for the SDK's own.
	Name() string
	// NewSession prepares m for inference.
	NewSession(m *Model) (Session, error)
	// Close releases the backend.
	Close() error
}

// Session is a model prepared for inference by a [Backend].
type Session interface {
	// Run scores rows input rows of x into scores.
	Run(x []float32, rows int, scores []float32) error
	// Close releases the session.
	Close() error
}

// GoBackend runs models with the pure-Go evaluator of package onnx. It needs no cgo and no
// shared library, supports the operator subset listed by [onnx.Operators], and agrees with ONNX
// Runtime within 1e-5 on the SDK's models. The zero value is a usable backend, as
// [NewGoBackend] returns.
type GoBackend struct {
	mu     sync.Mutex
	closed bool
}

var _ Backend = (*GoBackend)(nil)

// NewGoBackend returns a pure-Go backend.
func NewGoBackend() *GoBackend { return &GoBackend{} }

// Name returns "go".
func (b *GoBackend) Name() string { return "go" }

// NewSession compiles m for the pure-Go evaluator.
func (b *GoBackend) NewSession(m *Model) (Session, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("ml: go backend: %w", ErrClosed)
	}
	if m == nil {
		return nil, fmt.Errorf("%w: go backend: nil model", ErrBackend)
	}
	prog, err := m.Program()
	if err != nil {
		return nil, fmt.Errorf("%w: go backend: %s: %w", ErrBackend, m.ID(), err)
	}
	man := &m.manifest
	inputs := prog.InputNames()
	if len(inputs) != 1 || inputs[0] != man.Input.Name {
		return nil, fmt.Errorf("%w: go backend: %s: graph inputs %v, want only %q", ErrBackend, m.ID(), inputs, man.Input.Name)
	}
	out := -1
	for i, n := range prog.OutputNames() {
		if n == man.Output.Name {
			out = i
		}
	}
	if out < 0 {
		return nil, fmt.Errorf("%w: go backend: %s: no output %q", ErrBackend, m.ID(), man.Output.Name)
	}
	s := &goSession{ev: prog.NewEvaluator(), width: m.Width(), out: out, col: man.Output.Index}
	s.in = []onnx.Tensor{{DataType: onnx.Float, Dims: []int64{0, int64(s.width)}}}
	return s, nil
}

// Close marks the backend closed; later NewSession calls fail. Idempotent.
func (b *GoBackend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

type goSession struct {
	ev     *onnx.Evaluator
	in     []onnx.Tensor
	width  int
	out    int
	col    int
	closed bool
}

func (s *goSession) Run(x []float32, rows int, scores []float32) error {
	if s.closed {
		return fmt.Errorf("ml: go session: %w", ErrClosed)
	}
	if rows < 1 || len(x) < rows*s.width || len(scores) < rows {
		return fmt.Errorf("%w: go session: %d rows of %d features into %d scores from %d values", ErrBackend, rows, s.width, len(scores), len(x))
	}
	s.in[0].Dims[0] = int64(rows)
	s.in[0].Floats = x[:rows*s.width]
	outs, err := s.ev.Run(s.in)
	s.in[0].Floats = nil
	if err != nil {
		return fmt.Errorf("%w: go session: %w", ErrBackend, err)
	}
	y := outs[s.out]
	k := len(y.Floats) / rows
	if len(y.Floats) != rows*k || s.col >= k {
		return fmt.Errorf("%w: go session: output of %d values for %d rows, score column %d", ErrBackend, len(y.Floats), rows, s.col)
	}
	if k == 1 {
		copy(scores[:rows], y.Floats)
		return nil
	}
	for r := range rows {
		scores[r] = y.Floats[r*k+s.col]
	}
	return nil
}

func (s *goSession) Close() error {
	s.closed = true
	return nil
}

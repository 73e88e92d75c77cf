//go:build cgo

package ml

import (
	"errors"
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ortEnv is the process-wide ONNX Runtime environment. onnxruntime_go keeps the environment in
// package state, so it is shared by every ORTBackend of the process: the first backend
// initialises it, the last one to close tears it down. When something else in the process
// initialised it first, the SDK uses it and never destroys it.
var ortEnv struct {
	mu       sync.Mutex
	refs     int
	lib      string
	external bool
}

func acquireORT(lib string) error {
	ortEnv.mu.Lock()
	defer ortEnv.mu.Unlock()
	if ortEnv.refs > 0 {
		if !ortEnv.external && lib != ortEnv.lib {
			return fmt.Errorf("%w: ONNX Runtime is already loaded from %s in this process, cannot also load %s", ErrBackend, ortEnv.lib, lib)
		}
		ortEnv.refs++
		return nil
	}
	if ort.IsInitialized() {
		ortEnv.refs, ortEnv.lib, ortEnv.external = 1, lib, true
		return nil
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return err
	}
	ortEnv.refs, ortEnv.lib, ortEnv.external = 1, lib, false
	return nil
}

func releaseORT() error {
	ortEnv.mu.Lock()
	defer ortEnv.mu.Unlock()
	if ortEnv.refs == 0 {
		return nil
	}
	ortEnv.refs--
	if ortEnv.refs > 0 || ortEnv.external {
		return nil
	}
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("%w: destroying the ONNX Runtime environment: %w", ErrBackend, err)
	}
	return nil
}

// ORTBackend runs models with ONNX Runtime through github.com/yalue/onnxruntime_go. Each
// session uses one intra-op and one inter-op thread (sequential execution): the engine runs one
// session per core instead, which measured 1.5–2× faster than ONNX Runtime's own threading for
// the SDK's small models. It needs cgo; without it [NewORTBackend] returns an error wrapping
// [ErrORTUnavailable] and [ErrNoCgo]. Create it with NewORTBackend: the zero value's
// NewSession returns a [*NotConstructedError].
type ORTBackend struct {
	lib     ORTLibrary
	version string

	mu       sync.Mutex
	closed   bool
	sessions map[*ortSession]struct{}
}

var _ Backend = (*ORTBackend)(nil)

// NewORTBackend loads the ONNX Runtime library found by [FindORTLibrary](libPath) — libPath when
// not empty, else $ANYA_ONNXRUNTIME_LIB, else the user cache, else the SDK checkout's .tools
// when running inside it — and initialises the process-wide environment if this is its first
// user. A library that is missing or fails to load returns a [*LibraryError] naming it, whose
// message gives [SetupCommand].
func NewORTBackend(libPath string) (*ORTBackend, error) {
	lib, err := FindORTLibrary(libPath)
	if err != nil {
		return nil, err
	}
	if err := acquireORT(lib.Path); err != nil {
		var le *LibraryError
		if errors.As(err, &le) || errors.Is(err, ErrBackend) {
			return nil, err
		}
		return nil, &LibraryError{Source: lib.Source, Path: lib.Path, Err: err}
	}
	return &ORTBackend{lib: lib, version: ort.GetVersion(), sessions: map[*ortSession]struct{}{}}, nil
}

// Name returns "ort".
func (b *ORTBackend) Name() string { return "ort" }

// Library returns the absolute path of the loaded library; "" for the zero ORTBackend.
func (b *ORTBackend) Library() string { return b.lib.Path }

// LibrarySource returns where the loaded library was found; 0 for the zero ORTBackend.
func (b *ORTBackend) LibrarySource() LibrarySource { return b.lib.Source }

// Version returns the ONNX Runtime version reported by the library; "" for the zero
// ORTBackend.
func (b *ORTBackend) Version() string { return b.version }

// NewSession creates an ONNX Runtime session for m with one thread.
func (b *ORTBackend) NewSession(m *Model) (Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sessions == nil {
		return nil, &NotConstructedError{Type: "ORTBackend", Constructor: "NewORTBackend"}
	}
	if b.closed {
		return nil, fmt.Errorf("ml: ort backend: %w", ErrClosed)
	}
	if m == nil || m.graph == nil {
		return nil, fmt.Errorf("%w: ort: no model (a nil or zero *Model)", ErrBackend)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%w: ort: session options: %w", ErrBackend, err)
	}
	defer opts.Destroy()
	for _, set := range []func() error{
		func() error { return opts.SetIntraOpNumThreads(1) },
		func() error { return opts.SetInterOpNumThreads(1) },
		func() error { return opts.SetExecutionMode(ort.ExecutionModeSequential) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("%w: ort: session options: %w", ErrBackend, err)
		}
	}
	man := &m.manifest
	ds, err := ort.NewDynamicAdvancedSessionWithONNXData(m.data, []string{man.Input.Name}, []string{man.Output.Name}, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: ort: loading %s: %w", ErrBackend, m.ID(), err)
	}
	s := &ortSession{b: b, s: ds, width: m.Width(), k: int(man.Output.Shape[1]), col: man.Output.Index,
		inV: make([]ort.Value, 1), outV: make([]ort.Value, 1)}
	b.sessions[s] = struct{}{}
	return s, nil
}

// Close closes any session still open, then releases this backend's hold on the process-wide
// environment (destroying it if this was the last user). Idempotent; the zero ORTBackend has
// nothing to close.
func (b *ORTBackend) Close() error {
	b.mu.Lock()
	if b.closed || b.sessions == nil {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	left := make([]*ortSession, 0, len(b.sessions))
	for s := range b.sessions {
		left = append(left, s)
	}
	b.mu.Unlock()
	for _, s := range left {
		s.Close()
	}
	return releaseORT()
}

// ortSession keeps one input and one output buffer, and ONNX Runtime tensors over their prefixes
// for each batch size seen, so a run copies the rows in, runs, and copies the scores out
// without creating tensors.
type ortSession struct {
	b *ORTBackend
	s *ort.DynamicAdvancedSession

	mu       sync.Mutex
	width, k int
	col      int
	rowsCap  int
	xbuf     []float32
	ybuf     []float32
	ins      []*ort.Tensor[float32] // by row count
	outs     []*ort.Tensor[float32]
	inV      []ort.Value
	outV     []ort.Value
	closed   bool
}

func (s *ortSession) Run(x []float32, rows int, scores []float32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("ml: ort session: %w", ErrClosed)
	}
	if rows < 1 || len(x) < rows*s.width || len(scores) < rows {
		return fmt.Errorf("%w: ort session: %d rows of %d features into %d scores from %d values", ErrBackend, rows, s.width, len(scores), len(x))
	}
	if rows > s.rowsCap {
		s.grow(rows)
	}
	in, out := s.ins[rows], s.outs[rows]
	if in == nil {
		var err error
		if in, err = ort.NewTensor(ort.NewShape(int64(rows), int64(s.width)), s.xbuf); err != nil {
			return fmt.Errorf("%w: ort session: input tensor: %w", ErrBackend, err)
		}
		if out, err = ort.NewTensor(ort.NewShape(int64(rows), int64(s.k)), s.ybuf); err != nil {
			in.Destroy()
			return fmt.Errorf("%w: ort session: output tensor: %w", ErrBackend, err)
		}
		s.ins[rows], s.outs[rows] = in, out
	}
	copy(s.xbuf, x[:rows*s.width])
	s.inV[0], s.outV[0] = in, out
	if err := s.s.Run(s.inV, s.outV); err != nil {
		return fmt.Errorf("%w: ort session: %w", ErrBackend, err)
	}
	if s.k == 1 {
		copy(scores[:rows], s.ybuf[:rows])
		return nil
	}
	for r := range rows {
		scores[r] = s.ybuf[r*s.k+s.col]
	}
	return nil
}

// grow replaces the buffers with ones for at least rows rows; tensors over the old buffers are
// destroyed.
func (s *ortSession) grow(rows int) {
	s.destroyTensors()
	c := max(rows, 2*s.rowsCap, 16)
	s.rowsCap = c
	s.xbuf = make([]float32, c*s.width)
	s.ybuf = make([]float32, c*s.k)
	s.ins = make([]*ort.Tensor[float32], c+1)
	s.outs = make([]*ort.Tensor[float32], c+1)
}

func (s *ortSession) destroyTensors() {
	for i := range s.ins {
		if s.ins[i] != nil {
			s.ins[i].Destroy()
			s.outs[i].Destroy()
			s.ins[i], s.outs[i] = nil, nil
		}
	}
}

func (s *ortSession) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.destroyTensors()
	err := s.s.Destroy()
	s.mu.Unlock()

	s.b.mu.Lock()
	delete(s.b.sessions, s)
	s.b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: ort session: %w", ErrBackend, err)
	}
	return nil
}

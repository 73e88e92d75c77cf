package ml

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sync"

	"github.com/anya-org/anya-go/ml/onnx"
)

// Manifest describes a registered model: identity, the sha256 of its ONNX file, the tensors the
// engine feeds and reads, the feature schema of its input, and its training metrics. The
// registry stores it as model.json beside model.onnx.
type Manifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// SHA256 is the hex sha256 of the ONNX file.
	SHA256 string `json:"sha256"`
	// Input is the model's float input of shape [N, features].
	Input Tensor `json:"input"`
	// Output is the float output of shape [N, k] holding the score in column Output.Index.
	Output Tensor `json:"output"`
	// Schema is the feature schema of the input vector; its length is the input width.
	Schema Schema `json:"schema"`
	// Threshold is the score at and above which the model's positive class is predicted.
	Threshold float64 `json:"threshold"`
	// Metrics are held-out evaluation metrics (for the SDK's models: auc, pr_auc, precision,
	// recall, ...).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Training records how the model was made (algorithm, hyper-parameters, data seed).
	Training map[string]string `json:"training,omitempty"`
}

// Tensor names a model input or output and its shape; -1 stands for the batch dimension.
type Tensor struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	// Index is the column of the output that holds the score (outputs only).
	Index int `json:"index,omitempty"`
}

// ID returns "name@version".
func (m *Manifest) ID() string { return m.Name + "@" + m.Version }

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidName reports whether s may be a model name or version: 1 to 64 lower-case letters,
// digits, '.', '_' or '-', starting with a letter or digit (so it is a safe directory name).
func ValidName(s string) bool { return namePattern.MatchString(s) }

// check validates the manifest on its own (not against a file).
func (m *Manifest) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: manifest %s: %s", ErrInvalidModel, m.ID(), fmt.Sprintf(format, args...))
	}
	if !namePattern.MatchString(m.Name) {
		return bad("name %q must match %s", m.Name, namePattern)
	}
	if !namePattern.MatchString(m.Version) {
		return bad("version %q must match %s", m.Version, namePattern)
	}
	if err := m.Schema.Check(); err != nil {
		return fmt.Errorf("%w: manifest %s: %w", ErrInvalidModel, m.ID(), err)
	}
	if m.Input.Name == "" || m.Output.Name == "" {
		return bad("input and output names are required")
	}
	if len(m.Input.Shape) != 2 || m.Input.Shape[1] != int64(m.Schema.Len()) {
		return bad("input shape %v does not match the %d-feature schema", m.Input.Shape, m.Schema.Len())
	}
	if len(m.Output.Shape) != 2 || m.Output.Shape[1] < 1 || m.Output.Index < 0 || int64(m.Output.Index) >= m.Output.Shape[1] {
		return bad("output shape %v with score index %d", m.Output.Shape, m.Output.Index)
	}
	if m.Threshold < 0 || m.Threshold > 1 {
		return bad("threshold %v outside [0, 1]", m.Threshold)
	}
	return nil
}

// Model is a verified model: ONNX bytes whose sha256 matches the manifest, decoded, with inputs
// and outputs matching the manifest. Models are immutable and safe to share between engines.
// Create one with [NewModel] or load one from a [Registry]: the zero value has an empty manifest
// and no graph, and its Program returns a [*NotConstructedError].
type Model struct {
	manifest Manifest
	data     []byte
	graph    *onnx.Model

	compileOnce sync.Once
	prog        *onnx.Program
	compileErr  error
}

// NewModel verifies data against man and returns the Model. When man.SHA256 is empty it is
// filled in from data (for models built in-process); otherwise a mismatch returns [*HashError].
// A file that does not decode, or whose graph input/output do not match the manifest, returns
// an error wrapping [ErrInvalidModel]. NewModel keeps data; the caller must not modify it.
func NewModel(data []byte, man Manifest) (*Model, error) {
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if man.SHA256 == "" {
		man.SHA256 = got
	} else if man.SHA256 != got {
		return nil, &HashError{Model: man.ID(), Want: man.SHA256, Got: got}
	}
	if err := man.check(); err != nil {
		return nil, err
	}
	g, err := onnx.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidModel, man.ID(), err)
	}
	if err := checkIO(g, &man); err != nil {
		return nil, err
	}
	man.Schema.Features = append([]Feature(nil), man.Schema.Features...)
	return &Model{manifest: man, data: data, graph: g}, nil
}

func checkIO(g *onnx.Model, man *Manifest) error {
	find := func(vs []onnx.ValueInfo, name string) *onnx.ValueInfo {
		for i := range vs {
			if vs[i].Name == name {
				return &vs[i]
			}
		}
		return nil
	}
	in := find(g.Graph.Inputs, man.Input.Name)
	if in == nil {
		return fmt.Errorf("%w: %s: graph has no input %q", ErrInvalidModel, man.ID(), man.Input.Name)
	}
	out := find(g.Graph.Outputs, man.Output.Name)
	if out == nil {
		return fmt.Errorf("%w: %s: graph has no output %q", ErrInvalidModel, man.ID(), man.Output.Name)
	}
	for _, c := range []struct {
		v    *onnx.ValueInfo
		want []int64
	}{{in, man.Input.Shape}, {out, man.Output.Shape}} {
		if c.v.ElemType != onnx.Float {
			return fmt.Errorf("%w: %s: %q is %s, want FLOAT", ErrInvalidModel, man.ID(), c.v.Name, c.v.ElemType)
		}
		if c.v.Shape == nil {
			continue
		}
		if len(c.v.Shape) != len(c.want) {
			return fmt.Errorf("%w: %s: %q has rank %d, manifest says %v", ErrInvalidModel, man.ID(), c.v.Name, len(c.v.Shape), c.want)
		}
		for i, d := range c.v.Shape {
			if d.Param == "" && d.Value > 0 && c.want[i] > 0 && d.Value != c.want[i] {
				return fmt.Errorf("%w: %s: %q dim %d is %d, manifest says %d", ErrInvalidModel, man.ID(), c.v.Name, i, d.Value, c.want[i])
			}
		}
	}
	return nil
}

// Manifest returns a copy of the model's manifest.
func (m *Model) Manifest() Manifest {
	man := m.manifest
	man.Schema.Features = append([]Feature(nil), m.manifest.Schema.Features...)
	return man
}

// Name returns the model name.
func (m *Model) Name() string { return m.manifest.Name }

// Version returns the model version.
func (m *Model) Version() string { return m.manifest.Version }

// ID returns "name@version".
func (m *Model) ID() string { return m.manifest.ID() }

// Schema returns the model's input feature schema. The caller must not modify it.
func (m *Model) Schema() *Schema { return &m.manifest.Schema }

// Bytes returns the ONNX file. The caller must not modify it.
func (m *Model) Bytes() []byte { return m.data }

// Graph returns the decoded ONNX model. The caller must not modify it.
func (m *Model) Graph() *onnx.Model { return m.graph }

// Width returns the number of input features.
func (m *Model) Width() int { return m.manifest.Schema.Len() }

// Program returns the model compiled for the pure-Go evaluator (compiled once, on first use).
func (m *Model) Program() (*onnx.Program, error) {
	if m.graph == nil {
		return nil, &NotConstructedError{Type: "Model", Constructor: "NewModel"}
	}
	m.compileOnce.Do(func() {
		m.prog, m.compileErr = onnx.Compile(m.graph)
	})
	return m.prog, m.compileErr
}

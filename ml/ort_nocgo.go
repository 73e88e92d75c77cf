//go:build !cgo

package ml

import "fmt"

// ORTBackend runs models with ONNX Runtime. This build has no cgo, so it cannot be created:
// [NewORTBackend] returns an error wrapping [ErrORTUnavailable]. Use [NewGoBackend], or build
// with CGO_ENABLED=1.
type ORTBackend struct{}

var _ Backend = (*ORTBackend)(nil)

// NewORTBackend reports that this build has no cgo.
func NewORTBackend(libPath string) (*ORTBackend, error) {
	return nil, fmt.Errorf("%w: built with CGO_ENABLED=0; rebuild with cgo or use the pure-Go backend", ErrORTUnavailable)
}

// Name returns "ort".
func (b *ORTBackend) Name() string { return "ort" }

// Library returns "" in builds without cgo.
func (b *ORTBackend) Library() string { return "" }

// Version returns "" in builds without cgo.
func (b *ORTBackend) Version() string { return "" }

// NewSession reports that this build has no cgo.
func (b *ORTBackend) NewSession(m *Model) (Session, error) {
	return nil, fmt.Errorf("%w: built with CGO_ENABLED=0", ErrORTUnavailable)
}

// Close does nothing.
func (b *ORTBackend) Close() error { return nil }

//go:build !cgo

package ml

import (
	"errors"
	"fmt"
)

// ORTBackend runs models with ONNX Runtime. This build has no cgo, so it cannot be created:
// [NewORTBackend] returns an error wrapping [ErrORTUnavailable] and [ErrNoCgo]. Use
// [NewGoBackend], or build with CGO_ENABLED=1.
type ORTBackend struct{}

var _ Backend = (*ORTBackend)(nil)

// NewORTBackend reports that this build has no cgo. A configured library path (libPath or
// $ANYA_ONNXRUNTIME_LIB) is still checked first: one that does not exist is reported as such.
func NewORTBackend(libPath string) (*ORTBackend, error) {
	if lib, err := FindORTLibrary(libPath); err != nil {
		var le *LibraryError
		if errors.As(err, &le) && le.Source.Configured() {
			return nil, err
		}
	} else if lib.Source.Configured() {
		return nil, fmt.Errorf("%w: %w: cannot load %s; rebuild with cgo or use the pure-Go backend", ErrORTUnavailable, ErrNoCgo, lib.Path)
	}
	return nil, fmt.Errorf("%w: %w; rebuild with cgo or use the pure-Go backend", ErrORTUnavailable, ErrNoCgo)
}

// Name returns "ort".
func (b *ORTBackend) Name() string { return "ort" }

// Library returns "" in builds without cgo.
func (b *ORTBackend) Library() string { return "" }

// LibrarySource returns 0 in builds without cgo.
func (b *ORTBackend) LibrarySource() LibrarySource { return 0 }

// Version returns "" in builds without cgo.
func (b *ORTBackend) Version() string { return "" }

// NewSession reports that this build has no cgo.
func (b *ORTBackend) NewSession(m *Model) (Session, error) {
	return nil, fmt.Errorf("%w: %w", ErrORTUnavailable, ErrNoCgo)
}

// Close does nothing.
func (b *ORTBackend) Close() error { return nil }

package mltest

import (
	"testing"

	"github.com/anya-org/anya-go/ml"
)

// NewEngine returns an engine serving m on the pure-Go backend (no cgo, no shared library),
// closed when the test ends. opts are applied after the backend option, so a test can still
// choose another backend.
func NewEngine(tb testing.TB, m *ml.Model, opts ...ml.Option) *ml.Engine {
	tb.Helper()
	b := ml.NewGoBackend()
	e, err := ml.NewEngine(m, append([]ml.Option{ml.WithBackend(b)}, opts...)...)
	if err != nil {
		tb.Fatalf("mltest: NewEngine(%s): %v", m.ID(), err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Errorf("mltest: closing engine: %v", err)
		}
		b.Close()
	})
	return e
}

//go:build cgo

package ml_test

import (
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

func newORT(t *testing.T) *ml.ORTBackend {
	t.Helper()
	b, err := ml.NewORTBackend("")
	if err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
	return b
}

func TestORTBackendConformance(t *testing.T) {
	mltest.RunBackend(t, func(t *testing.T) ml.Backend { return newORT(t) })
}

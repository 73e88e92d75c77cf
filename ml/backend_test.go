package ml_test

import (
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

func TestGoBackendConformance(t *testing.T) {
	mltest.RunBackend(t, func(t *testing.T) ml.Backend { return ml.NewGoBackend() })
}

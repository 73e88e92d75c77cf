package train_test

import (
	"testing"

	"github.com/anya-org/anya-go/ml/train"
)

// The zero Ensemble and the zero Logistic are the constant model of log-odds 0 (p = 0.5): Raw
// reads no feature, and ONNX exports a graph without panicking.
func TestZeroValues(t *testing.T) {
	var e train.Ensemble
	var l train.Logistic
	for _, row := range [][]float32{nil, {1, 2, 3}} {
		if e.Raw(row) != 0 || l.Raw(row) != 0 {
			t.Fatalf("zero models score %v: %v, %v", row, e.Raw(row), l.Raw(row))
		}
	}
	if e.ONNX("g", "x", "y") == nil || l.ONNX("g", "x", "y") == nil {
		t.Fatal("no graph")
	}
}

package onnx_test

import (
	"errors"
	"testing"

	"github.com/anya-org/anya-go/ml/onnx"
)

// The zero value of every exported type answers every exported method without panicking: a
// zero Program is an empty graph, a zero Explainer explains no features, and a zero Evaluator
// returns ErrNotConstructed naming its constructor.
func TestZeroValues(t *testing.T) {
	var m onnx.Model
	if _, ok := m.MetadataValue("k"); ok || m.OpsetVersionOf("") != 0 {
		t.Fatal("zero model has metadata or an opset")
	}
	var n onnx.Node
	if n.Attr("x") != nil {
		t.Fatal("zero node has an attribute")
	}
	var tn onnx.Tensor
	if tn.Len() != 1 { // a scalar: no dims
		t.Fatal(tn.Len())
	}
	var dt onnx.DataType
	_ = dt.String()

	var p onnx.Program
	if len(p.InputNames()) != 0 || len(p.OutputNames()) != 0 {
		t.Fatal("zero program has names")
	}
	ev := p.NewEvaluator()
	if out, err := ev.Run(nil); len(out) != 0 || err != nil {
		t.Fatalf("evaluator of the empty program: %v, %v", out, err)
	}
	if _, err := ev.Run([]onnx.Tensor{{}}); !errors.Is(err, onnx.ErrShape) {
		t.Fatalf("an input to the empty program: %v", err)
	}
	var e onnx.Evaluator
	if _, err := e.Run([]onnx.Tensor{{}}); !errors.Is(err, onnx.ErrNotConstructed) {
		t.Fatalf("zero evaluator: %v", err)
	}
	var x onnx.Explainer
	if x.Features() != 0 {
		t.Fatal(x.Features())
	}
	if _, err := x.Explain([]float32{1}, []float32{0}); !errors.Is(err, onnx.ErrShape) {
		t.Fatalf("zero explainer, one feature: %v", err)
	}
	if bias, err := x.Explain(nil, nil); bias != 0 || err != nil {
		t.Fatalf("zero explainer, no features: %v, %v", bias, err)
	}
	for _, err := range []error{&onnx.DecodeError{}, &onnx.NodeError{}} {
		if err.Error() == "" {
			t.Fatalf("%T has no message", err)
		}
		_ = errors.Unwrap(err)
	}
}

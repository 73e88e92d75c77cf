package pipeline_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/onnx"
	"github.com/anya-org/anya-go/ml/pipeline"
)

// A pipeline from payment amounts to a risk score, with a sink that flags risky payments.
func Example() {
	g := &onnx.Model{IRVersion: onnx.IRVersion, Opsets: []onnx.Opset{{Version: onnx.OpsetVersion}}, Graph: onnx.Graph{
		Name:         "amount-risk",
		Initializers: []onnx.Tensor{onnx.FloatTensor("W", []int64{1, 1}, []float32{2}), onnx.FloatTensor("B", []int64{1}, []float32{-4})},
		Nodes: []onnx.Node{
			{OpType: "Gemm", Inputs: []string{"x", "W", "B"}, Outputs: []string{"logit"}},
			{OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{"score"}},
		},
		Inputs: []onnx.ValueInfo{onnx.FloatInput("x", 1)}, Outputs: []onnx.ValueInfo{onnx.FloatInput("score", 1)},
	}}
	schema := ml.Schema{Name: "amount", Version: 1, Features: []ml.Feature{{Name: "btc", Max: 21e6}}}
	m, err := ml.NewModel(onnx.Encode(g), ml.Manifest{Name: "amount-risk", Version: "1", Schema: schema,
		Input: ml.Tensor{Name: "x", Shape: []int64{-1, 1}}, Output: ml.Tensor{Name: "score", Shape: []int64{-1, 1}}})
	if err != nil {
		panic(err)
	}
	e, err := ml.NewEngine(m, ml.WithBackend(ml.NewGoBackend()))
	if err != nil {
		panic(err)
	}
	defer e.Close()

	extract := func(_ context.Context, btc float64) (ml.Vector, error) {
		return ml.Vector{Schema: "amount", Version: 1, Values: []float32{float32(btc)}}, nil
	}
	flag := func(_ context.Context, s pipeline.Scored[float64]) error {
		fmt.Printf("%.1f BTC: risk %.3f, review %v\n", s.Input, s.Result.Score, s.Result.Score >= 0.5)
		return nil
	}
	p, err := pipeline.New("amounts", extract, e, pipeline.WithSink(flag))
	if err != nil {
		panic(err)
	}
	for _, btc := range []float64{0.5, 3} {
		p.Process(context.Background(), btc)
	}
	// Output:
	// 0.5 BTC: risk 0.047, review false
	// 3.0 BTC: risk 0.881, review true
}

package ml_test

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/ml/onnx"
)

// A logistic-regression model over two features, built in-process and served by the pure-Go
// backend; invalid input is refused before it reaches the model.
func ExampleEngine() {
	g := &onnx.Model{
		IRVersion: onnx.IRVersion,
		Opsets:    []onnx.Opset{{Version: onnx.OpsetVersion}},
		Graph: onnx.Graph{
			Name: "risk",
			Initializers: []onnx.Tensor{
				onnx.FloatTensor("W", []int64{2, 1}, []float32{2, -1}),
				onnx.FloatTensor("B", []int64{1}, []float32{-1}),
			},
			Nodes: []onnx.Node{
				{OpType: "Gemm", Inputs: []string{"x", "W", "B"}, Outputs: []string{"logit"}},
				{OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{"score"}},
			},
			Inputs:  []onnx.ValueInfo{onnx.FloatInput("x", 2)},
			Outputs: []onnx.ValueInfo{onnx.FloatInput("score", 1)},
		},
	}
	m, err := ml.NewModel(onnx.Encode(g), ml.Manifest{
		Name: "risk", Version: "1",
		Input:  ml.Tensor{Name: "x", Shape: []int64{-1, 2}},
		Output: ml.Tensor{Name: "score", Shape: []int64{-1, 1}},
		Schema: ml.Schema{Name: "payment", Version: 1, Features: []ml.Feature{
			{Name: "amount_btc", Min: 0, Max: 21e6},
			{Name: "account_age_years", Min: 0, Max: 100},
		}},
		Threshold: 0.5,
	})
	if err != nil {
		panic(err)
	}
	e, err := ml.NewEngine(m, ml.WithBackend(ml.NewGoBackend()), ml.WithFactors(2))
	if err != nil {
		panic(err)
	}
	defer e.Close()

	ctx := context.Background()
	r, err := e.Score(ctx, ml.Vector{Schema: "payment", Version: 1, Values: []float32{1.5, 0.5}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s risk %.3f\n", r.ModelID(), r.Score)
	for _, f := range r.Factors {
		fmt.Printf("  %s=%v contributes %+.1f\n", f.Feature, f.Value, f.Contribution)
	}

	_, err = e.Score(ctx, ml.Vector{Schema: "payment", Version: 1, Values: []float32{float32(math.NaN()), 1}})
	fmt.Println(errors.Is(err, ml.ErrNotFinite))
	// Output:
	// risk@1 risk 0.818
	//   amount_btc=1.5 contributes +3.0
	//   account_age_years=0.5 contributes -0.5
	// true
}

// A configured library path that does not exist is an error naming it, which says what to do.
func ExampleFindORTLibrary() {
	_, err := ml.FindORTLibrary("/nonexistent/libonnxruntime.so.1")
	var le *ml.LibraryError
	fmt.Println(errors.As(err, &le), le.Source, errors.Is(err, ml.ErrORTNotFound))
	fmt.Println(err)
	// Output:
	// true option true
	// ml: ONNX Runtime 1.24.1 library /nonexistent/libonnxruntime.so.1 (from option) does not exist: pass the library's path to WithORTLibrary, or install it with `go run github.com/anya-org/anya-go/cmd/anya setup` and pass none
}

// An engine says which backend it runs on and why.
func ExampleEngine_BackendReason() {
	m := mltest.Linear([]float32{1}, 0).Model
	e, err := ml.NewEngine(m, ml.WithBackend(ml.NewGoBackend()), ml.WithWorkers(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	fmt.Println(e.BackendReason())
	// Output: go: given with WithBackend
}

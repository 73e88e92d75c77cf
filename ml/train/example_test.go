package train_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/ml/onnx"
	"github.com/anya-org/anya-go/ml/train"
)

// Trees learn XOR, which no linear model can; the export is an ONNX tree ensemble.
func ExampleFitGBT() {
	tr, va := xor(1, 4000), xor(2, 1000)
	e, err := train.FitGBT(context.Background(), tr, va, train.DefaultGBT(), nil)
	if err != nil {
		panic(err)
	}
	for _, row := range [][]float32{{0.2, 0.2, 0.5}, {0.2, 0.8, 0.5}, {0.8, 0.2, 0.5}, {0.8, 0.8, 0.5}} {
		fmt.Printf("%v → %.2f\n", row[:2], 1/(1+exp(-e.Raw(row))))
	}
	g := e.ONNX("xor", "x", "p")
	fmt.Println(g.Graph.Nodes[0].Domain, g.Graph.Nodes[0].OpType, "+", g.Graph.Nodes[1].OpType, "opset", g.OpsetVersionOf(onnx.DomainML))
	// Output:
	// [0.2 0.2] → 0.00
	// [0.2 0.8] → 1.00
	// [0.8 0.2] → 1.00
	// [0.8 0.8] → 0.00
	// ai.onnx.ml TreeEnsembleRegressor + Sigmoid opset 3
}

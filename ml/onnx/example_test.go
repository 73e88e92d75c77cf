package onnx_test

import (
	"fmt"

	"github.com/anya-org/anya-go/ml/onnx"
)

// Build a two-tree ensemble, write it as ONNX, read it back and evaluate it in pure Go.
func Example() {
	trees := onnx.Node{
		OpType: "TreeEnsembleRegressor", Domain: onnx.DomainML,
		Inputs: []string{"x"}, Outputs: []string{"y"},
		Attributes: []onnx.Attribute{
			// tree 0: x[0] <= 0.5 ? 1 : 2        tree 1: x[1] <= 10 ? 0.25 : -0.25
			onnx.IntsAttr("nodes_treeids", []int64{0, 0, 0, 1, 1, 1}),
			onnx.IntsAttr("nodes_nodeids", []int64{0, 1, 2, 0, 1, 2}),
			onnx.IntsAttr("nodes_featureids", []int64{0, 0, 0, 1, 0, 0}),
			onnx.FloatsAttr("nodes_values", []float32{0.5, 0, 0, 10, 0, 0}),
			onnx.StringsAttr("nodes_modes", []string{"BRANCH_LEQ", "LEAF", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"}),
			onnx.IntsAttr("nodes_truenodeids", []int64{1, 0, 0, 1, 0, 0}),
			onnx.IntsAttr("nodes_falsenodeids", []int64{2, 0, 0, 2, 0, 0}),
			onnx.IntsAttr("target_treeids", []int64{0, 0, 1, 1}),
			onnx.IntsAttr("target_nodeids", []int64{1, 2, 1, 2}),
			onnx.IntsAttr("target_ids", []int64{0, 0, 0, 0}),
			onnx.FloatsAttr("target_weights", []float32{1, 2, 0.25, -0.25}),
		},
	}
	m := &onnx.Model{
		IRVersion: onnx.IRVersion,
		Opsets:    []onnx.Opset{{Version: onnx.OpsetVersion}, {Domain: onnx.DomainML, Version: onnx.MLOpsetVersion}},
		Graph: onnx.Graph{Name: "trees", Nodes: []onnx.Node{trees},
			Inputs: []onnx.ValueInfo{onnx.FloatInput("x", 2)}, Outputs: []onnx.ValueInfo{onnx.FloatInput("y", 1)}},
	}
	decoded, err := onnx.Decode(onnx.Encode(m))
	if err != nil {
		panic(err)
	}
	p, err := onnx.Compile(decoded)
	if err != nil {
		panic(err)
	}
	out, err := p.NewEvaluator().Run([]onnx.Tensor{{
		DataType: onnx.Float, Dims: []int64{3, 2},
		Floats: []float32{0.1, 5, 0.9, 5, 0.9, 50},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(out[0].Dims, out[0].Floats)
	// Output: [3 1] [1.25 2.25 1.75]
}

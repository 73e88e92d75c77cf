package onnx_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/ml/onnx"
)

func everyFieldModel() *onnx.Model {
	t := onnx.FloatTensor("W", []int64{2, 2}, []float32{1, -2.5, 3.25, math.MaxFloat32})
	return &onnx.Model{
		IRVersion:       onnx.IRVersion,
		Opsets:          []onnx.Opset{{Version: onnx.OpsetVersion}, {Domain: onnx.DomainML, Version: onnx.MLOpsetVersion}},
		ProducerName:    "test",
		ProducerVersion: "1.2.3",
		Domain:          "org.anya",
		ModelVersion:    7,
		Doc:             "doc",
		Metadata:        []onnx.Entry{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}},
		Graph: onnx.Graph{
			Name: "g",
			Doc:  "graph doc",
			Nodes: []onnx.Node{{
				Name: "n", OpType: "Gemm", Domain: "", Doc: "node doc",
				Inputs: []string{"x", "W", ""}, Outputs: []string{"y"},
				Attributes: []onnx.Attribute{
					onnx.FloatAttr("alpha", 0.5),
					onnx.IntAttr("transB", 1),
					onnx.IntAttr("negative", -3),
					onnx.StringAttr("s", "text"),
					onnx.FloatsAttr("fs", []float32{1, 2}),
					onnx.IntsAttr("is", []int64{-1, 0, 1 << 40}),
					onnx.StringsAttr("ss", []string{"a", "", "c"}),
					{Name: "t", Type: onnx.AttrTensor, T: &onnx.Tensor{Name: "c", Dims: []int64{2}, DataType: onnx.Int64, Int64s: []int64{5, -6}}},
				},
			}},
			Initializers: []onnx.Tensor{t,
				{Name: "i32", Dims: []int64{2}, DataType: onnx.Int32, Int32s: []int32{-7, 8}},
				{Name: "f64", Dims: []int64{1}, DataType: onnx.Double, Doubles: []float64{math.Pi}},
			},
			Inputs: []onnx.ValueInfo{onnx.FloatInput("x", 2)},
			Outputs: []onnx.ValueInfo{
				{Name: "y", ElemType: onnx.Float, Shape: []onnx.Dim{{Param: "N"}, {Value: 2}}, Doc: "out"},
			},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	m := everyFieldModel()
	b := onnx.Encode(m)
	got, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip changed the model:\n got %+v\nwant %+v", got, m)
	}
	if again := onnx.Encode(got); !bytes.Equal(again, b) {
		t.Fatal("re-encoding gave different bytes")
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	a := onnx.Encode(mltest.Trees(1, 10, 3, 5).Graph)
	b := onnx.Encode(mltest.Trees(1, 10, 3, 5).Graph)
	if !bytes.Equal(a, b) {
		t.Fatal("same model encoded to different bytes")
	}
}

// TestDecodeAlternativeEncodings covers encodings other writers use: raw_data tensors and
// unpacked repeated fields.
func TestDecodeAlternativeEncodings(t *testing.T) {
	raw := make([]byte, 8)
	binary.LittleEndian.PutUint32(raw, math.Float32bits(1.5))
	binary.LittleEndian.PutUint32(raw[4:], math.Float32bits(-2))
	var tensor []byte
	tensor = protowire.AppendTag(tensor, 1, protowire.VarintType) // dims, unpacked
	tensor = protowire.AppendVarint(tensor, 2)
	tensor = protowire.AppendTag(tensor, 2, protowire.VarintType)
	tensor = protowire.AppendVarint(tensor, uint64(onnx.Float))
	tensor = protowire.AppendTag(tensor, 8, protowire.BytesType)
	tensor = protowire.AppendString(tensor, "w")
	tensor = protowire.AppendTag(tensor, 9, protowire.BytesType)
	tensor = protowire.AppendBytes(tensor, raw)

	var attr []byte
	attr = protowire.AppendTag(attr, 1, protowire.BytesType)
	attr = protowire.AppendString(attr, "floats")
	for _, f := range []float32{3, 4} { // unpacked floats
		attr = protowire.AppendTag(attr, 7, protowire.Fixed32Type)
		attr = protowire.AppendFixed32(attr, math.Float32bits(f))
	}
	attr = protowire.AppendTag(attr, 20, protowire.VarintType)
	attr = protowire.AppendVarint(attr, uint64(onnx.AttrFloats))

	var node []byte
	node = protowire.AppendTag(node, 4, protowire.BytesType)
	node = protowire.AppendString(node, "Identity")
	node = protowire.AppendTag(node, 5, protowire.BytesType)
	node = protowire.AppendBytes(node, attr)
	// an unknown field and a group are skipped
	node = protowire.AppendTag(node, 99, protowire.VarintType)
	node = protowire.AppendVarint(node, 1)
	node = protowire.AppendTag(node, 98, protowire.StartGroupType)
	node = protowire.AppendTag(node, 98, protowire.EndGroupType)

	var graph []byte
	graph = protowire.AppendTag(graph, 1, protowire.BytesType)
	graph = protowire.AppendBytes(graph, node)
	graph = protowire.AppendTag(graph, 5, protowire.BytesType)
	graph = protowire.AppendBytes(graph, tensor)
	var model []byte
	model = protowire.AppendTag(model, 7, protowire.BytesType)
	model = protowire.AppendBytes(model, graph)

	m, err := onnx.Decode(model)
	if err != nil {
		t.Fatal(err)
	}
	init := m.Graph.Initializers[0]
	if !reflect.DeepEqual(init.Floats, []float32{1.5, -2}) || !reflect.DeepEqual(init.Dims, []int64{2}) {
		t.Fatalf("raw_data tensor decoded as %+v", init)
	}
	if got := m.Graph.Nodes[0].Attr("floats").Floats; !reflect.DeepEqual(got, []float32{3, 4}) {
		t.Fatalf("unpacked floats decoded as %v", got)
	}
}

func TestDecodeMalformed(t *testing.T) {
	valid := onnx.Encode(mltest.Linear([]float32{1, 2}, 0).Graph)
	rawTensor := func(dt onnx.DataType, n int) []byte {
		var tb []byte
		tb = protowire.AppendTag(tb, 2, protowire.VarintType)
		tb = protowire.AppendVarint(tb, uint64(dt))
		tb = protowire.AppendTag(tb, 9, protowire.BytesType)
		tb = protowire.AppendBytes(tb, make([]byte, n))
		var g []byte
		g = protowire.AppendTag(g, 5, protowire.BytesType)
		g = protowire.AppendBytes(g, tb)
		var m []byte
		m = protowire.AppendTag(m, 7, protowire.BytesType)
		return protowire.AppendBytes(m, g)
	}
	cases := map[string][]byte{
		"truncated":            valid[:len(valid)-3],
		"bad tag":              {0x00},
		"overlong varint":      {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"graph as varint":      {0x38, 0x01},
		"length past end":      {0x3a, 0x10, 0x00},
		"raw floats of 3 byte": rawTensor(onnx.Float, 3),
		"raw int64 of 4 byte":  rawTensor(onnx.Int64, 4),
		"raw strings":          rawTensor(onnx.String, 4),
	}
	for name, b := range cases {
		_, err := onnx.Decode(b)
		var de *onnx.DecodeError
		if !errors.As(err, &de) || !(errors.Is(err, onnx.ErrMalformed) || errors.Is(err, onnx.ErrUnsupported)) {
			t.Errorf("%s: Decode error %v, want a *DecodeError wrapping ErrMalformed/ErrUnsupported", name, err)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to Decode, Compile and a run: none may panic, and a model
// that decodes must re-encode to bytes that decode to the same model.
func FuzzDecode(f *testing.F) {
	for _, tm := range []*mltest.Tiny{
		mltest.Linear([]float32{1, -1}, 0.5),
		mltest.StandardizedLinear([]float32{1}, []float32{2}, []float32{3}, 0),
		mltest.MLP(1, 4, 3),
		mltest.Trees(2, 3, 2, 3),
		mltest.Classifier(3, 2, 2, 3, 3, 1),
	} {
		f.Add(tm.Model.Bytes())
	}
	f.Add(onnx.Encode(everyFieldModel()))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := onnx.Decode(b)
		if err != nil {
			return
		}
		b2 := onnx.Encode(m)
		m2, err := onnx.Decode(b2)
		if err != nil {
			t.Fatalf("re-encoded model does not decode: %v", err)
		}
		if b3 := onnx.Encode(m2); !bytes.Equal(b2, b3) {
			t.Fatal("encoding is not stable after one round trip")
		}
		p, err := onnx.Compile(m)
		if err != nil {
			return
		}
		ins := make([]onnx.Tensor, len(p.InputNames()))
		for i := range ins {
			ins[i] = onnx.Tensor{DataType: onnx.Float, Dims: []int64{2, 3}, Floats: []float32{0.1, 0.9, -3, 4, 0.5, 1e3}}
		}
		ev := p.NewEvaluator()
		ev.Run(ins) // errors are fine; panics and hangs are not
		if x, err := onnx.NewExplainer(m); err == nil {
			row := make([]float32, x.Features())
			x.Explain(row, make([]float32, x.Features()))
		}
	})
}

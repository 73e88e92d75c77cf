package onnx

import (
	"fmt"
	"math"
)

// Versions and domains the SDK writes. Models read by [Decode] may declare other versions; [Compile]
// accepts the operator set versions whose semantics the evaluator implements.
const (
	// IRVersion is the ONNX IR version written by the SDK (IR 8, July 2021).
	IRVersion = 8
	// OpsetVersion is the version of the default ("ai.onnx") operator set written by the SDK.
	OpsetVersion = 13
	// MLOpsetVersion is the version of the "ai.onnx.ml" operator set written by the SDK.
	MLOpsetVersion = 3
	// DomainML is the domain of the classical machine-learning operators (tree ensembles).
	DomainML = "ai.onnx.ml"
)

// DataType is an ONNX tensor element type (TensorProto.DataType).
type DataType int32

// The element types the SDK reads and writes. Other values decode but are refused by [Compile].
const (
	Undefined DataType = 0
	Float     DataType = 1
	Int32     DataType = 6
	Int64     DataType = 7
	String    DataType = 8
	Double    DataType = 11
)

// String returns the ONNX name of the type.
func (t DataType) String() string {
	switch t {
	case Undefined:
		return "UNDEFINED"
	case Float:
		return "FLOAT"
	case Int32:
		return "INT32"
	case Int64:
		return "INT64"
	case String:
		return "STRING"
	case Double:
		return "DOUBLE"
	}
	return fmt.Sprintf("DataType(%d)", int32(t))
}

// AttrType is an ONNX attribute type (AttributeProto.AttributeType).
type AttrType int32

// Attribute types.
const (
	AttrUndefined AttrType = 0
	AttrFloat     AttrType = 1
	AttrInt       AttrType = 2
	AttrString    AttrType = 3
	AttrTensor    AttrType = 4
	AttrGraph     AttrType = 5
	AttrFloats    AttrType = 6
	AttrInts      AttrType = 7
	AttrStrings   AttrType = 8
)

// Model is the subset of ONNX's ModelProto the SDK reads and writes: one graph, its operator set
// imports and string metadata. Fields of ModelProto outside this subset are skipped on decode.
type Model struct {
	IRVersion       int64
	Opsets          []Opset
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	Doc             string
	Graph           Graph
	// Metadata holds ModelProto.metadata_props in file order.
	Metadata []Entry
}

// Opset names an operator set and its version (OperatorSetIdProto).
type Opset struct {
	Domain  string
	Version int64
}

// Entry is a key/value string pair (StringStringEntryProto).
type Entry struct {
	Key, Value string
}

// Graph is a computation graph (GraphProto). Nodes are in topological order.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Doc          string
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is one operator application (NodeProto).
type Node struct {
	Inputs     []string
	Outputs    []string
	Name       string
	OpType     string
	Domain     string
	Attributes []Attribute
	Doc        string
}

// Attribute is a named operator parameter (AttributeProto). Type says which value field is set.
type Attribute struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       []byte
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings [][]byte
}

// Tensor is a constant tensor (TensorProto). Exactly one of the data slices matching DataType is
// set; raw_data in a decoded file is converted into it.
type Tensor struct {
	Name     string
	Dims     []int64
	DataType DataType
	Floats   []float32
	Int64s   []int64
	Int32s   []int32
	Doubles  []float64
}

// ValueInfo describes a graph input or output: a tensor of ElemType with Shape.
type ValueInfo struct {
	Name     string
	ElemType DataType
	Shape    []Dim
	Doc      string
}

// Dim is one dimension of a [ValueInfo] shape: a fixed Value, or a symbolic Param (such as "N"
// for the batch dimension) when Param is set.
type Dim struct {
	Value int64
	Param string
}

// Len returns the number of elements the tensor's dims describe, or -1 when a dim is negative or
// the product overflows.
func (t *Tensor) Len() int {
	n := int64(1)
	for _, d := range t.Dims {
		if d < 0 {
			return -1
		}
		if d != 0 && n > math.MaxInt32/d {
			return -1
		}
		n *= d
	}
	return int(n)
}

// Attr returns the attribute called name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for i := range n.Attributes {
		if n.Attributes[i].Name == name {
			return &n.Attributes[i]
		}
	}
	return nil
}

// MetadataValue returns the value of metadata key k and whether it was present.
func (m *Model) MetadataValue(k string) (string, bool) {
	for _, e := range m.Metadata {
		if e.Key == k {
			return e.Value, true
		}
	}
	return "", false
}

// OpsetVersionOf returns the imported version of the operator set domain ("" and "ai.onnx" are
// the same domain), or 0 when the model does not import it.
func (m *Model) OpsetVersionOf(domain string) int64 {
	if domain == "ai.onnx" {
		domain = ""
	}
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if d == domain {
			return o.Version
		}
	}
	return 0
}

// Helpers that build attributes and tensors; they keep model-writing code short.

// FloatAttr returns a FLOAT attribute.
func FloatAttr(name string, v float32) Attribute {
	return Attribute{Name: name, Type: AttrFloat, F: v}
}

// IntAttr returns an INT attribute.
func IntAttr(name string, v int64) Attribute { return Attribute{Name: name, Type: AttrInt, I: v} }

// StringAttr returns a STRING attribute.
func StringAttr(name, v string) Attribute {
	return Attribute{Name: name, Type: AttrString, S: []byte(v)}
}

// FloatsAttr returns a FLOATS attribute.
func FloatsAttr(name string, v []float32) Attribute {
	return Attribute{Name: name, Type: AttrFloats, Floats: v}
}

// IntsAttr returns an INTS attribute.
func IntsAttr(name string, v []int64) Attribute {
	return Attribute{Name: name, Type: AttrInts, Ints: v}
}

// StringsAttr returns a STRINGS attribute.
func StringsAttr(name string, v []string) Attribute {
	b := make([][]byte, len(v))
	for i, s := range v {
		b[i] = []byte(s)
	}
	return Attribute{Name: name, Type: AttrStrings, Strings: b}
}

// FloatTensor returns a FLOAT tensor with the given dims and row-major data.
func FloatTensor(name string, dims []int64, data []float32) Tensor {
	return Tensor{Name: name, Dims: dims, DataType: Float, Floats: data}
}

// Int64Tensor returns an INT64 tensor with the given dims and row-major data.
func Int64Tensor(name string, dims []int64, data []int64) Tensor {
	return Tensor{Name: name, Dims: dims, DataType: Int64, Int64s: data}
}

// FloatInput returns a FLOAT graph input or output of shape [N, width] with a symbolic batch
// dimension named "N".
func FloatInput(name string, width int64) ValueInfo {
	return ValueInfo{Name: name, ElemType: Float, Shape: []Dim{{Param: "N"}, {Value: width}}}
}

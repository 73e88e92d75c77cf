package onnx

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers from onnx.proto3 for the messages of the subset.
const (
	// ModelProto
	fModelIRVersion       = 1
	fModelProducerName    = 2
	fModelProducerVersion = 3
	fModelDomain          = 4
	fModelModelVersion    = 5
	fModelDoc             = 6
	fModelGraph           = 7
	fModelOpsetImport     = 8
	fModelMetadataProps   = 14

	// OperatorSetIdProto and StringStringEntryProto
	fOpsetDomain  = 1
	fOpsetVersion = 2
	fEntryKey     = 1
	fEntryValue   = 2

	// GraphProto
	fGraphNode        = 1
	fGraphName        = 2
	fGraphInitializer = 5
	fGraphDoc         = 10
	fGraphInput       = 11
	fGraphOutput      = 12

	// NodeProto
	fNodeInput     = 1
	fNodeOutput    = 2
	fNodeName      = 3
	fNodeOpType    = 4
	fNodeAttribute = 5
	fNodeDoc       = 6
	fNodeDomain    = 7

	// AttributeProto
	fAttrName    = 1
	fAttrF       = 2
	fAttrI       = 3
	fAttrS       = 4
	fAttrT       = 5
	fAttrFloats  = 7
	fAttrInts    = 8
	fAttrStrings = 9
	fAttrType    = 20

	// TensorProto
	fTensorDims      = 1
	fTensorDataType  = 2
	fTensorFloatData = 4
	fTensorInt32Data = 5
	fTensorInt64Data = 7
	fTensorName      = 8
	fTensorRawData   = 9
	fTensorDouble    = 10
	fTensorLocation  = 14

	// ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, Dimension
	fValueName      = 1
	fValueType      = 2
	fValueDoc       = 3
	fTypeTensor     = 1
	fTensorElemType = 1
	fTensorShape    = 2
	fShapeDim       = 1
	fDimValue       = 1
	fDimParam       = 2
)

// Encode serialises m as an ONNX ModelProto. The output is deterministic: the same Model always
// gives the same bytes (fields are written in field-number order, repeated fields in slice order).
func Encode(m *Model) []byte {
	var b []byte
	b = appendVarintField(b, fModelIRVersion, uint64(m.IRVersion))
	b = appendStringField(b, fModelProducerName, m.ProducerName)
	b = appendStringField(b, fModelProducerVersion, m.ProducerVersion)
	b = appendStringField(b, fModelDomain, m.Domain)
	b = appendVarintField(b, fModelModelVersion, uint64(m.ModelVersion))
	b = appendStringField(b, fModelDoc, m.Doc)
	b = appendMessage(b, fModelGraph, encodeGraph(nil, &m.Graph))
	for _, o := range m.Opsets {
		var ob []byte
		ob = appendStringField(ob, fOpsetDomain, o.Domain)
		ob = appendVarintField(ob, fOpsetVersion, uint64(o.Version))
		b = appendMessage(b, fModelOpsetImport, ob)
	}
	for _, e := range m.Metadata {
		b = appendMessage(b, fModelMetadataProps, encodeEntry(e))
	}
	return b
}

func encodeEntry(e Entry) []byte {
	var b []byte
	b = appendStringField(b, fEntryKey, e.Key)
	return appendStringField(b, fEntryValue, e.Value)
}

func encodeGraph(b []byte, g *Graph) []byte {
	for i := range g.Nodes {
		b = appendMessage(b, fGraphNode, encodeNode(&g.Nodes[i]))
	}
	b = appendStringField(b, fGraphName, g.Name)
	for i := range g.Initializers {
		b = appendMessage(b, fGraphInitializer, encodeTensor(&g.Initializers[i]))
	}
	b = appendStringField(b, fGraphDoc, g.Doc)
	for i := range g.Inputs {
		b = appendMessage(b, fGraphInput, encodeValueInfo(&g.Inputs[i]))
	}
	for i := range g.Outputs {
		b = appendMessage(b, fGraphOutput, encodeValueInfo(&g.Outputs[i]))
	}
	return b
}

func encodeNode(n *Node) []byte {
	var b []byte
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, fNodeInput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, fNodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendStringField(b, fNodeName, n.Name)
	b = appendStringField(b, fNodeOpType, n.OpType)
	for i := range n.Attributes {
		b = appendMessage(b, fNodeAttribute, encodeAttribute(&n.Attributes[i]))
	}
	b = appendStringField(b, fNodeDoc, n.Doc)
	b = appendStringField(b, fNodeDomain, n.Domain)
	return b
}

func encodeAttribute(a *Attribute) []byte {
	var b []byte
	b = appendStringField(b, fAttrName, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, fAttrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, fAttrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, fAttrS, protowire.BytesType)
		b = protowire.AppendBytes(b, a.S)
	case AttrTensor:
		if a.T != nil {
			b = appendMessage(b, fAttrT, encodeTensor(a.T))
		}
	case AttrFloats:
		b = appendPackedFloats(b, fAttrFloats, a.Floats)
	case AttrInts:
		b = appendPackedInts(b, fAttrInts, a.Ints)
	case AttrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, fAttrStrings, protowire.BytesType)
			b = protowire.AppendBytes(b, s)
		}
	}
	b = protowire.AppendTag(b, fAttrType, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(a.Type))
}

func encodeTensor(t *Tensor) []byte {
	var b []byte
	b = appendPackedInts(b, fTensorDims, t.Dims)
	b = appendVarintField(b, fTensorDataType, uint64(t.DataType))
	switch t.DataType {
	case Float:
		b = appendPackedFloats(b, fTensorFloatData, t.Floats)
	case Int32:
		if len(t.Int32s) > 0 {
			var p []byte
			for _, v := range t.Int32s {
				p = protowire.AppendVarint(p, uint64(int64(v)))
			}
			b = appendMessage(b, fTensorInt32Data, p)
		}
	case Int64:
		b = appendPackedInts(b, fTensorInt64Data, t.Int64s)
	case Double:
		if len(t.Doubles) > 0 {
			var p []byte
			for _, v := range t.Doubles {
				p = protowire.AppendFixed64(p, math.Float64bits(v))
			}
			b = appendMessage(b, fTensorDouble, p)
		}
	}
	return appendStringField(b, fTensorName, t.Name)
}

func encodeValueInfo(v *ValueInfo) []byte {
	var shape []byte
	for _, d := range v.Shape {
		var db []byte
		switch {
		case d.Param != "":
			db = appendStringField(db, fDimParam, d.Param)
		case d.Value > 0:
			db = protowire.AppendTag(db, fDimValue, protowire.VarintType)
			db = protowire.AppendVarint(db, uint64(d.Value))
		}
		shape = appendMessage(shape, fShapeDim, db)
	}
	var tt []byte
	tt = appendVarintField(tt, fTensorElemType, uint64(v.ElemType))
	if v.Shape != nil {
		tt = appendMessage(tt, fTensorShape, shape)
	}
	var typ []byte
	typ = appendMessage(typ, fTypeTensor, tt)

	var b []byte
	b = appendStringField(b, fValueName, v.Name)
	b = appendMessage(b, fValueType, typ)
	return appendStringField(b, fValueDoc, v.Doc)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendPackedFloats(b []byte, num protowire.Number, v []float32) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(4*len(v)))
	for _, f := range v {
		b = protowire.AppendFixed32(b, math.Float32bits(f))
	}
	return b
}

func appendPackedInts(b []byte, num protowire.Number, v []int64) []byte {
	if len(v) == 0 {
		return b
	}
	var p []byte
	for _, x := range v {
		p = protowire.AppendVarint(p, uint64(x))
	}
	return appendMessage(b, num, p)
}

package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// MaxModelSize is the largest file [Decode] accepts (64 MiB); the SDK's models are a few hundred KiB.
const MaxModelSize = 64 << 20

// Decode parses an ONNX ModelProto. Fields outside the subset the SDK uses (training info,
// functions, sparse initializers, sub-graph attributes, value_info, ...) are skipped. Malformed
// input returns a [*DecodeError]; Decode never panics on bad input.
func Decode(b []byte) (*Model, error) {
	if len(b) > MaxModelSize {
		return nil, &DecodeError{Msg: "ModelProto", Err: fmt.Errorf("%w: %d bytes exceeds %d", ErrMalformed, len(b), MaxModelSize)}
	}
	m := &Model{}
	err := walk(b, "ModelProto", func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case fModelIRVersion:
			return v.int64(&m.IRVersion)
		case fModelProducerName:
			return v.string(&m.ProducerName)
		case fModelProducerVersion:
			return v.string(&m.ProducerVersion)
		case fModelDomain:
			return v.string(&m.Domain)
		case fModelModelVersion:
			return v.int64(&m.ModelVersion)
		case fModelDoc:
			return v.string(&m.Doc)
		case fModelGraph:
			msg, err := v.message()
			if err != nil {
				return err
			}
			return decodeGraph(msg, &m.Graph)
		case fModelOpsetImport:
			msg, err := v.message()
			if err != nil {
				return err
			}
			var o Opset
			if err := walk(msg, "OperatorSetIdProto", func(num protowire.Number, _ protowire.Type, v field) error {
				switch num {
				case fOpsetDomain:
					return v.string(&o.Domain)
				case fOpsetVersion:
					return v.int64(&o.Version)
				}
				return nil
			}); err != nil {
				return err
			}
			m.Opsets = append(m.Opsets, o)
		case fModelMetadataProps:
			msg, err := v.message()
			if err != nil {
				return err
			}
			e, err := decodeEntry(msg)
			if err != nil {
				return err
			}
			m.Metadata = append(m.Metadata, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func decodeEntry(b []byte) (Entry, error) {
	var e Entry
	err := walk(b, "StringStringEntryProto", func(num protowire.Number, _ protowire.Type, v field) error {
		switch num {
		case fEntryKey:
			return v.string(&e.Key)
		case fEntryValue:
			return v.string(&e.Value)
		}
		return nil
	})
	return e, err
}

func decodeGraph(b []byte, g *Graph) error {
	return walk(b, "GraphProto", func(num protowire.Number, _ protowire.Type, v field) error {
		switch num {
		case fGraphName:
			return v.string(&g.Name)
		case fGraphDoc:
			return v.string(&g.Doc)
		case fGraphNode:
			msg, err := v.message()
			if err != nil {
				return err
			}
			var n Node
			if err := decodeNode(msg, &n); err != nil {
				return err
			}
			g.Nodes = append(g.Nodes, n)
		case fGraphInitializer:
			msg, err := v.message()
			if err != nil {
				return err
			}
			var t Tensor
			if err := decodeTensor(msg, &t); err != nil {
				return err
			}
			g.Initializers = append(g.Initializers, t)
		case fGraphInput, fGraphOutput:
			msg, err := v.message()
			if err != nil {
				return err
			}
			var vi ValueInfo
			if err := decodeValueInfo(msg, &vi); err != nil {
				return err
			}
			if num == fGraphInput {
				g.Inputs = append(g.Inputs, vi)
			} else {
				g.Outputs = append(g.Outputs, vi)
			}
		}
		return nil
	})
}

func decodeNode(b []byte, n *Node) error {
	return walk(b, "NodeProto", func(num protowire.Number, _ protowire.Type, v field) error {
		switch num {
		case fNodeInput, fNodeOutput:
			var s string
			if err := v.string(&s); err != nil {
				return err
			}
			if num == fNodeInput {
				n.Inputs = append(n.Inputs, s)
			} else {
				n.Outputs = append(n.Outputs, s)
			}
		case fNodeName:
			return v.string(&n.Name)
		case fNodeOpType:
			return v.string(&n.OpType)
		case fNodeDomain:
			return v.string(&n.Domain)
		case fNodeDoc:
			return v.string(&n.Doc)
		case fNodeAttribute:
			msg, err := v.message()
			if err != nil {
				return err
			}
			var a Attribute
			if err := decodeAttribute(msg, &a); err != nil {
				return err
			}
			n.Attributes = append(n.Attributes, a)
		}
		return nil
	})
}

func decodeAttribute(b []byte, a *Attribute) error {
	return walk(b, "AttributeProto", func(num protowire.Number, _ protowire.Type, v field) error {
		switch num {
		case fAttrName:
			return v.string(&a.Name)
		case fAttrType:
			var t int64
			if err := v.int64(&t); err != nil {
				return err
			}
			a.Type = AttrType(t)
		case fAttrF:
			return v.float32(&a.F)
		case fAttrI:
			return v.int64(&a.I)
		case fAttrS:
			s, err := v.message()
			if err != nil {
				return err
			}
			a.S = append([]byte(nil), s...)
		case fAttrT:
			msg, err := v.message()
			if err != nil {
				return err
			}
			t := &Tensor{}
			if err := decodeTensor(msg, t); err != nil {
				return err
			}
			a.T = t
		case fAttrFloats:
			return v.floats(&a.Floats)
		case fAttrInts:
			return v.int64s(&a.Ints)
		case fAttrStrings:
			s, err := v.message()
			if err != nil {
				return err
			}
			a.Strings = append(a.Strings, append([]byte{}, s...))
		}
		return nil
	})
}

func decodeTensor(b []byte, t *Tensor) error {
	var raw []byte
	external := false
	err := walk(b, "TensorProto", func(num protowire.Number, _ protowire.Type, v field) error {
		switch num {
		case fTensorDims:
			return v.int64s(&t.Dims)
		case fTensorDataType:
			var d int64
			if err := v.int64(&d); err != nil {
				return err
			}
			t.DataType = DataType(d)
		case fTensorFloatData:
			return v.floats(&t.Floats)
		case fTensorInt32Data:
			var xs []int64
			if err := v.int64s(&xs); err != nil {
				return err
			}
			for _, x := range xs {
				t.Int32s = append(t.Int32s, int32(x))
			}
		case fTensorInt64Data:
			return v.int64s(&t.Int64s)
		case fTensorDouble:
			return v.doubles(&t.Doubles)
		case fTensorName:
			return v.string(&t.Name)
		case fTensorRawData:
			s, err := v.message()
			if err != nil {
				return err
			}
			raw = s
		case fTensorLocation:
			var loc int64
			if err := v.int64(&loc); err != nil {
				return err
			}
			external = loc == 1
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range t.Dims {
		if d < 0 {
			return &DecodeError{Msg: "TensorProto.dims", Err: fmt.Errorf("%w: negative dimension %d", ErrMalformed, d)}
		}
	}
	if external {
		return &DecodeError{Msg: "TensorProto.data_location", Err: fmt.Errorf("%w: external tensor data", ErrUnsupported)}
	}
	if raw == nil {
		return nil
	}
	bad := func(size int) error {
		return &DecodeError{Msg: "TensorProto.raw_data", Err: fmt.Errorf("%w: %d bytes is not a multiple of %d for %s", ErrMalformed, len(raw), size, t.DataType)}
	}
	switch t.DataType {
	case Float:
		if len(raw)%4 != 0 {
			return bad(4)
		}
		t.Floats = make([]float32, len(raw)/4)
		for i := range t.Floats {
			t.Floats[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case Int32:
		if len(raw)%4 != 0 {
			return bad(4)
		}
		t.Int32s = make([]int32, len(raw)/4)
		for i := range t.Int32s {
			t.Int32s[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case Int64:
		if len(raw)%8 != 0 {
			return bad(8)
		}
		t.Int64s = make([]int64, len(raw)/8)
		for i := range t.Int64s {
			t.Int64s[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case Double:
		if len(raw)%8 != 0 {
			return bad(8)
		}
		t.Doubles = make([]float64, len(raw)/8)
		for i := range t.Doubles {
			t.Doubles[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	default:
		return &DecodeError{Msg: "TensorProto.raw_data", Err: fmt.Errorf("%w: raw data of type %s", ErrUnsupported, t.DataType)}
	}
	return nil
}

func decodeValueInfo(b []byte, vi *ValueInfo) error {
	return walk(b, "ValueInfoProto", func(num protowire.Number, _ protowire.Type, v field) error {
		switch num {
		case fValueName:
			return v.string(&vi.Name)
		case fValueDoc:
			return v.string(&vi.Doc)
		case fValueType:
			msg, err := v.message()
			if err != nil {
				return err
			}
			return walk(msg, "TypeProto", func(num protowire.Number, _ protowire.Type, v field) error {
				if num != fTypeTensor {
					return nil
				}
				msg, err := v.message()
				if err != nil {
					return err
				}
				return decodeTensorType(msg, vi)
			})
		}
		return nil
	})
}

func decodeTensorType(b []byte, vi *ValueInfo) error {
	return walk(b, "TypeProto.Tensor", func(num protowire.Number, _ protowire.Type, v field) error {
		switch num {
		case fTensorElemType:
			var t int64
			if err := v.int64(&t); err != nil {
				return err
			}
			vi.ElemType = DataType(t)
		case fTensorShape:
			msg, err := v.message()
			if err != nil {
				return err
			}
			vi.Shape = []Dim{}
			return walk(msg, "TensorShapeProto", func(num protowire.Number, _ protowire.Type, v field) error {
				if num != fShapeDim {
					return nil
				}
				msg, err := v.message()
				if err != nil {
					return err
				}
				var d Dim
				if err := walk(msg, "TensorShapeProto.Dimension", func(num protowire.Number, _ protowire.Type, v field) error {
					switch num {
					case fDimValue:
						return v.int64(&d.Value)
					case fDimParam:
						return v.string(&d.Param)
					}
					return nil
				}); err != nil {
					return err
				}
				if d.Value < 0 {
					return &DecodeError{Msg: "TensorShapeProto.Dimension", Err: fmt.Errorf("%w: negative dimension %d", ErrMalformed, d.Value)}
				}
				vi.Shape = append(vi.Shape, d)
				return nil
			})
		}
		return nil
	})
}

// field is one decoded wire value; its methods check the wire type against what the schema says.
type field struct {
	msg   string
	num   protowire.Number
	typ   protowire.Type
	u     uint64
	bytes []byte
}

func (f field) errorf(format string, args ...any) error {
	return &DecodeError{Msg: fmt.Sprintf("%s field %d", f.msg, f.num), Err: fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)}
}

func (f field) int64(dst *int64) error {
	if f.typ != protowire.VarintType {
		return f.errorf("wire type %d, want varint", f.typ)
	}
	*dst = int64(f.u)
	return nil
}

func (f field) float32(dst *float32) error {
	if f.typ != protowire.Fixed32Type {
		return f.errorf("wire type %d, want fixed32", f.typ)
	}
	*dst = math.Float32frombits(uint32(f.u))
	return nil
}

func (f field) string(dst *string) error {
	if f.typ != protowire.BytesType {
		return f.errorf("wire type %d, want bytes", f.typ)
	}
	*dst = string(f.bytes)
	return nil
}

func (f field) message() ([]byte, error) {
	if f.typ != protowire.BytesType {
		return nil, f.errorf("wire type %d, want bytes", f.typ)
	}
	return f.bytes, nil
}

// floats accepts both packed and unpacked encodings of repeated float.
func (f field) floats(dst *[]float32) error {
	switch f.typ {
	case protowire.Fixed32Type:
		*dst = append(*dst, math.Float32frombits(uint32(f.u)))
	case protowire.BytesType:
		if len(f.bytes)%4 != 0 {
			return f.errorf("packed floats of %d bytes", len(f.bytes))
		}
		for b := f.bytes; len(b) > 0; b = b[4:] {
			*dst = append(*dst, math.Float32frombits(binary.LittleEndian.Uint32(b)))
		}
	default:
		return f.errorf("wire type %d, want fixed32 or packed", f.typ)
	}
	return nil
}

func (f field) doubles(dst *[]float64) error {
	switch f.typ {
	case protowire.Fixed64Type:
		*dst = append(*dst, math.Float64frombits(f.u))
	case protowire.BytesType:
		if len(f.bytes)%8 != 0 {
			return f.errorf("packed doubles of %d bytes", len(f.bytes))
		}
		for b := f.bytes; len(b) > 0; b = b[8:] {
			*dst = append(*dst, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		}
	default:
		return f.errorf("wire type %d, want fixed64 or packed", f.typ)
	}
	return nil
}

// int64s accepts both packed and unpacked encodings of repeated int64/int32.
func (f field) int64s(dst *[]int64) error {
	switch f.typ {
	case protowire.VarintType:
		*dst = append(*dst, int64(f.u))
	case protowire.BytesType:
		for b := f.bytes; len(b) > 0; {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return f.errorf("packed varints: %v", protowire.ParseError(n))
			}
			*dst = append(*dst, int64(v))
			b = b[n:]
		}
	default:
		return f.errorf("wire type %d, want varint or packed", f.typ)
	}
	return nil
}

// walk calls fn for every field of the message in b. Groups and unknown fields are skipped after
// checking they are well-formed.
func walk(b []byte, msg string, fn func(protowire.Number, protowire.Type, field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return &DecodeError{Msg: msg, Err: fmt.Errorf("%w: tag: %v", ErrMalformed, protowire.ParseError(n))}
		}
		b = b[n:]
		f := field{msg: msg, num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.u = uint64(v)
		case protowire.Fixed64Type:
			f.u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return &DecodeError{Msg: fmt.Sprintf("%s field %d", msg, num), Err: fmt.Errorf("%w: %v", ErrMalformed, protowire.ParseError(n))}
			}
			b = b[n:]
			continue
		}
		if n < 0 {
			return &DecodeError{Msg: fmt.Sprintf("%s field %d", msg, num), Err: fmt.Errorf("%w: %v", ErrMalformed, protowire.ParseError(n))}
		}
		b = b[n:]
		if err := fn(num, typ, f); err != nil {
			return err
		}
	}
	return nil
}

package onnx

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error the package returns wraps one of them.
var (
	// ErrMalformed reports bytes that are not a well-formed ModelProto.
	ErrMalformed = errors.New("onnx: malformed model")
	// ErrInvalid reports a well-formed model that breaks an ONNX rule (unknown value names,
	// inconsistent attribute lengths, a tensor whose data does not match its dims, ...).
	ErrInvalid = errors.New("onnx: invalid model")
	// ErrUnsupported reports an operator, attribute value, type or operator-set version outside the
	// subset the pure-Go evaluator implements.
	ErrUnsupported = errors.New("onnx: unsupported")
	// ErrShape reports input tensors whose shape does not fit the graph.
	ErrShape = errors.New("onnx: shape mismatch")
	// ErrNotExplainable reports a model whose structure has no per-feature attribution
	// (see [NewExplainer]).
	ErrNotExplainable = errors.New("onnx: model has no per-feature attribution")
	// ErrNotConstructed is returned by a zero [Evaluator]: create one with
	// [Program.NewEvaluator].
	ErrNotConstructed = errors.New("onnx: a zero Evaluator is not usable: create it with Program.NewEvaluator")
)

// DecodeError reports where [Decode] found malformed input.
type DecodeError struct {
	// Msg names the protobuf message (and field) being read.
	Msg string
	Err error
}

func (e *DecodeError) Error() string { return fmt.Sprintf("onnx: decoding %s: %v", e.Msg, e.Err) }

// Unwrap returns the underlying sentinel-wrapping error.
func (e *DecodeError) Unwrap() error { return e.Err }

// NodeError reports a problem with one node of a graph, found by [Compile] or while running.
type NodeError struct {
	// Node is the node's name, or its index as "#i" when it has none.
	Node   string
	OpType string
	Err    error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("onnx: node %s (%s): %v", e.Node, e.OpType, e.Err)
}

// Unwrap returns the underlying sentinel-wrapping error.
func (e *NodeError) Unwrap() error { return e.Err }

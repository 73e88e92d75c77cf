package train

import "errors"

// Producer is written into the ONNX files the package exports.
const Producer = "anya-go ml/train"

// Sentinel errors.
var (
	// ErrData reports training data that cannot be used (shape, non-finite values, labels).
	ErrData = errors.New("train: bad training data")
	// ErrConfig reports invalid hyper-parameters.
	ErrConfig = errors.New("train: bad configuration")
)

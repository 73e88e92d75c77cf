package onnx

var LogfForTest = logf

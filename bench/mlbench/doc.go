// Package mlbench holds the ML anchor benchmarks: the SDK's inference engine and pure-Go
// evaluator side by side with raw github.com/yalue/onnxruntime_go calls on the same models and
// batch sizes. The benchmarks need cgo and the ONNX Runtime library (`make setup`).
package mlbench

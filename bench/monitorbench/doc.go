// Package monitorbench measures the fraud monitor (package bridge/monitor) end to end: a
// burst of mempool transactions published on the bus and followed through features, the
// trust boundaries (audited), the fraud engine and the scored and alert events back on the
// bus; and btcd's 3,315-transaction mainnet test block scored whole. Both run on the pure-Go
// evaluator and, when the ONNX Runtime library is there (`make setup`), on ONNX Runtime.
package monitorbench

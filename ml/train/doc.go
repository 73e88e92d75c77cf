// Package train fits the SDK's model families in pure Go and exports them as ONNX with the SDK's
// own encoder: no Python, no downloads.
//
// # Gradient-boosted trees
//
// [FitGBT] boosts depth-limited regression trees on the logistic loss (second-order splits,
// L2-regularised leaves, shrinkage), finding splits over per-feature quantile bins whose edges are
// values from the data — so a split "x <= edge" partitions float32 inputs exactly as ONNX
// Runtime's BRANCH_LEQ does. It stops early on validation log-loss. [Ensemble.ONNX] writes a
// TreeEnsembleRegressor over log-odds (each node's training cover stored as its hit rate, which
// the explainer uses for tree-path attributions) followed by Sigmoid.
//
// # Logistic regression
//
// [FitLogistic] fits L2-regularised logistic regression by Newton's method on log1p-transformed,
// standardised features. [Logistic.ONNX] writes Add(1), Log, Sub(mean), Div(std), Gemm and
// Sigmoid, which the explainer attributes feature by feature.
//
// Both are deterministic: the same data and configuration give the same model, bit for bit.
package train

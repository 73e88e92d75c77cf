// Package recipe is how the SDK makes its shipped models.
//
// # Steps
//
// For each of [Specs] it generates the labelled data (ml/dataset, fixed seed), splits it into
// train, validation and test rows, fits gradient-boosted trees and logistic regression
// (ml/train), scores both exported ONNX files with the pure-Go evaluator, ships logistic
// regression unless the trees lower its validation log-loss by more than [SimplerWithin] (5%),
// and writes the version directory: model.onnx, model.json (ml.Manifest with test metrics),
// card.json and card.png (ml/modelcard).
//
// # Reproducible
//
// [Build] is what `make models`, `go generate ./models` and `anya model train` run; it always
// writes the same bytes, and the models package's tests rebuild and compare every file.
package recipe

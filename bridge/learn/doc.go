// Package learn makes the features a model is served the features it is trained on: a
// recorder that writes every scored vector to the feature store, a trainer that builds a model
// from the offline tier when none exists, and periodic re-scoring.
//
// # Recording
//
// [Recorder.Score] writes the vector to the feature store (online and offline tiers, under its
// entity) and then scores it. A vector the store does not take is not scored ([ErrRecord]):
// no decision rests on data the training set will not have.
//
// # Training when no model exists
//
// [EnsureModel] looks for the model in a registry directory; when there is no version, it
// joins labelled decisions with the vectors current when they were made (the offline tier's
// point-in-time TrainingSet — so each row is what its decision was scored on), fits logistic
// regression or gradient-boosted trees ([WithAlgorithm]) on the earlier rows, evaluates the
// exported ONNX file on the held-out later ones, writes the version with its manifest metrics
// and model card, and activates it in a serving engine ([WithActivate]). Too little data is a
// *[DataError].
//
// # Re-scoring
//
// A [Rescorer] re-scores a set of entities (identities' reputation) at a configurable
// frequency: each pass lists the entities, computes their vectors, scores them through a
// Recorder and hands each result to a sink (a score record, an event). [Rescorer.Run] blocks
// until its context ends; the caller owns the goroutine.
package learn

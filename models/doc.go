// Package models holds the models the SDK trains itself, embedded: [Fraud] (transaction and
// identity features → probability of fraud) and [Reputation] (identity features → probability of
// being reputable). [Registry] opens them as a read-only ml.Registry; [Load] returns one,
// verified against its sha256.
//
// # Reproducible
//
// Nothing here is downloaded. Sub-package recipe generates the labelled data (ml/dataset, seeded),
// trains gradient-boosted trees and logistic regression (ml/train), keeps the simpler model unless
// the trees are clearly better on validation data, exports ONNX with the SDK's own encoder, and
// writes each version's manifest, model card (card.json) and ROC/precision-recall plot
// (card.png). `make models`, `go generate ./models` or `anya model train --out models` rebuild
// every file bit-for-bit; the package's tests retrain and compare.
//
// # Files
//
//	<name>/<version>/model.onnx   the model (IR 8, opset 13, ai.onnx.ml 3)
//	<name>/<version>/model.json   ml.Manifest: sha256, schema, tensors, test metrics
//	<name>/<version>/card.json    modelcard.Card: data, candidates, selection, metrics, curves
//	<name>/<version>/card.png     ROC and precision-recall curves on the test split
package models

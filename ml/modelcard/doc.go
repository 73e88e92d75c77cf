// Package modelcard evaluates binary classifiers and documents them: [Evaluate] computes ROC
// AUC, precision-recall AUC (average precision), log-loss, Brier score and precision, recall,
// F1 and accuracy at a threshold, with the ROC and precision-recall curves; a [Card] records a
// model's purpose, data, candidates, selection rule and held-out metrics as JSON, and
// [Card.PlotPNG] draws its curves with gonum/plot.
//
// # Reproducible
//
// Metrics are rounded to 6 decimals, maps are written with sorted keys and the plot renderer
// is deterministic, so a card rebuilt from the same model and data is the same bytes.
package modelcard

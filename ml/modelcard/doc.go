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
//
// # Conventions
//
// The SDK has one option style. A constructor takes options of one type, Option, a
// func(*config) over an unexported configuration: it applies the defaults, then the options in
// order, then validates the whole configuration once and returns a typed *OptionError naming
// the offending option, its value and the reason (it matches the package's ErrInvalidOption
// with errors.Is). Option constructors never fail and never panic, and each option's
// documentation ends with its default. Time comes from WithClock(now func() time.Time),
// time.Now by default; timers and sleeps use package time, so tests fake time with
// testing/synctest. Logs go to WithLogger(*slog.Logger), silent by default. The zero value of an
// exported type either works as documented or returns an error naming its constructor (it
// matches the package's ErrNotConstructed with errors.Is); it never panics.
package modelcard

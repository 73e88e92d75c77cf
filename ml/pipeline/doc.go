// Package pipeline scores a stream of inputs: source → extract → validate → transform → score
// → sinks, over bus topics. The integration layer builds its Bitcoin→ML flow (transaction events
// in, fraud risk out) and its Web5→ML flow (resolved identities in, reputation out) from it.
//
// # Stages
//
// [Extract] turns an input into a feature vector of a schema (the bitcoin and web5 packages
// provide the features; ml never imports them). The vector is validated against the scorer's
// active model schema (or [WithSchema]); [Transform]s adjust it (enrichment from the feature
// store, redaction); the [Scorer] — an ml.Engine — scores it; [Sink]s receive the [Scored]
// result. A failure stops the input at its stage with a [*StageError], counted in [Stats].
//
// # Over the bus
//
// [Pipeline.Subscribe] subscribes to a topic pattern for inputs of the pipeline's type and
// publishes each [Scored] result on an output topic as a child of its input message (same key;
// causation and correlation IDs set). Failures go back to the bus as handler errors, so the
// subscription's DeadLetter and RetryHandler options apply; bus.Concurrency lets the engine batch several
// inputs at once. A pipeline owns no goroutines.
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
//
// Here Option has the pipeline's input type as a type parameter, Option[In], since [WithSink]
// takes sinks of that type.
package pipeline

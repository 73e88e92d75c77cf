// Package ml scores transactions for fraud risk and identities for reputation, fast enough to
// sit inline in a payment path: a model registry, an inference engine with micro-batching on
// ONNX Runtime or a pure-Go evaluator, and versioned feature schemas. ml never imports the
// bitcoin or web5 packages: they produce plain feature vectors in a schema's order.
//
// # Models and the registry
//
// A [Model] is an ONNX file plus its [Manifest]: name, version, sha256, the input and output
// tensors, the input's feature [Schema], the decision threshold and held-out metrics.
// [NewModel] verifies the bytes against the manifest. A [Registry] keeps versions in a directory
// tree (name/version/model.onnx + model.json) and refuses a file whose sha256 does not match
// ([*HashError]). The SDK's own trained models are in package models, embedded.
//
// # Scoring
//
// An [Engine] serves one model name. [Engine.Score] and [Engine.ScoreBatch] validate vectors
// against the active model's schema — length, NaN/Inf, per-feature ranges, schema name and
// version — and return typed errors ([*ShapeError], [*FeatureError], [*SchemaError]) before
// anything reaches the model. A call that finds the engine uncontended (no request queued, a
// session idle, no more callers than sessions) runs on its own goroutine at the backend's cost.
// Otherwise it joins a bounded queue served by a micro-batcher: one worker per core, each owning
// a backend session, coalesces queued requests into one backend run (max batch [WithMaxBatch],
// optional max wait [WithMaxWait]); under load a worker yields once before taking a batch so
// that runnable callers can join it. A full queue applies backpressure, or fails fast with
// [WithRejectWhenFull]; a cancelled context takes its request out of the queue at once, releasing
// its slot; [WithMaxLatency] gives every call a deadline. A backend run in progress is never
// interrupted: runs take microseconds.
//
// A [Result] names the model version that computed it and, with [WithFactors], the features that
// moved the score most (tree-path or linear-weight attribution): the risk factors of a payment
// decision.
//
// [Engine.Activate] switches to another version while traffic flows, and [Engine.Rollback]
// returns to the previous one; a version that fails to load leaves the current one serving.
//
// # Backends
//
// [ORTBackend] runs ONNX Runtime 1.24.1 through github.com/yalue/onnxruntime_go (cgo). The
// library is found ([FindORTLibrary]), in order, by [WithORTLibrary], then $ANYA_ONNXRUNTIME_LIB,
// then in the user cache, where
//
//	go run github.com/anya-org/anya-go/cmd/anya setup
//
// installs the pinned release after checking its sha256 ([SetupCommand], [UserCacheORTLibrary]),
// then — only when the program runs inside the SDK's own checkout — in the .tools folder that
// `make setup` fills. A configured path that does not exist is an error naming it
// ([*LibraryError]), never a reason to look elsewhere; so is a library that is found but fails
// to load. When nothing is configured and nothing is found (or the program was built without
// cgo), [NewEngine] returns the error, whose message gives the setup command, unless
// [WithGoFallback] is set: then the engine scores with the pure-Go evaluator, logs a warning,
// and [Engine.BackendReason] says why. ONNX Runtime
// keeps one environment per process (onnxruntime_go holds it in package state), so the backends
// share it through the package's only process-wide variable, a reference count: the first
// backend initialises it, the last to close destroys it. Sessions run with one thread each and
// the engine runs one session per core, which measured 1.5–2× faster than ONNX Runtime's own
// threading on these models.
//
// [GoBackend] runs the same .onnx files with package onnx's evaluator, so the SDK builds and
// scores with CGO_ENABLED=0. Both pass the conformance suite mltest.RunBackend, and the
// package's tests check that they agree within 1e-5.
//
// # Observability
//
// With [WithTracerProvider], every [Engine.Score] and [Engine.ScoreBatch] call is a span,
// [SpanScore] ("ml.score") or [SpanScoreBatch] ("ml.score_batch"), a child of the caller's,
// with anya.ml.model, anya.ml.model.version (the version that scored), anya.ml.backend and
// anya.ml.rows; a failure has status Error and error.type. Features and scores are never
// recorded. The micro-batcher's backend runs serve many callers at once and have no span.
//
// With [WithMeterProvider], every backend run is recorded in the histograms anya.ml.batch.size
// ({row}) and anya.ml.batch.duration (s), by anya.ml.model, anya.ml.model.version and
// anya.ml.backend, and the engine reports the gauge anya.ml.queue.depth ({request}) and the
// counters anya.ml.requests and anya.ml.rejected ({request}) from its own counters when the
// meter collects. [Engine.Close] stops reporting. Without either (the default, or
// OpenTelemetry's no-op providers) a call tests one pointer. docs/observability.md lists the
// instruments of every package.
//
// # Around the engine
//
// Package onnx reads, writes, evaluates and explains the ONNX subset; ml/featurestore keeps
// feature vectors online and offline with point-in-time lookups; ml/pipeline runs
// extract → validate → transform → score over bus topics; ml/dataset, ml/train and ml/modelcard
// make and document the SDK's own models, which package models ships; ml/mltest is the test kit.
//
// # Zero values
//
// A zero [GoBackend] works as [NewGoBackend] returns it. The zero [Engine], [Registry], [Model]
// and [ORTBackend] hold nothing: their methods that can fail return a [*NotConstructedError]
// naming the constructor, and the others report nothing.
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
// The engine reads no clock (its waits and deadlines use package time), so it has no
// WithClock; [OpenRegistry] takes no options.
package ml

package ml

import (
	"log/slog"
	"runtime"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Engine defaults.
const (
	// DefaultMaxBatch is the most rows one backend call scores. It bounds how long a call waits
	// behind a bulk batch (a 32-row call holds a session about 15 µs on the fraud model, a 256-row
	// call about 190 µs), and ONNX Runtime 1.24's tree ensembles score about 1.6× more rows per
	// second in 16–32-row calls than in 256-row ones. Raise it for bulk throughput (5–15% more
	// measured at 256; bench/README.md).
	DefaultMaxBatch = 32
	// DefaultMaxWait is how long a worker holds a partial batch for more requests: 0, so a lone
	// request runs at once and requests coalesce only while every session is busy.
	DefaultMaxWait = time.Duration(0)
	// DefaultQueueSize bounds the rows waiting or running in the engine.
	DefaultQueueSize = 4096
	// DefaultMaxLatency is the per-call budget: 0 means only the caller's context bounds a call.
	DefaultMaxLatency = time.Duration(0)
	// DefaultFactors is how many risk factors each result carries: 0 (none).
	DefaultFactors = 0
)

// Option configures an [Engine].
type Option func(*config)

type config struct {
	backend    Backend
	ortLibrary string
	goFallback bool
	maxBatch   int
	maxWait    time.Duration
	queueSize  int
	workers    int
	maxLatency time.Duration
	factors    int
	rejectFull bool
	logger     *slog.Logger
	tracerProv trace.TracerProvider
	meterProv  metric.MeterProvider
}

func defaultConfig() config {
	return config{
		maxBatch:   DefaultMaxBatch,
		maxWait:    DefaultMaxWait,
		queueSize:  DefaultQueueSize,
		workers:    runtime.GOMAXPROCS(0),
		maxLatency: DefaultMaxLatency,
		factors:    DefaultFactors,
		logger:     slog.New(slog.DiscardHandler),
	}
}

// WithBackend runs models on b. The engine does not close b. Defaults to an [ORTBackend] the
// engine creates (and closes) itself, using [WithORTLibrary].
func WithBackend(b Backend) Option { return func(c *config) { c.backend = b } }

// WithORTLibrary sets the ONNX Runtime library path of the engine's own ORT backend; a path
// that does not exist makes [NewEngine] fail with a [*LibraryError] naming it. Defaults to "":
// $ANYA_ONNXRUNTIME_LIB, then the user cache, then the SDK checkout's .tools when running
// inside it (see [FindORTLibrary]).
func WithORTLibrary(path string) Option { return func(c *config) { c.ortLibrary = path } }

// WithGoFallback makes the engine score with the pure-Go evaluator when its own ORT backend
// cannot start because nothing was configured and no library was found, or because the program
// was built without cgo. The engine logs a warning and reports the reason in
// [Engine.BackendReason]. A configured path that does not exist, or a library that fails to
// load, is still an error. Defaults to off: NewEngine returns the error.
func WithGoFallback() Option { return func(c *config) { c.goFallback = true } }

// WithMaxBatch sets the most rows one backend call scores. Defaults to [DefaultMaxBatch].
func WithMaxBatch(n int) Option { return func(c *config) { c.maxBatch = n } }

// WithMaxWait sets how long a worker holding a partial batch waits for more requests before
// running it. Defaults to [DefaultMaxWait] (0: never wait).
func WithMaxWait(d time.Duration) Option { return func(c *config) { c.maxWait = d } }

// WithQueueSize bounds the rows queued or running; callers beyond it wait (backpressure) or,
// with [WithRejectWhenFull], get [ErrOverloaded]. Must be at least the max batch. Defaults to
// [DefaultQueueSize].
func WithQueueSize(rows int) Option {
	return func(c *config) { c.queueSize = rows }
}

// WithWorkers sets the number of workers, each owning one backend session. Defaults to
// runtime.GOMAXPROCS(0): one session per core.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithMaxLatency bounds every call: one that cannot be scored within d returns a
// [*DeadlineError]. Defaults to [DefaultMaxLatency] (0: no bound beyond the caller's context).
func WithMaxLatency(d time.Duration) Option { return func(c *config) { c.maxLatency = d } }

// WithFactors makes every result carry the n features that contributed most to its score
// (tree-path or linear-weight attribution; models without one carry none). Defaults to
// [DefaultFactors] (0).
func WithFactors(n int) Option { return func(c *config) { c.factors = n } }

// WithRejectWhenFull makes calls fail with [ErrOverloaded] instead of waiting when the queue is
// full. Defaults to off (callers wait: backpressure).
func WithRejectWhenFull() Option { return func(c *config) { c.rejectFull = true } }

// WithLogger sets the logger for activations, models without attribution and the fallback to
// the pure-Go evaluator (a warning). Defaults to a logger that discards everything.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithTracerProvider traces every [Engine.Score] and [Engine.ScoreBatch] call with tp: a span
// ([SpanScore], [SpanScoreBatch]) under the caller's, naming the model and version that scored,
// the backend and the rows — never the features or the scores. A nil tp is the no-op provider.
// Defaults to OpenTelemetry's no-op provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProv = tp }
}

// WithMeterProvider records the size and the duration of every backend run (the micro-batcher's
// batches) in histograms of mp, and reports the queue depth and the requests scored and refused.
// [Engine.Close] stops reporting. A nil mp is the no-op provider. Defaults to OpenTelemetry's
// no-op provider: nothing is reported.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProv = mp }
}

func (c *config) validate() error {
	switch {
	case c.maxBatch < 1 || c.maxBatch > 1<<16:
		return &OptionError{Option: "WithMaxBatch", Value: c.maxBatch, Reason: "must be in 1..65536"}
	case c.maxWait < 0:
		return &OptionError{Option: "WithMaxWait", Value: c.maxWait, Reason: "must not be negative"}
	case c.queueSize < c.maxBatch:
		return &OptionError{Option: "WithQueueSize", Value: c.queueSize, Reason: "must be at least the max batch"}
	case c.workers < 1 || c.workers > 1024:
		return &OptionError{Option: "WithWorkers", Value: c.workers, Reason: "must be in 1..1024"}
	case c.maxLatency < 0:
		return &OptionError{Option: "WithMaxLatency", Value: c.maxLatency, Reason: "must not be negative"}
	case c.factors < 0:
		return &OptionError{Option: "WithFactors", Value: c.factors, Reason: "must not be negative"}
	case c.logger == nil:
		return &OptionError{Option: "WithLogger", Value: nil, Reason: "must not be nil"}
	}
	return nil
}

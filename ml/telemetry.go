package ml

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// Span and instrument names of the engine (see the package documentation, Observability, and
// docs/observability.md).
const (
	SpanScore      = "ml.score"       // one Score call, a child of the caller's span
	SpanScoreBatch = "ml.score_batch" // one ScoreBatch call

	MetricNameBatchSize     = "anya.ml.batch.size"     // {row}, histogram: rows per backend run
	MetricNameBatchDuration = "anya.ml.batch.duration" // s, histogram: time of one backend run
	MetricNameQueueDepth    = "anya.ml.queue.depth"    // {request}, gauge: requests waiting for a worker
	MetricNameRequests      = "anya.ml.requests"       // {request}, counter: requests scored (Stats.Requests)
	MetricNameRejected      = "anya.ml.rejected"       // {request}, counter: calls refused with ErrOverloaded
)

const (
	attrModel   = attribute.Key("anya.ml.model")
	attrVersion = attribute.Key("anya.ml.model.version")
	attrBackend = attribute.Key("anya.ml.backend")
	attrRows    = attribute.Key("anya.ml.rows")
)

var knownErrors = [...]error{ErrClosed, ErrOverloaded}

// engineTelemetry is an engine's instrumentation; nil when it has none.
type engineTelemetry struct {
	tracer        trace.Tracer // nil: not traced
	batchSize     metric.Int64Histogram
	batchDuration metric.Float64Histogram // nil: not metered
	reg           metric.Registration
}

// newEngineTelemetry builds e's instrumentation, once e's backend is known.
func newEngineTelemetry(e *Engine) (*engineTelemetry, error) {
	t := &engineTelemetry{tracer: telemetry.Tracer(e.cfg.tracerProv, "ml")}
	m := telemetry.Meter(e.cfg.meterProv, "ml")
	if t.tracer == nil && m == nil {
		return nil, nil
	}
	if m == nil {
		return t, nil
	}
	var err error
	if t.batchSize, err = m.Int64Histogram(MetricNameBatchSize, metric.WithUnit("{row}"),
		metric.WithDescription("Rows scored in one backend run: the micro-batcher's coalescing."),
		metric.WithExplicitBucketBoundaries(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)); err != nil {
		return nil, err
	}
	if t.batchDuration, err = m.Float64Histogram(MetricNameBatchDuration, metric.WithUnit("s"),
		metric.WithDescription("Time of one backend run."),
		metric.WithExplicitBucketBoundaries(0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1)); err != nil {
		return nil, err
	}
	depth, err := m.Int64ObservableGauge(MetricNameQueueDepth, metric.WithUnit("{request}"),
		metric.WithDescription("Requests queued for a worker."))
	if err != nil {
		return nil, err
	}
	requests, err := m.Int64ObservableCounter(MetricNameRequests, metric.WithUnit("{request}"),
		metric.WithDescription("Requests scored: one per Score call, one per chunk of a ScoreBatch call."))
	if err != nil {
		return nil, err
	}
	rejected, err := m.Int64ObservableCounter(MetricNameRejected, metric.WithUnit("{request}"),
		metric.WithDescription("Calls refused because the queue was full."))
	if err != nil {
		return nil, err
	}
	backend := metric.WithAttributes(attrBackend.String(e.backend.Name()))
	t.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(depth, int64(e.q.queued.Load()), backend)
		o.ObserveInt64(requests, int64(e.requests.Load()), backend)
		o.ObserveInt64(rejected, int64(e.rejected.Load()), backend)
		return nil
	}, depth, requests, rejected)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// metered reports whether backend runs are measured.
func (t *engineTelemetry) metered() bool { return t != nil && t.batchDuration != nil }

// recordBatch records one backend run of rows rows on deployment d that took took.
func (t *engineTelemetry) recordBatch(d *deployment, rows int, took time.Duration) {
	ctx := context.Background()
	t.batchSize.Record(ctx, int64(rows), d.metricAttrs)
	t.batchDuration.Record(ctx, took.Seconds(), d.metricAttrs)
}

// traced reports whether calls are traced.
func (t *engineTelemetry) traced() bool { return t != nil && t.tracer != nil }

func (e *Engine) spanScore(ctx context.Context, name string, rows int) (context.Context, trace.Span) {
	return e.tel.tracer.Start(ctx, name, trace.WithAttributes(attrBackend.String(e.backend.Name()), attrRows.Int(rows)))
}

// endScore ends a scoring span with the model version that scored.
func endScore(span trace.Span, model, version string, err error) {
	if model != "" {
		span.SetAttributes(attrModel.String(model), attrVersion.String(version))
	}
	telemetry.End(span, err, knownErrors[:]...)
}

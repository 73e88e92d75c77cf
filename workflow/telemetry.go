package workflow

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// Span and instrument names of the package (see the package documentation, Observability, and
// docs/observability.md).
const (
	SpanRun        = "workflow.run"        // one Run or resumption executing a run, a child of the caller's span
	SpanStep       = "workflow.step"       // one step, all its attempts, a child of the run's span
	SpanCompensate = "workflow.compensate" // one step's compensation, a child of the run's span

	MetricNameRuns         = "anya.workflow.runs"          // {run}, counter, by workflow and anya.outcome
	MetricNameStepDuration = "anya.workflow.step.duration" // s, histogram, by workflow, step and anya.outcome
)

const (
	attrWorkflow  = attribute.Key("anya.workflow.name")
	attrStep      = attribute.Key("anya.workflow.step")
	attrOperation = attribute.Key("anya.workflow.operation")
	attrProtocol  = attribute.Key("anya.workflow.protocol")
	attrAttempt   = attribute.Key("anya.workflow.attempt")
	attrResumed   = attribute.Key("anya.workflow.resumed")
	attrStatus    = attribute.Key("anya.workflow.status")
)

var knownErrors = [...]error{ErrAttemptsExhausted, ErrOperationPanic, ErrOutput, ErrTemplate, ErrCondition,
	ErrLeaseLost, ErrLeaseHeld, ErrConflict, ErrCorruptState, ErrClosed}

// engineTelemetry is an engine's instrumentation; nil when it has none.
type engineTelemetry struct {
	tracer       trace.Tracer // nil: not traced
	runs         metric.Int64Counter
	stepDuration metric.Float64Histogram
}

func newEngineTelemetry(cfg *config) (*engineTelemetry, error) {
	t := &engineTelemetry{tracer: telemetry.Tracer(cfg.tracerProv, "workflow")}
	m := telemetry.Meter(cfg.meterProv, "workflow")
	if t.tracer == nil && m == nil {
		return nil, nil
	}
	if m != nil {
		var err error
		if t.runs, err = m.Int64Counter(MetricNameRuns, metric.WithUnit("{run}"),
			metric.WithDescription("Runs executed to an end or interrupted, by workflow and outcome: completed, terminated, failed or interrupted.")); err != nil {
			return nil, err
		}
		if t.stepDuration, err = m.Float64Histogram(MetricNameStepDuration, metric.WithUnit("s"),
			metric.WithDescription("Time a step took in one execution, its attempts and their waits included, by workflow, step and outcome."),
			metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// run executes the run, in a span of its own when the engine is traced, and counts its outcome.
func (r *runner) run(ctx context.Context, resumed bool) (*Result, error) {
	t := r.e.tel
	if t == nil {
		return r.execute(ctx)
	}
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, SpanRun, trace.WithAttributes(attrWorkflow.String(r.p.name), attrResumed.Bool(resumed)))
	}
	res, err := r.execute(ctx)
	outcome := "interrupted"
	if res != nil {
		outcome = string(res.Status)
	}
	if t.runs != nil {
		t.runs.Add(ctx, 1, metric.WithAttributes(attrWorkflow.String(r.p.name), telemetry.KeyOutcome.String(outcome)))
	}
	if span != nil {
		span.SetAttributes(attrStatus.String(outcome))
		telemetry.End(span, err, knownErrors[:]...)
	}
	return res, err
}

// step runs step i, in a span of its own when the engine is traced, and times it.
func (r *runner) step(ctx context.Context, i int) (map[string]any, error) {
	t := r.e.tel
	if t == nil {
		return r.runStep(ctx, i)
	}
	sp := r.p.steps[i]
	start := time.Now()
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, SpanStep, trace.WithAttributes(attrWorkflow.String(r.p.name),
			attrStep.String(sp.id), attrOperation.String(sp.op.Name), attrProtocol.String(sp.protocol)))
	}
	out, err := r.runStep(ctx, i)
	outcome := "completed"
	if err != nil {
		outcome = "failed"
		if ctx.Err() != nil {
			outcome = "interrupted"
		}
	}
	if t.stepDuration != nil {
		t.stepDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attrWorkflow.String(r.p.name),
			attrStep.String(sp.id), telemetry.KeyOutcome.String(outcome)))
	}
	if span != nil {
		span.SetAttributes(attrAttempt.Int(r.steps[i].Attempt))
		telemetry.End(span, err, knownErrors[:]...)
	}
	return out, err
}

// spanCompensate starts the span of step i's compensation, or returns nil when not traced.
func (r *runner) spanCompensate(ctx context.Context, i int) (context.Context, trace.Span) {
	t := r.e.tel
	if t == nil || t.tracer == nil {
		return ctx, nil
	}
	sp := r.p.steps[i]
	return t.tracer.Start(ctx, SpanCompensate, trace.WithAttributes(attrWorkflow.String(r.p.name),
		attrStep.String(sp.id), attrOperation.String(sp.comp.op.Name), attrProtocol.String(sp.protocol)))
}

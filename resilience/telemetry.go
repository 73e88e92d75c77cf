package resilience

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// Span, span event, instrument and attribute names of the package (see the package
// documentation, Observability, and docs/observability.md).
const (
	// SpanRetry covers a call through a [Retry] once its first attempt has failed: it starts
	// when the call started, the attempts after the first run inside it, and it ends with the
	// call. A call that succeeds at once has no span.
	SpanRetry = "resilience.retry"

	MetricNameEvents       = "anya.resilience.events"        // {event}, counter: every Event, by policy, name and kind
	MetricNameBreakerState = "anya.resilience.breaker.state" // {state}, gauge: 1 for the breaker's state, 0 for the others
	MetricNameBreakerCalls = "anya.resilience.breaker.calls" // {call}, counter: calls through a breaker, by outcome
)

// Attribute keys.
const (
	attrPolicy  = attribute.Key("anya.resilience.policy")
	attrName    = attribute.Key("anya.resilience.name")
	attrEvent   = attribute.Key("anya.resilience.event")
	attrAttempt = attribute.Key("anya.resilience.attempt")
	attrDelay   = attribute.Key("anya.resilience.delay") // seconds
	attrState   = attribute.Key("anya.resilience.breaker.state")
)

// knownErrors name error types on spans and events.
var knownErrors = [...]error{ErrCircuitOpen, ErrBulkheadFull, ErrRateLimited, ErrRetriesExhausted, ErrNotRetryable,
	ErrMaxElapsed, ErrBudgetExhausted, ErrResultRejected}

// policyTelemetry is a policy's instrumentation; a policy without any has a nil one.
type policyTelemetry struct {
	tracer trace.Tracer // nil: not traced
	meter  metric.Meter // nil: not metered
	events metric.Int64Counter
}

func newPolicyTelemetry(c *common) *policyTelemetry {
	t := &policyTelemetry{tracer: telemetry.Tracer(c.tracerProv, "resilience"), meter: telemetry.Meter(c.meterProv, "resilience")}
	if t.tracer == nil && t.meter == nil {
		return nil
	}
	if t.meter != nil {
		t.events, _ = t.meter.Int64Counter(MetricNameEvents, metric.WithUnit("{event}"),
			metric.WithDescription("Events of resilience policies: state changes, rejections, retries, give-ups, timeouts, fallbacks, hedges."))
	}
	return t
}

// eventName is the span event of an Event kind, e.g. "resilience.give_up".
func eventName(k EventKind) string {
	switch k {
	case EventGiveUp:
		return "resilience.give_up"
	case EventStateChange:
		return "resilience.state_change"
	}
	return "resilience." + k.String()
}

// record adds e to the span of ctx, when the policy is traced and that span records, and
// counts it, when the policy is metered. The error is named by its type, never its text.
func (t *policyTelemetry) record(ctx context.Context, em *emitter, e Event) {
	if t.tracer != nil {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			attrs := []attribute.KeyValue{attrPolicy.String(em.policy), attrName.String(em.name)}
			if e.Attempt > 0 {
				attrs = append(attrs, attrAttempt.Int(e.Attempt))
			}
			if e.Delay > 0 {
				attrs = append(attrs, attrDelay.Float64(e.Delay.Seconds()))
			}
			if e.Kind == EventStateChange {
				attrs = append(attrs, attrState.String(e.To.String()))
			}
			if e.Err != nil {
				attrs = append(attrs, telemetry.KeyErrorType.String(telemetry.ErrorType(e.Err, knownErrors[:]...)))
			}
			span.AddEvent(eventName(e.Kind), trace.WithAttributes(attrs...))
		}
	}
	if t.events != nil {
		t.events.Add(ctx, 1, metric.WithAttributes(attrPolicy.String(em.policy), attrName.String(em.name), attrEvent.String(e.Kind.String())))
	}
}

// emitCtx is emit for an event caused by a call with context ctx.
func (em *emitter) emitCtx(ctx context.Context, e Event) {
	em.emit(e)
	if em.tel != nil {
		em.tel.record(ctx, em, e)
	}
}

// retryTrace is the span of one traced call through a Retry, started when its first attempt
// fails. The zero value traces nothing.
type retryTrace struct {
	tracer trace.Tracer
	start  time.Time
	span   trace.Span
}

// failed starts the span, back-dated to the call's start, and returns the context the next
// attempts run in.
func (rt *retryTrace) failed(ctx context.Context, em *emitter) context.Context {
	if rt.tracer == nil || rt.span != nil {
		return ctx
	}
	ctx, rt.span = rt.tracer.Start(ctx, SpanRetry, trace.WithTimestamp(rt.start),
		trace.WithAttributes(attrPolicy.String(em.policy), attrName.String(em.name)))
	return ctx
}

// end ends the span, if one was started, with the number of attempts and the outcome.
func (rt *retryTrace) end(attempts int, err error) {
	if rt.span == nil {
		return
	}
	rt.span.SetAttributes(attrAttempt.Int(attempts))
	telemetry.End(rt.span, err, knownErrors[:]...)
}

// breakerMetrics counts a metered breaker's calls by outcome.
type breakerMetrics struct {
	success, failure, ignored atomic.Uint64
	reg                       metric.Registration
}

// count records the outcome of one call.
func (m *breakerMetrics) count(o outcome) {
	switch {
	case o == outcomeIgnored:
		m.ignored.Add(1)
	case o.failed() != 0:
		m.failure.Add(1)
	default:
		m.success.Add(1)
	}
}

var breakerStates = [...]State{StateClosed, StateOpen, StateHalfOpen, StateForcedOpen, StateDisabled}

// startBreakerMetrics reports b's state and calls as instruments of m, read when m collects.
func (b *CircuitBreaker) startBreakerMetrics(m metric.Meter) error {
	state, err := m.Int64ObservableGauge(MetricNameBreakerState, metric.WithUnit("{state}"),
		metric.WithDescription("1 for the circuit breaker's current state, 0 for the others."))
	if err != nil {
		return err
	}
	calls, err := m.Int64ObservableCounter(MetricNameBreakerCalls, metric.WithUnit("{call}"),
		metric.WithDescription("Calls through the circuit breaker, by outcome: success, failure, ignored (not judged) or rejected."))
	if err != nil {
		return err
	}
	bm := &breakerMetrics{}
	name := attrName.String(b.cfg.name)
	bm.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		cur := b.State()
		for _, s := range breakerStates {
			v := int64(0)
			if s == cur {
				v = 1
			}
			o.ObserveInt64(state, v, metric.WithAttributes(name, attrState.String(s.String())))
		}
		for _, c := range [...]struct {
			outcome string
			n       uint64
		}{{"success", bm.success.Load()}, {"failure", bm.failure.Load()}, {"ignored", bm.ignored.Load()}, {"rejected", b.rejected.Load()}} {
			o.ObserveInt64(calls, int64(c.n), metric.WithAttributes(name, telemetry.KeyOutcome.String(c.outcome)))
		}
		return nil
	}, state, calls)
	if err != nil {
		return err
	}
	b.metrics = bm
	return nil
}

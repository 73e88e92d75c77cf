package dwn

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// Span and instrument names of the package (see the package documentation, Observability, and
// docs/observability.md).
const (
	SpanRecordsWrite       = "dwn.records.write"
	SpanRecordsRead        = "dwn.records.read"
	SpanRecordsQuery       = "dwn.records.query"
	SpanRecordsDelete      = "dwn.records.delete"
	SpanProtocolsConfigure = "dwn.protocols.configure"
	SpanProtocolsQuery     = "dwn.protocols.query"
	// SpanProcess is the span of a message whose interface and method are none of the six
	// above (it is refused).
	SpanProcess = "dwn.process"
	// SpanRecordsWriteBatch is the span of a ProcessMany batch (operation "Records.WriteBatch").
	SpanRecordsWriteBatch = "dwn.records.write_batch"

	MetricNameMessages        = "anya.dwn.messages"         // {message}, counter, by operation and outcome
	MetricNameProcessDuration = "anya.dwn.process.duration" // s, histogram, by operation and outcome
)

// Attribute keys on the package's spans and measurements.
const (
	attrOperation = attribute.Key("anya.dwn.operation") // "Records.Write", ...; "other" outside the six
	attrInitial   = attribute.Key("anya.dwn.write.initial")
	attrRecords   = attribute.Key("anya.dwn.records") // records or protocols a query returned
)

// Values of anya.outcome: how Process ended.
const (
	outcomeSuccess         = "success"
	outcomeUnauthenticated = "unauthenticated" // ErrUnauthenticated
	outcomeForbidden       = "forbidden"       // ErrForbidden
	outcomeInvalid         = "invalid"         // ErrInvalidMessage, ErrInvalidProtocol
	outcomeConflict        = "conflict"        // ErrConflict
	outcomeStale           = "stale"           // ErrStale
	outcomeNotFound        = "not_found"       // ErrNotFound
	outcomeFailure         = "failure"         // anything else: the store failed, the node is closed
)

// knownErrors are the sentinels that name error types on spans, the most specific first.
var knownErrors = [...]error{ErrGrantExpired, ErrGrantRevoked, ErrUnauthenticated, ErrForbidden, ErrInvalidProtocol,
	ErrInvalidMessage, ErrConflict, ErrStale, ErrNotFound, ErrClosed}

// operations maps the interface and method of a message to its span; anything else is
// SpanProcess with operation "other", so that outside input never names a span or an
// attribute value.
var operations = map[string]string{
	"Records.Write":       SpanRecordsWrite,
	"Records.Read":        SpanRecordsRead,
	"Records.Query":       SpanRecordsQuery,
	"Records.Delete":      SpanRecordsDelete,
	"Protocols.Configure": SpanProtocolsConfigure,
	"Protocols.Query":     SpanProtocolsQuery,
}

// nodeTelemetry is the instrumentation of a Node; nil when it has none.
type nodeTelemetry struct {
	tracer   trace.Tracer // nil: not traced
	messages metric.Int64Counter
	duration metric.Float64Histogram
}

func newNodeTelemetry(cfg *config) (*nodeTelemetry, error) {
	t := &nodeTelemetry{tracer: telemetry.Tracer(cfg.tracerProv, "web5/dwn")}
	m := telemetry.Meter(cfg.meterProv, "web5/dwn")
	if t.tracer == nil && m == nil {
		return nil, nil
	}
	if m != nil {
		var err error
		if t.messages, err = m.Int64Counter(MetricNameMessages, metric.WithUnit("{message}"),
			metric.WithDescription("Messages the node processed, by operation and outcome (success, unauthenticated, forbidden, invalid, conflict, stale, not_found, failure); cancelled ones are not counted.")); err != nil {
			return nil, err
		}
		if t.duration, err = m.Float64Histogram(MetricNameProcessDuration, metric.WithUnit("s"),
			metric.WithDescription("Time to verify and carry out a message, by operation and outcome.")); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// process runs Process's work, f, in the span of the message's operation and measures it.
// Nothing of the message — tenant, author, record ID, protocol, data — is recorded: only the
// operation, whether a write creates its record, how many records a query returned, and the
// outcome.
func (t *nodeTelemetry) process(ctx context.Context, m *Message, f func(context.Context) (*Reply, error)) (*Reply, error) {
	op := m.desc.Interface + "." + m.desc.Method
	name, known := operations[op]
	if !known {
		name, op = SpanProcess, "other"
	}
	start := time.Now()
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, name, trace.WithAttributes(attrOperation.String(op)))
	}
	r, err := f(ctx)
	outcome := processOutcome(err)
	if outcome != "" {
		set := metric.WithAttributes(attrOperation.String(op), telemetry.KeyOutcome.String(outcome))
		if t.messages != nil {
			t.messages.Add(ctx, 1, set)
		}
		if t.duration != nil {
			t.duration.Record(ctx, time.Since(start).Seconds(), set)
		}
	}
	if span != nil {
		if outcome != "" {
			span.SetAttributes(telemetry.KeyOutcome.String(outcome))
		}
		if err == nil && op == "Records.Write" && r != nil && r.Record != nil {
			span.SetAttributes(attrInitial.Bool(r.Record.Latest != nil && r.Record.Initial != nil && r.Record.Latest.cid == r.Record.Initial.cid))
		}
		if err == nil && r != nil && (op == "Records.Query" || op == "Protocols.Query") {
			span.SetAttributes(attrRecords.Int(len(r.Records) + len(r.Protocols)))
		}
		if outcome == outcomeNotFound {
			span.SetAttributes(telemetry.KeyFound.Bool(false)) // an answer, not a failure
			telemetry.End(span, nil)
		} else {
			telemetry.End(span, err, knownErrors[:]...)
		}
	}
	return r, err
}

// batch runs ProcessMany's work, f, on a batch of size messages in its span and measures it:
// the span and the duration are the batch's (operation "Records.WriteBatch", anya.dwn.records
// the batch's size); anya.dwn.messages counts the batch's messages as Records.Write — all of
// them as successes when it is stored, only the refused one, by its outcome, when it is not.
func (t *nodeTelemetry) batch(ctx context.Context, size int, f func(context.Context) ([]*Reply, error)) ([]*Reply, error) {
	const op = "Records.WriteBatch"
	start := time.Now()
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, SpanRecordsWriteBatch, trace.WithAttributes(attrOperation.String(op), attrRecords.Int(size)))
	}
	r, err := f(ctx)
	outcome := processOutcome(err)
	if outcome != "" {
		counted, write := int64(1), metric.WithAttributes(attrOperation.String("Records.Write"), telemetry.KeyOutcome.String(outcome))
		if err == nil {
			counted = int64(size)
		}
		if t.messages != nil && size > 0 {
			t.messages.Add(ctx, counted, write)
		}
		if t.duration != nil {
			t.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attrOperation.String(op), telemetry.KeyOutcome.String(outcome)))
		}
	}
	if span != nil {
		if outcome != "" {
			span.SetAttributes(telemetry.KeyOutcome.String(outcome))
		}
		telemetry.End(span, err, knownErrors[:]...)
	}
	return r, err
}

// processOutcome classifies how Process ended; "" for a cancelled call.
func processOutcome(err error) string {
	switch {
	case err == nil:
		return outcomeSuccess
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ""
	case errors.Is(err, ErrUnauthenticated):
		return outcomeUnauthenticated
	case errors.Is(err, ErrForbidden):
		return outcomeForbidden
	case errors.Is(err, ErrInvalidMessage), errors.Is(err, ErrInvalidProtocol):
		return outcomeInvalid
	case errors.Is(err, ErrConflict):
		return outcomeConflict
	case errors.Is(err, ErrStale):
		return outcomeStale
	case errors.Is(err, ErrNotFound):
		return outcomeNotFound
	}
	return outcomeFailure
}

package telemetry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopePrefix is the start of every instrumentation scope name: the module path.
const ScopePrefix = "github.com/anya-org/anya-go"

// ScopeName returns the instrumentation scope of the SDK package pkg ("bus", "cache/natscache"):
// its import path.
func ScopeName(pkg string) string { return ScopePrefix + "/" + pkg }

// Attribute keys shared by every package.
const (
	// KeyErrorType is OpenTelemetry's error.type: the error's class (see ErrorType), set on a
	// span that ended in error and on measurements of failed operations.
	KeyErrorType = attribute.Key("error.type")
	// KeyOutcome is anya.outcome: how an operation ended, from a small fixed set per instrument
	// ("success", "failure", "rejected", "completed", ...).
	KeyOutcome = attribute.Key("anya.outcome")
)

// Tracer returns the tracer of package pkg from tp, or nil when tp is nil or OpenTelemetry's
// no-op provider: callers keep the nil and skip instrumentation altogether.
func Tracer(tp trace.TracerProvider, pkg string) trace.Tracer {
	if tp == nil || IsNoopTracerProvider(tp) {
		return nil
	}
	return tp.Tracer(ScopeName(pkg))
}

// Meter returns the meter of package pkg from mp, or nil when mp is nil or OpenTelemetry's
// no-op provider.
func Meter(mp metric.MeterProvider, pkg string) metric.Meter {
	if mp == nil || IsNoopMeterProvider(mp) {
		return nil
	}
	return mp.Meter(ScopeName(pkg))
}

// IsNoopTracerProvider reports whether tp is OpenTelemetry's no-op tracer provider.
func IsNoopTracerProvider(tp trace.TracerProvider) bool {
	switch tp.(type) {
	case tracenoop.TracerProvider, *tracenoop.TracerProvider:
		return true
	}
	return false
}

// IsNoopMeterProvider reports whether mp is OpenTelemetry's no-op meter provider.
func IsNoopMeterProvider(mp metric.MeterProvider) bool {
	switch mp.(type) {
	case metricnoop.MeterProvider, *metricnoop.MeterProvider:
		return true
	}
	return false
}

// Header names of the W3C Trace Context that Inject writes and Extract reads.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// Inject writes the span context of ctx into headers as traceparent (and tracestate), creating
// the map when it is nil, and returns it. Without a valid span context in ctx it writes nothing.
func Inject(ctx context.Context, headers map[string]string) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return headers
	}
	if headers == nil {
		headers = make(map[string]string, 2)
	}
	propagation.TraceContext{}.Inject(ctx, propagation.MapCarrier(headers))
	return headers
}

// Extract returns ctx carrying, as its remote parent, the span context that headers hold in
// traceparent (and tracestate). Headers without a valid traceparent leave ctx as it is.
func Extract(ctx context.Context, headers map[string]string) context.Context {
	if headers[HeaderTraceparent] == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier(headers))
}

// End ends span, first marking it failed when err is not nil: status Error with ErrorType(err,
// known...) as its description and as the error.type attribute. The error's message is never
// recorded: it may carry personal data. Cancellation (context.Canceled) is not a failure: the
// span ends with error.type "context.Canceled" and status Unset.
func End(span trace.Span, err error, known ...error) {
	if err != nil {
		typ := ErrorType(err, known...)
		span.SetAttributes(KeyErrorType.String(typ))
		if !errors.Is(err, context.Canceled) {
			span.SetStatus(codes.Error, typ)
		}
	}
	span.End()
}

// ErrorType classifies err for error.type without its message: "context.Canceled" or
// "context.DeadlineExceeded"; the text of the first of known that err matches (packages pass
// their sentinels, whose texts are fixed, such as "bus: queue full"); the Go type of the
// innermost error in err's chain (following single Unwrap) that is not a plain text or a
// fmt wrapper, such as "*security.DeniedError" inside a step's *workflow.PermanentError; or
// "_OTHER".
func ErrorType(err error, known ...error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	}
	for _, k := range known {
		if k != nil && errors.Is(err, k) {
			return k.Error()
		}
	}
	typ := "_OTHER"
	for e := err; e != nil; e = errors.Unwrap(e) {
		if t := typeName(e); t != "" {
			typ = t
		}
	}
	return typ
}

// typeName returns the Go type of e, or "" for the standard library's anonymous wrappers and
// plain texts, which say nothing a dashboard can group by.
func typeName(e error) string {
	t := reflect.TypeOf(e)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if p := t.PkgPath(); p == "errors" || p == "fmt" {
		return ""
	}
	return fmt.Sprintf("%T", e)
}

// Set returns the measurement option of a fixed attribute set, built once so that recording
// with it allocates nothing.
func Set(kv ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(kv...))
}

// PseudonymPrefix starts every pseudonym.
const PseudonymPrefix = "hmac-sha256:"

// Pseudonym returns the stable pseudonym of value under key: "hmac-sha256:" and the hex
// HMAC-SHA256 of its text, the same value the security package's hash redaction gives a string
// field under the same key. With an empty key it returns "": callers then omit the attribute.
func Pseudonym(key []byte, value string) string {
	if len(key) == 0 || value == "" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return PseudonymPrefix + hex.EncodeToString(m.Sum(nil))
}

// Ops traces the operations of a storage client — a KV bucket, a database table — as spans of
// kind client named "<package>.<operation>" ("natsstore.commit"), with OpenTelemetry's
// db.system.name, db.collection.name and db.operation.name. Keys and values are never recorded.
// A nil *Ops (tracing off) starts nothing.
type Ops struct {
	tracer trace.Tracer
	prefix string
	attrs  []attribute.KeyValue
}

// Attribute keys of storage operations.
const (
	KeyDBSystem     = attribute.Key("db.system.name")
	KeyDBCollection = attribute.Key("db.collection.name")
	KeyDBOperation  = attribute.Key("db.operation.name")
	// KeyFound says whether a read found what it looked for: absence is an answer, not a failure.
	KeyFound = attribute.Key("anya.found")
)

// NewOps returns the operation tracer of package pkg ("workflow/natsstore") on system ("nats",
// "sqlite") and collection (the bucket or table), or nil when tp is nil or the no-op provider.
func NewOps(tp trace.TracerProvider, pkg, system, collection string) *Ops {
	t := Tracer(tp, pkg)
	if t == nil {
		return nil
	}
	name := pkg
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		name = pkg[i+1:]
	}
	return &Ops{tracer: t, prefix: name + ".", attrs: []attribute.KeyValue{KeyDBSystem.String(system), KeyDBCollection.String(collection)}}
}

// Start starts the span of operation op, or returns ctx and a nil span when o is nil.
func (o *Ops) Start(ctx context.Context, op string) (context.Context, trace.Span) {
	if o == nil {
		return ctx, nil
	}
	attrs := make([]attribute.KeyValue, 0, len(o.attrs)+1)
	attrs = append(append(attrs, o.attrs...), KeyDBOperation.String(op))
	return o.tracer.Start(ctx, o.prefix+op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// EndOp ends the span of an operation (nothing for a nil span). An error matching absent — the
// backend's not-found — is recorded as anya.found=false, not as a failure; other errors as End
// does.
func EndOp(span trace.Span, err error, absent error, known ...error) {
	if span == nil {
		return
	}
	if absent != nil && errors.Is(err, absent) {
		span.SetAttributes(KeyFound.Bool(false))
		err = nil
	}
	End(span, err, known...)
}

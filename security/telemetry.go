package security

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// Span and instrument names of the package (see the package documentation, Observability, and
// docs/observability.md).
const (
	SpanCross       = "security.cross"        // one crossing of a boundary, a child of the caller's span
	SpanAuditAppend = "security.audit.append" // one entry appended to the audit log

	MetricNameCrossings    = "anya.security.crossings"     // {crossing}, counter, by from, to, decision and rule
	MetricNameAuditAppends = "anya.security.audit.appends" // {entry}, counter, by kind and decision
)

const (
	attrFrom      = attribute.Key("anya.security.from")
	attrTo        = attribute.Key("anya.security.to")
	attrAction    = attribute.Key("anya.security.action")
	attrDecision  = attribute.Key("anya.security.decision")
	attrRule      = attribute.Key("anya.security.rule")
	attrPrincipal = attribute.Key("anya.security.principal") // a pseudonym, only with a redaction key
	attrVerified  = attribute.Key("anya.security.verified")
	attrKind      = attribute.Key("anya.security.audit.kind")
	attrSeq       = attribute.Key("anya.security.audit.seq")
)

var knownErrors = [...]error{ErrDenied, ErrAudit}

// boundariesTelemetry is the instrumentation of Boundaries; nil when it has none.
type boundariesTelemetry struct {
	tracer    trace.Tracer // nil: not traced
	crossings metric.Int64Counter
}

func newBoundariesTelemetry(cfg *config) (*boundariesTelemetry, error) {
	t := &boundariesTelemetry{tracer: telemetry.Tracer(cfg.tracerProv, "security")}
	m := telemetry.Meter(cfg.meterProv, "security")
	if t.tracer == nil && m == nil {
		return nil, nil
	}
	if m != nil {
		var err error
		if t.crossings, err = m.Int64Counter(MetricNameCrossings, metric.WithUnit("{crossing}"),
			metric.WithDescription("Crossings of trust boundaries, by protocols, decision (allow, deny) and the rule that denied.")); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// crossTraced is cross inside a span, counted. The principal appears only as a pseudonym under
// the redaction key, and not at all without one; data, reasons and error texts never do.
func (bs *Boundaries) crossTraced(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error) {
	t := bs.tel
	var span trace.Span
	if t.tracer != nil {
		attrs := []attribute.KeyValue{attrFrom.String(from), attrTo.String(to), attrAction.String(action)}
		if sc, ok := FromContext(ctx); ok && sc.Principal != "" {
			if p := telemetry.Pseudonym(bs.cfg.key, sc.Principal); p != "" {
				attrs = append(attrs, attrPrincipal.String(p))
			}
			attrs = append(attrs, attrVerified.Bool(sc.IdentityVerified(bs.cfg.now())))
		}
		ctx, span = t.tracer.Start(ctx, SpanCross, trace.WithAttributes(attrs...))
	}
	out, err := bs.cross(ctx, from, to, action, data)
	decision, rule := DecisionAllow, ""
	var de *DeniedError
	switch {
	case errors.As(err, &de):
		decision, rule = DecisionDeny, de.Rule
	case err != nil: // cancelled: nothing was decided
		decision = ""
	}
	if t.crossings != nil && decision != "" {
		t.crossings.Add(ctx, 1, metric.WithAttributes(attrFrom.String(from), attrTo.String(to),
			attrDecision.String(decision), attrRule.String(rule)))
	}
	if span != nil {
		if decision != "" {
			span.SetAttributes(attrDecision.String(decision))
		}
		if rule != "" {
			span.SetAttributes(attrRule.String(rule))
		}
		telemetry.End(span, err, knownErrors[:]...)
	}
	return out, err
}

// auditTelemetry is the instrumentation of an AuditLog; nil when it has none.
type auditTelemetry struct {
	tracer  trace.Tracer // nil: not traced
	appends metric.Int64Counter
}

func newAuditTelemetry(cfg *config) (*auditTelemetry, error) {
	t := &auditTelemetry{tracer: telemetry.Tracer(cfg.tracerProv, "security")}
	m := telemetry.Meter(cfg.meterProv, "security")
	if t.tracer == nil && m == nil {
		return nil, nil
	}
	if m != nil {
		var err error
		if t.appends, err = m.Int64Counter(MetricNameAuditAppends, metric.WithUnit("{entry}"),
			metric.WithDescription("Entries appended to the audit log, by kind and decision.")); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// appendTraced is Append inside a span, counted.
func (l *AuditLog) appendTraced(ctx context.Context, e Entry) (Entry, error) {
	t := l.tel
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, SpanAuditAppend, trace.WithAttributes(attrKind.String(oneOf(e.Kind, KindCrossing, KindDecision)),
			attrDecision.String(oneOf(e.Decision, DecisionAllow, DecisionDeny))))
	}
	out, err := l.appendEntry(ctx, e)
	if err == nil && t.appends != nil {
		t.appends.Add(ctx, 1, metric.WithAttributes(attrKind.String(oneOf(e.Kind, KindCrossing, KindDecision)),
			attrDecision.String(oneOf(e.Decision, DecisionAllow, DecisionDeny))))
	}
	if span != nil {
		if err == nil {
			span.SetAttributes(attrSeq.Int64(int64(out.Seq)))
		}
		telemetry.End(span, err, knownErrors[:]...)
	}
	return out, err
}

// oneOf returns v when it is one of the known values, and "other" otherwise: hosts choose an
// entry's kind and decision, and free text must not become an attribute.
func oneOf(v string, known ...string) string {
	for _, k := range known {
		if v == k {
			return v
		}
	}
	return "other"
}

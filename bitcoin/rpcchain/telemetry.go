package rpcchain

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/telemetry"
)

// Span and instrument names of the package (see the package documentation, Observability, and
// docs/observability.md).
const (
	// SpanPrefix starts the name of every request's span; the JSON-RPC method follows
	// ("rpcchain.getblock", "rpcchain.sendrawtransaction").
	SpanPrefix = "rpcchain."

	MetricNameCallDuration = "anya.rpcchain.call.duration" // s, histogram, by rpc.method and anya.outcome
	MetricNameConnected    = "anya.rpcchain.connected"     // {connection}, gauge: 1 while connected, 0 otherwise
	MetricNameConnects     = "anya.rpcchain.connects"      // {connection}, counter: connections made, the first and every reconnection
)

// Attribute keys on the package's spans and measurements: OpenTelemetry's RPC semantic
// conventions, and the size of a pipelined batch.
const (
	attrRPCSystem     = attribute.Key("rpc.system")
	attrRPCMethod     = attribute.Key("rpc.method")
	attrJSONRPCVer    = attribute.Key("rpc.jsonrpc.version")
	attrJSONRPCCode   = attribute.Key("rpc.jsonrpc.error_code")
	attrServerAddress = attribute.Key("server.address")
	attrServerPort    = attribute.Key("server.port")
	attrBatch         = attribute.Key("anya.rpcchain.requests")
)

// Values of anya.outcome on the call duration.
const (
	outcomeSuccess  = "success"
	outcomeNotFound = "not_found"
	outcomeFailure  = "failure"
)

// knownErrors are the sentinels that name error types on spans.
var knownErrors = [...]error{bitcoin.ErrClosed, bitcoin.ErrDisconnected, bitcoin.ErrNotFound, bitcoin.ErrUnsupported,
	bitcoin.ErrInvalidTransaction, bitcoin.ErrAmountOutOfRange}

// chainTelemetry is the instrumentation of a Chain; nil when it has none.
type chainTelemetry struct {
	tracer   trace.Tracer // nil: not traced
	duration metric.Float64Histogram
	reg      metric.Registration
	server   []attribute.KeyValue // rpc.system, rpc.jsonrpc.version, server.address, server.port
}

// newChainTelemetry returns the instrumentation of c, whose connection state it registers with
// the meter, or nil when cfg has neither a tracer nor a meter provider.
func newChainTelemetry(cfg *config, c *Chain) (*chainTelemetry, error) {
	t := &chainTelemetry{tracer: telemetry.Tracer(cfg.tracerProv, "bitcoin/rpcchain")}
	m := telemetry.Meter(cfg.meterProv, "bitcoin/rpcchain")
	if t.tracer == nil && m == nil {
		return nil, nil
	}
	t.server = []attribute.KeyValue{attrRPCSystem.String("jsonrpc"), attrJSONRPCVer.String("1.0")}
	if host, port, err := net.SplitHostPort(c.ep.Host); err == nil {
		t.server = append(t.server, attrServerAddress.String(host))
		if p, err := strconv.Atoi(port); err == nil {
			t.server = append(t.server, attrServerPort.Int(p))
		}
	} else {
		t.server = append(t.server, attrServerAddress.String(c.ep.Host))
	}
	if m == nil {
		return t, nil
	}
	var err error
	if t.duration, err = m.Float64Histogram(MetricNameCallDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the node's JSON-RPC requests, by method and outcome (success, not_found, failure); cancelled ones are left out.")); err != nil {
		return nil, err
	}
	connected, err := m.Int64ObservableGauge(MetricNameConnected, metric.WithUnit("{connection}"),
		metric.WithDescription("1 while the chain is connected to its node, 0 while it reconnects."))
	if err != nil {
		return nil, err
	}
	connects, err := m.Int64ObservableCounter(MetricNameConnects, metric.WithUnit("{connection}"),
		metric.WithDescription("Connections made to the node: the first and every reconnection."))
	if err != nil {
		return nil, err
	}
	if t.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c.mu.Lock()
		up := c.client != nil && !c.closed
		c.mu.Unlock()
		v := int64(0)
		if up {
			v = 1
		}
		o.ObserveInt64(connected, v)
		o.ObserveInt64(connects, c.connects.Load())
		return nil
	}, connected, connects); err != nil {
		return nil, err
	}
	return t, nil
}

// close stops reporting.
func (t *chainTelemetry) close() {
	if t != nil && t.reg != nil {
		_ = t.reg.Unregister()
	}
}

// observe runs one request of method (batch > 1: a pipeline of that many) in a client span and
// records its duration. An RPC error whose code is one of absent is an answer — the block,
// transaction or output is not there — not a failure. Parameters, results and error messages
// (which name txids, addresses and amounts) are never recorded.
func (t *chainTelemetry) observe(ctx context.Context, method string, batch int, absent []btcjson.RPCErrorCode, f func(context.Context) error) error {
	start := time.Now()
	var span trace.Span
	if t.tracer != nil {
		attrs := make([]attribute.KeyValue, 0, len(t.server)+2)
		attrs = append(append(attrs, t.server...), attrRPCMethod.String(method))
		if batch > 1 {
			attrs = append(attrs, attrBatch.Int(batch))
		}
		ctx, span = t.tracer.Start(ctx, SpanPrefix+method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	}
	err := f(ctx)
	code := rpcCode(err)
	outcome := outcomeSuccess
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		outcome = ""
	case code != 0 && slices.Contains(absent, code):
		outcome = outcomeNotFound
	default:
		outcome = outcomeFailure
	}
	if t.duration != nil && outcome != "" {
		t.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attrRPCMethod.String(method), telemetry.KeyOutcome.String(outcome)))
	}
	if span != nil {
		if code != 0 {
			span.SetAttributes(attrJSONRPCCode.Int(int(code)))
		}
		spanErr := err
		if outcome == outcomeNotFound {
			span.SetAttributes(telemetry.KeyFound.Bool(false))
			spanErr = nil
		}
		telemetry.End(span, spanErr, knownErrors[:]...)
	}
	return err
}

// methodOf returns the JSON-RPC method of a btcjson command.
func methodOf(cmd any) string {
	if m, err := btcjson.CmdMethod(cmd); err == nil {
		return m
	}
	return "unknown"
}

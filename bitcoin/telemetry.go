package bitcoin

import (
	"context"
	"errors"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// Span and instrument names of the package (see the package documentation, Observability,
// and docs/observability.md).
const (
	SpanCatchUp = "bitcoin.notifier.catch_up" // a Notifier's catch-up with the chain, when it had to ask where the chain stands
	SpanBlock   = "bitcoin.notifier.block"    // one block connected or disconnected by a Notifier
	SpanSend    = "bitcoin.send"              // one Sender.Send or SendFunc

	EventDeepReorg = "bitcoin.notifier.deep_reorg" // on the catch-up span: a reorg deeper than the safety limit

	MetricNameBlocks     = "anya.bitcoin.notifier.blocks"      // {block}, counter, by change (connected, disconnected)
	MetricNameDeepReorgs = "anya.bitcoin.notifier.deep_reorgs" // {reorg}, counter
	MetricNameFailures   = "anya.bitcoin.notifier.failures"    // {attempt}, counter, failed catch-ups by error.type
	MetricNameHeight     = "anya.bitcoin.notifier.height"      // {block}, gauge, the last block processed
	MetricNameLag        = "anya.bitcoin.notifier.lag"         // {block}, gauge, chain tip minus processed height
	MetricNameSends      = "anya.bitcoin.sends"                // {transaction}, counter, by outcome (sent, resent, refused, failed)
)

// Attribute keys on the package's spans and measurements.
const (
	attrChange      = attribute.Key("anya.bitcoin.block.change") // connected, disconnected
	attrHeight      = attribute.Key("anya.bitcoin.block.height")
	attrChainHeight = attribute.Key("anya.bitcoin.chain.height")
	attrReorgDepth  = attribute.Key("anya.bitcoin.reorg.depth")
	attrResend      = attribute.Key("anya.bitcoin.send.resend")
)

// Values of attrChange and of the Sender's anya.outcome.
const (
	changeConnected    = "connected"
	changeDisconnected = "disconnected"

	outcomeSent    = "sent"
	outcomeResent  = "resent"
	outcomeRefused = "refused"
	outcomeFailed  = "failed"
)

// chainErrors are the sentinels that name error types on the package's spans and
// measurements.
var chainErrors = [...]error{ErrClosed, ErrNotFound, ErrDisconnected, ErrUnsupported, ErrNoFeeEstimate,
	ErrRejected, ErrKeyConflict, ErrAmountOutOfRange, ErrInvalidTransaction, ErrInvalidArgument}

// notifierTelemetry is the instrumentation of a Notifier; nil when it has none.
type notifierTelemetry struct {
	tracer   trace.Tracer // nil: not traced
	blocks   metric.Int64Counter
	deep     metric.Int64Counter
	failures metric.Int64Counter
	reg      metric.Registration

	connected, disconnected metric.MeasurementOption
}

// newNotifierTelemetry returns the instrumentation of n, whose gauges it registers with the
// meter, or nil when cfg has neither a tracer nor a meter provider.
func newNotifierTelemetry(cfg *config, n *Notifier) (*notifierTelemetry, error) {
	t := &notifierTelemetry{tracer: telemetry.Tracer(cfg.tracerProv, "bitcoin")}
	m := telemetry.Meter(cfg.meterProv, "bitcoin")
	if t.tracer == nil && m == nil {
		return nil, nil
	}
	if m == nil {
		return t, nil
	}
	var err error
	if t.blocks, err = m.Int64Counter(MetricNameBlocks, metric.WithUnit("{block}"),
		metric.WithDescription("Blocks the notifier processed, by change: connected or disconnected (reorged out).")); err != nil {
		return nil, err
	}
	if t.deep, err = m.Int64Counter(MetricNameDeepReorgs, metric.WithUnit("{reorg}"),
		metric.WithDescription("Reorgs deeper than the notifier's safety limit.")); err != nil {
		return nil, err
	}
	if t.failures, err = m.Int64Counter(MetricNameFailures, metric.WithUnit("{attempt}"),
		metric.WithDescription("Catch-ups with the chain that failed and are retried after a backoff, by error type.")); err != nil {
		return nil, err
	}
	height, err := m.Int64ObservableGauge(MetricNameHeight, metric.WithUnit("{block}"),
		metric.WithDescription("Height of the last block the notifier processed."))
	if err != nil {
		return nil, err
	}
	lag, err := m.Int64ObservableGauge(MetricNameLag, metric.WithUnit("{block}"),
		metric.WithDescription("Blocks the chain's tip, as last seen, is ahead of the last block the notifier processed."))
	if err != nil {
		return nil, err
	}
	if t.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(height, int64(n.Tip().Height))
		o.ObserveInt64(lag, int64(n.Lag()))
		return nil
	}, height, lag); err != nil {
		return nil, err
	}
	t.connected = telemetry.Set(attrChange.String(changeConnected))
	t.disconnected = telemetry.Set(attrChange.String(changeDisconnected))
	return t, nil
}

// close stops the gauges.
func (t *notifierTelemetry) close() {
	if t != nil && t.reg != nil {
		_ = t.reg.Unregister()
	}
}

// startCatchUp starts the span of a catch-up from the processed block at height to the
// chain's best at best, or returns a nil span when the Notifier is not traced.
func (t *notifierTelemetry) startCatchUp(ctx context.Context, height, best int32) (context.Context, trace.Span) {
	if t == nil || t.tracer == nil {
		return ctx, nil
	}
	return t.tracer.Start(ctx, SpanCatchUp, trace.WithAttributes(attrHeight.Int64(int64(height)), attrChainHeight.Int64(int64(best))))
}

// startBlock starts the span of a block being connected or disconnected (nil when not
// traced).
func (t *notifierTelemetry) startBlock(ctx context.Context, change string, height int32) (context.Context, trace.Span) {
	if t == nil || t.tracer == nil {
		return ctx, nil
	}
	return t.tracer.Start(ctx, SpanBlock, trace.WithAttributes(attrChange.String(change), attrHeight.Int64(int64(height))))
}

// processed counts a block connected or disconnected.
func (t *notifierTelemetry) processed(ctx context.Context, change string) {
	if t == nil || t.blocks == nil {
		return
	}
	set := t.connected
	if change == changeDisconnected {
		set = t.disconnected
	}
	t.blocks.Add(ctx, 1, set)
}

// deepReorg counts a deep reorg and marks it, as an event, on the catch-up span in ctx.
func (t *notifierTelemetry) deepReorg(ctx context.Context, depth int32) {
	if t == nil {
		return
	}
	if t.deep != nil {
		t.deep.Add(ctx, 1)
	}
	if t.tracer != nil {
		// ctx holds the Notifier's catch-up span: the loop's own context carries no other.
		trace.SpanFromContext(ctx).AddEvent(EventDeepReorg, trace.WithAttributes(attrReorgDepth.Int64(int64(depth))))
	}
}

// failed counts a failed catch-up.
func (t *notifierTelemetry) failed(ctx context.Context, err error) {
	if t != nil && t.failures != nil {
		t.failures.Add(ctx, 1, metric.WithAttributes(telemetry.KeyErrorType.String(telemetry.ErrorType(err, chainErrors[:]...))))
	}
}

// endSpan ends a span of the package, if there is one.
func endSpan(span trace.Span, err error) {
	if span != nil {
		telemetry.End(span, err, chainErrors[:]...)
	}
}

// senderTelemetry is the instrumentation of a Sender; nil when it has none.
type senderTelemetry struct {
	tracer trace.Tracer // nil: not traced
	sends  metric.Int64Counter
}

func newSenderTelemetry(cfg *config) (*senderTelemetry, error) {
	t := &senderTelemetry{tracer: telemetry.Tracer(cfg.tracerProv, "bitcoin")}
	m := telemetry.Meter(cfg.meterProv, "bitcoin")
	if t.tracer == nil && m == nil {
		return nil, nil
	}
	if m != nil {
		var err error
		if t.sends, err = m.Int64Counter(MetricNameSends, metric.WithUnit("{transaction}"),
			metric.WithDescription("Sender calls by outcome: sent (a new key), resent (a key with a record), refused (by the chain or the Sender's checks), failed.")); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// traced runs send, one Send or SendFunc, in a span and counts its outcome; send reports
// through resent whether the key already had a record. Cancellation is not counted.
func (t *senderTelemetry) traced(ctx context.Context, send func(ctx context.Context, resent *bool) (chainhash.Hash, error)) (chainhash.Hash, error) {
	var span trace.Span
	if t.tracer != nil {
		ctx, span = t.tracer.Start(ctx, SpanSend)
	}
	var resent bool
	txid, err := send(ctx, &resent)
	outcome := sendOutcome(err, resent)
	if t.sends != nil && outcome != "" {
		t.sends.Add(ctx, 1, metric.WithAttributes(telemetry.KeyOutcome.String(outcome)))
	}
	if span != nil {
		span.SetAttributes(attrResend.Bool(resent))
		if outcome != "" {
			span.SetAttributes(telemetry.KeyOutcome.String(outcome))
		}
		telemetry.End(span, err, chainErrors[:]...)
	}
	return txid, err
}

// sendOutcome classifies how a send ended; "" for a cancelled one.
func sendOutcome(err error, resent bool) string {
	switch {
	case err == nil && resent:
		return outcomeResent
	case err == nil:
		return outcomeSent
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ""
	case errors.Is(err, ErrRejected), errors.Is(err, ErrKeyConflict), errors.Is(err, ErrAmountOutOfRange), errors.Is(err, ErrInvalidArgument):
		return outcomeRefused
	}
	return outcomeFailed
}

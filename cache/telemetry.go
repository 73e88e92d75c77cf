package cache

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// Span and instrument names of the package (see the package documentation, Observability, and
// docs/observability.md).
const (
	// SpanLoad is one call of a loader: a GetOrLoad miss (the single flight's one load, not
	// the callers that wait for it) or a background refresh. Hits have no span.
	SpanLoad = "cache.load"

	MetricNameLookups   = "anya.cache.lookups"   // {lookup}, counter, by anya.cache.result (hit, miss)
	MetricNameEvictions = "anya.cache.evictions" // {entry}, counter
	MetricNameLoads     = "anya.cache.loads"     // {load}, counter, by anya.outcome (success, failure)
	MetricNameSize      = "anya.cache.size"      // {entry}, gauge
)

const (
	attrName    = attribute.Key("anya.cache.name")
	attrResult  = attribute.Key("anya.cache.result")
	attrRefresh = attribute.Key("anya.cache.refresh")
	attrFound   = attribute.Key("anya.cache.found")
)

var knownErrors = [...]error{ErrNotFound, ErrClosed}

// spanLoad starts the span of one load.
func (c *Cache[K, V]) spanLoad(ctx context.Context, refresh bool) (context.Context, trace.Span) {
	return c.tracer.Start(ctx, SpanLoad, trace.WithAttributes(attrName.String(c.cfg.name), attrRefresh.Bool(refresh)))
}

// startMetrics reports the cache's counters as instruments of m, read when m collects.
func (c *Cache[K, V]) startMetrics(m metric.Meter) error {
	lookups, err := m.Int64ObservableCounter(MetricNameLookups, metric.WithUnit("{lookup}"),
		metric.WithDescription("Lookups by Get and GetOrLoad, by result: hit or miss."))
	if err != nil {
		return err
	}
	evictions, err := m.Int64ObservableCounter(MetricNameEvictions, metric.WithUnit("{entry}"),
		metric.WithDescription("Entries evicted to keep the cache within its size."))
	if err != nil {
		return err
	}
	loads, err := m.Int64ObservableCounter(MetricNameLoads, metric.WithUnit("{load}"),
		metric.WithDescription("Loader calls, by outcome: success (a not-found included) or failure."))
	if err != nil {
		return err
	}
	size, err := m.Int64ObservableGauge(MetricNameSize, metric.WithUnit("{entry}"),
		metric.WithDescription("Entries in the cache, an estimate."))
	if err != nil {
		return err
	}
	name := attrName.String(c.cfg.name)
	hit := metric.WithAttributes(name, attrResult.String("hit"))
	miss := metric.WithAttributes(name, attrResult.String("miss"))
	ok := metric.WithAttributes(name, telemetry.KeyOutcome.String("success"))
	failed := metric.WithAttributes(name, telemetry.KeyOutcome.String("failure"))
	only := metric.WithAttributes(name)
	c.metricsReg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := c.Stats()
		o.ObserveInt64(lookups, int64(s.Hits), hit)
		o.ObserveInt64(lookups, int64(s.Misses), miss)
		o.ObserveInt64(evictions, int64(s.Evictions), only)
		o.ObserveInt64(loads, int64(s.LoadSuccesses), ok)
		o.ObserveInt64(loads, int64(s.LoadFailures), failed)
		o.ObserveInt64(size, int64(s.Size), only)
		return nil
	}, lookups, evictions, loads, size)
	return err
}

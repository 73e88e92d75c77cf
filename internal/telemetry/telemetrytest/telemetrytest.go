// Package telemetrytest is the test kit of the SDK's instrumentation: an SDK tracer provider
// recording every span in memory and an SDK meter provider read on demand, with lookups of
// spans and metric values, and a scan that fails a test when a given string (a DID, an address,
// an amount) appears anywhere in what was recorded.
package telemetrytest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Kit records spans and metrics for one test.
type Kit struct {
	Recorder *tracetest.SpanRecorder
	TP       *sdktrace.TracerProvider
	Reader   *sdkmetric.ManualReader
	MP       *sdkmetric.MeterProvider
}

// New returns a kit whose providers are shut down when the test ends.
func New(t testing.TB) *Kit {
	t.Helper()
	k := &Kit{Recorder: tracetest.NewSpanRecorder(), Reader: sdkmetric.NewManualReader()}
	k.TP = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(k.Recorder))
	k.MP = sdkmetric.NewMeterProvider(sdkmetric.WithReader(k.Reader))
	t.Cleanup(func() {
		_ = k.TP.Shutdown(context.Background())
		_ = k.MP.Shutdown(context.Background())
	})
	return k
}

// Ended returns the spans ended so far, in the order they ended.
func (k *Kit) Ended() []sdktrace.ReadOnlySpan { return k.Recorder.Ended() }

// Named returns the ended spans called name.
func (k *Kit) Named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range k.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// One returns the one ended span called name, failing the test unless there is exactly one.
func (k *Kit) One(t testing.TB, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	s := k.Named(name)
	if len(s) != 1 {
		t.Fatalf("%d spans named %q, want 1; ended: %s", len(s), name, Names(k.Ended()))
	}
	return s[0]
}

// Names lists the names of spans, for failure messages.
func Names(spans []sdktrace.ReadOnlySpan) string {
	n := make([]string, len(spans))
	for i, s := range spans {
		n[i] = s.Name()
	}
	return strings.Join(n, ", ")
}

// Attr returns the value of the attribute key of span s.
func Attr(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// ChildOf fails the test unless child's parent is parent (same trace, parent span ID).
func ChildOf(t testing.TB, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Fatalf("span %q is in trace %s, its parent %q in %s", child.Name(), child.SpanContext().TraceID(), parent.Name(), parent.SpanContext().TraceID())
	}
	if child.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("span %q has parent %s, want %q (%s)", child.Name(), child.Parent().SpanID(), parent.Name(), parent.SpanContext().SpanID())
	}
}

// Collect reads every metric recorded so far.
func (k *Kit) Collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := k.Reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	return rm
}

// Metric returns the metric called name from rm.
func Metric(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// Int returns the sum of the values of the int64 counter, up-down counter or gauge name over
// the data points that carry every attribute of attrs, and whether the metric exists.
func Int(rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (int64, bool) {
	m, ok := Metric(rm, name)
	if !ok {
		return 0, false
	}
	var pts []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		pts = d.DataPoints
	case metricdata.Gauge[int64]:
		pts = d.DataPoints
	default:
		return 0, false
	}
	var sum int64
	for _, p := range pts {
		if has(p.Attributes, attrs) {
			sum += p.Value
		}
	}
	return sum, true
}

// Histogram returns the count and sum of the float64 histogram name over the data points that
// carry every attribute of attrs, and whether the metric exists.
func Histogram(rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (count uint64, sum float64, ok bool) {
	m, ok := Metric(rm, name)
	if !ok {
		return 0, 0, false
	}
	switch d := m.Data.(type) {
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if has(p.Attributes, attrs) {
				count, sum = count+p.Count, sum+p.Sum
			}
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			if has(p.Attributes, attrs) {
				count, sum = count+p.Count, sum+float64(p.Sum)
			}
		}
	default:
		return 0, 0, false
	}
	return count, sum, true
}

func has(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// NoLeak fails the test when any of secrets appears (case-insensitively, as a substring) in
// anything recorded: span names, attributes, events and their attributes, links, status
// descriptions, resources, and metric names, descriptions, units and data point attributes
// (exemplars included). Run it after the workload that handled those secrets.
func (k *Kit) NoLeak(t testing.TB, secrets ...string) {
	t.Helper()
	rm := k.Collect(t)
	var texts []string
	add := func(where string, s string) { texts = append(texts, where+"\x00"+s) }
	addSet := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			add(where+" attribute "+string(kv.Key), string(kv.Key)+"="+kv.Value.String())
		}
	}
	for _, s := range k.Ended() {
		w := "span " + s.Name()
		add(w, s.Name())
		addSet(w, s.Attributes())
		add(w+" status", s.Status().Description)
		for _, e := range s.Events() {
			add(w+" event", e.Name)
			addSet(w+" event "+e.Name, e.Attributes)
		}
		for _, l := range s.Links() {
			addSet(w+" link", l.Attributes)
		}
		addSet(w+" resource", s.Resource().Attributes())
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			w := "metric " + m.Name
			add(w, m.Name+" "+m.Description+" "+m.Unit)
			for _, set := range pointSets(m.Data) {
				addSet(w, set)
			}
		}
	}
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		low := strings.ToLower(sec)
		for _, tx := range texts {
			where, s, _ := strings.Cut(tx, "\x00")
			if strings.Contains(strings.ToLower(s), low) {
				t.Errorf("%s carries %q: %q", where, sec, s)
			}
		}
	}
}

// Texts is the number of recorded spans and metric data points NoLeak would scan, so a test can
// make sure its workload recorded something.
func (k *Kit) Texts(t testing.TB) (spans, points int) {
	t.Helper()
	for _, sm := range k.Collect(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			points += len(pointSets(m.Data)) / 2 // attributes and exemplars of each point
		}
	}
	return len(k.Ended()), points
}

func pointSets(data metricdata.Aggregation) [][]attribute.KeyValue {
	var out [][]attribute.KeyValue
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes.ToSlice(), exemplars(p.Exemplars))
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes.ToSlice(), exemplars(p.Exemplars))
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes.ToSlice(), exemplars(p.Exemplars))
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes.ToSlice(), exemplars(p.Exemplars))
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes.ToSlice(), exemplars(p.Exemplars))
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes.ToSlice(), exemplars(p.Exemplars))
		}
	case metricdata.ExponentialHistogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes.ToSlice(), exemplars(p.Exemplars))
		}
	case metricdata.ExponentialHistogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes.ToSlice(), exemplars(p.Exemplars))
		}
	case nil:
	default:
		panic(fmt.Sprintf("telemetrytest: unknown aggregation %T", data))
	}
	return out
}

func exemplars[N int64 | float64](ex []metricdata.Exemplar[N]) []attribute.KeyValue {
	var out []attribute.KeyValue
	for _, e := range ex {
		out = append(out, e.FilteredAttributes...)
	}
	return out
}

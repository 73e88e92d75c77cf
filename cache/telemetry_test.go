package cache_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
)

// Misses are traced (hits are not), under the caller's span and above the loader's; the
// counters match the workload; keys, values and error texts stay out.
func TestTelemetryWorkload(t *testing.T) {
	const alice, bob, carol = "did:example:alice-55e1", "did:example:bob-77a0", "did:example:carol-0c9d"
	const doc = "bc1qsecretdocumentvalue"
	k := telemetrytest.New(t)
	c, err := cache.New[string, string](cache.WithName("did"), cache.WithTracerProvider(k.TP), cache.WithMeterProvider(k.MP))
	if err != nil {
		t.Fatal(err)
	}
	tr := k.TP.Tracer("host")
	load := func(ctx context.Context, key string) (string, error) {
		_, s := tr.Start(ctx, "fetch")
		defer s.End()
		switch key {
		case alice:
			return doc, nil
		case bob:
			return "", cache.ErrNotFound
		}
		return "", errors.New("resolver down for " + key)
	}
	ctx, parent := tr.Start(context.Background(), "resolve")
	for range 3 { // one miss, two hits
		if v, err := c.GetOrLoad(ctx, alice, load); err != nil || v != doc {
			t.Fatalf("GetOrLoad: %q, %v", v, err)
		}
	}
	parent.End()
	if _, ok := c.Get(carol); ok { // a miss without a load
		t.Fatal("carol cached")
	}
	if _, err := c.GetOrLoad(context.Background(), bob, load); !errors.Is(err, cache.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := c.GetOrLoad(context.Background(), carol, load); err == nil {
		t.Fatal("a failing loader succeeded")
	}

	loads := k.Named(cache.SpanLoad)
	if len(loads) != 3 {
		t.Fatalf("%d load spans, want 3 (misses only): %s", len(loads), telemetrytest.Names(k.Ended()))
	}
	telemetrytest.ChildOf(t, loads[0], k.One(t, "resolve"))
	telemetrytest.ChildOf(t, k.Named("fetch")[0], loads[0])
	for i, want := range []struct {
		found  bool
		failed bool
	}{{true, false}, {false, false}, {false, true}} {
		s := loads[i]
		if v, _ := telemetrytest.Attr(s, "anya.cache.found"); v.AsBool() != want.found {
			t.Errorf("load %d: found %v", i, v.AsBool())
		}
		if (s.Status().Code == codes.Error) != want.failed {
			t.Errorf("load %d: status %+v", i, s.Status())
		}
		if v, _ := telemetrytest.Attr(s, "anya.cache.name"); v.AsString() != "did" {
			t.Errorf("load %d: cache name %q", i, v.AsString())
		}
	}

	rm := k.Collect(t)
	name := attribute.String("anya.cache.name", "did")
	for _, m := range []struct {
		metric string
		attr   attribute.KeyValue
		want   int64
	}{
		{cache.MetricNameLookups, attribute.String("anya.cache.result", "hit"), 2},
		{cache.MetricNameLookups, attribute.String("anya.cache.result", "miss"), 4},
		{cache.MetricNameLoads, attribute.String("anya.outcome", "success"), 2},
		{cache.MetricNameLoads, attribute.String("anya.outcome", "failure"), 1},
		{cache.MetricNameEvictions, name, 0},
	} {
		if got, found := telemetrytest.Int(rm, m.metric, name, m.attr); !found || got != m.want {
			t.Errorf("%s{%s} = %d (found %v), want %d", m.metric, m.attr.Value.String(), got, found, m.want)
		}
	}
	if got, _ := telemetrytest.Int(rm, cache.MetricNameSize, name); got != int64(c.Len()) {
		t.Errorf("size %d, Len %d", got, c.Len())
	}
	k.NoLeak(t, alice, bob, carol, doc, "resolver down")
	c.Close()
	if _, found := telemetrytest.Metric(k.Collect(t), cache.MetricNameLookups); found {
		t.Error("a closed cache is still reported")
	}
}

func TestTelemetryOptions(t *testing.T) {
	// Nil providers are the no-op ones, not an invalid option.
	c, err := cache.New[string, int](cache.WithTracerProvider(nil), cache.WithMeterProvider(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.GetOrLoad(context.Background(), "a", func(context.Context, string) (int, error) { return 1, nil }); err != nil || v != 1 {
		t.Fatalf("GetOrLoad: %d, %v", v, err)
	}
	k := telemetrytest.New(t)
	for _, ts := range []cache.Option{cache.WithTracerProvider(k.TP), cache.WithMeterProvider(k.MP)} {
		var oe *cache.OptionError
		if _, err := cache.NewTiered[int]("ns", nil, ts); !errors.As(err, &oe) {
			t.Errorf("a provider on a Tiered cache: %v", err)
		}
	}
	var oe *cache.OptionError
	if _, err := cache.NewTiered[int]("ns", nil, cache.WithName("x")); !errors.As(err, &oe) || oe.Option != "WithName" {
		t.Errorf("WithName on a Tiered cache: %v", err)
	}
}

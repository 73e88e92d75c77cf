package telemetrytest_test

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
)

// A test records a workload on the kit's providers, then reads the spans and the metric values
// and scans everything recorded for the personal data the workload handled.
func Example() {
	t := &testing.T{} // in a test, the test's own *testing.T
	k := telemetrytest.New(t)

	_, span := k.TP.Tracer("x").Start(context.Background(), "cache.load")
	span.SetAttributes(attribute.String("anya.cache.name", "did"))
	span.End()
	c, _ := k.MP.Meter("x").Int64Counter("anya.cache.loads")
	c.Add(context.Background(), 2, metric.WithAttributes(attribute.String("anya.outcome", "success")))

	v, _ := telemetrytest.Attr(k.One(t, "cache.load"), "anya.cache.name")
	n, _ := telemetrytest.Int(k.Collect(t), "anya.cache.loads", attribute.String("anya.outcome", "success"))
	k.NoLeak(t, "did:example:alice")
	fmt.Println(v.AsString(), n, t.Failed())
	// Output: did 2 false
}

package telemetry_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/anya-org/anya-go/internal/telemetry"
)

// A package turns the host's provider into a tracer once, carries the span context in string
// headers, and ends spans with the error's type only.
func Example() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	tr := telemetry.Tracer(tp, "bus") // nil when tracing is off
	ctx, pub := tr.Start(context.Background(), "bus.publish")
	headers := telemetry.Inject(ctx, nil)
	pub.End()

	_, proc := tr.Start(telemetry.Extract(context.Background(), headers), "bus.process")
	telemetry.End(proc, context.DeadlineExceeded)

	spans := rec.Ended()
	fmt.Println(spans[1].Name(), spans[1].Parent().SpanID() == spans[0].SpanContext().SpanID())
	fmt.Println(spans[1].Status().Description)
	fmt.Println(telemetry.Tracer(nil, "bus") == nil)
	// Output:
	// bus.process true
	// context.DeadlineExceeded
	// true
}

package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/anya-org/anya-go/bus"
)

type BlockConnected struct {
	Height int
	Hash   string
}

func Example() {
	ctx := context.Background()
	b, err := bus.New(bus.WithDefaultSource("example"))
	if err != nil {
		panic(err)
	}
	_, err = bus.Subscribe(b, "bitcoin.block.*", func(ctx context.Context, e bus.Envelope[BlockConnected]) error {
		fmt.Printf("%s from %s: height %d\n", e.Topic, e.Source, e.Payload.Height)
		return nil
	})
	if err != nil {
		panic(err)
	}
	for h := 1; h <= 3; h++ {
		if err := bus.Publish(ctx, b, "bitcoin.block.connected", BlockConnected{Height: h}); err != nil {
			panic(err)
		}
	}
	// Drain delivers everything queued, then closes the bus.
	if err := b.Drain(ctx); err != nil {
		panic(err)
	}
	fmt.Println(bus.Publish(ctx, b, "bitcoin.block.connected", BlockConnected{}))
	// Output:
	// bitcoin.block.connected from example: height 1
	// bitcoin.block.connected from example: height 2
	// bitcoin.block.connected from example: height 3
	// bus: closed
}

func ExampleDeadLetter() {
	ctx := context.Background()
	b, _ := bus.New()
	_, _ = bus.Subscribe(b, "payments.failed", func(ctx context.Context, e bus.Envelope[string]) error {
		fmt.Printf("dead letter %q: %s\n", e.Payload, e.Headers.Get(bus.HeaderDeadLetterReason))
		return nil
	})
	_, _ = bus.Subscribe(b, "payments.requested", func(ctx context.Context, e bus.Envelope[string]) error {
		return errors.New("insufficient funds")
	}, bus.Use(bus.RetryHandler(3, 0)), bus.DeadLetter("payments.failed"))

	_ = bus.Publish(ctx, b, "payments.requested", "pay alice 1000 sat")
	_ = b.Drain(ctx)
	for _, st := range b.Stats() {
		fmt.Printf("%s: published %d, delivered %d, failed %d\n", st.Topic, st.Published, st.Delivered, st.Failed)
	}
	// Output:
	// dead letter "pay alice 1000 sat": insufficient funds
	// payments.failed: published 1, delivered 1, failed 0
	// payments.requested: published 1, delivered 0, failed 1
}

func ExampleOnFull() {
	ctx := context.Background()
	b, _ := bus.New()
	release := make(chan struct{})
	sub, _ := bus.Subscribe(b, "ticks", func(ctx context.Context, e bus.Envelope[int]) error {
		<-release // a slow consumer
		return nil
	}, bus.QueueSize(2), bus.OnFull(bus.PolicyDropOldest))
	for i := range 10 {
		_ = bus.Publish(ctx, b, "ticks", i)
	}
	close(release)
	_ = b.Drain(ctx)
	st := sub.Stats()
	fmt.Println("handled + dropped =", st.Delivered+st.Dropped)
	// Output:
	// handled + dropped = 10
}

// When a subscription does not take a message, Publish says which one and why; the message
// still reaches the others, and every message is counted once per subscription.
func ExamplePublishError() {
	ctx := context.Background()
	b, _ := bus.New()
	release, holding := make(chan struct{}), make(chan struct{}, 1)
	_, _ = bus.Subscribe(b, "orders", func(ctx context.Context, e bus.Envelope[int]) error {
		if e.Payload == 1 {
			holding <- struct{}{}
			<-release
		}
		return nil
	}, bus.Named("slow"), bus.QueueSize(1), bus.OnFull(bus.PolicyFail))
	_, _ = bus.Subscribe(b, "orders", func(context.Context, bus.Envelope[int]) error { return nil }, bus.Named("fast"))

	_ = bus.Publish(ctx, b, "orders", 1)
	<-holding                            // slow handles 1
	_ = bus.Publish(ctx, b, "orders", 2) // waits in slow's queue
	err := bus.Publish(ctx, b, "orders", 3)
	var pe *bus.PublishError
	if errors.As(err, &pe) {
		var de *bus.DeliveryError
		errors.As(pe.Errs[0], &de)
		fmt.Println("not taken by", de.Subscriber, "- queue full:", errors.Is(err, bus.ErrQueueFull))
	}
	close(release)
	_ = b.Drain(ctx)
	st := b.Stats()[0]
	fmt.Printf("published %d: delivered %d + dropped %d + failed %d\n", st.Published, st.Delivered, st.Dropped, st.Failed)
	// Output:
	// not taken by slow - queue full: true
	// published 3: delivered 5 + dropped 0 + failed 1
}

// With a tracer provider, a handler's context carries the span of its handling, a child of the
// publisher's span through the message's traceparent header: its own spans join the trace that
// published the event.
func ExampleWithTracerProvider() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	b, err := bus.New(bus.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}
	_, err = bus.Subscribe(b, "bitcoin.block.*", func(ctx context.Context, e bus.Envelope[BlockConnected]) error {
		_, span := tp.Tracer("host").Start(ctx, "update wallet")
		defer span.End()
		fmt.Println("traceparent header:", e.Headers.Get("traceparent") != "")
		return nil
	})
	if err != nil {
		panic(err)
	}
	ctx, span := tp.Tracer("host").Start(context.Background(), "poll node")
	if err := bus.Publish(ctx, b, "bitcoin.block.connected", BlockConnected{Height: 7}); err != nil {
		panic(err)
	}
	span.End()
	if err := b.Drain(context.Background()); err != nil {
		panic(err)
	}
	trace := span.SpanContext().TraceID()
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, fmt.Sprint(s.Name(), " in the trace: ", s.SpanContext().TraceID() == trace))
	}
	slices.Sort(names)
	fmt.Println(strings.Join(names, "\n"))
	// Output:
	// traceparent header: true
	// bus.process in the trace: true
	// bus.publish in the trace: true
	// poll node in the trace: true
	// update wallet in the trace: true
}

// Publish options are funcs like the other options: per-call metadata of one message.
func ExamplePublishOption() {
	ctx := context.Background()
	b, _ := bus.New(bus.WithDefaultSource("node"))
	_, _ = bus.Subscribe(b, "payments.sent", func(ctx context.Context, e bus.Envelope[string]) error {
		fmt.Printf("%s key=%s source=%s channel=%s\n", e.Payload, e.Key, e.Source, e.Headers.Get("channel"))
		return nil
	})
	_ = bus.Publish(ctx, b, "payments.sent", "pay-1", bus.WithKey("alice"), bus.WithHeader("channel", "api"))
	_ = bus.Publish(ctx, b, "payments.sent", "pay-2", bus.WithKey("bob"), bus.WithSource("cli"))
	_ = b.Drain(ctx)
	// Output:
	// pay-1 key=alice source=node channel=api
	// pay-2 key=bob source=cli channel=
}

// RetryHandler re-runs a failing handler in the subscription's goroutine before the failure
// counts.
func ExampleRetryHandler() {
	ctx := context.Background()
	b, _ := bus.New()
	calls := 0
	_, _ = bus.Subscribe(b, "jobs", func(ctx context.Context, e bus.Envelope[string]) error {
		calls++
		if calls < 3 {
			return errors.New("flaky")
		}
		fmt.Printf("%s done on call %d\n", e.Payload, calls)
		return nil
	}, bus.Use(bus.RetryHandler(3, 0)))
	_ = bus.Publish(ctx, b, "jobs", "job-1")
	_ = b.Drain(ctx)
	st := b.Stats()[0]
	fmt.Printf("delivered %d, failed %d\n", st.Delivered, st.Failed)
	// Output:
	// job-1 done on call 3
	// delivered 1, failed 0
}

// Options never fail themselves: New and Subscribe check them once and name the one they
// refuse. A Bus that New did not make refuses calls, naming New, instead of panicking.
func ExampleOptionError() {
	_, err := bus.New(bus.WithDefaultQueueSize(0))
	fmt.Println(err)
	b, _ := bus.New()
	defer b.Close()
	_, err = bus.Subscribe(b, "a.b", func(context.Context, bus.Envelope[int]) error { return nil }, bus.Concurrency(-2))
	var oe *bus.OptionError
	fmt.Println(errors.As(err, &oe), oe.Option, oe.Value)

	var zero bus.Bus
	err = bus.Publish(context.Background(), &zero, "a.b", 1)
	fmt.Println(err, errors.Is(err, bus.ErrNotConstructed))
	// Output:
	// bus: invalid option WithDefaultQueueSize = 0: must be at least 1
	// true Concurrency -2
	// bus: a zero Bus is not usable: create it with bus.New true
}

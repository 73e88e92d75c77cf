// Command bus-basics shows the event bus on its own: typed subscriptions with topic patterns, a
// slow consumer that drops instead of stalling the others, retries and a dead-letter topic, a
// handler whose follow-up events keep their correlation, and a graceful drain with counters.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/anya-org/anya-go/bus"
)

// Payment is a payment request a host might publish.
type Payment struct {
	From, To string
	Sats     int64
}

// Block is a chain event.
type Block struct{ Height int }

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	b, err := bus.New(bus.WithDefaultSource("bus-basics"), bus.WithErrorHandler(func(sub string, m bus.Meta, err error) {
		fmt.Printf("  ! %s failed on %s: %v\n", sub, m.Topic, err)
	}))
	if err != nil {
		return err
	}
	defer b.Close()

	// 1. A typed subscription with a wildcard pattern.
	if _, err := bus.Subscribe(b, "bitcoin.block.*", func(ctx context.Context, e bus.Envelope[Block]) error {
		fmt.Printf("block %-9s height %d\n", e.Topic[len("bitcoin.block."):], e.Payload.Height)
		return nil
	}); err != nil {
		return err
	}

	// 2. A slow consumer with a small queue that drops the oldest events rather than stalling
	// publishers or other subscribers.
	slow, err := bus.Subscribe(b, "bitcoin.>", func(ctx context.Context, e bus.Envelope[Block]) error {
		time.Sleep(2 * time.Millisecond)
		return nil
	}, bus.Named("slow-indexer"), bus.QueueSize(2), bus.OnFull(bus.PolicyDropOldest))
	if err != nil {
		return err
	}

	// 3. A payment handler that retries, dead-letters what it cannot do, and publishes a
	// follow-up event correlated with the request.
	if _, err := bus.Subscribe(b, "payments.requested", func(ctx context.Context, e bus.Envelope[Payment]) error {
		if e.Payload.Sats <= 0 {
			return errors.New("amount must be positive")
		}
		return bus.Publish(ctx, b, "payments.sent", e.Payload)
	}, bus.Named("payer"), bus.Use(bus.Correlate(), bus.RetryHandler(3, time.Millisecond)), bus.DeadLetter("payments.dead")); err != nil {
		return err
	}
	if _, err := bus.Subscribe(b, "payments.sent", func(ctx context.Context, e bus.Envelope[Payment]) error {
		fmt.Printf("sent %d sat %s -> %s (caused by %s)\n", e.Payload.Sats, e.Payload.From, e.Payload.To, short(e.CausationID))
		return nil
	}); err != nil {
		return err
	}
	if _, err := bus.Subscribe(b, "payments.dead", func(ctx context.Context, e bus.Envelope[Payment]) error {
		fmt.Printf("dead letter: %+v (%s)\n", e.Payload, e.Headers.Get(bus.HeaderDeadLetterReason))
		return nil
	}); err != nil {
		return err
	}

	for h := 1; h <= 20; h++ {
		if err := bus.Publish(ctx, b, "bitcoin.block.connected", Block{Height: h}); err != nil {
			return err
		}
	}
	if err := bus.Publish(ctx, b, "bitcoin.block.disconnected", Block{Height: 20}); err != nil {
		return err
	}
	for _, p := range []Payment{{"alice", "bob", 1500}, {"carol", "dave", 0}} {
		if err := bus.Publish(ctx, b, "payments.requested", p); err != nil {
			return err
		}
	}

	// Invalid topics are refused up front.
	fmt.Println("publish to a wildcard:", bus.Publish(ctx, b, "payments.*", Payment{}))

	// Drain delivers everything, including what handlers publish while draining.
	drainCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.Drain(drainCtx); err != nil {
		return err
	}
	st := slow.Stats()
	fmt.Printf("slow-indexer: %d handled, %d dropped of 21\n", st.Delivered, st.Dropped)
	fmt.Println("per-topic counters:")
	for _, ts := range b.Stats() {
		fmt.Printf("  %-28s published %2d delivered %2d dropped %2d failed %d\n", ts.Topic, ts.Published, ts.Delivered, ts.Dropped, ts.Failed)
	}
	return nil
}

func short(id bus.ID) string {
	s := id.String()
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s
}

package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/resilience"
)

// A node call guarded by a retry and a circuit breaker: the retry's attempts are each judged
// by the breaker.
func ExampleDo() {
	breaker, _ := resilience.NewCircuitBreaker(resilience.WithName("bitcoin"), resilience.CountWindow(20), resilience.MinCalls(5))
	retry, _ := resilience.NewRetry(resilience.MaxAttempts(4), resilience.Backoff(time.Millisecond, 10*time.Millisecond))

	attempts := 0
	getBlockCount := func(ctx context.Context) error {
		attempts++
		if attempts < 3 {
			return errors.New("connection refused")
		}
		return nil
	}
	err := resilience.Do(context.Background(), getBlockCount, retry, breaker)
	s := breaker.Snapshot()
	fmt.Println(err, attempts, s.State, s.Calls, s.Failures)
	// Output: <nil> 3 closed 3 2
}

// Get returns the call's result; the same breaker can guard calls of other result types.
func ExampleGet() {
	breaker, _ := resilience.NewCircuitBreaker()
	fallback, _ := resilience.FallbackValue(int64(0))

	height, err := resilience.Get(context.Background(), func(context.Context) (int64, error) {
		return 0, errors.New("node unreachable")
	}, fallback, breaker)
	fmt.Println(height, err)

	hash, err := resilience.Get(context.Background(), func(context.Context) (string, error) {
		return "000000000019d6689c085ae165831e93", nil
	}, breaker)
	fmt.Println(hash, err)
	// Output:
	// 0 <nil>
	// 000000000019d6689c085ae165831e93 <nil>
}

// Listeners see every state change, starting with the state at registration.
func ExampleCircuitBreaker() {
	breaker, _ := resilience.NewCircuitBreaker(
		resilience.WithName("did-resolver"),
		resilience.CountWindow(4), resilience.MinCalls(4), resilience.FailureRateThreshold(0.5),
		resilience.WithListener(func(e resilience.Event) {
			if e.Kind == resilience.EventStateChange {
				fmt.Printf("%s: %v -> %v (initial %v)\n", e.Name, e.From, e.To, e.Initial)
			}
		}),
	)
	for i := range 4 {
		_ = resilience.Do(context.Background(), func(context.Context) error {
			if i%2 == 0 {
				return errors.New("timeout")
			}
			return nil
		}, breaker)
	}
	err := resilience.Do(context.Background(), func(context.Context) error { return nil }, breaker)
	fmt.Println(err)
	// Output:
	// did-resolver: closed -> closed (initial true)
	// did-resolver: closed -> open (initial false)
	// resilience: circuit breaker is open
}

// A retry gives up with an error that wraps the last failure and counts the attempts.
func ExampleRetryError() {
	retry, _ := resilience.NewRetry(resilience.MaxAttempts(3), resilience.Backoff(0, 0))
	errUnavailable := errors.New("503 service unavailable")
	err := resilience.Do(context.Background(), func(context.Context) error { return errUnavailable }, retry)

	var re *resilience.RetryError
	fmt.Println(errors.As(err, &re), re.Attempts, errors.Is(err, errUnavailable))
	fmt.Println(err)
	// Output:
	// true 3 true
	// resilience: retries exhausted after 3 attempts: 503 service unavailable
}

// One breaker per protocol, created on first use with shared options.
func ExampleNewBreakerRegistry() {
	breakers, _ := resilience.NewBreakerRegistry(resilience.CountWindow(50), resilience.OpenWait(time.Minute))
	bitcoin, _ := breakers.Get("bitcoin")
	again, _ := breakers.Get("bitcoin")
	web5, _ := breakers.Get("web5")
	fmt.Println(bitcoin == again, bitcoin == web5, bitcoin.Name(), breakers.Len())
	// Output: true false bitcoin 2
}

// A server's Retry-After header, attached to the error, sets the retry's wait.
func ExampleParseRetryAfter() {
	now := time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC)
	d, _ := resilience.ParseRetryAfter("Fri, 02 Jan 2026 15:04:30 GMT", now)
	fmt.Println(d)
	err := resilience.WithRetryAfter(errors.New("429 too many requests"), d)
	var hint resilience.RetryAfterHint
	fmt.Println(errors.As(err, &hint), hint.RetryAfter())
	// Output:
	// 30s
	// true 30s
}

// A hedge starts a second attempt when the first is slow; the first to return wins.
func ExampleHedged() {
	hedge, _ := resilience.NewHedge(10 * time.Millisecond)
	var attempts atomic.Int32 // attempts run concurrently
	gateway, _ := resilience.Hedged(context.Background(), hedge, func(ctx context.Context) (string, error) {
		if attempts.Add(1) == 1 {
			<-ctx.Done() // stuck until the hedge cancels it
			return "", ctx.Err()
		}
		return "second gateway", nil
	})
	fmt.Println(gateway)
	// Output: second gateway
}

// Events name a topic, so a listener can publish them to an event bus.
func ExampleEvent_Topic() {
	retry, _ := resilience.NewRetry(resilience.MaxAttempts(2), resilience.Backoff(0, 0),
		resilience.WithListener(func(e resilience.Event) { fmt.Println(e.Topic(), e.Attempt) }))
	_ = resilience.Do(context.Background(), func(context.Context) error { return errors.New("busy") }, retry)
	// Output:
	// resilience.retry.retry 2
	// resilience.retry.give-up 2
}

// Publisher publishes a policy's events to the bus, where hosts watch every policy.
func ExamplePublisher() {
	ctx := context.Background()
	b, _ := bus.New()
	_, _ = bus.Subscribe(b, "resilience.>", func(ctx context.Context, e bus.Envelope[resilience.Event]) error {
		fmt.Println(e.Topic, e.Key, e.Payload.From, "->", e.Payload.To)
		return nil
	})
	publish := resilience.Publisher(func(ctx context.Context, topic string, e resilience.Event) error {
		return bus.Publish(ctx, b, topic, e, bus.WithKey(e.Name))
	}, 100*time.Millisecond, nil)

	breaker, _ := resilience.NewCircuitBreaker(resilience.WithName("ml"), resilience.WithListener(publish))
	breaker.ForceOpen()
	_ = b.Drain(ctx)
	// Output:
	// resilience.circuit-breaker.state ml closed -> closed
	// resilience.circuit-breaker.state ml closed -> forced-open
}

// Every policy takes options of one type; one meant for another policy is refused by name. The
// zero CircuitBreaker works as NewCircuitBreaker() with the defaults.
func ExampleOption() {
	_, err := resilience.NewCircuitBreaker(resilience.WithName("bitcoin"), resilience.MaxAttempts(3))
	fmt.Println(errors.Is(err, resilience.ErrInvalidOption), err)

	var breaker resilience.CircuitBreaker
	err = resilience.Do(context.Background(), func(context.Context) error { return nil }, &breaker)
	fmt.Println(err, breaker.State(), breaker.Snapshot().Calls)
	// Output:
	// true resilience: circuit-breaker: option MaxAttempts = 3: does not apply to CircuitBreaker (it configures a Retry)
	// <nil> closed 1
}

package resilience_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
	"github.com/anya-org/anya-go/resilience"
)

// Events published to the SDK's bus, in process and through a transport.
func TestEventsOnTheBus(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []bus.Option
	}{
		{"in-process", nil},
		{"transport", []bus.Option{bus.WithTransport(&bus.MemTransport{}, bus.JSONCodec{})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := bus.New(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			rec := bustest.Record[resilience.Event](t, b, "resilience.>")
			var failed []error
			publish := resilience.Publisher(func(ctx context.Context, topic string, e resilience.Event) error {
				return bus.Publish(ctx, b, topic, e, bus.WithKey(e.Name), bus.WithSource("resilience"))
			}, time.Second, func(_ resilience.Event, err error) { failed = append(failed, err) })

			cb, err := resilience.NewCircuitBreaker(resilience.WithName("bitcoin"), resilience.CountWindow(2), resilience.MinCalls(2),
				resilience.WithListener(publish))
			if err != nil {
				t.Fatal(err)
			}
			r, err := resilience.NewRetry(resilience.WithName("bitcoin"), resilience.MaxAttempts(3), resilience.Backoff(0, 0), resilience.WithListener(publish))
			if err != nil {
				t.Fatal(err)
			}
			_ = resilience.Do(context.Background(), fail, r, cb)

			got := rec.WaitFor(t, 6)
			var topics []string
			for _, e := range got {
				topics = append(topics, e.Topic)
				if e.Key != "bitcoin" || e.Payload.Name != "bitcoin" {
					t.Errorf("event %s keyed %q, named %q", e.Topic, e.Key, e.Payload.Name)
				}
			}
			want := []string{
				"resilience.circuit-breaker.state",    // initial: closed
				"resilience.retry.retry",              // after attempt 1
				"resilience.circuit-breaker.state",    // attempt 2 opens it
				"resilience.retry.retry",              // after attempt 2
				"resilience.circuit-breaker.rejected", // attempt 3 refused
				"resilience.retry.give-up",
			}
			if !reflect.DeepEqual(topics, want) {
				t.Fatalf("topics = %v, want %v", topics, want)
			}
			opened := got[2].Payload
			if opened.From != resilience.StateClosed || opened.To != resilience.StateOpen || opened.Initial {
				t.Fatalf("state change = %+v", opened)
			}
			if gaveUp := got[5].Payload; gaveUp.Attempt != 3 || gaveUp.Err == nil {
				t.Fatalf("give-up = %+v", gaveUp)
			}
			if len(failed) != 0 {
				t.Fatalf("publish failures: %v", failed)
			}
		})
	}
}

func TestPublisherBoundsAndReportsFailures(t *testing.T) {
	var got error
	var deadline bool
	l := resilience.Publisher(func(ctx context.Context, topic string, e resilience.Event) error {
		_, deadline = ctx.Deadline()
		return errors.New("bus: closed")
	}, time.Millisecond, func(_ resilience.Event, err error) { got = err })
	l(resilience.Event{Kind: resilience.EventRetry, Policy: resilience.KindRetry})
	if got == nil || !deadline {
		t.Fatalf("error %v, deadline %v", got, deadline)
	}
}

func TestEventJSON(t *testing.T) {
	in := resilience.Event{Kind: resilience.EventStateChange, Policy: resilience.KindCircuitBreaker, Name: "web5",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), From: resilience.StateHalfOpen, To: resilience.StateOpen,
		Err: errBoom}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"state","policy":"circuit-breaker","name":"web5","time":"2026-01-02T03:04:05Z","from":"half-open","to":"open","err":"boom"}`
	if string(data) != want {
		t.Fatalf("JSON = %s\nwant   %s", data, want)
	}
	var out resilience.Event
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Err == nil || out.Err.Error() != "boom" {
		t.Fatalf("err = %v", out.Err)
	}
	out.Err, in.Err = nil, nil
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip = %+v, want %+v", out, in)
	}
	for _, bad := range []string{`{"kind":"explode"}`, `{"kind":"state","from":"ajar","to":"open"}`, `[`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

// FuzzEventJSON decodes events as they arrive from a bus transport: bad JSON is an error, never
// a panic, and what decodes encodes back to the same event.
func FuzzEventJSON(f *testing.F) {
	for _, s := range []string{
		`{"kind":"state","policy":"circuit-breaker","name":"web5","time":"2026-01-02T03:04:05Z","from":"half-open","to":"open","err":"boom"}`,
		`{"kind":"retry","policy":"retry","attempt":2,"delay":100000000}`,
		`{"kind":"give-up"}`, `{"kind":"state","from":"closed"}`, `{}`, `null`, `[1]`, `{"kind":"rejected","err":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e resilience.Event
		if err := json.Unmarshal(data, &e); err != nil {
			return
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", e, err)
		}
		var e2 resilience.Event
		if err := json.Unmarshal(again, &e2); err != nil {
			t.Fatalf("decoding our own %s: %v", again, err)
		}
		if (e.Err == nil) != (e2.Err == nil) || (e.Err != nil && e.Err.Error() != e2.Err.Error()) {
			t.Fatalf("error changed: %v vs %v", e.Err, e2.Err)
		}
		e.Err, e2.Err = nil, nil
		if !e.Time.Equal(e2.Time) {
			t.Fatalf("time changed: %v vs %v", e.Time, e2.Time)
		}
		e.Time, e2.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip changed %+v into %+v", e, e2)
		}
	})
}

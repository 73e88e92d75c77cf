package bus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newBus(t *testing.T, opts ...bus.Option) *bus.Bus {
	b, err := bus.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformanceInProcess(t *testing.T) { bustest.Run(t, newBus) }

func TestConformanceMemTransport(t *testing.T) {
	bustest.RunTransport(t, func(t *testing.T) bus.Transport {
		tr := &bus.MemTransport{}
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}, bustest.Synchronous(), bustest.Groups())
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, c := range []struct {
		option string
		o      bus.Option
		value  any
	}{
		{"WithDefaultQueueSize", bus.WithDefaultQueueSize(0), 0},
		{"WithDefaultPolicy", bus.WithDefaultPolicy(bus.Policy(9)), bus.Policy(9)},
		{"WithMaxTopics", bus.WithMaxTopics(-1), -1},
		{"WithClock", bus.WithClock(nil), nil},
		{"WithLogger", bus.WithLogger(nil), nil},
		{"WithTransport", bus.WithTransport(nil, nil), nil},
		{"WithMiddleware", bus.WithMiddleware(bus.Correlate(), nil), nil},
	} {
		var oe *bus.OptionError
		b, err := bus.New(bus.WithDefaultSource("ok"), c.o)
		if !errors.As(err, &oe) || !errors.Is(err, bus.ErrInvalidOption) || b != nil {
			t.Errorf("%s: New = %v, %v, want nil and an *OptionError", c.option, b, err)
			continue
		}
		if oe.Option != c.option || oe.Value != c.value || !strings.Contains(err.Error(), c.option) {
			t.Errorf("%s: *OptionError %+v (%q) names the wrong option or value", c.option, oe, err)
		}
	}
	// Nil options are skipped; the last of two settings of one option wins, and is what is
	// validated.
	if _, err := bus.New(nil, bus.WithDefaultQueueSize(0), bus.WithDefaultQueueSize(1)); err != nil {
		t.Errorf("New with a nil option and an overridden queue size: %v", err)
	}
}

func TestMatchTopic(t *testing.T) {
	cases := []struct {
		pat, topic string
		want       bool
	}{
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b", false},
		{"a.*.c", "a.zz.c", true},
		{"a.*.c", "a.c", false},
		{"a.*", "a.b.c", false},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{">", "a", true},
		{"*.b.>", "x.b.y.z", true},
		{"*.b.>", "x.c.y", false},
		{"a.b", "a.b.c", false},
		{"a.*.*", "a.b", false},
		{"a..b", "a..b", false}, // invalid pattern never matches
		{"a.b", "a.*", false},   // invalid topic never matches
	}
	for _, c := range cases {
		if got := bus.MatchTopic(c.pat, c.topic); got != c.want {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", c.pat, c.topic, got, c.want)
		}
	}
}

func TestIDText(t *testing.T) {
	for _, s := range []string{"", "0123", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "00000000-0000-0000-0000-00000000000", "00000000x0000-0000-0000-000000000000"} {
		if _, err := bus.ParseID(s); (err == nil) != (s == "") {
			t.Errorf("ParseID(%q) err = %v", s, err)
		}
	}
	var id bus.ID
	if err := id.UnmarshalText([]byte("0123456789abcdef-fedc-ba98-7654-3210")); err == nil {
		t.Errorf("misplaced dashes accepted")
	}
}

// The RetryHandler middleware's waits double from the given backoff; synctest's fake clock shows the
// exact schedule without sleeping.
func TestRetryBackoffSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var at []time.Duration
		start := time.Now()
		h := bus.RetryHandler(4, 10*time.Millisecond)(func(context.Context, *bus.Meta) error {
			at = append(at, time.Since(start))
			return errors.New("again")
		})
		if err := h(context.Background(), &bus.Meta{}); err == nil || err.Error() != "again" {
			t.Fatalf("err = %v", err)
		}
		want := []time.Duration{0, 10 * time.Millisecond, 30 * time.Millisecond, 70 * time.Millisecond}
		if len(at) != len(want) {
			t.Fatalf("calls at %v, want %v", at, want)
		}
		for i := range want {
			if at[i] != want[i] {
				t.Fatalf("calls at %v, want %v", at, want)
			}
		}
	})
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Millisecond)
		defer cancel()
		calls := 0
		h := bus.RetryHandler(10, 10*time.Millisecond)(func(context.Context, *bus.Meta) error {
			calls++
			return errors.New("again")
		})
		_ = h(ctx, &bus.Meta{})
		if calls != 2 {
			t.Fatalf("calls = %d, want 2 (at 0 and 10ms; the context ends at 25ms before the 30ms retry)", calls)
		}
	})
}

func TestTimeoutMiddleware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := bus.TimeoutHandler(time.Second)(func(ctx context.Context, _ *bus.Meta) error {
			<-ctx.Done()
			return ctx.Err()
		})
		start := time.Now()
		if err := h(context.Background(), &bus.Meta{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("handler ran %v, want exactly 1s on the fake clock", d)
		}
	})
}

// A bus used entirely inside a synctest bubble: Drain and Close leave no goroutine behind, or
// synctest.Test would report a deadlock.
func TestBusInsideBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus(t)
		rec := bustest.Record[int](t, b, "tick")
		for i := range 10 {
			if err := bus.Publish(t.Context(), b, "tick", i); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		if rec.Len() != 10 {
			t.Fatalf("recorded %d", rec.Len())
		}
	})
}

func TestPublishDoesNotAllocate(t *testing.T) {
	b := newBus(t)
	defer b.Close()
	_, err := bus.Subscribe(b, "alloc", func(context.Context, bus.Envelope[int]) error { return nil }, bus.QueueSize(1<<16))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = bus.Publish(ctx, b, "alloc", 0) // warm the route cache
	allocs := testing.AllocsPerRun(1000, func() {
		if err := bus.Publish(ctx, b, "alloc", 1, bus.WithKey("k")); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Publish allocated %.1f times per call", allocs)
	}
}

// A publisher waiting for room under PolicyBlock gives up exactly when its deadline passes, gets
// an error matching context.DeadlineExceeded, and its message is counted as dropped.
func TestBlockedPublisherDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus(t)
		release := make(chan struct{})
		sub, err := bus.Subscribe(b, "slow", func(ctx context.Context, _ bus.Envelope[int]) error {
			<-release
			return nil
		}, bus.QueueSize(1), bus.OnFull(bus.PolicyBlock))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 { // 0 in the handler, 1 queued
			if err := bus.Publish(t.Context(), b, "slow", i); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		err = bus.Publish(ctx, b, "slow", 2)
		var pe *bus.PublishError
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pe) || len(pe.Errs) != 1 {
			t.Fatalf("err = %v, want a *PublishError matching DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("publisher waited %v, want exactly its 1s deadline on the fake clock", d)
		}
		if st := sub.Stats(); st.Received != 3 || st.Dropped != 1 || st.Waiting != 0 {
			t.Fatalf("stats = %+v, want 3 received, 1 dropped", st)
		}
		close(release)
		if err := b.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := b.Stats()[0]; st != (bus.TopicStats{Topic: "slow", Published: 3, Delivered: 2, Dropped: 1}) {
			t.Fatalf("stats = %+v, want 3 published = 2 delivered + 1 dropped", st)
		}
	})
}

// Publish's error lists each subscription that did not take the message and leaves out the ones
// that did; errors.Is matches every cause.
func TestPublishErrorNamesEachRefusal(t *testing.T) {
	b := newBus(t)
	defer b.Close()
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{}, 3)
	slow := func(ctx context.Context, e bus.Envelope[int]) error {
		if e.Payload == 0 {
			entered <- struct{}{}
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	for _, o := range []struct {
		name string
		p    bus.Policy
	}{{"block", bus.PolicyBlock}, {"fail", bus.PolicyFail}, {"drop", bus.PolicyDropNewest}} {
		if _, err := bus.Subscribe(b, "t", slow, bus.QueueSize(1), bus.OnFull(o.p), bus.Named(o.name)); err != nil {
			t.Fatal(err)
		}
	}
	ok := bustest.Record[int](t, b, "t")
	ctx, cancel := context.WithCancel(context.Background())
	for i := range 2 {
		if err := bus.Publish(ctx, b, "t", i); err != nil {
			t.Fatal(err)
		}
		if i == 0 { // every slow handler holds message 0, so message 1 fills their queues
			for range 3 {
				<-entered
			}
		}
	}
	cancel()
	err := bus.Publish(ctx, b, "t", 2)
	var pe *bus.PublishError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PublishError", err)
	}
	names := map[string]error{}
	for _, e := range pe.Errs {
		var de *bus.DeliveryError
		if !errors.As(e, &de) {
			t.Fatalf("cause %v is not a *DeliveryError", e)
		}
		names[de.Subscriber] = de.Err
	}
	if len(names) != 2 || !errors.Is(names["block"], context.Canceled) || !errors.Is(names["fail"], bus.ErrQueueFull) {
		t.Fatalf("refusals = %v, want block: context canceled, fail: queue full", names)
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, bus.ErrQueueFull) || errors.Is(err, bus.ErrClosed) {
		t.Fatalf("errors.Is on %v does not match exactly its causes", err)
	}
	if got := ok.WaitFor(t, 3); len(got) != 3 || got[2].ID != pe.ID {
		t.Fatalf("the subscription that took message 2 got %d messages, last id %v, want id %v", len(got), got[len(got)-1].ID, pe.ID)
	}
}

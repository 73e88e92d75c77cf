package bustest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
)

// NewBus returns a fresh bus configured for the backend under test, with the suite's extra
// options applied after the backend's own. The suite closes it.
type NewBus func(t *testing.T, opts ...bus.Option) *bus.Bus

// NewTransport returns a fresh transport for one test. The suite does not close it; use
// t.Cleanup in the constructor if it needs closing.
type NewTransport func(t *testing.T) bus.Transport

// Feature declares a capability of a transport beyond the Transport contract. The suite checks
// the declared ones and skips the checks of the others.
type Feature func(*features)

type features struct {
	sync, groups, persistent, redelivery bool
}

// Synchronous declares that Publish returns only once every matching subscription has taken
// the message (MemTransport): a full PolicyBlock queue holds the publisher back and PolicyFail
// reaches it. Defaults to off: the transport is checked for what the policies mean
// asynchronously.
func Synchronous() Feature { return func(f *features) { f.sync = true } }

// Groups declares that the transport implements bus.GroupTransport. Defaults to off: groups
// are not checked.
func Groups() Feature { return func(f *features) { f.groups = true } }

// Persistent declares that a group keeps its place while it has no member: what is published
// meanwhile is delivered when a member subscribes again. It implies Groups. Defaults to off.
func Persistent() Feature { return func(f *features) { f.persistent, f.groups = true, true } }

// Redelivery declares that the transport sets Message.Acker: messages a subscriber naks
// (bus.Redeliver) or leaves unsettled when it closes are delivered again. Defaults to off:
// redelivery is not checked.
func Redelivery() Feature { return func(f *features) { f.redelivery = true } }

// RunTransport runs the conformance suite over buses built on transports from newTransport,
// with the checks of the features the transport declares.
func RunTransport(t *testing.T, newTransport NewTransport, feats ...Feature) {
	var f features
	for _, o := range feats {
		o(&f)
	}
	s := suite{f: f, newTransport: newTransport, transport: true}
	s.newBus = func(t *testing.T, opts ...bus.Option) *bus.Bus {
		return s.busOn(t, newTransport(t), opts...)
	}
	s.run(t)
}

// busOn returns a bus on tr, closed when the test ends.
func (s suite) busOn(t *testing.T, tr bus.Transport, opts ...bus.Option) *bus.Bus {
	t.Helper()
	b, err := bus.New(append([]bus.Option{bus.WithTransport(tr, nil)}, opts...)...)
	if err != nil {
		t.Fatalf("bus.New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Run runs the conformance suite against buses from newBus. Their delivery is taken to be
// synchronous (as a bus without a transport, or on MemTransport, is).
func Run(t *testing.T, newBus NewBus) {
	s := suite{newBus: newBus, f: features{sync: true}}
	s.run(t)
}

func (s suite) run(t *testing.T) {
	t.Run("Delivery", s.delivery)
	t.Run("Patterns", s.patterns)
	t.Run("BadInput", s.badInput)
	t.Run("Ordering", s.ordering)
	t.Run("OrderedKeys", s.orderedKeys)
	t.Run("Concurrency", s.concurrency)
	t.Run("PolicyBlock", s.policyBlock)
	t.Run("PolicyDropNewest", s.policyDropNewest)
	t.Run("PolicyDropOldest", s.policyDropOldest)
	t.Run("PolicyFail", s.policyFail)
	t.Run("BlockedContextEnds", s.blockedContextEnds)
	t.Run("BlockedUnsubscribed", s.blockedUnsubscribed)
	t.Run("BlockedClosed", s.blockedClosed)
	t.Run("Accounting", s.accounting)
	t.Run("StuckHandlerIsolated", s.stuckHandler)
	t.Run("Filter", s.filter)
	t.Run("Panic", s.panics)
	t.Run("RetryHandler", s.retry)
	t.Run("DeadLetter", s.deadLetter)
	t.Run("Correlation", s.correlation)
	t.Run("TypeMismatch", s.typeMismatch)
	t.Run("Close", s.close)
	t.Run("Drain", s.drain)
	t.Run("DrainFollowUps", s.drainFollowUps)
	t.Run("DrainDeadline", s.drainDeadline)
	t.Run("Unsubscribe", s.unsubscribe)
	t.Run("Stats", s.stats)
	t.Run("TraceContext", s.traceContext)
	t.Run("Stress", s.stress)
	t.Run("AsyncPolicyBlock", s.asyncPolicyBlock)
	t.Run("AsyncPolicyDrop", s.asyncPolicyDrop)
	t.Run("GroupUnsupported", s.groupUnsupported)
	t.Run("Groups", s.groups)
	t.Run("GroupHandover", s.groupHandover)
	t.Run("Persistent", s.persistent)
	t.Run("Redelivery", s.redelivery)
	t.Run("RedeliveryExhausted", s.redeliveryExhausted)
}

type suite struct {
	newBus       NewBus
	newTransport NewTransport // nil for Run
	f            features
	transport    bool // buses route through a Transport
}

// needSync skips a check that relies on synchronous delivery.
func (s suite) needSync(t *testing.T) {
	t.Helper()
	if !s.f.sync {
		t.Skip("the transport delivers asynchronously (see AsyncPolicy* for what the policies mean there)")
	}
}

// Payload is the suite's message type; it survives a JSON round trip.
type Payload struct {
	N    int    `json:"n"`
	Text string `json:"text,omitempty"`
}

func (s suite) bus(t *testing.T, opts ...bus.Option) *bus.Bus {
	t.Helper()
	b := s.newBus(t, opts...)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultWait)
	t.Cleanup(cancel)
	return ctx
}

func publish(t *testing.T, b *bus.Bus, topic string, v Payload, opts ...bus.PublishOption) {
	t.Helper()
	if err := bus.Publish(ctxT(t), b, topic, v, opts...); err != nil {
		t.Fatalf("publish %s %+v: %v", topic, v, err)
	}
}

func ns(envs []bus.Envelope[Payload]) []int {
	out := make([]int, len(envs))
	for i, e := range envs {
		out[i] = e.Payload.N
	}
	return out
}

// gate is a handler that blocks until released.
type gate struct {
	release chan struct{}
	entered chan int
}

func newGate() *gate { return &gate{release: make(chan struct{}), entered: make(chan int, 100)} }

func (g *gate) handler(rec *[]int, mu *sync.Mutex) bus.Handler[Payload] {
	return func(ctx context.Context, e bus.Envelope[Payload]) error {
		select {
		case g.entered <- e.Payload.N:
		default:
		}
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		*rec = append(*rec, e.Payload.N)
		mu.Unlock()
		return nil
	}
}

func (g *gate) waitEntered(t *testing.T, want int) {
	t.Helper()
	select {
	case n := <-g.entered:
		if n != want {
			t.Fatalf("handler entered with %d, want %d", n, want)
		}
	case <-time.After(DefaultWait):
		t.Fatalf("handler never entered")
	}
}

func (s suite) delivery(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := s.bus(t, bus.WithClock(func() time.Time { return at }), bus.WithDefaultSource("suite"))
	rec := Record[Payload](t, b, "a.b")
	publish(t, b, "a.b", Payload{N: 1, Text: "one"})
	publish(t, b, "a.b", Payload{N: 2}, bus.WithKey("k"), bus.WithSource("other"), bus.WithHeader("h", "v"))
	got := rec.WaitFor(t, 2)
	if got[0].Payload != (Payload{N: 1, Text: "one"}) || got[1].Payload.N != 2 {
		t.Fatalf("payloads = %+v", rec.Payloads())
	}
	e0, e1 := got[0], got[1]
	if e0.ID.IsZero() || e1.ID.IsZero() || e0.ID == e1.ID {
		t.Errorf("ids not unique and non-zero: %v %v", e0.ID, e1.ID)
	}
	if e0.Topic != "a.b" || !e0.Time.Equal(at) || e0.Source != "suite" || e0.Key != "" || e0.Headers != nil {
		t.Errorf("first envelope meta = %+v", e0.Meta)
	}
	if e1.Key != "k" || e1.Source != "other" || e1.Headers.Get("h") != "v" {
		t.Errorf("second envelope meta = %+v", e1.Meta)
	}
	if !e0.CausationID.IsZero() || !e0.CorrelationID.IsZero() {
		t.Errorf("root message has parent ids: %+v", e0.Meta)
	}
	if id, err := bus.ParseID(e0.ID.String()); err != nil || id != e0.ID {
		t.Errorf("ID round trip: %v %v", id, err)
	}
}

func (s suite) patterns(t *testing.T) {
	b := s.bus(t)
	pats := []string{"a.b.c", "a.*.c", "a.>", "*.*.*", "*", ">", "a.*", "x.y"}
	recs := make(map[string]*Recorder[Payload])
	for _, p := range pats {
		recs[p] = Record[Payload](t, b, p)
	}
	topics := []string{"a.b.c", "a.x.c", "a.b", "a", "a.b.c.d", "q.r.s", "x.y"}
	want := make(map[string]int)
	for _, p := range pats {
		for _, tp := range topics {
			if bus.MatchTopic(p, tp) {
				want[p]++
			}
		}
	}
	// The expectations above come from MatchTopic; pin a few by hand so that MatchTopic itself is checked.
	hand := map[string]int{"a.b.c": 1, "a.*.c": 2, "a.>": 4, "*.*.*": 3, "*": 1, ">": 7, "a.*": 1, "x.y": 1}
	for p, n := range hand {
		if want[p] != n {
			t.Fatalf("MatchTopic gives %d matches for %q, want %d", want[p], p, n)
		}
	}
	for i, tp := range topics {
		publish(t, b, tp, Payload{N: i})
	}
	for _, p := range pats {
		got := recs[p].WaitFor(t, want[p])
		if len(got) != want[p] {
			t.Errorf("pattern %q got %d messages, want %d", p, len(got), want[p])
		}
		for _, e := range got {
			if !bus.MatchTopic(p, e.Topic) {
				t.Errorf("pattern %q received topic %q", p, e.Topic)
			}
		}
	}
	// Nothing more arrives: publish a sentinel every recorder sees and check the counts.
	publish(t, b, "a.b.c", Payload{N: -1})
	for _, p := range pats {
		if !bus.MatchTopic(p, "a.b.c") {
			continue
		}
		if got := recs[p].WaitFor(t, want[p]+1); len(got) != want[p]+1 {
			t.Errorf("pattern %q got %d messages, want %d", p, len(got), want[p]+1)
		}
	}
}

func (s suite) badInput(t *testing.T) {
	b := s.bus(t)
	h := func(context.Context, bus.Envelope[Payload]) error { return nil }
	before := b.Subscriptions()
	for _, p := range []string{"", "a..b", "a.>.b", ">.a", ".a", "a.", "a.b*", "a.>x", "a b", "a.\t"} {
		if _, err := bus.Subscribe(b, p, h); !errors.Is(err, bus.ErrInvalidPattern) {
			t.Errorf("Subscribe(%q) err = %v, want ErrInvalidPattern", p, err)
		}
	}
	if b.Subscriptions() != before {
		t.Errorf("rejected subscriptions changed the bus: %d -> %d", before, b.Subscriptions())
	}
	for _, tp := range []string{"", "a.*", "a.>", "a..b", ".a", "a.", "a b", "*"} {
		err := bus.Publish(ctxT(t), b, tp, Payload{})
		var te *bus.TopicError
		if !errors.Is(err, bus.ErrInvalidTopic) || !errors.As(err, &te) {
			t.Errorf("Publish(%q) err = %v, want *TopicError wrapping ErrInvalidTopic", tp, err)
		}
	}
	for name, o := range map[string]bus.SubscribeOption{
		"QueueSize":   bus.QueueSize(0),
		"Concurrency": bus.Concurrency(0),
		"OnFull":      bus.OnFull(bus.Policy(42)),
		"Filter":      bus.Filter[int](func(bus.Envelope[int]) bool { return true }),
		"Use":         bus.Use(nil),
		"DeadLetter":  bus.DeadLetter("dead.*"),
		"Group":       bus.Group(""),
	} {
		var oe *bus.OptionError
		if _, err := bus.Subscribe(b, "a", h, o); !errors.Is(err, bus.ErrInvalidOption) || !errors.As(err, &oe) || oe.Option != name {
			t.Errorf("bad %s option: err = %v, want an *OptionError naming it", name, err)
		}
	}
	if _, err := bus.Subscribe(b, "a", h, bus.Filter[Payload](nil)); !errors.Is(err, bus.ErrInvalidOption) {
		t.Errorf("nil Filter: err = %v, want ErrInvalidOption", err)
	}
	var oe *bus.OptionError
	if _, err := bus.Subscribe[Payload](b, "a", nil); !errors.As(err, &oe) || oe.Option != "handler" {
		t.Errorf("Subscribe with a nil handler: err = %v, want an *OptionError naming the handler", err)
	}
	if b.Subscriptions() != before {
		t.Errorf("rejected subscriptions changed the bus: %d -> %d", before, b.Subscriptions())
	}
}

func (s suite) ordering(t *testing.T) {
	b := s.bus(t)
	rec := Record[Payload](t, b, "ord", bus.QueueSize(16))
	const n = 2000
	for i := range n {
		publish(t, b, "ord", Payload{N: i})
	}
	got := ns(rec.WaitFor(t, n))
	for i, v := range got {
		if v != i {
			t.Fatalf("message %d arrived at position %d", v, i)
		}
	}
}

func (s suite) orderedKeys(t *testing.T) {
	b := s.bus(t)
	var mu sync.Mutex
	seen := make(map[string][]int)
	var wg sync.WaitGroup
	const keys, per = 8, 200
	wg.Add(keys * per)
	_, err := bus.Subscribe(b, "keyed", func(_ context.Context, e bus.Envelope[Payload]) error {
		mu.Lock()
		seen[e.Key] = append(seen[e.Key], e.Payload.N)
		mu.Unlock()
		wg.Done()
		return nil
	}, bus.Concurrency(4), bus.OrderedByKey(), bus.QueueSize(8))
	if err != nil {
		t.Fatal(err)
	}
	for i := range per {
		for k := range keys {
			publish(t, b, "keyed", Payload{N: i}, bus.WithKey(fmt.Sprint("key-", k)))
		}
	}
	waitGroup(t, &wg)
	mu.Lock()
	defer mu.Unlock()
	for k, got := range seen {
		for i, v := range got {
			if v != i {
				t.Fatalf("key %s: message %d handled at position %d", k, v, i)
			}
		}
	}
	if len(seen) != keys {
		t.Fatalf("saw %d keys, want %d", len(seen), keys)
	}
}

func waitGroup(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(DefaultWait):
		t.Fatalf("timed out waiting for handlers")
	}
}

func (s suite) concurrency(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprint("keyed=", keyed), func(t *testing.T) {
			b := s.bus(t)
			const n = 4
			var arrived sync.WaitGroup
			arrived.Add(n)
			all := make(chan struct{})
			opts := []bus.SubscribeOption{bus.Concurrency(n)}
			if keyed {
				opts = append(opts, bus.OrderedByKey())
			}
			_, err := bus.Subscribe(b, "conc", func(ctx context.Context, e bus.Envelope[Payload]) error {
				arrived.Done()
				select { // every call waits until n calls are running at once
				case <-all:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				publish(t, b, "conc", Payload{N: i}, bus.WithKey(fmt.Sprint(i)))
			}
			if keyed {
				// Keys spread over lanes by hash; publish more keys until every lane is busy.
				for i := n; i < 64; i++ {
					publish(t, b, "conc", Payload{N: i}, bus.WithKey(fmt.Sprint(i)))
				}
			}
			done := make(chan struct{})
			go func() { arrived.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(DefaultWait):
				t.Fatalf("Concurrency(%d) never ran %d handler calls at once", n, n)
			}
			close(all)
		})
	}
}

// fullQueue subscribes a gated handler with queue size 1 and fills it: message 1 is in the
// handler, message 2 in the queue.
func fullQueue(t *testing.T, b *bus.Bus, p bus.Policy) (*gate, *[]int, *sync.Mutex, *bus.Subscription) {
	t.Helper()
	g := newGate()
	var rec []int
	var mu sync.Mutex
	sub, err := bus.Subscribe(b, "slow", g.handler(&rec, &mu), bus.QueueSize(1), bus.OnFull(p))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "slow", Payload{N: 1})
	g.waitEntered(t, 1)
	publish(t, b, "slow", Payload{N: 2})
	return g, &rec, &mu, sub
}

func (s suite) finish(t *testing.T, b *bus.Bus, g *gate, rec *[]int, mu *sync.Mutex, want []int) {
	t.Helper()
	close(g.release)
	if err := b.Drain(ctxT(t)); err != nil {
		t.Fatalf("drain: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(*rec) != fmt.Sprint(want) {
		t.Fatalf("handled %v, want %v", *rec, want)
	}
}

func (s suite) policyBlock(t *testing.T) {
	s.needSync(t)
	b := s.bus(t)
	g, rec, mu, sub := fullQueue(t, b, bus.PolicyBlock)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := bus.Publish(ctx, b, "slow", Payload{N: 3})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish to a full blocking queue: err = %v, want DeadlineExceeded", err)
	}
	// Once there is room the publisher gets through.
	done := make(chan error, 1)
	go func() { done <- bus.Publish(ctxT(t), b, "slow", Payload{N: 4}) }()
	g.release <- struct{}{} // let message 1 finish; 2 moves into the handler
	if err := <-done; err != nil {
		t.Fatalf("publish after room freed: %v", err)
	}
	if st := sub.Stats(); st.Dropped != 1 {
		t.Errorf("block policy dropped %d, want 1: the message whose publisher gave up", st.Dropped)
	}
	s.finish(t, b, g, rec, mu, []int{1, 2, 4})
}

func (s suite) policyDropNewest(t *testing.T) {
	s.needSync(t)
	b := s.bus(t)
	g, rec, mu, sub := fullQueue(t, b, bus.PolicyDropNewest)
	publish(t, b, "slow", Payload{N: 3})
	if st := sub.Stats(); st.Dropped != 1 {
		t.Errorf("dropped = %d, want 1", st.Dropped)
	}
	s.finish(t, b, g, rec, mu, []int{1, 2})
}

func (s suite) policyDropOldest(t *testing.T) {
	s.needSync(t)
	b := s.bus(t)
	g, rec, mu, sub := fullQueue(t, b, bus.PolicyDropOldest)
	publish(t, b, "slow", Payload{N: 3})
	if st := sub.Stats(); st.Dropped != 1 {
		t.Errorf("dropped = %d, want 1", st.Dropped)
	}
	s.finish(t, b, g, rec, mu, []int{1, 3})
}

func (s suite) policyFail(t *testing.T) {
	s.needSync(t)
	b := s.bus(t)
	other := Record[Payload](t, b, "slow")
	g, rec, mu, _ := fullQueue(t, b, bus.PolicyFail)
	err := bus.Publish(ctxT(t), b, "slow", Payload{N: 3})
	var de *bus.DeliveryError
	if !errors.Is(err, bus.ErrQueueFull) || !errors.As(err, &de) {
		t.Fatalf("err = %v, want *DeliveryError wrapping ErrQueueFull", err)
	}
	if got := ns(other.WaitFor(t, 3)); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("other subscriber got %v, want [1 2 3]", got)
	}
	s.finish(t, b, g, rec, mu, []int{1, 2})
}

func (s suite) stuckHandler(t *testing.T) {
	b := s.bus(t)
	stuck := make(chan struct{})
	defer close(stuck)
	_, err := bus.Subscribe(b, "iso", func(ctx context.Context, _ bus.Envelope[Payload]) error {
		select {
		case <-stuck:
		case <-ctx.Done():
		}
		return nil
	}, bus.QueueSize(2), bus.OnFull(bus.PolicyDropNewest))
	if err != nil {
		t.Fatal(err)
	}
	rec := Record[Payload](t, b, "iso", bus.QueueSize(200))
	for i := range 100 {
		publish(t, b, "iso", Payload{N: i})
	}
	if got := rec.WaitFor(t, 100); len(got) != 100 {
		t.Fatalf("healthy subscriber got %d of 100", len(got))
	}
}

func (s suite) filter(t *testing.T) {
	b := s.bus(t)
	rec := Record[Payload](t, b, "f", bus.Filter(func(e bus.Envelope[Payload]) bool { return e.Payload.N%2 == 0 }))
	all := Record[Payload](t, b, "f")
	for i := range 10 {
		publish(t, b, "f", Payload{N: i})
	}
	all.WaitFor(t, 10)
	publish(t, b, "f", Payload{N: 100})
	got := ns(rec.WaitFor(t, 6))
	if fmt.Sprint(got) != "[0 2 4 6 8 100]" {
		t.Fatalf("filtered = %v", got)
	}
}

type errSink struct {
	mu   sync.Mutex
	errs []error
	subs []string
}

func (e *errSink) fn(sub string, _ bus.Meta, err error) {
	e.mu.Lock()
	e.errs = append(e.errs, err)
	e.subs = append(e.subs, sub)
	e.mu.Unlock()
}

func (e *errSink) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.errs...)
}

func (s suite) panics(t *testing.T) {
	var sink errSink
	b := s.bus(t, bus.WithErrorHandler(sink.fn))
	var got []int
	var mu sync.Mutex
	_, err := bus.Subscribe(b, "p", func(_ context.Context, e bus.Envelope[Payload]) error {
		if e.Payload.N == 1 {
			panic("boom")
		}
		mu.Lock()
		got = append(got, e.Payload.N)
		mu.Unlock()
		return nil
	}, bus.Named("panicky"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		publish(t, b, "p", Payload{N: i})
	}
	if err := b.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 2]" {
		t.Fatalf("handled %v, want [0 2]", got)
	}
	errs := sink.all()
	var pe *bus.PanicError
	if len(errs) != 1 || !errors.As(errs[0], &pe) || pe.Value != "boom" || !errors.Is(errs[0], bus.ErrHandlerPanic) || sink.subs[0] != "panicky" {
		t.Fatalf("errors = %v (subs %v), want one *PanicError from panicky", errs, sink.subs)
	}
	if len(pe.Stack) == 0 {
		t.Errorf("panic error has no stack")
	}
}

func (s suite) retry(t *testing.T) {
	b := s.bus(t)
	var calls atomic.Int32
	done := Record[Payload](t, b, "retry.done")
	_, err := bus.Subscribe(b, "retry", func(ctx context.Context, e bus.Envelope[Payload]) error {
		if calls.Add(1) < 3 {
			return errors.New("transient")
		}
		return bus.Publish(ctx, b, "retry.done", e.Payload)
	}, bus.Use(bus.RetryHandler(5, time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "retry", Payload{N: 7})
	done.WaitFor(t, 1)
	if calls.Load() != 3 {
		t.Fatalf("handler called %d times, want 3", calls.Load())
	}
}

func (s suite) deadLetter(t *testing.T) {
	b := s.bus(t)
	dlq := Record[Payload](t, b, "dlq.>")
	sub, err := bus.Subscribe(b, "work", func(context.Context, bus.Envelope[Payload]) error {
		return errors.New("cannot")
	}, bus.Named("worker"), bus.DeadLetter("dlq.work"), bus.Use(bus.RetryHandler(2, 0)))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "work", Payload{N: 9}, bus.WithHeader("trace", "t1"), bus.WithKey("k9"))
	got := dlq.WaitFor(t, 1)[0]
	if got.Payload.N != 9 || got.Topic != "dlq.work" || got.Key != "k9" {
		t.Fatalf("dead letter = %+v", got)
	}
	h := got.Headers
	if h.Get(bus.HeaderDeadLetterReason) != "cannot" || h.Get(bus.HeaderDeadLetterTopic) != "work" ||
		h.Get(bus.HeaderDeadLetterSubscriber) != "worker" || h.Get("trace") != "t1" {
		t.Fatalf("dead letter headers = %v", h)
	}
	if got.CausationID.IsZero() {
		t.Fatalf("dead letter has no causation id")
	}
	if st := sub.Stats(); st.Failed != 1 || st.Delivered != 0 {
		t.Fatalf("worker stats = %+v", st)
	}
}

func (s suite) correlation(t *testing.T) {
	b := s.bus(t)
	children := Record[Payload](t, b, "child")
	grand := Record[Payload](t, b, "grandchild")
	parents := Record[Payload](t, b, "parent")
	_, err := bus.Subscribe(b, "parent", func(ctx context.Context, e bus.Envelope[Payload]) error {
		return bus.Publish(ctx, b, "child", e.Payload)
	}, bus.Use(bus.Correlate()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bus.Subscribe(b, "child", func(ctx context.Context, e bus.Envelope[Payload]) error {
		return bus.Publish(ctx, b, "grandchild", e.Payload)
	}, bus.Use(bus.Correlate()))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "parent", Payload{N: 1})
	p := parents.WaitFor(t, 1)[0]
	c := children.WaitFor(t, 1)[0]
	g := grand.WaitFor(t, 1)[0]
	if c.CausationID != p.ID || c.CorrelationID != p.ID {
		t.Errorf("child ids = cause %v corr %v, parent %v", c.CausationID, c.CorrelationID, p.ID)
	}
	if g.CausationID != c.ID || g.CorrelationID != p.ID {
		t.Errorf("grandchild ids = cause %v corr %v, want cause %v corr %v", g.CausationID, g.CorrelationID, c.ID, p.ID)
	}
	// Explicit options work without middleware too.
	publish(t, b, "child", Payload{N: 2}, bus.WithCause(p.Meta))
	c2 := children.WaitFor(t, 2)[1]
	if c2.CausationID != p.ID || c2.CorrelationID != p.ID {
		t.Errorf("WithCause: %+v", c2.Meta)
	}
}

func (s suite) typeMismatch(t *testing.T) {
	var sink errSink
	b := s.bus(t, bus.WithErrorHandler(sink.fn))
	anyRec := Record[any](t, b, "typed")
	strRec := Record[string](t, b, "typed")
	if err := bus.Publish(ctxT(t), b, "typed", "hello"); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "typed", Payload{N: 5})
	if got := anyRec.WaitFor(t, 2); len(got) != 2 {
		t.Fatalf("any subscriber got %d", len(got))
	}
	if err := b.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := strRec.Payloads(); len(got) != 1 || got[0] != "hello" {
		t.Fatalf("string subscriber got %v", got)
	}
	errs := sink.all()
	if len(errs) != 1 || !errors.Is(errs[0], bus.ErrTypeMismatch) {
		t.Fatalf("errors = %v, want one ErrTypeMismatch", errs)
	}
	if st := strRec.Subscription().Stats(); st.Failed != 1 || st.Delivered != 1 {
		t.Fatalf("string subscriber stats = %+v", st)
	}
}

func (s suite) close(t *testing.T) {
	b := s.bus(t)
	ctxDone := make(chan struct{})
	entered := make(chan struct{})
	_, err := bus.Subscribe(b, "c", func(ctx context.Context, _ bus.Envelope[Payload]) error {
		close(entered)
		<-ctx.Done()
		close(ctxDone)
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "c", Payload{})
	<-entered
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctxDone:
	default:
		t.Fatal("Close returned before the handler saw its context cancelled")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := bus.Publish(ctxT(t), b, "c", Payload{}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
	if _, err := bus.Subscribe(b, "c", func(context.Context, bus.Envelope[Payload]) error { return nil }); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("subscribe after close: %v", err)
	}
	if err := b.Drain(ctxT(t)); err != nil {
		t.Fatalf("drain after close: %v", err)
	}
}

func (s suite) drain(t *testing.T) {
	b := s.bus(t)
	g := newGate()
	var rec []int
	var mu sync.Mutex
	_, err := bus.Subscribe(b, "d", g.handler(&rec, &mu), bus.QueueSize(1<<16))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		publish(t, b, "d", Payload{N: i})
	}
	g.waitEntered(t, 0)
	drained := make(chan error, 1)
	go func() { drained <- b.Drain(ctxT(t)) }()
	// Publishing is refused as soon as the drain begins.
	deadline := time.Now().Add(DefaultWait)
	for bus.Publish(ctxT(t), b, "d", Payload{N: 1000}) == nil {
		if time.Now().After(deadline) {
			t.Fatal("publish still accepted while draining")
		}
		time.Sleep(time.Millisecond)
	}
	close(g.release)
	if err := <-drained; err != nil {
		t.Fatalf("drain: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	// Everything published before the drain began was handled, in order, and nothing else after
	// the refused publishes; a publish that raced with the start of the drain may have got in.
	if len(rec) < 100 {
		t.Fatalf("drain handled %d of 100", len(rec))
	}
	for i := range 100 {
		if rec[i] != i {
			t.Fatalf("position %d handled %d", i, rec[i])
		}
	}
	for _, v := range rec[100:] {
		if v != 1000 {
			t.Fatalf("unexpected message %d", v)
		}
	}
}

// What handlers publish while the bus drains (follow-up events, dead letters) is delivered too.
func (s suite) drainFollowUps(t *testing.T) {
	b := s.bus(t)
	last := Record[Payload](t, b, "chain.3")
	dead := Record[Payload](t, b, "chain.dead")
	for _, hop := range []string{"1", "2"} {
		next := map[string]string{"1": "chain.2", "2": "chain.3"}[hop]
		_, err := bus.Subscribe(b, "chain."+hop, func(ctx context.Context, e bus.Envelope[Payload]) error {
			if e.Payload.N%10 == 0 {
				return errors.New("refused")
			}
			return bus.Publish(ctx, b, next, e.Payload)
		}, bus.DeadLetter("chain.dead"), bus.OnError(func(string, bus.Meta, error) {}))
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		publish(t, b, "chain.1", Payload{N: i})
	}
	if err := b.Drain(ctxT(t)); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if last.Len() != 90 || dead.Len() != 10 {
		t.Fatalf("after drain: %d reached the end of the chain (want 90), %d dead letters (want 10)", last.Len(), dead.Len())
	}
}

func (s suite) drainDeadline(t *testing.T) {
	b := s.bus(t)
	stuck := make(chan struct{})
	defer close(stuck)
	entered := make(chan struct{}, 1)
	_, err := bus.Subscribe(b, "dd", func(ctx context.Context, _ bus.Envelope[Payload]) error {
		entered <- struct{}{}
		<-ctx.Done() // released only by Close
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "dd", Payload{})
	publish(t, b, "dd", Payload{})
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("drain err = %v, want DeadlineExceeded", err)
	}
	if err := bus.Publish(ctxT(t), b, "dd", Payload{}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("publish after failed drain: %v", err)
	}
}

func (s suite) unsubscribe(t *testing.T) {
	b := s.bus(t)
	rec := Record[Payload](t, b, "u")
	witness := Record[Payload](t, b, "u")
	var self *bus.Subscription
	var selfCalls atomic.Int32
	self, err := bus.Subscribe(b, "u", func(context.Context, bus.Envelope[Payload]) error {
		selfCalls.Add(1)
		return self.Unsubscribe() // a handler may end its own subscription
	})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "u", Payload{N: 1})
	rec.WaitFor(t, 1)
	if err := rec.Subscription().Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Subscription().Unsubscribe(); err != nil {
		t.Fatalf("second Unsubscribe: %v", err)
	}
	select {
	case <-rec.Subscription().Done():
	case <-time.After(DefaultWait):
		t.Fatal("unsubscribed subscription's goroutines did not exit")
	}
	select {
	case <-self.Done():
	case <-time.After(DefaultWait):
		t.Fatal("self-unsubscribed subscription's goroutines did not exit")
	}
	publish(t, b, "u", Payload{N: 2})
	witness.WaitFor(t, 2)
	if rec.Len() != 1 || selfCalls.Load() != 1 {
		t.Fatalf("after unsubscribe: recorder has %d, self called %d times", rec.Len(), selfCalls.Load())
	}
}

func (s suite) stats(t *testing.T) {
	var mu sync.Mutex
	events := make(map[string]int)
	b := s.bus(t, bus.WithMetrics(func(topic, sub string, m bus.Metric) {
		mu.Lock()
		events[topic+"/"+m.String()]++
		mu.Unlock()
	}), bus.WithErrorHandler(func(string, bus.Meta, error) {}))
	_, err := bus.Subscribe(b, "s.>", func(_ context.Context, e bus.Envelope[Payload]) error {
		if e.Payload.N < 0 {
			return errors.New("negative")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	Record[Payload](t, b, "s.one")
	for _, n := range []int{1, 2, -1} {
		publish(t, b, "s.one", Payload{N: n})
	}
	publish(t, b, "s.two", Payload{N: 1})
	publish(t, b, "nobody", Payload{N: 1})
	if err := b.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	want := map[string]bus.TopicStats{
		"s.one":  {Topic: "s.one", Published: 3, Delivered: 5, Failed: 1},
		"s.two":  {Topic: "s.two", Published: 1, Delivered: 1},
		"nobody": {Topic: "nobody", Published: 1},
	}
	got := b.Stats()
	if len(got) != len(want) {
		t.Fatalf("stats = %+v", got)
	}
	if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i].Topic < got[j].Topic }) {
		t.Errorf("stats not sorted by topic")
	}
	for _, st := range got {
		if st != want[st.Topic] {
			t.Errorf("stats %+v, want %+v", st, want[st.Topic])
		}
		mu.Lock()
		hook := bus.TopicStats{Topic: st.Topic,
			Published: uint64(events[st.Topic+"/published"]), Delivered: uint64(events[st.Topic+"/delivered"]),
			Dropped: uint64(events[st.Topic+"/dropped"]), Failed: uint64(events[st.Topic+"/failed"])}
		mu.Unlock()
		if hook != st {
			t.Errorf("metrics hook counted %+v, stats say %+v", hook, st)
		}
	}
}

func (s suite) stress(t *testing.T) {
	b := s.bus(t)
	const pubs, subs, per = 4, 6, 300
	type key struct{ sub, pub int }
	var mu sync.Mutex
	last := make(map[key]int)
	counts := make([]int, subs)
	var wg sync.WaitGroup
	wg.Add(pubs * per * subs)
	for i := range subs {
		opts := []bus.SubscribeOption{bus.QueueSize(1 + i*7)}
		_, err := bus.Subscribe(b, "stress.*", func(_ context.Context, e bus.Envelope[Payload]) error {
			mu.Lock()
			k := key{i, e.Payload.N / per}
			if prev, ok := last[k]; ok && e.Payload.N <= prev {
				mu.Unlock()
				t.Errorf("subscriber %d: publisher %d message %d after %d", i, k.pub, e.Payload.N, prev)
				wg.Done()
				return nil
			}
			last[k] = e.Payload.N
			counts[i]++
			mu.Unlock()
			wg.Done()
			return nil
		}, opts...)
		if err != nil {
			t.Fatal(err)
		}
	}
	var pg sync.WaitGroup
	for p := range pubs {
		pg.Add(1)
		go func() {
			defer pg.Done()
			for i := range per {
				if err := bus.Publish(context.Background(), b, fmt.Sprint("stress.p", p), Payload{N: p*per + i}); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
			}
		}()
	}
	pg.Wait()
	waitGroup(t, &wg)
	for i, c := range counts {
		if c != pubs*per {
			t.Errorf("subscriber %d got %d, want %d", i, c, pubs*per)
		}
	}
}

// waitUntil polls cond until it holds, failing the test after DefaultWait.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(DefaultWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// hook counts what a MetricsFunc is told, per topic.
type hook struct {
	mu sync.Mutex
	n  map[string]*bus.TopicStats
}

func (h *hook) fn(topic, _ string, m bus.Metric) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = make(map[string]*bus.TopicStats)
	}
	st := h.n[topic]
	if st == nil {
		st = &bus.TopicStats{Topic: topic}
		h.n[topic] = st
	}
	switch m {
	case bus.MetricPublished:
		st.Published++
	case bus.MetricDelivered:
		st.Delivered++
	case bus.MetricDropped:
		st.Dropped++
	case bus.MetricFailed:
		st.Failed++
	case bus.MetricDeadLettered:
		st.DeadLettered++
	}
}

// checkHook fails the test unless the metrics hook was told exactly what Stats counted.
func (h *hook) check(t *testing.T, b *bus.Bus) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	stats := b.Stats()
	for _, st := range stats {
		got := bus.TopicStats{Topic: st.Topic}
		if p := h.n[st.Topic]; p != nil {
			got = *p
		}
		if got != st {
			t.Errorf("metrics hook counted %+v, Stats say %+v", got, st)
		}
	}
	if len(h.n) > len(stats) {
		t.Errorf("metrics hook saw %d topics, Stats %d", len(h.n), len(stats))
	}
}

// statsOf returns the counters of one topic (zero if it has none).
func statsOf(b *bus.Bus, topic string) bus.TopicStats {
	for _, st := range b.Stats() {
		if st.Topic == topic {
			return st
		}
	}
	return bus.TopicStats{Topic: topic}
}

// blockedPublisher fills a PolicyBlock subscription (message 1 in the handler, 2 queued), starts
// a publisher of message 3 with ctx and returns once that publisher waits for room.
func blockedPublisher(t *testing.T, b *bus.Bus, ctx context.Context) (*gate, *[]int, *sync.Mutex, *bus.Subscription, <-chan error) {
	t.Helper()
	g, rec, mu, sub := fullQueue(t, b, bus.PolicyBlock)
	res := make(chan error, 1)
	go func() { res <- bus.Publish(ctx, b, "slow", Payload{N: 3}) }()
	waitUntil(t, "the publisher waits for room", func() bool { return sub.Stats().Waiting == 1 })
	return g, rec, mu, sub, res
}

// checkRefused fails the test unless err is the *PublishError of message 3 on topic "slow",
// naming sub as the one subscription that did not take it, because of cause.
func checkRefused(t *testing.T, err error, sub *bus.Subscription, cause error) {
	t.Helper()
	var pe *bus.PublishError
	var de *bus.DeliveryError
	switch {
	case !errors.Is(err, cause):
		t.Fatalf("publish err = %v, want one matching %v", err, cause)
	case !errors.As(err, &pe) || pe.Topic != "slow" || pe.ID.IsZero() || len(pe.Errs) != 1:
		t.Fatalf("publish err = %#v, want a *PublishError for topic slow with one cause", err)
	case !errors.As(err, &de) || de.Subscriber != sub.Name() || !errors.Is(de, cause):
		t.Fatalf("publish err = %v, want a *DeliveryError from %s", err, sub.Name())
	}
}

// A publisher waiting under PolicyBlock whose context ends gets an error matching ctx.Err(), and
// the message it could not queue is counted as dropped, never silently lost.
func (s suite) blockedContextEnds(t *testing.T) {
	s.needSync(t)
	var h hook
	b := s.bus(t, bus.WithMetrics(h.fn))
	ctx, cancel := context.WithCancel(context.Background())
	g, rec, mu, sub, res := blockedPublisher(t, b, ctx)
	cancel()
	checkRefused(t, <-res, sub, context.Canceled)
	if st := sub.Stats(); st.Dropped != 1 || st.Waiting != 0 {
		t.Errorf("subscription stats = %+v, want 1 dropped and no publisher waiting", st)
	}
	s.finish(t, b, g, rec, mu, []int{1, 2})
	if st := statsOf(b, "slow"); st != (bus.TopicStats{Topic: "slow", Published: 3, Delivered: 2, Dropped: 1}) {
		t.Errorf("stats = %+v, want 3 published = 2 delivered + 1 dropped", st)
	}
	h.check(t, b)
}

// A publisher waiting under PolicyBlock when the subscription ends gets ErrUnsubscribed; the
// queued message and the refused one are both counted as dropped.
func (s suite) blockedUnsubscribed(t *testing.T) {
	s.needSync(t)
	var h hook
	b := s.bus(t, bus.WithMetrics(h.fn))
	g, rec, mu, sub, res := blockedPublisher(t, b, ctxT(t))
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	err := <-res
	checkRefused(t, err, sub, bus.ErrUnsubscribed)
	if errors.Is(err, bus.ErrClosed) {
		t.Errorf("publish err = %v matches ErrClosed, but only the subscription ended", err)
	}
	s.finish(t, b, g, rec, mu, []int{1})
	<-sub.Done()
	if st := sub.Stats(); st.Delivered != 1 || st.Dropped != 2 || st.Failed != 0 || st.Queued != 0 || st.Waiting != 0 {
		t.Errorf("subscription stats = %+v, want 1 delivered, 2 dropped", st)
	}
	if st := statsOf(b, "slow"); st != (bus.TopicStats{Topic: "slow", Published: 3, Delivered: 1, Dropped: 2}) {
		t.Errorf("stats = %+v, want 3 published = 1 delivered + 2 dropped", st)
	}
	h.check(t, b)
}

// A publisher waiting under PolicyBlock when the bus closes gets ErrClosed; Close counts what it
// discards — the interrupted handler's message, the queued one and the refused one — as dropped.
func (s suite) blockedClosed(t *testing.T) {
	s.needSync(t)
	var h hook
	var sink errSink
	b := s.bus(t, bus.WithMetrics(h.fn), bus.WithErrorHandler(sink.fn))
	_, _, _, sub, res := blockedPublisher(t, b, ctxT(t))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	checkRefused(t, <-res, sub, bus.ErrClosed)
	if st := statsOf(b, "slow"); st != (bus.TopicStats{Topic: "slow", Published: 3, Dropped: 3}) {
		t.Errorf("stats = %+v, want 3 published = 3 dropped (a handler cut short by Close is not a failure)", st)
	}
	if errs := sink.all(); len(errs) != 0 {
		t.Errorf("Close reported %v as handler failures", errs)
	}
	h.check(t, b)
}

// accounting runs every slow-consumer policy under concurrent publishers, some of whose contexts
// end, handlers that fail, panic and dead-letter, and a bus that is drained or closed while
// publishers are still busy; afterwards every message published to a topic is counted, once per
// subscription it was routed to, as delivered, dropped or failed — in Stats and in the metrics
// hook alike. Under a drain, every subscription that did not take a message was named in a
// *PublishError.
func (s suite) accounting(t *testing.T) {
	s.needSync(t)
	for _, p := range []bus.Policy{bus.PolicyBlock, bus.PolicyDropNewest, bus.PolicyDropOldest, bus.PolicyFail} {
		for _, end := range []string{"drain", "close"} {
			t.Run(p.String()+"/"+end, func(t *testing.T) { s.accountingRun(t, p, end) })
		}
	}
}

func (s suite) accountingRun(t *testing.T, p bus.Policy, end string) {
	var h hook
	b := s.bus(t, bus.WithMetrics(h.fn), bus.WithErrorHandler(func(string, bus.Meta, error) {}))
	var handlerFailed atomic.Int64
	// A: every acct topic, fails or panics on some messages and dead-letters them.
	subA, err := bus.Subscribe(b, "acct.>", func(_ context.Context, e bus.Envelope[Payload]) error {
		switch {
		case e.Payload.N%7 == 0:
			handlerFailed.Add(1)
			panic("seven")
		case e.Payload.N%5 == 0:
			handlerFailed.Add(1)
			return errors.New("five")
		}
		return nil
	}, bus.QueueSize(2), bus.OnFull(p), bus.DeadLetter("dead.acct"), bus.Named("a"))
	if err != nil {
		t.Fatal(err)
	}
	// B: two lanes that each handle a message only when given a token (or the bus closes).
	tokens := make(chan struct{})
	subB, err := bus.Subscribe(b, "acct.*", func(ctx context.Context, _ bus.Envelope[Payload]) error {
		select {
		case <-tokens:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, bus.QueueSize(1), bus.OnFull(p), bus.Concurrency(2), bus.Named("b"))
	if err != nil {
		t.Fatal(err)
	}
	// C: only the even messages, by filter; D: the dead letters.
	subC, err := bus.Subscribe(b, "acct.x", func(context.Context, bus.Envelope[Payload]) error { return nil },
		bus.QueueSize(1), bus.OnFull(p), bus.Filter(func(e bus.Envelope[Payload]) bool { return e.Payload.N%2 == 0 }), bus.Named("c"))
	if err != nil {
		t.Fatal(err)
	}
	subD, err := bus.Subscribe(b, "dead.>", func(context.Context, bus.Envelope[Payload]) error { return nil },
		bus.QueueSize(1), bus.OnFull(p), bus.Named("d"))
	if err != nil {
		t.Fatal(err)
	}

	stopTokens := make(chan struct{})
	tokensDone := make(chan struct{})
	go func() {
		defer close(tokensDone)
		for {
			select {
			case tokens <- struct{}{}:
			case <-stopTokens:
				return
			}
		}
	}()

	const pubs, per = 4, 150
	var refusedTo, published, filteredOut atomic.Int64
	var untyped atomic.Pointer[error]
	var pg sync.WaitGroup
	for pi := range pubs {
		pg.Add(1)
		go func() {
			defer pg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i := range per {
				if i == 40*(pi+1) {
					cancel() // the rest go out with an ended context
				}
				n := pi*per + i
				topic := "acct.x"
				if n%3 == 0 {
					topic = "acct.y.z" // only A matches
				}
				err := bus.Publish(ctx, b, topic, Payload{N: n})
				if errors.Is(err, bus.ErrClosed) && !isPublishError(err) {
					return // refused before it was published: not counted
				}
				published.Add(1)
				if topic == "acct.x" && n%2 != 0 {
					filteredOut.Add(1)
				}
				var pe *bus.PublishError
				if errors.As(err, &pe) {
					refusedTo.Add(int64(len(pe.Errs)))
				} else if err != nil {
					untyped.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	// End while publishers are still busy.
	waitUntil(t, "some messages are published", func() bool { return published.Load() >= pubs*per/4 })
	switch end {
	case "drain":
		pg.Wait() // publishers finish while the bus is open, then the bus drains
		if err := b.Drain(ctxT(t)); err != nil {
			t.Fatalf("drain: %v", err)
		}
	case "close":
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		pg.Wait()
	}
	close(stopTokens)
	<-tokensDone
	if err := untyped.Load(); err != nil {
		t.Errorf("publish returned %v, which is not a *PublishError", *err)
	}

	// Each subscription accounts for every message it received.
	var received, outcomes uint64
	for _, sub := range []*bus.Subscription{subA, subB, subC, subD} {
		<-sub.Done()
		st := sub.Stats()
		if got := st.Delivered + st.Dropped + st.Failed; got != st.Received || st.Queued != 0 || st.Waiting != 0 {
			t.Errorf("subscription %s received %d, but %d delivered + %d dropped + %d failed = %d (%d queued, %d publishers waiting)",
				st.Name, st.Received, st.Delivered, st.Dropped, st.Failed, got, st.Queued, st.Waiting)
		}
		received += st.Received
	}
	// Each topic's messages were received once per subscription they were routed to. A
	// transport routes when it delivers, so one that was detached by Close while a publish was on
	// its way routes that message to nobody.
	var total bus.TopicStats
	var routed uint64
	routes := map[string]uint64{"acct.x": 3, "acct.y.z": 1, "dead.acct": 1}
	for _, st := range b.Stats() {
		want, ok := routes[st.Topic]
		if !ok {
			t.Errorf("unexpected topic %+v", st)
			continue
		}
		r := st.Published * want
		if st.Topic == "acct.x" {
			r -= uint64(filteredOut.Load())
		}
		routed += r
		outcomes += st.Delivered + st.Dropped + st.Failed
		if got := st.Delivered + st.Dropped + st.Failed; got != r && (end == "drain" || !s.transport) {
			t.Errorf("%s: %d published, routed %d times, but %d delivered + %d dropped + %d failed = %d",
				st.Topic, st.Published, r, st.Delivered, st.Dropped, st.Failed, got)
		}
		if st.Topic != "dead.acct" {
			total.Published += st.Published
			total.Dropped += st.Dropped
			total.Failed += st.Failed
		}
	}
	if outcomes != received || received > routed {
		t.Errorf("subscriptions received %d messages, %d routed; topics counted %d outcomes", received, routed, outcomes)
	}
	if total.Published != uint64(published.Load()) {
		t.Errorf("Stats count %d published, publishers saw %d published", total.Published, published.Load())
	}
	if end == "drain" {
		// Nothing queued is discarded by a drain, so every drop or queue refusal was a refusal a
		// publisher was told about, and every other failure is a handler's.
		switch p {
		case bus.PolicyBlock:
			if total.Dropped != uint64(refusedTo.Load()) || total.Failed != uint64(handlerFailed.Load()) {
				t.Errorf("block: %d dropped, %d failed; publishers were refused %d times, handlers failed %d times",
					total.Dropped, total.Failed, refusedTo.Load(), handlerFailed.Load())
			}
		case bus.PolicyFail:
			if total.Dropped != 0 || total.Failed != uint64(refusedTo.Load()+handlerFailed.Load()) {
				t.Errorf("fail: %d dropped, %d failed; publishers were refused %d times, handlers failed %d times",
					total.Dropped, total.Failed, refusedTo.Load(), handlerFailed.Load())
			}
		default:
			if refusedTo.Load() != 0 || total.Failed != uint64(handlerFailed.Load()) {
				t.Errorf("%v: publishers were refused %d times (want 0), %d failed, handlers failed %d times",
					p, refusedTo.Load(), total.Failed, handlerFailed.Load())
			}
		}
	}
	h.check(t, b)
}

func isPublishError(err error) bool {
	var pe *bus.PublishError
	return errors.As(err, &pe)
}

// waitUntil polls cond until it holds, failing the test after DefaultWait.
// On an asynchronous transport a full PolicyBlock queue holds back the transport, not the
// publisher: nothing is lost and the order is kept.
func (s suite) asyncPolicyBlock(t *testing.T) {
	if s.f.sync {
		t.Skip("synchronous transports are checked by PolicyBlock")
	}
	b := s.bus(t)
	g := newGate()
	var rec []int
	var mu sync.Mutex
	sub, err := bus.Subscribe(b, "slow", g.handler(&rec, &mu), bus.QueueSize(1), bus.OnFull(bus.PolicyBlock))
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		publish(t, b, "slow", Payload{N: i})
	}
	g.waitEntered(t, 0)
	close(g.release)
	waitUntil(t, "every message is handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(rec) == n })
	mu.Lock()
	got := fmt.Sprint(rec)
	mu.Unlock()
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	if got != fmt.Sprint(want) {
		t.Fatalf("handled %s, want %v", got, want)
	}
	if st := sub.Stats(); st.Dropped != 0 || st.Failed != 0 || st.Delivered != n {
		t.Fatalf("stats %+v", st)
	}
}

// On an asynchronous transport the drop policies apply as messages arrive.
func (s suite) asyncPolicyDrop(t *testing.T) {
	if s.f.sync {
		t.Skip("synchronous transports are checked by PolicyDropNewest and PolicyDropOldest")
	}
	for _, tc := range []struct {
		p    bus.Policy
		want string
	}{{bus.PolicyDropNewest, "[1 2]"}, {bus.PolicyDropOldest, "[1 5]"}} {
		t.Run(tc.p.String(), func(t *testing.T) {
			b := s.bus(t)
			g := newGate()
			var rec []int
			var mu sync.Mutex
			sub, err := bus.Subscribe(b, "slow", g.handler(&rec, &mu), bus.QueueSize(1), bus.OnFull(tc.p))
			if err != nil {
				t.Fatal(err)
			}
			publish(t, b, "slow", Payload{N: 1})
			g.waitEntered(t, 1)
			for i := 2; i <= 5; i++ {
				publish(t, b, "slow", Payload{N: i})
			}
			waitUntil(t, "three messages are dropped", func() bool { return sub.Stats().Dropped == 3 })
			close(g.release)
			if err := b.Drain(ctxT(t)); err != nil {
				t.Fatalf("drain: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(rec) != tc.want {
				t.Fatalf("handled %v, want %s", rec, tc.want)
			}
		})
	}
}

// Without group support, a Group subscription is refused.
func (s suite) groupUnsupported(t *testing.T) {
	if s.f.groups {
		t.Skip("the transport supports groups")
	}
	b := s.bus(t)
	_, err := bus.Subscribe(b, "g", func(context.Context, bus.Envelope[Payload]) error { return nil }, bus.Group("workers"))
	if !errors.Is(err, bus.ErrInvalidOption) {
		t.Fatalf("Group without transport support: err = %v, want ErrInvalidOption", err)
	}
	if b.Subscriptions() != 0 {
		t.Fatalf("a refused subscription was registered")
	}
}

func (s suite) needGroups(t *testing.T) {
	t.Helper()
	if !s.f.groups || s.newTransport == nil {
		t.Skip("the transport does not declare Groups")
	}
}

// The members of a group share its messages: each is handled by exactly one member, while a
// subscription outside the group receives them all.
func (s suite) groups(t *testing.T) {
	s.needGroups(t)
	tr := s.newTransport(t)
	b1, b2 := s.busOn(t, tr), s.busOn(t, tr)
	var mu sync.Mutex
	seen := make(map[int]int)
	var wg sync.WaitGroup
	const n = 100
	wg.Add(n)
	member := func(ctx context.Context, e bus.Envelope[Payload]) error {
		mu.Lock()
		seen[e.Payload.N]++
		mu.Unlock()
		wg.Done()
		return nil
	}
	for _, b := range []*bus.Bus{b1, b1, b2} {
		if _, err := bus.Subscribe(b, "jobs.*", member, bus.Group("workers")); err != nil {
			t.Fatal(err)
		}
	}
	all := Record[Payload](t, b2, "jobs.*")
	auditors := Record[Payload](t, b2, "jobs.*", bus.Group("auditors"))
	if _, err := bus.Subscribe(b2, "jobs.>", member, bus.Group("workers")); err == nil {
		t.Fatal("a member with another pattern than its group's was accepted")
	}
	for i := range n {
		publish(t, b1, fmt.Sprint("jobs.", i%3), Payload{N: i})
	}
	waitGroup(t, &wg)
	if got := all.WaitFor(t, n); len(got) != n {
		t.Fatalf("the subscription outside the group got %d of %d", len(got), n)
	}
	if got := auditors.WaitFor(t, n); len(got) != n {
		t.Fatalf("the one member of another group got %d of %d", len(got), n)
	}
	if err := b1.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := b2.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if seen[i] != 1 {
			t.Fatalf("message %d handled %d times by the group, want once", i, seen[i])
		}
	}
}

// A message a member was handling when it went away goes to another member of the group.
func (s suite) groupHandover(t *testing.T) {
	s.needGroups(t)
	if !s.f.redelivery {
		t.Skip("the transport does not declare Redelivery")
	}
	tr := s.newTransport(t)
	first := s.busOn(t, tr)
	entered := make(chan struct{})
	_, err := bus.Subscribe(first, "handover", func(ctx context.Context, e bus.Envelope[Payload]) error {
		close(entered)
		<-ctx.Done() // interrupted by Close: not handled
		return ctx.Err()
	}, bus.Group("h"))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, first, "handover", Payload{N: 42})
	select {
	case <-entered:
	case <-time.After(DefaultWait):
		t.Fatal("the first member never got the message")
	}
	second := s.busOn(t, tr)
	rec := Record[Payload](t, second, "handover", bus.Group("h"))
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rec.WaitFor(t, 1); got[0].Payload.N != 42 {
		t.Fatalf("second member got %+v", got[0].Payload)
	}
}

// A group keeps its place while it has no member.
func (s suite) persistent(t *testing.T) {
	if !s.f.persistent || s.newTransport == nil {
		t.Skip("the transport does not declare Persistent")
	}
	tr := s.newTransport(t)
	b := s.busOn(t, tr)
	first := Record[Payload](t, b, "orders.>", bus.Group("billing"))
	publish(t, b, "orders.new", Payload{N: 1})
	first.WaitFor(t, 1)
	if err := first.Subscription().Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	<-first.Subscription().Done()
	for i := 2; i <= 4; i++ {
		publish(t, b, "orders.new", Payload{N: i})
	}
	// A subscription made now starts from now; the group resumes where it was.
	late := Record[Payload](t, b, "orders.>")
	again := Record[Payload](t, b, "orders.>", bus.Group("billing"))
	if got := ns(again.WaitFor(t, 3)); fmt.Sprint(got) != "[2 3 4]" {
		t.Fatalf("the group resumed with %v, want [2 3 4]", got)
	}
	publish(t, b, "orders.new", Payload{N: 5})
	if got := ns(late.WaitFor(t, 1)); fmt.Sprint(got) != "[5]" {
		t.Fatalf("a new subscription got %v, want only what was published after it", got)
	}
	if got := ns(again.WaitFor(t, 4)); fmt.Sprint(got) != "[2 3 4 5]" {
		t.Fatalf("the group got %v", got)
	}
}

// Under Redeliver a failed message comes back, and is counted delivered once handled.
func (s suite) redelivery(t *testing.T) {
	if !s.f.redelivery {
		t.Skip("the transport does not declare Redelivery")
	}
	var sink errSink
	b := s.bus(t, bus.WithErrorHandler(sink.fn))
	done := Record[Payload](t, b, "redeliver.done")
	var calls atomic.Int32
	sub, err := bus.Subscribe(b, "redeliver", func(ctx context.Context, e bus.Envelope[Payload]) error {
		if calls.Add(1) == 1 {
			return errors.New("not yet")
		}
		return bus.Publish(ctx, b, "redeliver.done", e.Payload)
	}, bus.Redeliver())
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "redeliver", Payload{N: 5})
	if got := done.WaitFor(t, 1); got[0].Payload.N != 5 {
		t.Fatalf("got %+v", got[0].Payload)
	}
	waitUntil(t, "the redelivered message is counted", func() bool { return sub.Stats().Delivered == 1 })
	if st := sub.Stats(); calls.Load() != 2 || st.Failed != 0 {
		t.Fatalf("handler called %d times, stats %+v; want 2 calls, 1 delivered, 0 failed", calls.Load(), st)
	}
	if errs := sink.all(); len(errs) != 1 || errs[0].Error() != "not yet" {
		t.Fatalf("errors told: %v, want the failed attempt's", errs)
	}
	// Without Redeliver a failure is final, as on any transport.
	var plain atomic.Int32
	_, err = bus.Subscribe(b, "final", func(context.Context, bus.Envelope[Payload]) error {
		plain.Add(1)
		return errors.New("no")
	})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "final", Payload{N: 1})
	if err := b.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if plain.Load() != 1 {
		t.Fatalf("a failure without Redeliver was retried: %d calls", plain.Load())
	}
}

// When the transport gives up redelivering, the failure is final: counted once, dead-lettered once.
func (s suite) redeliveryExhausted(t *testing.T) {
	if !s.f.redelivery {
		t.Skip("the transport does not declare Redelivery")
	}
	b := s.bus(t, bus.WithErrorHandler(func(string, bus.Meta, error) {}))
	dlq := Record[Payload](t, b, "dead.>")
	var calls atomic.Int32
	sub, err := bus.Subscribe(b, "doomed", func(context.Context, bus.Envelope[Payload]) error {
		calls.Add(1)
		return errors.New("never")
	}, bus.Redeliver(), bus.DeadLetter("dead.doomed"))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "doomed", Payload{N: 3})
	got := dlq.WaitFor(t, 1)
	if got[0].Payload.N != 3 || got[0].Headers.Get(bus.HeaderDeadLetterReason) != "never" {
		t.Fatalf("dead letter %+v", got[0])
	}
	if err := b.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := sub.Stats(); st.Failed != 1 || st.Delivered != 0 || calls.Load() < 2 {
		t.Fatalf("stats %+v after %d calls; want 1 failed after several attempts", st, calls.Load())
	}
	if dlq.Len() != 1 {
		t.Fatalf("%d dead letters, want 1", dlq.Len())
	}
}

// traceContext checks that a handler's spans join the trace that published the message: the
// publish span is a child of the publisher's span, the process span a child of the publish
// span — through the transport's headers alone, from one bus to another with a tracer
// provider each, as between two processes — and the handler's ctx carries the process span.
func (s suite) traceContext(t *testing.T) {
	pubKit, subKit := telemetrytest.New(t), telemetrytest.New(t)
	var pub, sub *bus.Bus
	if s.newTransport != nil {
		tr := s.newTransport(t)
		pub = s.busOn(t, tr, bus.WithTracerProvider(pubKit.TP))
		sub = s.busOn(t, tr, bus.WithTracerProvider(subKit.TP))
	} else {
		subKit = pubKit
		pub = s.bus(t, bus.WithTracerProvider(pubKit.TP))
		sub = pub
	}
	handled := make(chan struct{}, 1)
	if _, err := bus.Subscribe(sub, "trace.>", func(ctx context.Context, e bus.Envelope[Payload]) error {
		_, span := subKit.TP.Tracer("handler").Start(ctx, "handler")
		span.End()
		handled <- struct{}{}
		return nil
	}, bus.Named("traced")); err != nil {
		t.Fatal(err)
	}
	ctx, parent := pubKit.TP.Tracer("host").Start(ctxT(t), "publisher")
	if err := bus.Publish(ctx, pub, "trace.context", Payload{N: 1}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	select {
	case <-handled:
	case <-time.After(DefaultWait):
		t.Fatal("the handler was not called")
	}
	if err := sub.Drain(ctxT(t)); err != nil { // the process span has ended once Drain returns
		t.Fatal(err)
	}
	publisher, publishSpan := pubKit.One(t, "publisher"), pubKit.One(t, bus.SpanPublish)
	process, handler := subKit.One(t, bus.SpanProcess), subKit.One(t, "handler")
	telemetrytest.ChildOf(t, publishSpan, publisher)
	telemetrytest.ChildOf(t, process, publishSpan)
	telemetrytest.ChildOf(t, handler, process)
	if s.newTransport != nil && !process.Parent().IsRemote() {
		t.Error("the process span's parent did not come from the message's headers")
	}
	for _, want := range []attribute.KeyValue{
		attribute.String("messaging.destination.name", "trace.context"),
		attribute.String("messaging.destination.subscription.name", "traced"),
		attribute.String("messaging.operation.type", "process"),
	} {
		if v, ok := telemetrytest.Attr(process, want.Key); !ok || v != want.Value {
			t.Errorf("process span %s = %v, want %v", want.Key, v.String(), want.Value.String())
		}
	}
	if v, _ := telemetrytest.Attr(publishSpan, "messaging.message.id"); v.AsString() == "" {
		t.Error("the publish span names no message id")
	}
}

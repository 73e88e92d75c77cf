package bus

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Bus is a typed publish/subscribe event bus. Create one with New; it is safe for concurrent use.
// Close or Drain it when done: it owns one goroutine per subscription lane.
type Bus struct {
	cfg config

	idPrefix uint64
	subSeq   atomic.Uint64
	base     time.Time // clock anchor of the default clock

	// seq counts Publish calls that have begun (and numbers their messages); finished counts
	// those that have returned, so seq-finished are in flight.
	seq      atomic.Uint64
	_        [56]byte
	finished atomic.Uint64
	_        [56]byte
	state    atomic.Int32 // stateOpen, stateDraining or stateClosed; changed under mu

	mu    sync.Mutex // guards subs and stats map writes
	subs  map[uint64]subscription
	snap  atomic.Pointer[snapshot]
	stats map[string]*topicStats
	over  *topicStats

	routes  sync.Map // topic -> *route
	nroutes atomic.Int64
	last    atomic.Pointer[route] // the route most recently looked up: bursts to one topic skip the map

	ctx    context.Context // handlers' context, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the bus starts

	closeOnce sync.Once
	drainMu   sync.Mutex
}

const (
	stateOpen int32 = iota
	stateDraining
	stateClosed
)

// handlerKey marks the contexts handlers run with, so that their publishes are accepted while
// the bus drains.
type handlerKey struct{}

type snapshot struct{ subs []subscription }

type route struct {
	topic string
	snap  *snapshot
	subs  []subscription
	stats *topicStats
}

// New returns a bus configured by opts.
func New(opts ...Option) (*Bus, error) {
	cfg := config{
		logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		queueSize: DefaultQueueSize,
		policy:    DefaultPolicy,
		maxTopics: DefaultMaxTopics,
	}
	for _, o := range opts {
		if o == nil {
			return nil, &OptionError{Option: "Option", Reason: "nil option"}
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	b := &Bus{
		cfg:   cfg,
		subs:  make(map[uint64]subscription),
		stats: make(map[string]*topicStats),
		over:  &topicStats{topic: OverflowTopic},
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	b.idPrefix = binary.BigEndian.Uint64(seed[:]) | 1 // never zero, so no ID is the zero ID
	b.base = time.Now()
	if b.cfg.clock == nil {
		b.cfg.clock = b.monotonicNow
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.ctx, b.cancel = context.WithValue(ctx, handlerKey{}, b), cancel
	b.snap.Store(&snapshot{})
	return b, nil
}

// monotonicNow is the default clock: the wall time at New plus the monotonic time elapsed since,
// which costs one clock read instead of time.Now's two and never goes backwards.
func (b *Bus) monotonicNow() time.Time { return b.base.Add(time.Since(b.base)) }

// enter registers an in-flight publish and numbers its message. It fails once the bus is closed,
// and while it drains unless ctx is a handler's context. Every enter, successful or not, must be
// matched by one leave.
func (b *Bus) enter(ctx context.Context) (uint64, bool) {
	n := b.seq.Add(1)
	switch b.state.Load() {
	case stateOpen:
		return n, true
	case stateDraining:
		return n, ctx.Value(handlerKey{}) == b
	}
	return n, false
}

func (b *Bus) leave() { b.finished.Add(1) }

// quiescent reports whether no publish is in flight.
func (b *Bus) quiescent() bool { return b.finished.Load() == b.seq.Load() }

// routeFor returns the subscriptions matching topic and the topic's counters, validating the
// topic the first time it is seen.
func (b *Bus) routeFor(topic string) (*route, error) {
	snap := b.snap.Load()
	if r := b.last.Load(); r != nil && r.snap == snap && r.topic == topic {
		return r, nil
	}
	if v, ok := b.routes.Load(topic); ok {
		if r := v.(*route); r.snap == snap {
			b.last.Store(r)
			return r, nil
		}
	}
	if err := ValidateTopic(topic); err != nil {
		return nil, err
	}
	r := &route{topic: topic, snap: snap, stats: b.statsFor(topic)}
	for _, s := range snap.subs {
		if s.base().pat.match(topic) {
			r.subs = append(r.subs, s)
		}
	}
	if _, loaded := b.routes.Swap(topic, r); !loaded {
		if b.nroutes.Add(1) > int64(b.cfg.maxTopics) {
			b.routes.Clear()
			b.nroutes.Store(0)
		}
	}
	b.last.Store(r)
	return r, nil
}

func (b *Bus) statsFor(topic string) *topicStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ts, ok := b.stats[topic]; ok {
		return ts
	}
	if len(b.stats) >= b.cfg.maxTopics {
		return b.over
	}
	ts := &topicStats{topic: topic}
	b.stats[topic] = ts
	return ts
}

// stamp fills in a new message's metadata.
func (b *Bus) stamp(ctx context.Context, m *Meta, n uint64, topic string, opts []PublishOption) {
	m.ID, m.Topic, m.Time, m.Source = ID{hi: b.idPrefix, lo: n}, topic, b.cfg.clock(), b.cfg.source
	if p, ok := parentFrom(ctx); ok {
		m.CausationID, m.CorrelationID = p.id, p.corr
		if m.CorrelationID.IsZero() {
			m.CorrelationID = p.id
		}
	}
	for i := range opts {
		o := &opts[i]
		switch o.kind {
		case optKey:
			m.Key = o.s1
		case optSource:
			m.Source = o.s1
		case optHeader:
			if m.Headers == nil {
				m.Headers = make(Headers, 1)
			}
			m.Headers[o.s1] = o.s2
		case optHeaders:
			if m.Headers == nil {
				m.Headers = make(Headers, len(o.headers))
			}
			for k, v := range o.headers {
				m.Headers[k] = v
			}
		case optCause:
			m.CausationID, m.CorrelationID = o.parent.id, o.parent.corr
			if m.CorrelationID.IsZero() {
				m.CorrelationID = o.parent.id
			}
		case optCorrelation:
			m.CorrelationID = o.parent.corr
		case optID:
			if !o.parent.id.IsZero() {
				m.ID = o.parent.id
			}
		}
	}
}

// addSub registers s and reserves n goroutines in the bus's WaitGroup, unless the bus is closed.
func (b *Bus) addSub(s subscription, n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state.Load() != stateOpen {
		return ErrClosed
	}
	b.wg.Add(n)
	b.subs[s.base().id] = s
	b.publishSnapshotLocked()
	return nil
}

func (b *Bus) removeSub(id uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[id]; !ok {
		return
	}
	delete(b.subs, id)
	b.publishSnapshotLocked()
}

func (b *Bus) publishSnapshotLocked() {
	subs := make([]subscription, 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	// Deterministic delivery order: subscription order.
	sort.Slice(subs, func(i, j int) bool { return subs[i].base().id < subs[j].base().id })
	b.snap.Store(&snapshot{subs: subs})
}

func (b *Bus) allSubs() []subscription {
	return b.snap.Load().subs
}

// Close stops the bus now: Publish and Subscribe return ErrClosed from then on, queued messages
// are discarded (and counted as dropped), publishers waiting for room get a *PublishError
// matching ErrClosed (their message counted as dropped), handlers' contexts are cancelled — a
// handler that returns that cancellation has its message counted as dropped, not failed — and
// Close waits for running handler calls to return and every goroutine of the bus to exit. It is
// idempotent and always returns nil.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.state.Store(stateClosed)
		b.mu.Unlock()
		for _, s := range b.allSubs() {
			s.stop(endClosed)
		}
		b.cancel()
		b.wg.Wait()
	})
	return nil
}

// Drain stops accepting new publishes and closes the bus once everything already published has
// been handled. While it drains, Publish returns ErrClosed except when called with a handler's
// context (or one derived from it): what handlers publish — replies, follow-up events, dead
// letters — is delivered too, and Drain ends when no message is queued, none is being handled
// and none is being published. On a bus with a Transport, subscriptions keep receiving from the
// transport until the bus has settled once (flushing a transport that is a Flusher, so that what
// was published before reaches its subscriptions), then detach from it and settle again; if remote
// publishers never pause and local handlers keep publishing in reply, only ctx ends the drain.
// If ctx ends first, Drain closes the bus at once, discarding what is still queued, and returns
// ctx.Err(). It must not be called from a handler.
func (b *Bus) Drain(ctx context.Context) error {
	b.drainMu.Lock()
	defer b.drainMu.Unlock()
	b.mu.Lock()
	if b.state.Load() == stateClosed {
		b.mu.Unlock()
		return nil
	}
	b.state.Store(stateDraining)
	b.mu.Unlock()
	// Settle with the transport still attached, so what it delivers meanwhile is handled (an
	// asynchronous transport is flushed in each round); then detach from it and settle again, so
	// nothing it delivered before detaching is left.
	err := b.settle(ctx, true)
	if err == nil {
		for _, s := range b.allSubs() {
			s.base().detach()
		}
		err = b.settle(ctx, false)
	}
	if err != nil {
		b.Close()
		return err
	}
	subs := b.allSubs()
	for _, s := range subs {
		s.drain()
	}
	for _, s := range subs {
		select {
		case <-s.base().exited:
		case <-ctx.Done():
			b.Close()
			return ctx.Err()
		}
	}
	return b.Close()
}

// settle returns once the bus is quiescent: no publish in flight, and every lane has handled
// everything queued in it, with no publish having begun meanwhile (which a handler could have
// made). It works in rounds of markers queued behind each lane's messages. With flush, each
// round first flushes a transport that implements Flusher, so that what was published through
// it has reached the lanes.
func (b *Bus) settle(ctx context.Context, flush bool) error {
	f, _ := b.cfg.transport.(Flusher)
	for {
		start := b.seq.Load()
		for delay := 20 * time.Microsecond; !b.quiescent(); delay = min(2*delay, 5*time.Millisecond) {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if flush && f != nil {
			if err := f.Flush(ctx); err != nil {
				return err
			}
		}
		for _, s := range b.allSubs() {
			acks, err := s.mark(ctx)
			if err != nil {
				return err
			}
			for _, ack := range acks {
				select {
				case <-ack:
				case <-s.base().exited:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		if b.seq.Load() == start {
			return nil
		}
	}
}

// Subscriptions returns the current number of subscriptions.
func (b *Bus) Subscriptions() int { return len(b.allSubs()) }

// Stats returns a snapshot of the per-topic counters, sorted by topic.
func (b *Bus) Stats() []TopicStats {
	b.mu.Lock()
	out := make([]TopicStats, 0, len(b.stats)+1)
	for _, ts := range b.stats {
		out = append(out, ts.snapshot())
	}
	b.mu.Unlock()
	if o := b.over.snapshot(); o != (TopicStats{Topic: OverflowTopic}) {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

// TopicStats are the counters of one topic. Published counts messages once; the other counters
// count them once per subscription they were routed to (see SubscriptionStats.Received), and
// every such message ends as exactly one of them. So once the bus is closed (by Close or Drain),
// with every subscription matching every published message and no Filter, Published × the
// number of subscriptions == Delivered + Dropped + Failed. (On a bus with a Transport, a message
// the transport delivers to nobody — say because Close detached the subscriptions while it was on
// its way — is counted as published only.)
type TopicStats struct {
	Topic     string
	Published uint64 // accepted by Publish
	Delivered uint64 // handled successfully, summed over subscribers
	// Dropped counts messages discarded by a drop policy, by Unsubscribe or by Close (queued, or
	// cut short in a handler by Close cancelling its context), and messages a subscription did
	// not take because the publisher's context ended while it waited under PolicyBlock or the
	// subscription or the bus ended first.
	Dropped uint64
	Failed  uint64 // handler errors, panics, undecodable or mistyped payloads, refused by PolicyFail
}

// topicStats keeps the counter the publisher writes and the ones handlers write on separate
// cache lines; the delivered count is sharded by subscription so that subscribers of one topic
// handling messages on different cores do not contend.
type topicStats struct {
	topic     string
	published atomic.Uint64
	_         [56]byte
	delivered [deliveredShards]paddedCounter
	dropped   atomic.Uint64
	failed    atomic.Uint64
}

const deliveredShards = 4

type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

func (t *topicStats) addDelivered(sub uint64) { t.delivered[sub%deliveredShards].Add(1) }

func (t *topicStats) snapshot() TopicStats {
	return TopicStats{
		Topic:     t.topic,
		Published: t.published.Load(),
		Delivered: t.delivered[0].Load() + t.delivered[1].Load() + t.delivered[2].Load() + t.delivered[3].Load(),
		Dropped:   t.dropped.Load(),
		Failed:    t.failed.Load(),
	}
}

func (b *Bus) count(ts *topicStats, sub string, m Metric) {
	switch m {
	case MetricPublished:
		ts.published.Add(1)
	case MetricDelivered:
		ts.delivered[0].Add(1)
	case MetricDropped:
		ts.dropped.Add(1)
	case MetricFailed:
		ts.failed.Add(1)
	}
	if b.cfg.metrics != nil {
		b.cfg.metrics(ts.topic, sub, m)
	}
}

func (b *Bus) reportError(sb *subBase, m *Meta, err error) {
	switch {
	case sb.onError != nil:
		sb.onError(sb.name, *m, err)
	case b.cfg.onError != nil:
		b.cfg.onError(sb.name, *m, err)
	default:
		b.cfg.logger.Warn("bus: handler failed", "subscriber", sb.name, "topic", m.Topic, "id", m.ID.String(), "err", err)
	}
}

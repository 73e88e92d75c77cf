package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// Handler handles one message. Returning an error counts the message as failed (and, with
// DeadLetter, republishes it); a panic is recovered and treated as a *PanicError. ctx is cancelled
// when the bus closes.
type Handler[T any] func(ctx context.Context, e Envelope[T]) error

// Subscription is a handle on one subscription, returned by Subscribe. The zero Subscription
// is none: Unsubscribe returns a *NotConstructedError naming Subscribe, Done is closed, and its
// name, pattern and stats are empty.
type Subscription struct{ sb *subBase }

// Name returns the subscription's name (see Named).
func (s *Subscription) Name() string {
	if s == nil || s.sb == nil {
		return ""
	}
	return s.sb.name
}

// Pattern returns the topic pattern the subscription matches.
func (s *Subscription) Pattern() string {
	if s == nil || s.sb == nil {
		return ""
	}
	return s.sb.pat.raw
}

// Unsubscribe stops the subscription now: no further messages are routed to it, queued ones are
// discarded (counted as dropped), and a message on its way to it — a publisher waiting for room,
// or one that chose the subscription just before — is refused: counted as dropped, and that
// Publish returns a *PublishError matching ErrUnsubscribed. (On a bus with a Transport, a
// message the transport had not yet handed over is simply not delivered to it, as if published
// after.) It does not wait for a running handler call, so a handler may unsubscribe itself;
// Done is closed once the subscription's goroutines have exited. It is idempotent and returns
// nil, except on a Subscription not returned by Subscribe.
func (s *Subscription) Unsubscribe() error {
	if s == nil || s.sb == nil {
		return &NotConstructedError{Type: "Subscription", Constructor: "Subscribe"}
	}
	s.sb.b.removeSub(s.sb.id)
	s.sb.self.stop(endUnsubscribed)
	return nil
}

// Done is closed once the subscription's goroutines have exited (at once for a Subscription
// not returned by Subscribe, which has none).
func (s *Subscription) Done() <-chan struct{} {
	if s == nil || s.sb == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.sb.exited
}

// Stats returns the subscription's counters.
func (s *Subscription) Stats() SubscriptionStats {
	if s == nil || s.sb == nil {
		return SubscriptionStats{}
	}
	return SubscriptionStats{
		Name:      s.sb.name,
		Pattern:   s.sb.pat.raw,
		Received:  s.sb.self.accepted() + s.sb.refused.Load() - s.sb.returned.Load(),
		Delivered: s.sb.delivered.Load(),
		Dropped:   s.sb.dropped.Load(),
		Failed:    s.sb.failed.Load(),
		Queued:    s.sb.self.queued(),
		Waiting:   int(s.sb.waiting.Load()),
	}
}

// SubscriptionStats are the counters of one subscription. Every message Received ends as exactly
// one of Delivered, Dropped or Failed: once the subscription has ended (Done is closed),
// Received == Delivered + Dropped + Failed.
type SubscriptionStats struct {
	Name, Pattern string
	// Received counts the messages routed to the subscription (matching its pattern when they
	// were published, or handed to it by the transport) that its Filter kept.
	Received                   uint64
	Delivered, Dropped, Failed uint64
	Queued                     int // messages waiting in its queues now
	Waiting                    int // publishers waiting for room in its queues now (PolicyBlock)
}

// subscription is what the bus keeps of a subscriber of any payload type.
type subscription interface {
	base() *subBase
	// offerAny queues a payload published with a different static type.
	offerAny(ctx context.Context, m Meta, v any, ts *topicStats) error
	// mark queues a drain marker behind everything in each lane and returns channels closed as
	// the workers reach them.
	mark(ctx context.Context) ([]chan struct{}, error)
	stop(why int32)
	drain()
	detach()
	queued() int
	accepted() uint64
}

// subBase is the part of a subscriber that does not depend on its payload type.
type subBase struct {
	b       *Bus
	self    subscription
	id      uint64
	name    string
	pat     pattern
	policy  Policy
	onError ErrorFunc
	dlq     string
	group   string
	// redeliver naks messages the handler fails on (see Redeliver).
	redeliver bool

	stopped    atomic.Bool
	ended      atomic.Int32  // endUnsubscribed or endClosed once stopped
	done       chan struct{} // closed by stop: unblocks waiting publishers
	stopOnce   atomic.Bool
	drainOnce  atomic.Bool
	detachOnce atomic.Bool
	exited     chan struct{} // closed when the last worker exits
	running    atomic.Int32  // live workers
	waiting    atomic.Int32  // publishers waiting for room

	unsubTransport func() error

	// refused counts messages routed here that were counted as dropped or failed without
	// being queued (a slow path); those queued are counted by the lanes, under their locks.
	refused atomic.Uint64
	// returned counts receipts handed back to the transport for redelivery: the redelivered
	// message is received again, so the returned receipt is not one.
	returned atomic.Uint64

	_         [64]byte // keep the handler-side counter off the lines publishers read
	delivered atomic.Uint64
	_         [56]byte
	dropped   atomic.Uint64
	failed    atomic.Uint64
}

// control is a queue slot that carries an instruction instead of a message.
type control struct {
	stop bool          // the worker exits
	ack  chan struct{} // a drain marker: the worker closes it on reaching it
}

// item is one queue slot.
type item[T any] struct {
	env Envelope[T]
	ts  *topicStats
	ctl *control
	ack Acker // the transport's, for a message it redelivers unless settled
}

// subscriber is a subscription of payload type T. It has one queue ("lane") and one goroutine
// per unit of Concurrency, so a marker queued behind a lane's messages is reached only once
// those messages have been handled.
type subscriber[T any] struct {
	subBase
	handler Handler[T]
	filter  func(Envelope[T]) bool
	lanes   []*queue[T]
	keyed   bool
	rr      atomic.Uint32
	chainMW []Middleware
}

var stopControl = &control{stop: true}

// Why a subscription stopped.
const (
	endClosed       int32 = iota + 1 // the bus closed
	endUnsubscribed                  // Unsubscribe
)

// Subscribe registers handler for every message whose topic matches pattern ('*' matches one
// token, a final '>' one or more). Messages are queued per subscription and handled on the
// subscription's own goroutine(s), in publish order unless Concurrency says otherwise.
//
// Payloads published as T are delivered without conversion. A payload published as another
// static type is delivered when it is assignable to T (for example T = any, or an interface it
// implements); otherwise it is counted as failed with ErrTypeMismatch. On a bus with a Transport,
// payloads are decoded into T by the bus's codec.
//
// An invalid option, or a nil handler, makes it return an *OptionError naming it, and subscribe
// nothing; a Bus not made by New (a zero or nil *Bus) makes it return a *NotConstructedError.
func Subscribe[T any](b *Bus, pattern string, handler Handler[T], opts ...SubscribeOption) (*Subscription, error) {
	if !b.constructed() {
		return nil, notBus()
	}
	if handler == nil {
		return nil, &OptionError{Option: "handler", Reason: "must not be nil"}
	}
	pat, err := parsePattern(pattern)
	if err != nil {
		return nil, err
	}
	sc, err := b.newSubConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &subscriber[T]{handler: handler, keyed: sc.orderedKeys}
	if sc.filterSet {
		f, ok := sc.filter.(func(Envelope[T]) bool)
		switch {
		case !ok:
			return nil, &OptionError{Option: "Filter", Reason: fmt.Sprintf("filter is %T, subscription payload needs func(bus.Envelope[%s]) bool", sc.filter, typeName[T]())}
		case f == nil:
			return nil, &OptionError{Option: "Filter", Reason: "must not be nil"}
		}
		s.filter = f
	}
	id := b.subSeq.Add(1)
	s.subBase = subBase{
		b: b, id: id, name: sc.name, pat: pat, policy: sc.policy,
		onError: sc.onError, dlq: sc.deadLetter, redeliver: sc.redeliver, group: sc.group,
		done: make(chan struct{}), exited: make(chan struct{}),
	}
	s.self = s
	if s.name == "" {
		s.name = "sub-" + strconv.FormatUint(id, 10)
	}
	s.chainMW = append(append([]Middleware(nil), b.cfg.middleware...), sc.middleware...)
	s.lanes = make([]*queue[T], sc.concurrency)
	for i := range s.lanes {
		s.lanes[i] = newQueue[T](sc.queueSize, sc.concurrency > 1)
	}
	s.running.Store(int32(len(s.lanes)))
	if sc.group != "" {
		gt, ok := b.cfg.transport.(GroupTransport)
		if !ok {
			return nil, &OptionError{Option: "Group", Value: sc.group, Reason: "the bus has no transport that implements bus.GroupTransport"}
		}
		u, err := gt.SubscribeGroup(pattern, sc.group, s.fromTransport)
		if err != nil {
			return nil, err
		}
		s.unsubTransport = u.Unsubscribe
	} else if t := b.cfg.transport; t != nil {
		u, err := t.Subscribe(pattern, s.fromTransport)
		if err != nil {
			return nil, err
		}
		s.unsubTransport = u.Unsubscribe
	}
	if err := b.addSub(s, len(s.lanes)); err != nil {
		s.detach()
		return nil, err
	}
	for _, lane := range s.lanes {
		go s.run(lane)
	}
	return &Subscription{sb: &s.subBase}, nil
}

func typeName[T any]() string {
	var p *T
	return fmt.Sprintf("%T", p)[1:]
}

func (s *subscriber[T]) base() *subBase { return &s.subBase }

func (s *subscriber[T]) accepted() uint64 {
	var n uint64
	for _, l := range s.lanes {
		n += l.acceptedCount()
	}
	return n
}

func (s *subscriber[T]) queued() int {
	n := 0
	for _, l := range s.lanes {
		n += l.len()
	}
	return n
}

// lane picks the queue for e: by key hash under OrderedByKey, otherwise the shortest queue.
func (s *subscriber[T]) lane(e *Envelope[T]) *queue[T] {
	n := uint32(len(s.lanes))
	if n == 1 {
		return s.lanes[0]
	}
	if s.keyed && e.Key != "" {
		h := uint32(2166136261) // FNV-1a
		for i := 0; i < len(e.Key); i++ {
			h ^= uint32(e.Key[i])
			h *= 16777619
		}
		return s.lanes[h%n]
	}
	start := s.rr.Add(1)
	best := s.lanes[start%n]
	depth := best.depth.Load()
	for i := uint32(1); i < n && depth > 0; i++ {
		if l := s.lanes[(start+i)%n]; l.depth.Load() < depth {
			best, depth = l, l.depth.Load()
		}
	}
	return best
}

// offer queues it (a message, never an instruction) according to the subscription's policy. It
// accounts for the message in every outcome: queued (the worker then counts it), skipped by the
// filter, dropped or failed here. It returns a *DeliveryError exactly when the subscription did
// not take the message (see Publish).
func (s *subscriber[T]) offer(ctx context.Context, it *item[T]) error {
	if s.filter != nil && !s.filter(it.env) {
		if it.ack != nil {
			it.ack.Ack()
		}
		return nil
	}
	lane := s.lane(&it.env)
	res, room := lane.push(it)
	if res == pushed {
		return nil
	}
	return s.offerSlow(ctx, lane, it, res, room)
}

func (s *subscriber[T]) offerSlow(ctx context.Context, lane *queue[T], it *item[T], res pushResult, room <-chan struct{}) error {
	if res == queueGone {
		return s.refuse(it, s.endErr())
	}
	switch s.policy {
	case PolicyBlock:
		s.waiting.Add(1)
		defer s.waiting.Add(-1)
		for {
			select {
			case <-room:
			case <-s.done:
				return s.refuse(it, s.endErr())
			case <-ctx.Done():
				return s.refuse(it, ctx.Err())
			}
			switch res, room = lane.push(it); res {
			case pushed:
				return nil
			case queueGone:
				return s.refuse(it, s.endErr())
			}
		}
	case PolicyDropNewest:
		s.refused.Add(1)
		s.drop(it.ts)
		if it.ack != nil {
			it.ack.Ack()
		}
		return nil
	case PolicyDropOldest:
		for {
			dropped, res := lane.replaceOldest(it)
			if res == pushed {
				s.drop(dropped.ts)
				if dropped.ack != nil {
					dropped.ack.Ack()
				}
				return nil
			}
			if res == queueGone {
				return s.refuse(it, s.endErr())
			}
			if res, _ := lane.push(it); res == pushed {
				return nil
			} else if res == queueGone {
				return s.refuse(it, s.endErr())
			}
		}
	default: // PolicyFail
		s.refused.Add(1)
		s.failed.Add(1)
		s.b.count(it.ts, s.name, MetricFailed)
		if it.ack != nil {
			it.ack.Ack() // the failure is final: the transport must not deliver it again
		}
		return &DeliveryError{Subscriber: s.name, Topic: it.env.Topic, Err: ErrQueueFull}
	}
}

// refuse counts a message the subscription did not take as dropped and says why.
func (s *subscriber[T]) refuse(it *item[T], why error) error {
	s.refused.Add(1)
	s.drop(it.ts)
	if it.ack != nil {
		it.ack.Nak(why) // never handled: the transport may deliver it again or elsewhere
	}
	return &DeliveryError{Subscriber: s.name, Topic: it.env.Topic, Err: why}
}

// endErr says why the subscription no longer takes messages.
func (s *subBase) endErr() error {
	if s.ended.Load() == endUnsubscribed {
		return ErrUnsubscribed
	}
	return ErrClosed
}

func (s *subscriber[T]) drop(ts *topicStats) {
	s.dropped.Add(1)
	s.b.count(ts, s.name, MetricDropped)
}

func (s *subscriber[T]) offerAny(ctx context.Context, m Meta, v any, ts *topicStats) error {
	p, ok := v.(T)
	if !ok {
		s.refused.Add(1)
		s.failed.Add(1)
		s.b.count(ts, s.name, MetricFailed)
		s.b.reportError(&s.subBase, &m, fmt.Errorf("%w: published %T, subscriber %s takes %s", ErrTypeMismatch, v, s.name, typeName[T]()))
		return nil
	}
	it := item[T]{env: Envelope[T]{Meta: m, Payload: p}, ts: ts}
	return s.offer(ctx, &it)
}

// fromTransport decodes a message from the transport and queues it.
func (s *subscriber[T]) fromTransport(ctx context.Context, msg *Message) error {
	r, err := s.b.routeFor(msg.Meta.Topic)
	if err != nil {
		return err
	}
	it := item[T]{env: Envelope[T]{Meta: msg.Meta}, ts: r.stats, ack: msg.Acker}
	if err := s.b.cfg.codec.Unmarshal(msg.Data, &it.env.Payload); err != nil {
		s.refused.Add(1)
		s.failed.Add(1)
		s.b.count(r.stats, s.name, MetricFailed)
		s.b.reportError(&s.subBase, &it.env.Meta, fmt.Errorf("%w: decode %s: %v", ErrTypeMismatch, typeName[T](), err))
		if it.ack != nil {
			it.ack.Ack() // redelivering cannot make it decodable
		}
		return nil
	}
	return s.offer(ctx, &it)
}

// worker points at the message a worker goroutine is handling, so the middleware chain can be
// built once per goroutine instead of once per message.
type worker[T any] struct {
	s   *subscriber[T]
	cur *item[T]
}

func (w *worker[T]) call(ctx context.Context, _ *Meta) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return w.s.handler(ctx, w.cur.env)
}

func (s *subscriber[T]) run(lane *queue[T]) {
	defer s.b.wg.Done()
	defer func() {
		if s.running.Add(-1) == 0 {
			for _, l := range s.lanes {
				s.discard(l.drain())
			}
			close(s.exited)
		}
	}()
	w := &worker[T]{s: s}
	h := HandleFunc(w.call)
	for i := len(s.chainMW) - 1; i >= 0; i-- {
		h = s.chainMW[i](h)
	}
	ctx := s.b.ctx
	var batch []item[T]
	for {
		batch = lane.take(batch, &s.stopped)
		if batch == nil {
			return
		}
		for i := range batch {
			it := &batch[i]
			if it.ctl != nil {
				if it.ctl.stop {
					s.discard(batch[i+1:])
					return
				}
				close(it.ctl.ack)
				continue
			}
			if s.stopped.Load() {
				s.discard(batch[i:])
				return
			}
			w.cur = it
			hctx := ctx
			var span trace.Span
			if s.b.tracer != nil {
				hctx, span = s.spanProcess(ctx, &it.env.Meta)
			}
			err := h(hctx, &it.env.Meta)
			if span != nil {
				endSpan(span, err)
			}
			if err != nil {
				interrupted := ctx.Err() != nil && errors.Is(err, context.Canceled)
				// Under Redeliver, or when the bus is closing (the handler was interrupted, which
				// is no failure of the message), the transport gets it back. A failure under
				// Redeliver hands the receipt back (the redelivery is received again and counted
				// then); an interruption by Close counts as dropped here.
				naked := it.ack != nil && (s.redeliver || ctx.Err() != nil)
				if naked && it.ack.Nak(err) {
					if ctx.Err() != nil {
						s.drop(it.ts)
					} else {
						s.returned.Add(1)
						s.b.reportError(&s.subBase, &it.env.Meta, err)
					}
					continue
				}
				if interrupted {
					s.drop(it.ts) // cut short by Close: discarded, not a failure
					if it.ack != nil {
						it.ack.Ack()
					}
					continue
				}
				s.fail(hctx, it.ts, &it.env, err)
				if it.ack != nil && !naked {
					it.ack.Ack()
				}
			} else {
				s.delivered.Add(1)
				it.ts.addDelivered(s.id)
				if s.b.cfg.metrics != nil {
					s.b.cfg.metrics(it.ts.topic, s.name, MetricDelivered)
				}
				if it.ack != nil {
					it.ack.Ack()
				}
			}
		}
		w.cur = nil
	}
}

// discard counts the messages among items as dropped and acknowledges drain markers, so that
// nobody waits for them.
func (s *subscriber[T]) discard(items []item[T]) {
	for i := range items {
		switch it := &items[i]; {
		case it.ctl == nil:
			s.drop(it.ts)
			if it.ack != nil {
				it.ack.Nak(ErrClosed) // never handled: the transport may deliver it elsewhere
			}
		case it.ctl.ack != nil:
			close(it.ctl.ack)
		}
	}
}

// fail counts a message the handler finally failed on and dead-letters it; ctx is the handler's
// (the bus's, or one carrying the handler's span, so the dead letter joins its trace).
func (s *subscriber[T]) fail(ctx context.Context, ts *topicStats, e *Envelope[T], err error) {
	s.failed.Add(1)
	s.b.count(ts, s.name, MetricFailed)
	s.b.reportError(&s.subBase, &e.Meta, err)
	if s.dlq == "" {
		return
	}
	derr := Publish(ctx, s.b, s.dlq, e.Payload,
		WithCause(e.Meta), WithKey(e.Key), WithSource(e.Source), WithHeaders(e.Headers),
		WithHeader(HeaderDeadLetterReason, err.Error()),
		WithHeader(HeaderDeadLetterTopic, e.Topic),
		WithHeader(HeaderDeadLetterSubscriber, s.name))
	var pe *PublishError
	if derr == nil || errors.As(derr, &pe) { // published, even if some subscription refused it
		s.b.count(ts, s.name, MetricDeadLettered)
	}
	if derr != nil {
		s.b.reportError(&s.subBase, &e.Meta, fmt.Errorf("bus: dead-letter to %q: %w", s.dlq, derr))
	}
}

func (s *subscriber[T]) mark(context.Context) ([]chan struct{}, error) {
	acks := make([]chan struct{}, 0, len(s.lanes))
	for _, lane := range s.lanes {
		c := &control{ack: make(chan struct{})}
		lane.control(c)
		acks = append(acks, c.ack)
	}
	return acks, nil
}

// detach ends the transport subscription, if any, waiting for a delivery in progress.
func (s *subBase) detach() {
	if s.unsubTransport != nil && s.detachOnce.CompareAndSwap(false, true) {
		_ = s.unsubTransport()
	}
}

// stop makes the workers exit as soon as they finish the current message and the lanes refuse
// messages from now on; why says whether the subscription or the bus ended. It never blocks on
// the workers.
func (s *subscriber[T]) stop(why int32) {
	if !s.stopOnce.CompareAndSwap(false, true) {
		return
	}
	s.ended.Store(why)
	s.stopped.Store(true)
	for _, lane := range s.lanes {
		lane.close()
	}
	close(s.done)
	s.detach()
	for _, lane := range s.lanes {
		lane.poke()
	}
}

// drain makes the workers exit once they have handled everything queued. The caller must make
// sure nothing is queued after it.
func (s *subscriber[T]) drain() {
	if s.drainOnce.CompareAndSwap(false, true) {
		for _, lane := range s.lanes {
			lane.control(stopControl)
		}
	}
}

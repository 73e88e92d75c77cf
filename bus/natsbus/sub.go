package natsbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/bus"
)

// sub is one subscription: a JetStream consumer (ephemeral, or the durable of a group) and,
// when fire-and-forget topics are declared, a core NATS subscription.
type sub struct {
	t      *Transport
	h      bus.MessageHandler
	group  string
	ctx    context.Context // handed to h; cancelled by Unsubscribe
	cancel context.CancelFunc

	mu   sync.Mutex // serialises handler calls and Unsubscribe
	gone bool

	cons   jetstream.Consumer
	cc     jetstream.ConsumeContext
	core   *nats.Subscription
	handed atomic.Uint64 // highest stream sequence passed to h (or disposed of)
	busy   atomic.Int64  // core messages being passed to h

	once sync.Once
}

func (s *sub) start(pattern string) error {
	t := s.t
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.timeout)
	defer cancel()
	cfg := jetstream.ConsumerConfig{
		FilterSubject: subject(t.sroot, pattern),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.cfg.ackWait,
		MaxDeliver:    -1, // deliveries that time out are not limited; naks are, by the transport
		MaxAckPending: t.cfg.maxAckPending,
		DeliverPolicy: jetstream.DeliverNewPolicy,
	}
	if s.group != "" {
		cfg.Durable = DurableName(s.group)
		cfg.Description = "anya bus group " + s.group
	} else {
		cfg.InactiveThreshold = t.cfg.inactive
	}
	cons, err := t.stream.CreateConsumer(ctx, cfg)
	if errors.Is(err, jetstream.ErrConsumerExists) && s.group != "" {
		// Another member (perhaps with other settings) made it: join it if the pattern fits.
		cons, err = t.stream.Consumer(ctx, cfg.Durable)
	}
	if err != nil {
		return fmt.Errorf("natsbus: consumer for %q: %w", pattern, err)
	}
	if s.group != "" && cons.CachedInfo().Config.FilterSubject != cfg.FilterSubject {
		return fmt.Errorf("%w: group %q consumes %q, not %q", ErrGroupPattern, s.group, cons.CachedInfo().Config.FilterSubject, cfg.FilterSubject)
	}
	s.cons = cons
	s.handed.Store(cons.CachedInfo().Delivered.Stream)
	s.cc, err = cons.Consume(s.onMsg, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			t.cfg.logger.Warn("natsbus: consume", "consumer", cons.CachedInfo().Name, "err", err)
		}
	}))
	if err != nil {
		return fmt.Errorf("natsbus: consume %q: %w", pattern, err)
	}
	if len(t.cfg.fireAndForget) > 0 {
		subj := subject(t.froot, pattern)
		if s.group != "" {
			s.core, err = t.nc.QueueSubscribe(subj, DurableName(s.group), s.onCore)
		} else {
			s.core, err = t.nc.Subscribe(subj, s.onCore)
		}
		if err != nil {
			return fmt.Errorf("natsbus: subscribe %q: %w", subj, err)
		}
	}
	return nil
}

// acker settles one JetStream message for the bus.
type acker struct {
	m         jetstream.Msg
	t         *Transport
	delivered uint64
}

func (a *acker) Ack() {
	if err := a.m.Ack(); err != nil {
		a.t.cfg.logger.Warn("natsbus: ack", "subject", a.m.Subject(), "err", err)
	}
}

func (a *acker) Nak(cause error) bool {
	var err error
	switch {
	case errors.Is(cause, bus.ErrClosed) || errors.Is(cause, context.Canceled):
		// not handled because its subscriber went away: deliver it again at once
		err = a.m.Nak()
	case a.delivered >= uint64(a.t.cfg.maxDeliver):
		if err = a.m.TermWithReason(truncate(cause.Error(), 256)); err != nil {
			a.t.cfg.logger.Warn("natsbus: term", "subject", a.m.Subject(), "err", err)
		}
		return false
	default:
		err = a.m.NakWithDelay(a.t.backoffFor(a.delivered))
	}
	if err != nil {
		a.t.cfg.logger.Warn("natsbus: nak", "subject", a.m.Subject(), "err", err)
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// onMsg passes a JetStream message to the handler, which settles it through its Acker (or
// refuses it with an error, which naks it).
func (s *sub) onMsg(msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		s.t.cfg.logger.Warn("natsbus: message without metadata", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return
	}
	defer s.seen(md.Sequence.Stream)
	meta, err := decode(s.t.sroot, msg.Subject(), msg.Headers())
	if err != nil {
		s.t.cfg.logger.Warn("natsbus: dropping a message that is not a bus envelope", "subject", msg.Subject(), "err", err)
		_ = msg.TermWithReason("not a bus envelope")
		return
	}
	a := &acker{m: msg, t: s.t, delivered: md.NumDelivered}
	m := &bus.Message{Meta: meta, Data: msg.Data(), Acker: a}
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		_ = msg.Nak()
		return
	}
	err = s.h(s.ctx, m)
	s.mu.Unlock()
	if err != nil {
		a.Nak(err)
	}
}

// seen records that the message with stream sequence seq has been dealt with.
func (s *sub) seen(seq uint64) {
	for {
		cur := s.handed.Load()
		if seq <= cur || s.handed.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// onCore passes a fire-and-forget message to the handler.
func (s *sub) onCore(msg *nats.Msg) {
	s.busy.Add(1)
	defer s.busy.Add(-1)
	meta, err := decode(s.t.froot, msg.Subject, msg.Header)
	if err != nil {
		s.t.cfg.logger.Warn("natsbus: dropping a message that is not a bus envelope", "subject", msg.Subject, "err", err)
		return
	}
	m := &bus.Message{Meta: meta, Data: msg.Data}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gone {
		_ = s.h(s.ctx, m)
	}
}

// flush waits until what the consumer had to deliver when it was called has been passed to the
// handler (for a group: delivered to some member).
func (s *sub) flush(ctx context.Context) error {
	for delay := 200 * time.Microsecond; ; delay = min(2*delay, 20*time.Millisecond) {
		s.mu.Lock()
		gone := s.gone
		s.mu.Unlock()
		if gone {
			return nil
		}
		done := true
		if s.cons != nil {
			info, err := s.cons.Info(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("natsbus: flush: %w", err)
			}
			done = info.NumPending == 0 && (s.group != "" || s.handed.Load() >= info.Delivered.Stream)
		}
		if done && s.core != nil {
			n, _, err := s.core.Pending()
			done = err != nil || (n == 0 && s.busy.Load() == 0)
		}
		if done {
			return nil
		}
		tm := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			tm.Stop()
			return ctx.Err()
		case <-tm.C:
		}
	}
}

// Unsubscribe stops deliveries, waiting for a handler call in progress. Messages the consumer
// had fetched but not passed on are not settled: JetStream delivers them again after the ack
// wait (a group's to any member). A subscription outside a group deletes its consumer. It is
// idempotent.
func (s *sub) Unsubscribe() error {
	s.once.Do(func() {
		s.cancel()
		s.mu.Lock()
		s.gone = true
		s.mu.Unlock()
		s.stop()
		s.t.mu.Lock()
		delete(s.t.subs, s)
		s.t.mu.Unlock()
	})
	return nil
}

// stop ends consumption and, outside a group, deletes the consumer.
func (s *sub) stop() {
	s.cancel()
	if s.core != nil {
		_ = s.core.Unsubscribe()
	}
	if s.cc != nil {
		s.cc.Stop()
		<-s.cc.Closed()
	}
	if s.cons != nil && s.group == "" {
		ctx, cancel := context.WithTimeout(context.Background(), s.t.cfg.timeout)
		defer cancel()
		if err := s.t.stream.DeleteConsumer(ctx, s.cons.CachedInfo().Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			s.t.cfg.logger.Warn("natsbus: delete consumer", "consumer", s.cons.CachedInfo().Name, "err", err)
		}
	}
}

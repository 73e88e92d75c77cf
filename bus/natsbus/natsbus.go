package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/bus"
)

// Transport is a bus.Transport on NATS JetStream. It is safe for concurrent use. It does not
// own the connection it was given: Close ends its subscriptions, the host closes the
// connection. Create it with New: the methods of a zero Transport return a
// *NotConstructedError, and its Close returns nil.
type Transport struct {
	js     jetstream.JetStream
	nc     *nats.Conn
	stream jetstream.Stream
	cfg    config
	sroot  string // "<prefix>.s": persistent subjects
	froot  string // "<prefix>.f": fire-and-forget subjects

	ffCache sync.Map // topic -> bool, whether it is fire-and-forget
	ffSize  atomic.Int64

	mu     sync.Mutex
	subs   map[*sub]struct{}
	closed bool
}

var (
	_ bus.GroupTransport = (*Transport)(nil)
	_ bus.Flusher        = (*Transport)(nil)
)

// New returns a transport publishing to and consuming from the stream it creates (or updates)
// on js. The stream keeps a message until every consumer interested in it has acknowledged it
// (JetStream's interest retention), bounded by WithMaxAge.
func New(ctx context.Context, js jetstream.JetStream, opts ...Option) (*Transport, error) {
	if js == nil {
		return nil, &OptionError{Option: "js", Reason: "must not be nil"}
	}
	cfg := config{
		stream: DefaultStream, prefix: DefaultSubjectPrefix, ackWait: DefaultAckWait,
		maxDeliver: DefaultMaxDeliver, backoff: DefaultBackoff, maxBo: DefaultMaxBackoff,
		maxAckPending: DefaultMaxAckPending, maxAge: DefaultMaxAge, dupWin: DefaultDuplicateWindow,
		inactive: DefaultInactiveThreshold, timeout: DefaultTimeout, replicas: DefaultReplicas,
		storage: jetstream.FileStorage, logger: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Transport{js: js, nc: js.Conn(), cfg: cfg, sroot: cfg.prefix + ".s", froot: cfg.prefix + ".f", subs: map[*sub]struct{}{}}
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.stream,
		Description: "anya bus",
		Subjects:    []string{t.sroot + ".>"},
		Retention:   jetstream.InterestPolicy,
		MaxAge:      cfg.maxAge,
		Duplicates:  cfg.dupWin,
		Replicas:    cfg.replicas,
		Storage:     cfg.storage,
		Discard:     jetstream.DiscardOld,
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: stream %s: %w", cfg.stream, err)
	}
	t.stream = st
	return t, nil
}

func (c *config) validate() error {
	bad := func(opt string, v any, reason string) error {
		return &OptionError{Option: opt, Value: v, Reason: reason}
	}
	switch {
	case !validName(c.stream):
		return bad("WithStream", c.stream, "want 1 to 64 of A-Z a-z 0-9 _ -")
	case bus.ValidateTopic(c.prefix) != nil || strings.ContainsAny(c.prefix, "%"):
		return bad("WithSubjectPrefix", c.prefix, "want dot-separated tokens without wildcards, blanks or %")
	case c.ackWait < time.Second:
		return bad("WithAckWait", c.ackWait, "want at least 1s")
	case c.maxDeliver < 1:
		return bad("WithMaxDeliver", c.maxDeliver, "want at least 1")
	case c.backoff < 0 || c.maxBo < c.backoff:
		return bad("WithBackoff", [2]time.Duration{c.backoff, c.maxBo}, "want 0 <= first <= max")
	case c.maxAckPending < 1:
		return bad("WithMaxAckPending", c.maxAckPending, "want at least 1")
	case c.maxAge < time.Second:
		return bad("WithMaxAge", c.maxAge, "want at least 1s")
	case c.dupWin < time.Second || c.dupWin > c.maxAge:
		return bad("WithDuplicateWindow", c.dupWin, "want from 1s to the max age")
	case c.inactive < time.Second:
		return bad("WithInactiveThreshold", c.inactive, "want at least 1s")
	case c.timeout <= 0:
		return bad("WithTimeout", c.timeout, "want a positive duration")
	case c.replicas < 1 || c.replicas > 5:
		return bad("WithReplicas", c.replicas, "want 1 to 5")
	case c.logger == nil:
		return bad("WithLogger", nil, "nil logger")
	}
	for _, p := range c.fireAndForget {
		if err := bus.ValidatePattern(p); err != nil {
			return bad("WithFireAndForget", p, err.Error())
		}
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// fireAndForget reports whether topic is declared fire-and-forget.
func (t *Transport) fireAndForget(topic string) bool {
	if len(t.cfg.fireAndForget) == 0 {
		return false
	}
	if v, ok := t.ffCache.Load(topic); ok {
		return v.(bool)
	}
	ff := false
	for _, p := range t.cfg.fireAndForget {
		if bus.MatchTopic(p, topic) {
			ff = true
			break
		}
	}
	if t.ffSize.Add(1) <= 10_000 {
		t.ffCache.Store(topic, ff)
	}
	return ff
}

// Publish stores m in the stream, with its ID as the de-duplication ID, and returns once
// JetStream has acknowledged it; a fire-and-forget topic is published on core NATS instead.
// A message whose ID JetStream has seen within the duplicate window is dropped and Publish
// returns nil.
func (t *Transport) Publish(ctx context.Context, m *bus.Message) error {
	if !t.constructed() {
		return notTransport()
	}
	if err := bus.ValidateTopic(m.Meta.Topic); err != nil {
		return err
	}
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return bus.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	msg := &nats.Msg{Header: header(&m.Meta), Data: m.Data}
	if t.fireAndForget(m.Meta.Topic) {
		msg.Subject = subject(t.froot, m.Meta.Topic)
		return t.nc.PublishMsg(msg)
	}
	msg.Subject = subject(t.sroot, m.Meta.Topic)
	if _, err := t.js.PublishMsg(ctx, msg); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("natsbus: publish %s: %w", m.Meta.Topic, err)
	}
	return nil
}

// Subscribe delivers to h every message matching pattern published from now on, through an
// ephemeral consumer of its own (deleted by Unsubscribe, or by JetStream when the process has
// been gone WithInactiveThreshold), and a core NATS subscription when fire-and-forget topics
// are declared.
func (t *Transport) Subscribe(pattern string, h bus.MessageHandler) (bus.Unsubscriber, error) {
	return t.subscribe(pattern, "", h)
}

// SubscribeGroup makes h a member of group: a durable consumer named after the group, shared
// by every member in any process, delivers each message to one of them. The group keeps its
// place while it has no member; DeleteGroup removes it. Messages of fire-and-forget topics go
// to one member too, through a core NATS queue group of the same name.
func (t *Transport) SubscribeGroup(pattern, group string, h bus.MessageHandler) (bus.Unsubscriber, error) {
	if !t.constructed() {
		return nil, notTransport()
	}
	if group == "" {
		return nil, &bus.OptionError{Option: "Group", Value: "", Reason: "the group name must not be empty"}
	}
	return t.subscribe(pattern, group, h)
}

// DurableName returns the name of the durable consumer of group: "g_" followed by the group
// name, with bytes outside [A-Za-z0-9_-] escaped as "=XX".
func DurableName(group string) string {
	var b strings.Builder
	b.WriteString("g_")
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(group); i++ {
		c := group[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// DeleteGroup deletes group's durable consumer: its place and its unsettled messages are
// forgotten. Members still subscribed stop receiving.
func (t *Transport) DeleteGroup(ctx context.Context, group string) error {
	if !t.constructed() {
		return notTransport()
	}
	if err := t.stream.DeleteConsumer(ctx, DurableName(group)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("natsbus: delete group %q: %w", group, err)
	}
	return nil
}

func (t *Transport) subscribe(pattern, group string, h bus.MessageHandler) (bus.Unsubscriber, error) {
	if !t.constructed() {
		return nil, notTransport()
	}
	if err := bus.ValidatePattern(pattern); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, &bus.OptionError{Option: "handler", Reason: "must not be nil"}
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, bus.ErrClosed
	}
	t.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	s := &sub{t: t, h: h, group: group, ctx: ctx, cancel: cancel}
	if err := s.start(pattern); err != nil {
		s.stop()
		return nil, err
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_ = s.Unsubscribe()
		return nil, bus.ErrClosed
	}
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	return s, nil
}

// Flush waits until every message published before the call and matching a subscription of
// the transport has been handed to its handler (for a group: has been delivered to some
// member), or ctx ends.
func (t *Transport) Flush(ctx context.Context) error {
	if !t.constructed() {
		return notTransport()
	}
	t.mu.Lock()
	subs := make([]*sub, 0, len(t.subs))
	for s := range t.subs {
		subs = append(subs, s)
	}
	t.mu.Unlock()
	if len(subs) == 0 {
		return nil
	}
	if len(t.cfg.fireAndForget) > 0 {
		if err := t.nc.FlushWithContext(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("natsbus: flush: %w", err)
		}
	}
	for _, s := range subs {
		if err := s.flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close ends every subscription of the transport (deleting their ephemeral consumers; groups
// keep theirs) and makes Publish and Subscribe return bus.ErrClosed. It does not close the
// connection. It is idempotent.
func (t *Transport) Close() error {
	if !t.constructed() {
		return nil
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	subs := make([]*sub, 0, len(t.subs))
	for s := range t.subs {
		subs = append(subs, s)
	}
	t.mu.Unlock()
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	return nil
}

// constructed reports whether t was made by New.
func (t *Transport) constructed() bool { return t != nil && t.js != nil }

func notTransport() error { return &NotConstructedError{Type: "Transport", Constructor: "New"} }

// backoffFor returns the wait before the delivery after the n-th.
func (t *Transport) backoffFor(n uint64) time.Duration {
	d := t.cfg.backoff
	for i := uint64(1); i < n && d < t.cfg.maxBo; i++ {
		d *= 2
	}
	return min(d, t.cfg.maxBo)
}

package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// Message is a message as a Transport carries it: its metadata and its encoded payload.
type Message struct {
	Meta Meta
	Data []byte
	// Acker, set by transports that redeliver (a JetStream transport, for instance), settles the
	// message. A receiver that gets a Message with an Acker and whose handler returns nil takes
	// charge of it: it MUST eventually call exactly one of Ack or Nak, once it knows what became
	// of the message. A handler that returns an error MUST NOT settle it; the transport does.
	// Transports that do not redeliver (MemTransport) leave it nil.
	Acker Acker
}

// Acker settles a message a transport delivered. Bus subscriptions ack a message once its
// handler has run (delivered, or failed for good) or their policy discarded it, and nak it when
// it was not handled: queued when the subscription closed, or failed under Redeliver. A
// transport redelivers what is neither acked nor naked when its own deadline passes, so a
// process that dies with messages in hand loses none of them.
type Acker interface {
	// Ack reports that the receiver is done with the message: it is not delivered again.
	Ack()
	// Nak reports that the message was not handled, because of err. The transport delivers it
	// again later (after its backoff) and returns true, or returns false when it will not (its
	// delivery attempts are used up), having disposed of the message: the failure is final.
	Nak(err error) (redelivered bool)
}

// MessageHandler receives messages from a Transport.
type MessageHandler func(ctx context.Context, m *Message) error

// Unsubscriber ends one transport subscription.
type Unsubscriber interface {
	// Unsubscribe stops deliveries. It MUST wait for a MessageHandler call in progress for this
	// subscription to return, after which the handler MUST NOT be called again. It MUST be
	// idempotent.
	Unsubscribe() error
}

// Transport moves encoded messages between publishers and subscriptions, possibly across
// processes (a NATS JetStream transport, for instance). A Bus built WithTransport sends every
// Publish through it and receives every subscription's messages from it; queueing, slow-consumer
// policies, middleware and metrics stay in the Bus, so callers never change.
//
// Contract:
//   - Publish and Subscribe MUST be safe for concurrent use.
//   - Publish MUST deliver m to every subscription whose pattern matches m.Meta.Topic at the time
//     of the call, with Meta (ID, Time, Source, CorrelationID, CausationID, Key, Headers) intact.
//     The Bus validates topics and patterns before calling the transport.
//   - For one subscription, the handler MUST NOT be called concurrently with itself, and messages
//     from one publisher to one topic MUST arrive in publish order.
//   - A handler's error is the subscriber refusing the message (for example a PolicyFail queue is
//     full, or a PolicyBlock queue stayed full until ctx ended); the subscriber has already
//     counted it. A transport that can report it to the publisher SHOULD return it from Publish,
//     as the handler's error itself or errors.Join of several.
//   - A transport MUST NOT skip a subscription it routed a message to without calling its
//     handler: the handler is where the bus counts the message (SubscriptionStats.Received) and
//     then accounts for it as delivered, dropped or failed. In particular, a synchronous
//     transport calls every matching handler even when ctx has ended (the handler honours ctx
//     and returns at once instead of waiting).
//   - Publish MUST honour ctx; m and m.Data MUST NOT be retained after the handler returns unless
//     copied (publishers may reuse them).
//
// A transport that redelivers sets Message.Acker (see Acker); one that hands messages to
// subscriptions asynchronously (after Publish has returned) implements Flusher, so that
// Bus.Drain does not end before what was published has arrived; one that can share a pattern's
// messages among several subscribers implements GroupTransport.
//
// bustest.RunTransport checks a Transport against this contract, and the features it declares
// (bustest.Synchronous, Groups, Persistent, Redelivery) against theirs.
type Transport interface {
	Publish(ctx context.Context, m *Message) error
	Subscribe(pattern string, h MessageHandler) (Unsubscriber, error)
}

// GroupTransport is a Transport that can share messages among subscribers: the members of a
// group (subscriptions made with the same group name) receive each message of their pattern
// once between them, wherever they are — in this process or, on a distributed transport, in
// any process attached to the same backend. The Group subscribe option uses it.
//
// Contract, in addition to Transport's:
//   - SubscribeGroup MUST deliver each message matching pattern to exactly one member of group
//     that is subscribed when it is delivered (on a transport that redelivers, again to one
//     member if it is naked or its member goes away without settling it).
//   - Members of one group MUST use the same pattern: SubscribeGroup MUST refuse another with an
//     error while the group has members (a persistent transport: while it exists).
//   - A persistent transport keeps a group's position while it has no member: messages
//     published meanwhile are delivered when a member subscribes again.
type GroupTransport interface {
	Transport
	SubscribeGroup(pattern, group string, h MessageHandler) (Unsubscriber, error)
}

// Flusher is implemented by transports that hand messages to subscriptions asynchronously.
// Flush MUST return once every message published through the transport's backend before the
// call, and matching one of the transport's subscriptions, has been passed to that
// subscription's handler (or taken by another member of its group, or the subscription has
// ended), or once ctx ends, returning ctx.Err(). Bus.Drain calls it before settling.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Codec encodes payloads for a Transport.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec encodes payloads with encoding/json.
type JSONCodec struct{}

// Marshal encodes v as JSON.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// MemTransport is an in-process Transport that copies every message, so a Bus over it exercises
// exactly the encode/decode path a distributed transport would, without a network. Publish calls
// the matching handlers synchronously, which gives PolicyBlock backpressure end to end. The zero
// value is ready to use. It is a GroupTransport: members of a group take turns.
type MemTransport struct {
	mu     sync.RWMutex
	subs   map[*memSub]struct{}
	closed bool
	seq    uint64        // numbers subscriptions
	turn   atomic.Uint64 // picks group members in turn
}

type memSub struct {
	t     *MemTransport
	seq   uint64
	pat   pattern
	group string // "" for a subscription of its own
	h     MessageHandler
	mu    sync.Mutex // serialises handler calls and Unsubscribe
	gone  bool
}

var _ GroupTransport = (*MemTransport)(nil)

// Publish delivers a copy of m to every matching subscription.
func (t *MemTransport) Publish(ctx context.Context, m *Message) error {
	if err := ValidateTopic(m.Meta.Topic); err != nil {
		return err
	}
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return ErrClosed
	}
	var targets []*memSub
	var groups map[string][]*memSub
	for s := range t.subs {
		if !s.pat.match(m.Meta.Topic) {
			continue
		}
		if s.group == "" {
			targets = append(targets, s)
			continue
		}
		if groups == nil {
			groups = make(map[string][]*memSub)
		}
		groups[s.group] = append(groups[s.group], s)
	}
	t.mu.RUnlock()
	for _, members := range groups {
		// One member per group, in turn: the members sorted by when they subscribed.
		sort.Slice(members, func(i, j int) bool { return members[i].seq < members[j].seq })
		targets = append(targets, members[t.turn.Add(1)%uint64(len(members))])
	}
	// Every target is offered the message even once ctx has ended: the bus's handler then refuses
	// it at once if it would have to wait, and counts it, so nothing routed goes uncounted.
	var errs []error
	for _, s := range targets {
		cp := &Message{Meta: m.Meta, Data: append([]byte(nil), m.Data...)}
		if m.Meta.Headers != nil {
			cp.Meta.Headers = make(Headers, len(m.Meta.Headers))
			for k, v := range m.Meta.Headers {
				cp.Meta.Headers[k] = v
			}
		}
		s.mu.Lock()
		var err error
		if !s.gone {
			err = s.h(ctx, cp)
		}
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Subscribe registers h for messages whose topic matches pattern.
func (t *MemTransport) Subscribe(pat string, h MessageHandler) (Unsubscriber, error) {
	return t.subscribe(pat, "", h)
}

// SubscribeGroup registers h as a member of group: each message matching pattern goes to one
// member of the group, the members taking turns. Members of a group must use the same pattern.
func (t *MemTransport) SubscribeGroup(pat, group string, h MessageHandler) (Unsubscriber, error) {
	if group == "" {
		return nil, &OptionError{Option: "Group", Value: "", Reason: "the group name must not be empty"}
	}
	return t.subscribe(pat, group, h)
}

func (t *MemTransport) subscribe(pat, group string, h MessageHandler) (Unsubscriber, error) {
	if h == nil {
		return nil, &OptionError{Option: "handler", Reason: "must not be nil"}
	}
	p, err := parsePattern(pat)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	if t.subs == nil {
		t.subs = make(map[*memSub]struct{})
	}
	if group != "" {
		for s := range t.subs {
			if s.group == group && s.pat.raw != pat {
				return nil, &OptionError{Option: "Group", Value: group, Reason: fmt.Sprintf("the group subscribes to %q, not %q", s.pat.raw, pat)}
			}
		}
	}
	t.seq++
	s := &memSub{t: t, seq: t.seq, pat: p, group: group, h: h}
	t.subs[s] = struct{}{}
	return s, nil
}

// Close makes further Publish and Subscribe calls return ErrClosed. It is idempotent.
func (t *MemTransport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return nil
}

func (s *memSub) Unsubscribe() error {
	s.t.mu.Lock()
	delete(s.t.subs, s)
	s.t.mu.Unlock()
	s.mu.Lock()
	s.gone = true
	s.mu.Unlock()
	return nil
}

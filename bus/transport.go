package bus

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
)

// Message is a message as a Transport carries it: its metadata and its encoded payload.
type Message struct {
	Meta Meta
	Data []byte
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
// bustest.RunTransport checks a Transport against this contract.
type Transport interface {
	Publish(ctx context.Context, m *Message) error
	Subscribe(pattern string, h MessageHandler) (Unsubscriber, error)
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
// value is ready to use.
type MemTransport struct {
	mu     sync.RWMutex
	subs   map[*memSub]struct{}
	closed bool
}

type memSub struct {
	t    *MemTransport
	pat  pattern
	h    MessageHandler
	mu   sync.Mutex // serialises handler calls and Unsubscribe
	gone bool
}

var _ Transport = (*MemTransport)(nil)

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
	for s := range t.subs {
		if s.pat.match(m.Meta.Topic) {
			targets = append(targets, s)
		}
	}
	t.mu.RUnlock()
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
	s := &memSub{t: t, pat: p, h: h}
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

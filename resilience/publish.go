package resilience

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Publisher returns a listener (see [WithListener]) that publishes each event under its
// [Event.Topic] with publish, typically the event bus's:
//
//	resilience.WithListener(resilience.Publisher(func(ctx context.Context, topic string, e resilience.Event) error {
//		return bus.Publish(ctx, b, topic, e, bus.WithKey(e.Name))
//	}, 100*time.Millisecond, nil))
//
// Listeners run on the call path, so each publish gets at most timeout: a slow or full bus
// delays a call by that much at worst, and the event is dropped. Failures go to onError, if
// not nil. The package does not import the bus: the caller supplies publish.
func Publisher(publish func(ctx context.Context, topic string, e Event) error, timeout time.Duration, onError func(Event, error)) func(Event) {
	return func(e Event) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := publish(ctx, e.Topic(), e); err != nil && onError != nil {
			onError(e, err)
		}
	}
}

// eventJSON is the wire form of an Event: states and kinds by name, the error by its message.
type eventJSON struct {
	Kind    string        `json:"kind"`
	Policy  string        `json:"policy"`
	Name    string        `json:"name,omitempty"`
	Time    time.Time     `json:"time"`
	From    string        `json:"from,omitempty"`
	To      string        `json:"to,omitempty"`
	Initial bool          `json:"initial,omitempty"`
	Attempt int           `json:"attempt,omitempty"`
	Delay   time.Duration `json:"delay,omitempty"`
	Err     string        `json:"err,omitempty"`
}

// MarshalJSON encodes the event for a bus transport: kinds and states by name, the error by
// its message.
func (e Event) MarshalJSON() ([]byte, error) {
	w := eventJSON{Kind: e.Kind.String(), Policy: e.Policy, Name: e.Name, Time: e.Time,
		Initial: e.Initial, Attempt: e.Attempt, Delay: e.Delay}
	if e.Kind == EventStateChange {
		w.From, w.To = e.From.String(), e.To.String()
	}
	if e.Err != nil {
		w.Err = e.Err.Error()
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON encodes. The error comes back as an error with the
// same message, which matches no sentinel.
func (e *Event) UnmarshalJSON(data []byte) error {
	var w eventJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	var out Event
	kind, ok := lookupName(eventKindNames[1:], w.Kind)
	if !ok {
		return errUnknownName
	}
	out.Kind = EventKind(kind + 1)
	if out.Kind == EventStateChange {
		from, ok1 := lookupName(stateNames[:], w.From)
		to, ok2 := lookupName(stateNames[:], w.To)
		if !ok1 || !ok2 {
			return errUnknownName
		}
		out.From, out.To = State(from), State(to)
	}
	out.Policy, out.Name, out.Time, out.Initial, out.Attempt, out.Delay = w.Policy, w.Name, w.Time, w.Initial, w.Attempt, w.Delay
	if w.Err != "" {
		out.Err = errors.New(w.Err)
	}
	*e = out
	return nil
}

func lookupName(names []string, s string) (int, bool) {
	for i, n := range names {
		if n == s {
			return i, true
		}
	}
	return 0, false
}

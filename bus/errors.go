package bus

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrClosed is returned by Publish and Subscribe once the bus is closed or draining, and
	// matches the *PublishError of a message a subscription could not take because the bus closed.
	ErrClosed = errors.New("bus: closed")
	// ErrUnsubscribed matches the *PublishError of a message a subscription could not take because
	// it was unsubscribed while the message was on its way.
	ErrUnsubscribed = errors.New("bus: unsubscribed")
	// ErrInvalidTopic is wrapped by the *TopicError returned for a malformed topic.
	ErrInvalidTopic = errors.New("bus: invalid topic")
	// ErrInvalidPattern is wrapped by the *TopicError returned for a malformed subscription pattern.
	ErrInvalidPattern = errors.New("bus: invalid pattern")
	// ErrQueueFull is returned by Publish when a subscriber with the PolicyFail policy has a full queue.
	ErrQueueFull = errors.New("bus: subscriber queue full")
	// ErrHandlerPanic is wrapped by the *PanicError a handler's panic is turned into.
	ErrHandlerPanic = errors.New("bus: handler panicked")
	// ErrTypeMismatch is reported when a message's payload cannot be delivered as the subscriber's type.
	ErrTypeMismatch = errors.New("bus: payload type mismatch")
	// ErrInvalidOption is wrapped by the *OptionError returned for an invalid option value.
	ErrInvalidOption = errors.New("bus: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Bus or Subscription.
	ErrNotConstructed = errors.New("bus: not constructed")
)

// TopicError describes a malformed topic or pattern.
type TopicError struct {
	Topic  string
	Reason string
	err    error
}

func (e *TopicError) Error() string { return fmt.Sprintf("%v %q: %s", e.err, e.Topic, e.Reason) }

// Unwrap returns ErrInvalidTopic or ErrInvalidPattern.
func (e *TopicError) Unwrap() error { return e.err }

// OptionError names an option (or an argument, such as Subscribe's "handler") whose value New
// or Subscribe refuses; nothing is constructed or subscribed. It matches ErrInvalidOption.
type OptionError struct {
	Option string // e.g. "WithDefaultQueueSize", "QueueSize"
	Value  any    // the rejected value (nil for a nil function or interface)
	Reason string // what a valid value looks like
}

func (e *OptionError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("bus: invalid option %s: %s", e.Option, e.Reason)
	}
	return fmt.Sprintf("bus: invalid option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Bus or Subscription that can fail:
// it names the function that makes a usable one. It matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // the zero value's type, e.g. "Bus"
	Constructor string // the function that creates a usable one, e.g. "New"
}

func (e *NotConstructedError) Error() string {
	return "bus: a zero " + e.Type + " is not usable: create it with bus." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// PanicError is what a panicking handler's call turns into. The host process keeps running.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string { return fmt.Sprintf("bus: handler panicked: %v", e.Value) }

// Unwrap returns ErrHandlerPanic.
func (e *PanicError) Unwrap() error { return ErrHandlerPanic }

// DeliveryError tells which subscriber a publish could not be delivered to and why.
type DeliveryError struct {
	Subscriber string
	Topic      string
	Err        error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("bus: deliver %q to %s: %v", e.Topic, e.Subscriber, e.Err)
}

// Unwrap returns the underlying cause, such as ErrQueueFull.
func (e *DeliveryError) Unwrap() error { return e.Err }

// PublishError is what Publish returns when a message it published was not taken by every
// subscription it was routed to. The message was published all the same: it has an ID, it counts
// in Stats, and every subscription not named in Errs took it. See Publish.
type PublishError struct {
	Topic string
	ID    ID      // the message's ID
	Errs  []error // why it was not taken: one *DeliveryError per subscription, or a transport's error
}

func (e *PublishError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bus: publish %q (%s):", e.Topic, e.ID)
	for i, err := range e.Errs {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteByte(' ')
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns Errs, so errors.Is and errors.As see every cause.
func (e *PublishError) Unwrap() []error { return e.Errs }

package natsbus

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidOption is wrapped by the *OptionError New returns for an invalid option.
	ErrInvalidOption = errors.New("natsbus: invalid option")
	// ErrMalformed is wrapped by the errors of messages that are not a bus envelope: a subject
	// that no topic maps to, a malformed header. Such messages are terminated (never
	// redelivered) and logged.
	ErrMalformed = errors.New("natsbus: malformed message")
	// ErrGroupPattern is returned by SubscribeGroup for a group that exists with another
	// pattern.
	ErrGroupPattern = errors.New("natsbus: group exists with another pattern")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Transport.
	ErrNotConstructed = errors.New("natsbus: not constructed")
)

// OptionError names an option (or New's argument "js") whose value New refuses; nothing is
// constructed. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("natsbus: invalid option %s(%v): %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Transport: it names the constructor.
// It matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "Transport"
	Constructor string // "New"
}

func (e *NotConstructedError) Error() string {
	return "natsbus: a zero " + e.Type + " is not usable: create it with natsbus." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

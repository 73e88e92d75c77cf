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
)

// OptionError names an option whose value New refuses.
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

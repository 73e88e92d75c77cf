package bridge

import (
	"errors"
	"fmt"
)

// Errors of the package.
var (
	// ErrInvalidOption: an option has a value the constructor refuses (see *OptionError).
	ErrInvalidOption = errors.New("bridge: invalid option")
	// ErrNoGrant: the client has no grant to act in another tenant.
	ErrNoGrant = errors.New("bridge: no permission grant for the tenant")
	// ErrNotFound: the record does not exist (or is deleted).
	ErrNotFound = errors.New("bridge: record not found")
)

// OptionError names the option a constructor refused. It matches [ErrInvalidOption].
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("bridge: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns [ErrInvalidOption].
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

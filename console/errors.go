package console

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidOption is wrapped by the *OptionError of an option New refuses.
	ErrInvalidOption = errors.New("console: invalid option")
	// ErrUnauthenticated is what an Authorizer's error wraps when the request carries no valid
	// credentials: the console answers 401 (with the *UnauthenticatedError's challenge, if any).
	// Any other error of an Authorizer is a refusal: 403.
	ErrUnauthenticated = errors.New("console: unauthenticated")
	// ErrForbidden is the refusal of a request an Authorizer did not allow, of a write when
	// writes are not enabled (WithWrites), and of a write without the console's CSRF token.
	ErrForbidden = errors.New("console: forbidden")
	// ErrClosed is the answer to requests after Close.
	ErrClosed = errors.New("console: closed")
)

// OptionError names an option New refuses, with its value and why.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("console: invalid option %s (%v): %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// UnauthenticatedError is an Authorizer's answer to a request without valid credentials.
// Challenge, if set, is sent as the WWW-Authenticate header of the 401 (for instance
// `Basic realm="anya console"`, which makes a browser ask for a user and password).
type UnauthenticatedError struct {
	Challenge string
}

func (e *UnauthenticatedError) Error() string { return ErrUnauthenticated.Error() }

// Unwrap returns ErrUnauthenticated.
func (e *UnauthenticatedError) Unwrap() error { return ErrUnauthenticated }

package anya

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by every method of a Manager after Close.
	ErrClosed = errors.New("anya: closed")
	// ErrInvalidOption is wrapped by the *OptionError of an invalid option value.
	ErrInvalidOption = errors.New("anya: invalid option")
	// ErrInvalidOp is wrapped by the *OpError of an operation with a missing or malformed field.
	ErrInvalidOp = errors.New("anya: invalid operation")
	// ErrUnknownIdentity is returned for a DID the Manager has not registered (AddIdentity).
	ErrUnknownIdentity = errors.New("anya: unknown identity")
	// ErrNoKey is returned when a payment or a proof needs a Bitcoin key the Manager does not hold.
	ErrNoKey = errors.New("anya: no key for address")
	// ErrChallenge is returned for an address-link challenge the Manager did not issue, that
	// names another DID or address, or that has expired.
	ErrChallenge = errors.New("anya: invalid challenge")
	// ErrProof is returned when a BIP-322 signature does not prove control of the address.
	ErrProof = errors.New("anya: address ownership not proven")
	// ErrPrincipal is returned when the security context's principal is not the DID acting.
	ErrPrincipal = errors.New("anya: principal mismatch")
	// ErrPaymentFailed is wrapped by the error of a verified payment whose workflow run failed.
	ErrPaymentFailed = errors.New("anya: payment failed")
	// ErrNoKeyStore is returned by NewIdentity on a Manager with a data directory and no key
	// store: its identities would not survive a restart (see WithEphemeralKeys).
	ErrNoKeyStore = errors.New("anya: no key store: give WithPassphrase, WithKEK or WithKeyStore to keep identities, or WithEphemeralKeys to lose them at Close")
)

// OptionError names an option whose value is out of range.
type OptionError struct {
	Option string
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("anya: invalid option %s: %s", e.Option, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// OpError names the field of an operation that is missing or malformed.
type OpError struct {
	Op     string // the operation's type: "BitcoinToWeb5", "TriProtocol", ...
	Field  string
	Reason string
	Err    error // the underlying parse error, if any
}

func (e *OpError) Error() string {
	s := fmt.Sprintf("anya: %s.%s: %s", e.Op, e.Field, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrInvalidOp and the underlying error.
func (e *OpError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidOp, e.Err}
	}
	return []error{ErrInvalidOp}
}

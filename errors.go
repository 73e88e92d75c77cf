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
	// ErrNotConstructed is wrapped by the *NotConstructedError every method of a Manager that New
	// did not create returns (the zero Manager, a nil *Manager).
	ErrNotConstructed = errors.New("anya: not constructed")
	// ErrNotEmbedded is returned by Fund and EmbeddedChain on a Manager whose chain is not a
	// simchain (WithChain gave an rpcchain node, for instance): coins there come from mining.
	ErrNotEmbedded = errors.New("anya: not on the embedded chain")
	// ErrUnavailable is wrapped by the *UnavailableError of a call to a dependency (the chain,
	// DID resolution, the records store, a model) that failed or whose circuit breaker is open.
	ErrUnavailable = errors.New("anya: dependency unavailable")

	// errPaymentNotStored is the error of a state move of a payment the state does not hold.
	errPaymentNotStored = errors.New("anya: payment not stored")
)

// OptionError names an option whose value New refuses. New validates its whole configuration
// once, after applying the options, and returns the first invalid one.
type OptionError struct {
	Option string // the option, e.g. "WithFeeRate"
	Value  any    // the value refused; the length of a secret, never the secret
	Reason string // what a valid value looks like
}

func (e *OptionError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("anya: invalid option %s: %s", e.Option, e.Reason)
	}
	return fmt.Sprintf("anya: invalid option %s = %v: %s", e.Option, e.Value, e.Reason)
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

// NotConstructedError is returned by every method of a Manager that New did not create — the
// zero Manager or a nil *Manager — that returns an error; the others return their zero value.
// It names the constructor, and matches ErrNotConstructed with errors.Is.
type NotConstructedError struct {
	Type        string // "Manager"
	Constructor string // "New"
}

func (e *NotConstructedError) Error() string {
	return "anya: a zero " + e.Type + " is not usable: create it with anya." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// notConstructed is the error of a Manager New did not create.
func notConstructed() error { return &NotConstructedError{Type: "Manager", Constructor: "New"} }

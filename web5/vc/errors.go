package vc

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidCredential reports a credential or presentation that breaks its data model.
	ErrInvalidCredential = errors.New("vc: invalid credential")
	// ErrInvalidToken reports a VC-JWT or VP-JWT whose JOSE form is wrong (typ, claims, ...).
	ErrInvalidToken = errors.New("vc: invalid token")
	// ErrNotYetValid reports a credential used before its issuanceDate, validFrom or nbf.
	ErrNotYetValid = errors.New("vc: not yet valid")
	// ErrExpired reports a credential used after its expirationDate, validUntil or exp.
	ErrExpired = errors.New("vc: expired")
	// ErrRevoked reports a credential its status list marks as revoked.
	ErrRevoked = errors.New("vc: revoked")
	// ErrSuspended reports a credential its status list marks as suspended.
	ErrSuspended = errors.New("vc: suspended")
	// ErrStatus reports a status check that could not be completed.
	ErrStatus = errors.New("vc: status check failed")
	// ErrSchema reports a credential that fails its credentialSchema.
	ErrSchema = errors.New("vc: schema check failed")
	// ErrInvalidOption is wrapped by the *OptionError of an invalid option or constructor
	// argument.
	ErrInvalidOption = errors.New("vc: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Verifier.
	ErrNotConstructed = errors.New("vc: not constructed")
)

// OptionError reports an invalid option or constructor argument (Option names it: "WithLeeway",
// "r"), found before anything is done. It matches ErrInvalidOption, and unwraps to the
// cause, if any (a netguard.OptionError for HTTPStatusLists and HTTPSchemas).
type OptionError struct {
	Option string
	Value  any // the rejected value
	Reason string
	Err    error // the cause, may be nil
}

func (e *OptionError) Error() string {
	s := fmt.Sprintf("%v: %s", ErrInvalidOption, e.Option)
	if e.Value != nil {
		s += fmt.Sprintf("(%v)", e.Value)
	}
	return s + ": " + e.Reason
}

// Unwrap returns ErrInvalidOption and the cause.
func (e *OptionError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidOption}
	}
	return []error{ErrInvalidOption, e.Err}
}

// NotConstructedError is returned by the methods of a zero Verifier: it names the
// constructor. It matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "vc.Verifier"
	Constructor string // "vc.NewVerifier"
}

func (e *NotConstructedError) Error() string {
	return fmt.Sprintf("%v: a zero %s is not usable: create it with %s", ErrNotConstructed, e.Type, e.Constructor)
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// ValidationError reports a data-model violation. Field names the property at fault.
// It matches ErrInvalidCredential.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("vc: invalid credential: %s: %s", e.Field, e.Reason)
}

// Is matches ErrInvalidCredential.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidCredential }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// TokenError reports a VC-JWT problem. Part names the header parameter or claim at fault.
// It matches ErrInvalidToken and unwraps to its cause.
type TokenError struct {
	Part   string
	Reason string
	Err    error
}

func (e *TokenError) Error() string {
	s := fmt.Sprintf("vc: invalid token: %s: %s", e.Part, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrInvalidToken.
func (e *TokenError) Is(target error) bool { return target == ErrInvalidToken }

func (e *TokenError) Unwrap() error { return e.Err }

// StatusError reports the outcome of a status check that found the credential revoked or
// suspended (matching ErrRevoked or ErrSuspended), or that failed (matching ErrStatus).
type StatusError struct {
	Purpose string // revocation, suspension, ...
	Index   int
	List    string // the status list credential URL
	Err     error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%v: %s entry %d of %s", e.Err, e.Purpose, e.Index, e.List)
}

func (e *StatusError) Unwrap() error { return e.Err }

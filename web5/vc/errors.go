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
	// ErrInvalidConfig reports an invalid constructor argument or option.
	ErrInvalidConfig = errors.New("vc: invalid configuration")
)

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

package did

import (
	"errors"
	"fmt"
)

// DID resolution error codes (the error property of DID resolution metadata).
const (
	CodeInvalidDID                 = "invalidDid"
	CodeInvalidDIDURL              = "invalidDidUrl"
	CodeNotFound                   = "notFound"
	CodeMethodNotSupported         = "methodNotSupported"
	CodeRepresentationNotSupported = "representationNotSupported"
	CodeInvalidPublicKey           = "invalidPublicKey"
	CodeInternalError              = "internalError"
)

var (
	// ErrInvalidDID reports a string that is not a DID (or not a valid DID of its method).
	ErrInvalidDID = errors.New("did: invalidDid")
	// ErrInvalidDIDURL reports a malformed DID URL.
	ErrInvalidDIDURL = errors.New("did: invalidDidUrl")
	// ErrNotFound reports a DID, or a part of a DID document, that does not exist.
	ErrNotFound = errors.New("did: notFound")
	// ErrMethodNotSupported reports a DID whose method the resolver was not given.
	ErrMethodNotSupported = errors.New("did: methodNotSupported")
	// ErrRepresentationNotSupported reports a requested representation the resolver cannot produce.
	ErrRepresentationNotSupported = errors.New("did: representationNotSupported")
	// ErrInvalidPublicKey reports a DID whose embedded public key is invalid.
	ErrInvalidPublicKey = errors.New("did: invalidPublicKey")
	// ErrInternal reports any other resolution failure (a network error, a bad response, ...).
	ErrInternal = errors.New("did: internalError")
	// ErrInvalidDocument reports a DID document that breaks the data model.
	ErrInvalidDocument = errors.New("did: invalid document")
	// ErrNotAuthorized reports a verification method not listed under the verification
	// relationship an operation needs, or a kid outside the issuer's DID.
	ErrNotAuthorized = errors.New("did: verification method not authorized")
	// ErrInvalidPortableDID reports a portable DID that is missing parts or inconsistent.
	ErrInvalidPortableDID = errors.New("did: invalid portable DID")
	// ErrNoSigningKey reports a bearer DID with no key to sign for the requested purpose.
	ErrNoSigningKey = errors.New("did: no signing key")
	// ErrInvalidOption is wrapped by the *OptionError of an invalid option or constructor
	// argument.
	ErrInvalidOption = errors.New("did: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError a zero value returns when it
	// needs its constructor.
	ErrNotConstructed = errors.New("did: not constructed")
)

var codeErrors = map[string]error{
	CodeInvalidDID:                 ErrInvalidDID,
	CodeInvalidDIDURL:              ErrInvalidDIDURL,
	CodeNotFound:                   ErrNotFound,
	CodeMethodNotSupported:         ErrMethodNotSupported,
	CodeRepresentationNotSupported: ErrRepresentationNotSupported,
	CodeInvalidPublicKey:           ErrInvalidPublicKey,
	CodeInternalError:              ErrInternal,
}

// ResolutionError is a failed DID resolution or dereferencing. It matches the sentinel of
// its Code with errors.Is (ErrNotFound for "notFound", ...) and unwraps to its cause.
type ResolutionError struct {
	Code string // one of the Code constants
	DID  string // the DID or DID URL that failed
	Err  error  // the cause, may be nil
}

// NewError returns a ResolutionError. Method resolvers use it to report failures.
func NewError(code, did string, cause error) *ResolutionError {
	return &ResolutionError{Code: code, DID: did, Err: cause}
}

func (e *ResolutionError) Error() string {
	s := "did: " + e.Code + ": " + clip(e.DID)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches the sentinel error of the code.
func (e *ResolutionError) Is(target error) bool {
	s, ok := codeErrors[e.Code]
	return ok && s == target
}

func (e *ResolutionError) Unwrap() error { return e.Err }

// codeOf returns the resolution error code err carries, or internalError.
func codeOf(err error) string {
	var re *ResolutionError
	if errors.As(err, &re) {
		return re.Code
	}
	for code, s := range codeErrors {
		if errors.Is(err, s) {
			return code
		}
	}
	return CodeInternalError
}

// ParseError reports a malformed DID or DID URL. It matches ErrInvalidDID.
type ParseError struct {
	Input  string // the input, clipped to 40 bytes
	Reason string
}

func (e *ParseError) Error() string { return fmt.Sprintf("did: invalid DID %q: %s", e.Input, e.Reason) }

// Is matches ErrInvalidDID.
func (e *ParseError) Is(target error) bool { return target == ErrInvalidDID }

func parseErr(input, reason string) error { return &ParseError{Input: clip(input), Reason: reason} }

// DocumentError reports a DID document that breaks the data model. Field names the
// property at fault. It matches ErrInvalidDocument.
type DocumentError struct {
	Field  string
	Reason string
}

func (e *DocumentError) Error() string {
	return fmt.Sprintf("did: invalid document: %s: %s", e.Field, e.Reason)
}

// Is matches ErrInvalidDocument.
func (e *DocumentError) Is(target error) bool { return target == ErrInvalidDocument }

func docErr(field, reason string) error { return &DocumentError{Field: field, Reason: reason} }

// OptionError reports an invalid option or constructor argument of this package or of a
// method package (didweb, diddht, ...), found at construction; nothing is constructed. Option
// names the option ("WithCacheSize") or the argument ("km"). It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any // the rejected value
	Reason string
}

func (e *OptionError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("%v: %s: %s", ErrInvalidOption, e.Option, e.Reason)
	}
	return fmt.Sprintf("%v: %s(%v): %s", ErrInvalidOption, e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero value that needs its constructor
// (a zero Resolver or BearerDID, a zero didweb.Resolver or diddht.Client, ...). It names the
// type and the constructor. It matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // e.g. "did.Resolver"
	Constructor string // e.g. "did.NewResolver"
}

func (e *NotConstructedError) Error() string {
	return fmt.Sprintf("%v: a zero %s is not usable: create it with %s", ErrNotConstructed, e.Type, e.Constructor)
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

package jose

import (
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

var (
	// ErrInvalidKey reports a JWK that is malformed, on no supported curve, or whose
	// private and public members do not belong together.
	ErrInvalidKey = errors.New("jose: invalid key")
	// ErrUnsupportedKey reports a well-formed key of a type this package does not handle.
	ErrUnsupportedKey = errors.New("jose: unsupported key type")
	// ErrUnsupportedAlgorithm reports an algorithm that is not EdDSA, Ed25519, ES256K, ES256,
	// ES384 or ES512, including "none" and every HMAC and RSA algorithm.
	ErrUnsupportedAlgorithm = errors.New("jose: unsupported algorithm")
	// ErrAlgorithmMismatch reports an algorithm that does not fit the key it is used with.
	ErrAlgorithmMismatch = errors.New("jose: algorithm does not match key")
	// ErrInvalidSignature reports a signature that does not verify.
	ErrInvalidSignature = errors.New("jose: invalid signature")
	// ErrPrivateKeyExpected reports a public key given where a private key is needed.
	ErrPrivateKeyExpected = errors.New("jose: private key expected")
	// ErrPublicKeyExpected reports a private key given where only a public key belongs.
	ErrPublicKeyExpected = errors.New("jose: public key expected, got private key")
	// ErrMalformed reports a JWS or JWT that cannot be parsed.
	ErrMalformed = errors.New("jose: malformed token")
	// ErrKeyNotFound reports a key ID a key manager does not hold.
	ErrKeyNotFound = errors.New("jose: key not found")
	// ErrTokenExpired reports a JWT whose exp is in the past.
	ErrTokenExpired = errors.New("jose: token expired")
	// ErrTokenNotYetValid reports a JWT whose nbf is in the future.
	ErrTokenNotYetValid = errors.New("jose: token not yet valid")
	// ErrTokenIssuedInFuture reports a JWT whose iat is in the future.
	ErrTokenIssuedInFuture = errors.New("jose: token issued in the future")
	// ErrInvalidClaim reports a JWT claim with the wrong type or an unexpected value.
	ErrInvalidClaim = errors.New("jose: invalid claim")
	// ErrDuplicateMember reports a JSON object the package reads (a protected header, a
	// claim set, a JWK) that repeats a member name, or holds two names equal under Unicode
	// case folding ("kid" and "KID", "Kid" or "\u212Aid" with the Kelvin sign). Readers
	// differ on which one counts, so such an object is refused (RFC 7515 §5.2 allows it).
	ErrDuplicateMember = errors.New("jose: duplicate member")
	// ErrInvalidOption is wrapped by the *OptionError of an option whose value cannot be
	// used.
	ErrInvalidOption = errors.New("jose: invalid option")
	// ErrHighS reports an ES256K signature whose S is in the upper half of the group order:
	// the malleable twin of a low-S signature, refused as Bitcoin refuses it.
	ErrHighS = errors.New("jose: high-S signature")
)

// KeyError is returned for a key that fails validation. Field names the JWK member at fault
// ("kty", "crv", "x", "y", "d", ...).
type KeyError struct {
	Field  string
	Reason string
	Err    error // ErrInvalidKey or ErrUnsupportedKey
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Reason)
}

func (e *KeyError) Unwrap() error { return e.Err }

func keyErr(field, reason string) error {
	return &KeyError{Field: field, Reason: reason, Err: ErrInvalidKey}
}

// TokenError is returned for a JWS or JWT that is malformed. Part names the piece at fault
// ("header", "payload", "signature", "alg", "typ", a claim name, ...).
type TokenError struct {
	Part   string
	Reason string
	Err    error // ErrMalformed, ErrInvalidClaim or another sentinel of this package
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Part, e.Reason)
}

func (e *TokenError) Unwrap() error { return e.Err }

func malformed(part, reason string) error {
	return &TokenError{Part: part, Reason: reason, Err: ErrMalformed}
}

// DuplicateMemberError reports a member name that repeats an earlier one in a JSON object,
// exactly or under Unicode case folding. Object names the object ("header", "claims",
// "jwk"); Name is the repeated name and Previous the earlier one. It matches
// ErrDuplicateMember and ErrMalformed.
type DuplicateMemberError struct {
	Object   string
	Name     string
	Previous string
}

func (e *DuplicateMemberError) Error() string {
	if e.Name == e.Previous {
		return fmt.Sprintf("%v in %s: %q appears twice", ErrDuplicateMember, e.Object, e.Name)
	}
	return fmt.Sprintf("%v in %s: %q and %q differ only in case", ErrDuplicateMember, e.Object, e.Previous, e.Name)
}

// Unwrap returns ErrDuplicateMember and ErrMalformed.
func (e *DuplicateMemberError) Unwrap() []error { return []error{ErrDuplicateMember, ErrMalformed} }

// SignatureError reports a signature refused for its form: it matches its cause (ErrHighS)
// and ErrInvalidSignature.
type SignatureError struct {
	Algorithm string
	Reason    string
	Err       error
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Algorithm, e.Reason)
}

// Unwrap returns the cause and ErrInvalidSignature.
func (e *SignatureError) Unwrap() []error { return []error{e.Err, ErrInvalidSignature} }

// jsonErr converts an error of the package's JSON reader for object: a repeated member
// becomes a *DuplicateMemberError, anything else a *TokenError wrapping sentinel.
func jsonErr(object string, err error, sentinel error) error {
	var de *fastjson.DuplicateKeyError
	if errors.As(err, &de) {
		return &DuplicateMemberError{Object: object, Name: de.Name, Previous: de.Previous}
	}
	return &TokenError{Part: object, Reason: err.Error(), Err: sentinel}
}

// OptionError reports an option whose value cannot be used (a nil clock, a negative leeway,
// a reserved header name, ...), found when the call that takes it starts; nothing is done.
// It matches ErrInvalidOption.
type OptionError struct {
	Option string // the option, e.g. "WithLeeway"
	Value  any    // the rejected value
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("%v: %s(%v): %s", ErrInvalidOption, e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

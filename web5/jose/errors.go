package jose

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidKey reports a JWK that is malformed, on no supported curve, or whose
	// private and public members do not belong together.
	ErrInvalidKey = errors.New("jose: invalid key")
	// ErrUnsupportedKey reports a well-formed key of a type this package does not handle.
	ErrUnsupportedKey = errors.New("jose: unsupported key type")
	// ErrUnsupportedAlgorithm reports an algorithm that is not EdDSA, Ed25519, ES256K or
	// ES256, including "none" and every HMAC algorithm.
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

// Package didjwk implements the did:jwk method: a DID that is a base64url-encoded public
// JWK. Resolution is a pure function of the DID.
//
// # Documents
//
// One verification method, "#0", of type JsonWebKey. Following the did:jwk specification,
// a key with use "sig" is listed under authentication, assertionMethod,
// capabilityInvocation and capabilityDelegation; use "enc" (and every X25519 key) under
// keyAgreement only; a key without use under all five.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The package has no options: New takes none, and the zero Resolver is ready to use.
package didjwk

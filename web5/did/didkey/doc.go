// Package didkey implements the did:key method (the did:key Method v0.7): a DID that is a
// public key, multibase (base58btc) and multicodec encoded. Every key type of the
// specification that package jose supports is supported, for creation and resolution:
// Ed25519, X25519, secp256k1, P-256, P-384 and P-521 (EC keys compressed: 33, 33, 49 and
// 67 bytes).
//
// # Documents
//
// Resolution is a pure function of the DID, the specification's Document Creation
// Algorithm ([Expand]): verification methods of type JsonWebKey whose IDs are the DID
// followed by "#" and the multibase key. A signing key is listed under authentication,
// assertionMethod, capabilityInvocation and capabilityDelegation. With the specification's
// enableEncryptionKeyDerivation option ([WithEncryptionKeyDerivation], on by default, as
// in the specification's examples and test vectors), an Ed25519 key adds the X25519 key
// derived from it under keyAgreement, and an EC key is listed under keyAgreement itself. An
// X25519 key is listed under keyAgreement only. An EC key that is not a point of its curve,
// and an Ed25519 key that is not canonically encoded or is the identity point, are refused
// with invalidPublicKey (an Ed25519 key whose 32 bytes are no curve point is refused by
// crypto/ed25519 when a signature is verified with it). The specification's test vectors
// are in testdata/did-method-key.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The one option, WithEncryptionKeyDerivation, cannot be invalid: New returns no error. The
// zero Resolver is ready to use and resolves with the defaults.
package didkey

// Package jose holds the JSON Object Signing and Encryption pieces the Web5 layer stands on:
// JSON Web Keys, a key manager, compact JSON Web Signatures and JSON Web Tokens.
//
// # Keys
//
// A [JWK] is a public or private key in RFC 7517 form. Six curves are supported:
// Ed25519 (signing, alg EdDSA or the fully-specified Ed25519), secp256k1 (ES256K, signatures
// produced and accepted in low-S form only), P-256 (ES256), P-384 (ES384), P-521 (ES512)
// and X25519 (key agreement only). EC coordinates and private scalars must have exactly the
// size of the curve's field (32, 48 or 66 bytes; RFC 7518 §6.2.1.2), and points must lie on
// the curve.
// [JWK.Thumbprint] computes the RFC 7638 thumbprint. A JWK never prints or logs its private
// member: String, GoString and LogValue redact it.
//
// A [KeyManager] generates and holds private keys and signs with them; the default
// [MemoryKeyManager] keeps them in memory. Hosts plug a KMS or HSM by implementing the
// three-method interface. Private keys leave a key manager only through [KeyExporter], which
// callers must ask for explicitly.
//
// # Signatures
//
// [SignJWS] produces a compact JWS (optionally with a detached payload) with any [Signer];
// [ParseJWS] parses one and [JWS.Verify] checks it against a public key. Verification always
// checks the header's alg against the key type: "none", HMAC algorithms and any algorithm
// that does not match the key are rejected before a signature is looked at.
//
// # One reading of signed JSON
//
// A protected header, a claim set and a JWK are read once, by the package's strict JSON
// reader, and the values that verify are the values callers get: a member name that
// repeats, exactly or under Unicode case folding ("kid" beside "KID", "Kid" or "Kid"
// with the Kelvin sign), is refused with a *[DuplicateMemberError] (matching
// [ErrDuplicateMember]), because encoding/json and other readers would each pick a
// different one. Signing refuses to produce such objects. [JWT.DecodeClaims], which uses
// encoding/json, refuses names that would land in a struct field they match only by case.
//
// # Signature malleability
//
// ECDSA signatures come in pairs: (r, s) and (r, n−s) verify alike. ES256K verification
// accepts only the low-S member of the pair and refuses the other with a *[SignatureError]
// matching [ErrHighS], as Bitcoin does, so a secp256k1-signed token has exactly one valid
// signature. ES256, ES384 and ES512 (P-256, P-384, P-521) verification accepts both: RFC
// 7518 defines no canonical form, and WebCrypto, Go's crypto/ecdsa and most JOSE libraries
// produce high-S signatures half of the time, so refusing them would reject valid tokens of
// other implementations at random. The package's own signers emit low-S on every ECDSA
// curve, and the SDK never uses the
// bytes of a signature as the identity of what was signed (the records store recognises a
// message it has already processed by its signed content, not by its signature); code
// that does must canonicalise these signatures first. Ed25519 verification (crypto/ed25519)
// already refuses non-canonical signatures.
//
// # Tokens
//
// [SignJWT] and [ParseJWT] add RFC 7519 claims on top of JWS. [Claims.Validate] checks exp,
// nbf and iat against a clock with a leeway, aud (a string or a list), iss and sub.
// Binding a token's kid to a decentralized identifier is done by package did, which resolves
// the key; this package only needs the key.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The package has no constructors with options: its options are per call — ParseOption,
// SignOption, ValidateOption — and have the same shape; a value they cannot use (a nil clock,
// a negative leeway, a reserved header name) is an *OptionError from the call, which does
// nothing else. Time comes from WithClock(func() time.Time) per Claims.Validate call. The zero
// MemoryKeyManager is ready to use.
package jose

// Package jose holds the JSON Object Signing and Encryption pieces the Web5 layer stands on:
// JSON Web Keys, a key manager, compact JSON Web Signatures and JSON Web Tokens.
//
// # Keys
//
// A [JWK] is a public or private key in RFC 7517 form. Four curves are supported:
// Ed25519 (signing, alg EdDSA or the fully-specified Ed25519), secp256k1 (ES256K, signatures
// always produced in low-S form), P-256 (ES256) and X25519 (key agreement only).
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
// # Tokens
//
// [SignJWT] and [ParseJWT] add RFC 7519 claims on top of JWS. [Claims.Validate] checks exp,
// nbf and iat against a clock with a leeway, aud (a string or a list), iss and sub.
// Binding a token's kid to a decentralized identifier is done by package did, which resolves
// the key; this package only needs the key.
package jose

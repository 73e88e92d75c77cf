// Package didkey implements the did:key method: a DID that is a public key, multibase
// (base58btc) and multicodec encoded. Ed25519, secp256k1 (compressed), P-256 (compressed)
// and X25519 keys are supported, for creation and resolution.
//
// # Documents
//
// Resolution is a pure function of the DID: one verification method of type JsonWebKey
// whose ID is the DID followed by "#" and the multibase key. Signing keys are listed under
// authentication, assertionMethod, capabilityInvocation and capabilityDelegation; an X25519
// key under keyAgreement only.
package didkey

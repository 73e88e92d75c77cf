// Package didjwk implements the did:jwk method: a DID that is a base64url-encoded public
// JWK. Resolution is a pure function of the DID.
//
// # Documents
//
// One verification method, "#0", of type JsonWebKey. Following the did:jwk specification,
// a key with use "sig" is listed under authentication, assertionMethod,
// capabilityInvocation and capabilityDelegation; use "enc" (and every X25519 key) under
// keyAgreement only; a key without use under all five.
package didjwk

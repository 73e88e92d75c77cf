// Package multikey encodes and decodes public keys in Multikey form: a multicodec-prefixed
// raw key, multibase base58btc encoded ('z' prefix), as did:key and the Multikey
// verification method type use it.
package multikey

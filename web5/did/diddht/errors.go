package diddht

import "errors"

var (
	// ErrInvalidPacket reports a DNS packet that is not a valid did:dht document.
	ErrInvalidPacket = errors.New("diddht: invalid DNS packet")
	// ErrInvalidMessage reports a BEP44 message that is malformed.
	ErrInvalidMessage = errors.New("diddht: invalid BEP44 message")
	// ErrInvalidSignature reports a BEP44 signature that does not verify with the identity key.
	ErrInvalidSignature = errors.New("diddht: invalid BEP44 signature")
	// ErrTooLarge reports a DNS packet over the 1000 bytes BEP44 allows.
	ErrTooLarge = errors.New("diddht: DNS packet larger than 1000 bytes")
	// ErrConflict reports a publication the gateway refused because it holds a newer
	// (or an equal and lexicographically greater) version.
	ErrConflict = errors.New("diddht: a newer version is published")
	// ErrUnsupported reports a document the DNS representation cannot express.
	ErrUnsupported = errors.New("diddht: not representable")
)

package diddht

import (
	"crypto/ed25519"
	"encoding/base32"
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/web5/did"
)

const zbase32Alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"

var zb32 = base32.NewEncoding(zbase32Alphabet).WithPadding(base32.NoPadding)

// SuffixLength is the length of a did:dht method-specific id.
const SuffixLength = 52

// Suffix returns the z-base-32 id of an Ed25519 identity key.
func Suffix(identity ed25519.PublicKey) string { return zb32.EncodeToString(identity) }

// IdentityKey decodes the identity key of a did:dht. The suffix must be the canonical
// z-base-32 encoding of 32 bytes.
func IdentityKey(d did.DID) (ed25519.PublicKey, error) {
	if d.Method != Method {
		return nil, did.NewError(did.CodeMethodNotSupported, d.String(), errors.New("not a did:dht"))
	}
	key, err := decodeSuffix(d.ID)
	if err != nil {
		return nil, did.NewError(did.CodeInvalidPublicKey, d.String(), err)
	}
	return key, nil
}

func decodeSuffix(s string) (ed25519.PublicKey, error) {
	if len(s) != SuffixLength {
		return nil, fmt.Errorf("suffix is %d characters, want %d", len(s), SuffixLength)
	}
	b, err := zb32.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("suffix is not z-base-32: %w", err)
	}
	if len(b) != ed25519.PublicKeySize || zb32.EncodeToString(b) != s {
		return nil, errors.New("suffix is not the canonical encoding of a 32-byte key")
	}
	return ed25519.PublicKey(b), nil
}

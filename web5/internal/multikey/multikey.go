package multikey

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/multiformats/go-varint"

	"github.com/anya-org/anya-go/web5/jose"
)

// Multicodec codes of the supported public keys.
const (
	CodeEd25519   = 0xed
	CodeX25519    = 0xec
	CodeSecp256k1 = 0xe7
	CodeP256      = 0x1200
	CodeP384      = 0x1201
	CodeP521      = 0x1202
)

// ErrInvalid reports a string that is not a Multikey this package understands.
var ErrInvalid = errors.New("multikey: invalid")

const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var inAlphabet = func() (t [256]bool) {
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = true
	}
	return t
}()

// Decode parses a 'z'-prefixed multibase Multikey into its curve and raw public key
// (32 bytes for Ed25519 and X25519, a compressed point for secp256k1 and P-256 (33 bytes),
// P-384 (49 bytes) and P-521 (67 bytes)).
func Decode(s string) (jose.Curve, []byte, error) {
	if len(s) < 2 || s[0] != 'z' {
		return "", nil, fmt.Errorf("%w: not base58btc multibase", ErrInvalid)
	}
	if len(s) > 128 {
		return "", nil, fmt.Errorf("%w: too long", ErrInvalid)
	}
	for i := 1; i < len(s); i++ {
		if !inAlphabet[s[i]] {
			return "", nil, fmt.Errorf("%w: %q is not a base58 character", ErrInvalid, s[i])
		}
	}
	b := base58.Decode(s[1:])
	code, n, err := varint.FromUvarint(b)
	if err != nil {
		return "", nil, fmt.Errorf("%w: multicodec prefix: %v", ErrInvalid, err)
	}
	raw := b[n:]
	var c jose.Curve
	var want int
	switch code {
	case CodeEd25519:
		c, want = jose.Ed25519, 32
	case CodeX25519:
		c, want = jose.X25519, 32
	case CodeSecp256k1:
		c, want = jose.Secp256k1, 33
	case CodeP256:
		c, want = jose.P256, 33
	case CodeP384:
		c, want = jose.P384, 49
	case CodeP521:
		c, want = jose.P521, 67
	default:
		return "", nil, fmt.Errorf("%w: multicodec 0x%x is not a supported public key", ErrInvalid, code)
	}
	if len(raw) != want {
		return "", nil, fmt.Errorf("%w: %s key is %d bytes, want %d", ErrInvalid, c, len(raw), want)
	}
	return c, raw, nil
}

// Encode returns the 'z'-prefixed Multikey of a raw public key on curve c.
func Encode(c jose.Curve, raw []byte) (string, error) {
	var code uint64
	switch c {
	case jose.Ed25519:
		code = CodeEd25519
	case jose.X25519:
		code = CodeX25519
	case jose.Secp256k1:
		code = CodeSecp256k1
	case jose.P256:
		code = CodeP256
	case jose.P384:
		code = CodeP384
	case jose.P521:
		code = CodeP521
	default:
		return "", fmt.Errorf("%w: curve %q", ErrInvalid, c)
	}
	buf := make([]byte, 0, varint.UvarintSize(code)+len(raw))
	buf = append(buf, varint.ToUvarint(code)...)
	buf = append(buf, raw...)
	return "z" + base58.Encode(buf), nil
}

// JWK decodes a Multikey into a validated public JWK.
func JWK(s string) (jose.JWK, error) {
	c, raw, err := Decode(s)
	if err != nil {
		return jose.JWK{}, err
	}
	k, err := jose.PublicJWK(c, raw)
	if err != nil {
		return jose.JWK{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return k, nil
}

// FromJWK returns the Multikey of a public JWK.
func FromJWK(k jose.JWK) (string, error) {
	raw, err := k.PublicKeyBytes()
	if err != nil {
		return "", err
	}
	return Encode(k.Curve, raw)
}

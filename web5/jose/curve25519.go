package jose

import (
	"math/big"
	"slices"
)

// Field arithmetic of Curve25519 (p = 2^255 - 19) for reading Ed25519 public keys. Public
// keys are public, so math/big's variable time is no concern here.
var (
	p25519 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// d25519 is the Edwards curve constant -121665/121666 mod p.
	d25519 = func() *big.Int {
		inv := new(big.Int).ModInverse(big.NewInt(121666), p25519)
		d := new(big.Int).Mul(big.NewInt(-121665), inv)
		return d.Mod(d, p25519)
	}()
	// legendreExp is (p-1)/2: a^legendreExp is 1 for a non-zero square, p-1 otherwise.
	legendreExp = new(big.Int).Rsh(new(big.Int).Sub(p25519, big.NewInt(1)), 1)
)

// edwardsY checks that raw is the canonical encoding of a point of the Ed25519 curve other
// than the identity (RFC 8032 §5.1.3) and returns its y coordinate.
func edwardsY(raw []byte) (*big.Int, error) {
	if len(raw) != 32 {
		return nil, keyErr("x", "Ed25519 public key must be 32 bytes")
	}
	le := slices.Clone(raw)
	sign := le[31] >> 7
	le[31] &= 0x7f
	slices.Reverse(le)
	y := new(big.Int).SetBytes(le)
	if y.Cmp(p25519) >= 0 {
		return nil, keyErr("x", "Ed25519 public key: y is not below the field prime (non-canonical encoding)")
	}
	// x² = (y² - 1) / (d·y² + 1)
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, p25519)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	u.Mod(u, p25519)
	v := new(big.Int).Mul(d25519, y2)
	v.Add(v, big.NewInt(1))
	v.Mod(v, p25519)
	x2 := new(big.Int).Mul(u, new(big.Int).ModInverse(v, p25519))
	x2.Mod(x2, p25519)
	switch {
	case x2.Sign() == 0 && sign == 1:
		return nil, keyErr("x", "Ed25519 public key: x = 0 with the sign bit set (non-canonical encoding)")
	case x2.Sign() == 0 && y.Cmp(big.NewInt(1)) == 0:
		return nil, keyErr("x", "Ed25519 public key is the identity point")
	case x2.Sign() != 0 && new(big.Int).Exp(x2, legendreExp, p25519).Cmp(big.NewInt(1)) != 0:
		return nil, keyErr("x", "Ed25519 public key is not a point of the curve")
	}
	return y, nil
}

// X25519FromEd25519 returns the X25519 public key birationally equivalent to the Ed25519
// public key pub (u = (1 + y) / (1 - y) mod p, RFC 7748 §4.1), the key agreement key the
// did:key specification derives from an Ed25519 key. The Ed25519 key is checked to be a
// canonically encoded curve point other than the identity. Key IDs, algorithms and private
// parts are not carried over.
func X25519FromEd25519(pub JWK) (JWK, error) {
	if pub.KeyType != KeyTypeOKP || pub.Curve != Ed25519 {
		return JWK{}, &KeyError{Field: "crv", Reason: "not an Ed25519 key", Err: ErrInvalidKey}
	}
	raw, err := decodeB64("x", pub.X, 32)
	if err != nil {
		return JWK{}, err
	}
	y, err := edwardsY(raw)
	if err != nil {
		return JWK{}, err
	}
	num := new(big.Int).Add(big.NewInt(1), y)
	den := new(big.Int).Sub(big.NewInt(1), y)
	den.Mod(den, p25519)
	u := num.Mul(num, new(big.Int).ModInverse(den, p25519))
	u.Mod(u, p25519)
	out := u.FillBytes(make([]byte, 32))
	slices.Reverse(out) // little-endian
	return PublicJWK(X25519, out)
}

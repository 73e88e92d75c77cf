package jose

import (
	"encoding/binary"
	"math/big"
	"math/bits"
	"slices"
)

// fe is an element of GF(2^255 - 19), the field of Curve25519, as four little-endian 64-bit
// limbs holding a value below 2^256 (not necessarily reduced below p), for the Ed25519 to
// X25519 map on public keys (public values: timing is no concern).
type fe [4]uint64

// p25519 is 2^255 - 19.
var p25519 = fe{0xffffffffffffffed, 0xffffffffffffffff, 0xffffffffffffffff, 0x7fffffffffffffff}

var feOne = fe{1}

// setBytes reads 32 little-endian bytes, the top bit included (callers clear it first).
func (z *fe) setBytes(b []byte) *fe {
	for i := range z {
		z[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return z
}

// bytes returns the canonical (reduced) little-endian encoding of z.
func (z *fe) bytes() []byte {
	c := *z
	c.reduce()
	out := make([]byte, 32)
	for i, l := range c {
		binary.LittleEndian.PutUint64(out[8*i:], l)
	}
	return out
}

// geP reports whether z ≥ p.
func (z *fe) geP() bool {
	for i := 3; i >= 0; i-- {
		if z[i] != p25519[i] {
			return z[i] > p25519[i]
		}
	}
	return true
}

// reduce makes z canonical: below p.
func (z *fe) reduce() {
	for z.geP() { // at most twice: 2^256 < 3p
		var b uint64
		z[0], b = bits.Sub64(z[0], p25519[0], 0)
		z[1], b = bits.Sub64(z[1], p25519[1], b)
		z[2], b = bits.Sub64(z[2], p25519[2], b)
		z[3], _ = bits.Sub64(z[3], p25519[3], b)
	}
}

// add sets z = a + b.
func (z *fe) add(a, b *fe) *fe {
	var c uint64
	z[0], c = bits.Add64(a[0], b[0], 0)
	z[1], c = bits.Add64(a[1], b[1], c)
	z[2], c = bits.Add64(a[2], b[2], c)
	z[3], c = bits.Add64(a[3], b[3], c)
	// 2^256 ≡ 38 (mod p): fold the carry back in; the second fold cannot carry again.
	for c != 0 {
		z[0], c = bits.Add64(z[0], 38, 0)
		z[1], c = bits.Add64(z[1], 0, c)
		z[2], c = bits.Add64(z[2], 0, c)
		z[3], c = bits.Add64(z[3], 0, c)
	}
	return z
}

// sub sets z = a - b.
func (z *fe) sub(a, b *fe) *fe {
	var br uint64
	z[0], br = bits.Sub64(a[0], b[0], 0)
	z[1], br = bits.Sub64(a[1], b[1], br)
	z[2], br = bits.Sub64(a[2], b[2], br)
	z[3], br = bits.Sub64(a[3], b[3], br)
	// A borrow added 2^256 ≡ 38: take 38 away (again if that borrows).
	for br != 0 {
		z[0], br = bits.Sub64(z[0], 38, 0)
		z[1], br = bits.Sub64(z[1], 0, br)
		z[2], br = bits.Sub64(z[2], 0, br)
		z[3], br = bits.Sub64(z[3], 0, br)
	}
	return z
}

// mulAdd returns the 128-bit hi:lo = x·y + lo0 + c (never overflows: it is below 2^128).
func mulAdd(x, y, lo0, c uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(x, y)
	var cc uint64
	lo, cc = bits.Add64(lo, lo0, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	hi += cc
	return hi, lo
}

// mul sets z = a · b.
func (z *fe) mul(a, b *fe) *fe {
	a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
	b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
	// Schoolbook 4×4 limbs into t0..t7.
	c, t0 := bits.Mul64(a0, b0)
	c, t1 := mulAdd(a0, b1, 0, c)
	c, t2 := mulAdd(a0, b2, 0, c)
	t4, t3 := mulAdd(a0, b3, 0, c)

	c, t1 = mulAdd(a1, b0, t1, 0)
	c, t2 = mulAdd(a1, b1, t2, c)
	c, t3 = mulAdd(a1, b2, t3, c)
	t5, t4 := mulAdd(a1, b3, t4, c)

	c, t2 = mulAdd(a2, b0, t2, 0)
	c, t3 = mulAdd(a2, b1, t3, c)
	c, t4 = mulAdd(a2, b2, t4, c)
	t6, t5 := mulAdd(a2, b3, t5, c)

	c, t3 = mulAdd(a3, b0, t3, 0)
	c, t4 = mulAdd(a3, b1, t4, c)
	c, t5 = mulAdd(a3, b2, t5, c)
	t7, t6 := mulAdd(a3, b3, t6, c)

	// t = lo + 2^256·hi ≡ lo + 38·hi.
	c, z0 := mulAdd(t4, 38, t0, 0)
	c, z1 := mulAdd(t5, 38, t1, c)
	c, z2 := mulAdd(t6, 38, t2, c)
	c, z3 := mulAdd(t7, 38, t3, c)
	// c < 39: fold 38·c in; a carry out of that leaves z small, and one more 38 fits.
	var cc uint64
	z0, cc = bits.Add64(z0, c*38, 0)
	z1, cc = bits.Add64(z1, 0, cc)
	z2, cc = bits.Add64(z2, 0, cc)
	z3, cc = bits.Add64(z3, 0, cc)
	z[0], z[1], z[2], z[3] = z0+cc*38, z1, z2, z3
	return z
}

// invert sets z = 1/a (0 for 0). math/big's extended Euclid is several times faster than
// the exponentiation a^(p-2) with these limbs.
func (z *fe) invert(a *fe) *fe {
	b := a.bytes()
	slices.Reverse(b)
	x := new(big.Int).SetBytes(b)
	if x.ModInverse(x, bigP25519) == nil {
		*z = fe{}
		return z
	}
	out := x.FillBytes(make([]byte, 32))
	slices.Reverse(out)
	z.setBytes(out)
	return z
}

var bigP25519 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

// pMinus1 is p - 1, the y of the point (0, -1).
var pMinus1 = fe{0xffffffffffffffec, 0xffffffffffffffff, 0xffffffffffffffff, 0x7fffffffffffffff}

// edwardsY returns the y coordinate of the Ed25519 public key raw after the checks that need
// no square root: 32 bytes, y below p (a canonical encoding), not the identity (y = 1), and
// not the point (0, -1) with the sign bit of x set (x = 0 has no negative).
func edwardsY(raw []byte) (fe, error) {
	if len(raw) != 32 {
		return fe{}, keyErr("x", "Ed25519 public key must be 32 bytes")
	}
	var y fe
	y.setBytes(raw)
	sign := y[3] >> 63
	y[3] &^= 1 << 63
	switch {
	case y.geP():
		return fe{}, keyErr("x", "Ed25519 public key: y is not below the field prime (non-canonical encoding)")
	case y == feOne:
		return fe{}, keyErr("x", "Ed25519 public key is the identity point")
	case y == pMinus1 && sign == 1:
		return fe{}, keyErr("x", "Ed25519 public key: x = 0 with the sign bit set (non-canonical encoding)")
	}
	return y, nil
}

// X25519FromEd25519 returns the X25519 public key birationally equivalent to the Ed25519
// public key pub (u = (1 + y) / (1 - y) mod p, RFC 7748 §4.1), the key agreement key the
// did:key specification derives from an Ed25519 key. It refuses what PublicJWK refuses: an
// encoding that is not canonical, and the identity point. Key IDs, algorithms and private
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
	var num, den, u fe
	num.add(&feOne, &y)
	den.sub(&feOne, &y)
	den.invert(&den)
	u.mul(&num, &den)
	// Every 32-byte string is an X25519 public key (RFC 7748 §5).
	return JWK{KeyType: KeyTypeOKP, Curve: X25519, X: b64.EncodeToString(u.bytes())}, nil
}

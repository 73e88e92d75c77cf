package jose

import (
	"encoding/binary"
	"math/big"
	"math/bits"
	"slices"
)

// fe is an element of GF(2^255 - 19), the field of Curve25519, as four little-endian 64-bit
// limbs holding a value below 2^256 (not necessarily reduced below p). It is used to read
// Ed25519 public keys (public values: timing is no concern) without math/big, whose
// division-based algorithms cost tens of microseconds per key.
type fe [4]uint64

// p25519 is 2^255 - 19.
var p25519 = fe{0xffffffffffffffed, 0xffffffffffffffff, 0xffffffffffffffff, 0x7fffffffffffffff}

// d25519 is the Edwards curve constant -121665/121666 mod p (RFC 8032 §5.1).
var d25519 = fe{0x75eb4dca135978a3, 0x00700a4d4141d8ab, 0x8cc740797779e898, 0x52036cee2b6ffe73}

// sqrtM1 is a square root of -1 mod p: 2^((p-1)/4).
var sqrtM1 = fe{0xc4ee1b274a0ea0b0, 0x2f431806ad2fe478, 0x2b4d00993dfbd7a7, 0x2b8324804fc1df0b}

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

// equal reports whether z and x are the same field element.
func (z *fe) equal(x *fe) bool {
	a, b := *z, *x
	a.reduce()
	b.reduce()
	return a == b
}

func (z *fe) isZero() bool { return z.equal(&fe{}) }

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

// square sets z = a²: the cross products once, doubled.
func (z *fe) square(a *fe) *fe {
	a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
	// Cross products a_i·a_j (i < j) into t1..t6.
	c, t1 := bits.Mul64(a0, a1)
	c, t2 := mulAdd(a0, a2, 0, c)
	t4, t3 := mulAdd(a0, a3, 0, c)
	c, t3 = mulAdd(a1, a2, t3, 0)
	t5, t4 := mulAdd(a1, a3, t4, c)
	t6, t5 := mulAdd(a2, a3, t5, 0)
	// Double them (t7 takes the top bit).
	t7 := t6 >> 63
	t6 = t6<<1 | t5>>63
	t5 = t5<<1 | t4>>63
	t4 = t4<<1 | t3>>63
	t3 = t3<<1 | t2>>63
	t2 = t2<<1 | t1>>63
	t1 <<= 1
	// Add the squares a_i² at limbs 2i, 2i+1.
	h0, t0 := bits.Mul64(a0, a0)
	h1, l1 := bits.Mul64(a1, a1)
	h2, l2 := bits.Mul64(a2, a2)
	h3, l3 := bits.Mul64(a3, a3)
	var cc uint64
	t1, cc = bits.Add64(t1, h0, 0)
	t2, cc = bits.Add64(t2, l1, cc)
	t3, cc = bits.Add64(t3, h1, cc)
	t4, cc = bits.Add64(t4, l2, cc)
	t5, cc = bits.Add64(t5, h2, cc)
	t6, cc = bits.Add64(t6, l3, cc)
	t7, _ = bits.Add64(t7, h3, cc)
	// t = lo + 2^256·hi ≡ lo + 38·hi, as in mul.
	c, z0 := mulAdd(t4, 38, t0, 0)
	c, z1 := mulAdd(t5, 38, t1, c)
	c, z2 := mulAdd(t6, 38, t2, c)
	c, z3 := mulAdd(t7, 38, t3, c)
	z0, cc = bits.Add64(z0, c*38, 0)
	z1, cc = bits.Add64(z1, 0, cc)
	z2, cc = bits.Add64(z2, 0, cc)
	z3, cc = bits.Add64(z3, 0, cc)
	z[0], z[1], z[2], z[3] = z0+cc*38, z1, z2, z3
	return z
}

// squareN sets z = a^(2^n).
func (z *fe) squareN(a *fe, n int) *fe {
	*z = *a
	for range n {
		z.square(z)
	}
	return z
}

// pow22501 returns a^(2^250 - 1) and a^11 (the addition chain of the Ed25519 reference
// implementation).
func pow22501(a *fe) (t, a11 fe) {
	var z2, z9, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0, tmp fe
	z2.square(a)                 // 2
	tmp.squareN(&z2, 2)          // 8
	z9.mul(&tmp, a)              // 9
	a11.mul(&z9, &z2)            // 11
	tmp.square(&a11)             // 22
	z2_5_0.mul(&tmp, &z9)        // 2^5 - 1
	tmp.squareN(&z2_5_0, 5)      //
	z2_10_0.mul(&tmp, &z2_5_0)   // 2^10 - 1
	tmp.squareN(&z2_10_0, 10)    //
	z2_20_0.mul(&tmp, &z2_10_0)  // 2^20 - 1
	tmp.squareN(&z2_20_0, 20)    //
	tmp.mul(&tmp, &z2_20_0)      // 2^40 - 1
	tmp.squareN(&tmp, 10)        //
	z2_50_0.mul(&tmp, &z2_10_0)  // 2^50 - 1
	tmp.squareN(&z2_50_0, 50)    //
	z2_100_0.mul(&tmp, &z2_50_0) // 2^100 - 1
	tmp.squareN(&z2_100_0, 100)  //
	tmp.mul(&tmp, &z2_100_0)     // 2^200 - 1
	tmp.squareN(&tmp, 50)        //
	t.mul(&tmp, &z2_50_0)        // 2^250 - 1
	return t, a11
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

// pow22523 sets z = a^((p-5)/8) = a^(2^252 - 3).
func (z *fe) pow22523(a *fe) *fe {
	t, _ := pow22501(a)
	t.squareN(&t, 2) // 2^252 - 4
	return z.mul(&t, a)
}

// edwardsY returns the y coordinate of the Ed25519 public key raw after the checks that
// cost nothing: 32 bytes, y below p (a canonical encoding), and not the identity (y = 1).
func edwardsY(raw []byte) (y fe, sign uint64, err error) {
	if len(raw) != 32 {
		return fe{}, 0, keyErr("x", "Ed25519 public key must be 32 bytes")
	}
	y.setBytes(raw)
	sign = y[3] >> 63
	y[3] &^= 1 << 63
	if y.geP() {
		return fe{}, 0, keyErr("x", "Ed25519 public key: y is not below the field prime (non-canonical encoding)")
	}
	if y == feOne {
		return fe{}, 0, keyErr("x", "Ed25519 public key is the identity point")
	}
	return y, sign, nil
}

// edwardsPoint checks that raw is the canonical encoding of a point of the Ed25519 curve
// other than the identity (RFC 8032 §5.1.3: y below p, x = sqrt((y²-1)/(d·y²+1)) existing,
// and not x = 0 with the sign bit set). The square root is one exponentiation, a few
// microseconds.
func edwardsPoint(raw []byte) error {
	y, sign, err := edwardsY(raw)
	if err != nil {
		return err
	}
	// u = y² - 1, v = d·y² + 1; x = u·v³·(u·v⁷)^((p-5)/8), then v·x² is u, or -u when x must
	// be multiplied by sqrt(-1), or neither when u/v is not a square.
	var y2, u, v, v3, v7, x, vx2, negU fe
	y2.square(&y)
	u.sub(&y2, &feOne)
	v.mul(&d25519, &y2)
	v.add(&v, &feOne)
	v3.square(&v)
	v3.mul(&v3, &v)
	v7.square(&v3)
	v7.mul(&v7, &v)
	x.mul(&u, &v7)
	x.pow22523(&x)
	x.mul(&x, &v3)
	x.mul(&x, &u)
	vx2.square(&x)
	vx2.mul(&vx2, &v)
	negU.sub(&fe{}, &u)
	switch {
	case vx2.equal(&u):
	case vx2.equal(&negU):
		x.mul(&x, &sqrtM1)
	default:
		return keyErr("x", "Ed25519 public key is not a point of the curve")
	}
	if x.isZero() && sign == 1 {
		return keyErr("x", "Ed25519 public key: x = 0 with the sign bit set (non-canonical encoding)")
	}
	return nil
}

// X25519FromEd25519 returns the X25519 public key birationally equivalent to the Ed25519
// public key pub (u = (1 + y) / (1 - y) mod p, RFC 7748 §4.1), the key agreement key the
// did:key specification derives from an Ed25519 key. It refuses an encoding that is not
// canonical and the identity point; that the key is a point of the curve is checked where
// raw keys are read (PublicJWK). Key IDs, algorithms and private parts are not carried over.
func X25519FromEd25519(pub JWK) (JWK, error) {
	if pub.KeyType != KeyTypeOKP || pub.Curve != Ed25519 {
		return JWK{}, &KeyError{Field: "crv", Reason: "not an Ed25519 key", Err: ErrInvalidKey}
	}
	raw, err := decodeB64("x", pub.X, 32)
	if err != nil {
		return JWK{}, err
	}
	y, _, err := edwardsY(raw)
	if err != nil {
		return JWK{}, err
	}
	var num, den, u fe
	num.add(&feOne, &y)
	den.sub(&feOne, &y)
	den.invert(&den)
	u.mul(&num, &den)
	return PublicJWK(X25519, u.bytes())
}

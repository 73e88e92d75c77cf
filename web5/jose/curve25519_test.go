package jose

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"math/big"
	"slices"
	"testing"
)

// The field arithmetic is checked against math/big, on random values and on the values
// near the edges of the limb representation.
var bigP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

func feBig(z *fe) *big.Int {
	b := z.bytes()
	slices.Reverse(b)
	return new(big.Int).SetBytes(b)
}

// rawFe returns the unreduced element whose limbs are the 32 bytes b (any value < 2^256).
func rawFe(b []byte) fe {
	var z fe
	z.setBytes(b)
	return z
}

func rawBig(b []byte) *big.Int {
	c := slices.Clone(b)
	slices.Reverse(c)
	return new(big.Int).SetBytes(c)
}

func TestFieldArithmetic(t *testing.T) {
	edges := [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32)}
	pb := bigP.FillBytes(make([]byte, 32))
	slices.Reverse(pb)
	edges = append(edges, pb)
	for _, d := range []int64{-1, 1, 18, 19, 37, 38} {
		v := new(big.Int).Add(bigP, big.NewInt(d))
		b := v.FillBytes(make([]byte, 32))
		slices.Reverse(b)
		edges = append(edges, b)
	}
	var values [][]byte
	values = append(values, edges...)
	for range 200 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		values = append(values, b)
	}
	mod := func(x *big.Int) *big.Int { return x.Mod(x, bigP) }
	for i, ab := range values {
		a := rawFe(ab)
		ai := rawBig(ab)
		for _, bb := range values[i:] {
			b := rawFe(bb)
			bi := rawBig(bb)
			var z fe
			if got, want := feBig(z.add(&a, &b)), mod(new(big.Int).Add(ai, bi)); got.Cmp(want) != 0 {
				t.Fatalf("add %x %x: %x, want %x", ai, bi, got, want)
			}
			if got, want := feBig(z.sub(&a, &b)), mod(new(big.Int).Sub(ai, bi)); got.Cmp(want) != 0 {
				t.Fatalf("sub %x %x: %x, want %x", ai, bi, got, want)
			}
			if got, want := feBig(z.mul(&a, &b)), mod(new(big.Int).Mul(ai, bi)); got.Cmp(want) != 0 {
				t.Fatalf("mul %x %x: %x, want %x", ai, bi, got, want)
			}
		}
		var z fe
		if got, want := feBig(z.square(&a)), mod(new(big.Int).Mul(ai, ai)); got.Cmp(want) != 0 {
			t.Fatalf("square %x: %x, want %x", ai, got, want)
		}
		want := new(big.Int).ModInverse(mod(new(big.Int).Set(ai)), bigP)
		if want == nil {
			want = new(big.Int)
		}
		if got := feBig(z.invert(&a)); got.Cmp(want) != 0 {
			t.Fatalf("invert %x: %x, want %x", ai, got, want)
		}
		e := new(big.Int).Rsh(new(big.Int).Sub(bigP, big.NewInt(5)), 3)
		if got, want := feBig(z.pow22523(&a)), new(big.Int).Exp(ai, e, bigP); got.Cmp(want) != 0 {
			t.Fatalf("pow22523 %x: %x, want %x", ai, got, want)
		}
	}
}

// edwardsY agrees with a math/big decoding of RFC 8032 §5.1.3 on real keys and on random
// 32-byte strings (about half of which are no curve point).
func TestEdwardsPointAgainstBig(t *testing.T) {
	d := new(big.Int).Mul(big.NewInt(-121665), new(big.Int).ModInverse(big.NewInt(121666), bigP))
	d.Mod(d, bigP)
	ref := func(raw []byte) bool {
		le := slices.Clone(raw)
		sign := le[31] >> 7
		le[31] &= 0x7f
		y := rawBig(le)
		if y.Cmp(bigP) >= 0 {
			return false
		}
		y2 := new(big.Int).Mul(y, y)
		u := new(big.Int).Sub(y2, big.NewInt(1))
		v := new(big.Int).Add(new(big.Int).Mul(d, y2), big.NewInt(1))
		x2 := new(big.Int).Mul(u, new(big.Int).ModInverse(v.Mod(v, bigP), bigP))
		x2.Mod(x2, bigP)
		if x2.Sign() == 0 {
			return sign == 0 && y.Cmp(big.NewInt(1)) != 0
		}
		return big.Jacobi(x2, bigP) == 1
	}
	var accepted, refused int
	for i := range 400 {
		raw := make([]byte, 32)
		if i%2 == 0 {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			raw = pub
		} else {
			_, _ = rand.Read(raw)
		}
		err := edwardsPoint(raw)
		if ok := ref(raw); ok != (err == nil) {
			t.Fatalf("%x: edwardsPoint %v, reference accepts: %v", raw, err, ok)
		}
		if err == nil {
			accepted++
		} else {
			refused++
		}
	}
	if refused == 0 || accepted < 200 {
		t.Fatalf("accepted %d, refused %d", accepted, refused)
	}
}

func FuzzEdwardsPoint(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := edwardsPoint(raw); err != nil {
			return
		}
		// A decoded key is canonical and ed25519 accepts it as a public key.
		if len(raw) != 32 || raw[31]&0x7f == 0x7f && raw[0] >= 0xed && bytes.Equal(raw[1:31], bytes.Repeat([]byte{0xff}, 30)) {
			t.Fatalf("%x accepted", raw)
		}
		if err := ed25519.VerifyWithOptions(raw, nil, make([]byte, 64), &ed25519.Options{}); err != nil && err.Error() == "ed25519: bad public key" {
			t.Fatalf("%x accepted, crypto/ed25519 refuses it", raw)
		}
	})
}

func BenchmarkX25519FromEd25519(b *testing.B) {
	k, _ := generate(Ed25519)
	pub := k.Public()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := X25519FromEd25519(pub); err != nil {
			b.Fatal(err)
		}
	}
}

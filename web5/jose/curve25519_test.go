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
		want := new(big.Int).ModInverse(mod(new(big.Int).Set(ai)), bigP)
		if want == nil {
			want = new(big.Int)
		}
		if got := feBig(z.invert(&a)); got.Cmp(want) != 0 {
			t.Fatalf("invert %x: %x, want %x", ai, got, want)
		}
	}
}

// X25519FromEd25519 agrees with u = (1 + y) / (1 - y) computed with math/big, on real
// Ed25519 keys and on random canonical encodings.
func TestX25519FromEd25519AgainstBig(t *testing.T) {
	for i := range 300 {
		raw := make([]byte, 32)
		if i%2 == 0 {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			copy(raw, pub)
		} else {
			_, _ = rand.Read(raw)
			raw[31] &= 0x7f // y < 2^255; y ≥ p is refused, tested below
		}
		x, err := X25519FromEd25519(JWK{KeyType: KeyTypeOKP, Curve: Ed25519, X: b64.EncodeToString(raw)})
		le := slices.Clone(raw)
		le[31] &= 0x7f
		y := rawBig(le)
		if y.Cmp(bigP) >= 0 || y.Cmp(big.NewInt(1)) == 0 {
			if err == nil {
				t.Fatalf("%x accepted", raw)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%x: %v", raw, err)
		}
		num := new(big.Int).Add(big.NewInt(1), y)
		den := new(big.Int).Sub(big.NewInt(1), y)
		den.Mod(den, bigP)
		u := new(big.Int).Mul(num, new(big.Int).ModInverse(den, bigP))
		u.Mod(u, bigP)
		got, _ := b64.DecodeString(x.X)
		if rawBig(got).Cmp(u) != 0 {
			t.Fatalf("%x: u = %x, want %x", raw, rawBig(got), u)
		}
	}
}

func FuzzX25519FromEd25519(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, err := PublicJWK(Ed25519, raw)
		if err != nil {
			return
		}
		x, err := X25519FromEd25519(k)
		if err != nil {
			t.Fatalf("%x: PublicJWK accepts it, X25519FromEd25519 refuses: %v", raw, err)
		}
		if err := x.Validate(); err != nil {
			t.Fatalf("%x: derived key %v", raw, err)
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

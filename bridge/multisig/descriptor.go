package multisig

import "strings"

// Output descriptor checksums (BIP-380).

const (
	descInputCharset    = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
	descChecksumCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
)

var descGenerator = [5]uint64{0xf5dee51989, 0xa9fdca3312, 0x1bab10e32d, 0x3706b1677a, 0x644d626ffd}

func descPolymod(c uint64, v int) uint64 {
	top := c >> 35
	c = (c&0x7ffffffff)<<5 ^ uint64(v)
	for i, g := range descGenerator {
		if top>>i&1 == 1 {
			c ^= g
		}
	}
	return c
}

// descriptorChecksum returns the 8-character BIP-380 checksum of s, or ok=false when s holds
// a character descriptors do not use.
func descriptorChecksum(s string) (string, bool) {
	c := uint64(1)
	cls, clsCount := 0, 0
	for i := 0; i < len(s); i++ {
		pos := strings.IndexByte(descInputCharset, s[i])
		if pos < 0 {
			return "", false
		}
		c = descPolymod(c, pos&31)
		cls = cls*3 + pos>>5
		if clsCount++; clsCount == 3 {
			c = descPolymod(c, cls)
			cls, clsCount = 0, 0
		}
	}
	if clsCount > 0 {
		c = descPolymod(c, cls)
	}
	for range 8 {
		c = descPolymod(c, 0)
	}
	c ^= 1
	out := make([]byte, 8)
	for j := range 8 {
		out[j] = descChecksumCharset[(c>>(5*(7-j)))&31]
	}
	return string(out), true
}

// withChecksum returns s#checksum.
func withChecksum(s string) string {
	sum, ok := descriptorChecksum(s)
	if !ok {
		return s
	}
	return s + "#" + sum
}

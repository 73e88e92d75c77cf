package stream

import (
	"crypto/sha256"
	"testing"
)

var sinkID ID

func BenchmarkHasherBuild(b *testing.B) {
	var h hasher
	kb := []byte("bc1q1004321")
	for i := 0; i < b.N; i++ {
		h.begin("join3", "join3")
		h.key(kb)
		h.window(int64(i)*60e9, int64(i)*60e9+60e9)
		for s := 0; s < 3; s++ {
			h.uv(1)
			h.ident(uint64(i), "")
		}
	}
	sinkID[0] = h.arr[0]
}

func BenchmarkHasherSum(b *testing.B) {
	var h hasher
	kb := []byte("bc1q1004321")
	h.begin("join3", "join3")
	h.key(kb)
	h.window(60e9, 120e9)
	for s := 0; s < 3; s++ {
		h.uv(1)
		h.ident(uint64(123456), "")
	}
	for i := 0; i < b.N; i++ {
		h.arr[0] = byte(i)
		sinkID = h.sum()
	}
}

func BenchmarkSHA(b *testing.B) {
	var buf [45]byte
	for i := 0; i < b.N; i++ {
		buf[0] = byte(i)
		s := sha256.Sum256(buf[:])
		sinkID[0] = s[0]
	}
}

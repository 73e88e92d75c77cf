package stream

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
)

type bTx struct {
	Addr string
	Sat  int64
}

// BenchmarkCoreJoin3 drives the join operator directly, without sources, handoff or merge: the
// cost of the operator's own work per event.
func BenchmarkCoreJoin3(b *testing.B) {
	b.Run("owned", func(b *testing.B) { benchCoreJoin3(b) })
	b.Run("reuse", func(b *testing.B) { benchCoreJoin3(b, WithReuse()) })
}

func benchCoreJoin3(b *testing.B, opts ...Option) {
	const keys = 10_000
	names := make([]string, keys)
	for i := range names {
		names[i] = "bc1q" + strconv.Itoa(1_000_000+i)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := time.Minute / (3 * keys)
	j, err := NewJoin3(func(x bTx) string { return x.Addr }, func(x bTx) string { return x.Addr }, func(x bTx) string { return x.Addr }, Tumbling(time.Minute), opts...)
	if err != nil {
		b.Fatal(err)
	}
	rt := newRuntime(&j.cfg, &j.stats)
	n := 0
	r := newJoin3Run(j, rt, func(x Joined3[string, bTx, bTx, bTx], _ error) bool { n += len(x.A); return true })
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w, k := i/(3*keys), i%(3*keys)
		at := base.Add(time.Duration(w)*time.Minute + time.Duration(k)*step)
		rec := Record[bTx]{Offset: uint64(i/3 + 1), Time: at, Value: bTx{Addr: names[k/3], Sat: int64(i)}}
		t := nanos(at)
		for rt.timerMin <= t {
			rt.wm = t
			r.fire()
		}
		switch k % 3 {
		case 0:
			r.addA(&rec, t, minTime)
		case 1:
			r.addB(&rec, t, minTime)
		default:
			r.addC(&rec, t, minTime)
		}
	}
	_ = n
}

// hashKey puts a key into an ID's input exactly as appendKey and hasher.key do, so that IDs do
// not depend on the path taken.
func TestHashKeyIsKey(t *testing.T) {
	type pair struct {
		A string
		B int
	}
	check := func(t *testing.T, via func(h *hasher), direct []byte) {
		t.Helper()
		var a, b hasher
		a.begin("k", "p")
		via(&a)
		b.begin("k", "p")
		b.key(direct)
		if a.sum() != b.sum() {
			t.Fatalf("hashKey and key differ for %q", direct)
		}
	}
	for _, s := range []string{"", "bc1q1000000", string(make([]byte, 300))} {
		c := newKeyCodec[string]()
		check(t, func(h *hasher) { c.hashKey(h, s) }, c.appendKey(nil, s))
	}
	c := newKeyCodec[pair]()
	k := pair{"x", 7}
	check(t, func(h *hasher) { c.hashKey(h, k) }, c.appendKey(nil, k))
}

// IDs must tell apart inputs that differ in one bit, in their length only (trailing zero
// bytes, which the padding of the last word must not hide), in how bytes are split into
// fields, or in their pipeline.
func TestResultIDDistinct(t *testing.T) {
	seen := map[ID]string{}
	add := func(what string, id ID) {
		t.Helper()
		if prev, ok := seen[id]; ok {
			t.Fatalf("%s and %s share ID %v", prev, what, id)
		}
		seen[id] = what
	}
	var h hasher
	for n := 0; n <= 40; n++ {
		b := make([]byte, n)
		h.begin("k", "p")
		h.key(b)
		add("zeros "+strconv.Itoa(n), h.sum())
		for i := range n * 8 {
			b[i/8] ^= 1 << (i % 8)
			h.begin("k", "p")
			h.key(b)
			add("zeros "+strconv.Itoa(n)+" bit "+strconv.Itoa(i), h.sum())
			b[i/8] ^= 1 << (i % 8)
		}
	}
	for _, n := range []int{0, 2, 3, 4} { // one zero word is the empty key's
		h.begin("k", "p")
		for range n {
			h.u64(0)
		}
		add("zero words "+strconv.Itoa(n), h.sum())
	}
	h.begin("k", "p")
	h.str("ab")
	h.str("c")
	add("ab|c", h.sum())
	h.begin("k", "p")
	h.str("a")
	h.str("bc")
	add("a|bc", h.sum())
	h.begin("k", "q")
	add("pipeline q", h.sum())
	h.begin("j", "p")
	add("kind j", h.sum())
}

// BenchmarkResultID compares the hasher with SHA-256 of the same fields (what IDs used to be)
// on a typical three-stream join result.
func BenchmarkResultID(b *testing.B) {
	var id ID
	b.Run("hash=hasher", func(b *testing.B) {
		var h hasher
		for b.Loop() {
			h.begin("join3", "bench")
			h.str("bc1q1000000")
			h.window(int64(time.Hour), int64(time.Hour+time.Minute))
			h.uv(1)
			h.uv(1)
			h.uv(1)
			h.u64(12345)
			h.u64(67890)
			id = h.sum()
		}
	})
	b.Run("hash=sha256", func(b *testing.B) {
		var in [64]byte
		for b.Loop() {
			n := copy(in[:], "01234567")
			in[n] = 11
			n++
			n += copy(in[n:], "bc1q1000000")
			n += copy(in[n:], "0123456789abcdef")
			in[n], in[n+1], in[n+2] = 1, 1, 1
			n += 3
			n += copy(in[n:], "0123456789abcdef")
			s := sha256.Sum256(in[:n])
			copy(id[:], s[:])
		}
	})
	_ = id
}

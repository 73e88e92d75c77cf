package stream

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"
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

// refID is the ID of words as hasher defines it, computed one pair at a time as the words
// come: what hasher did before it collected words to absorb them in one loop. IDs must not
// change with how the hasher schedules its work, or a pipeline restarted on a new version would
// emit its results again under IDs downstream does not recognise.
func refID(key0 [2]uint64, words []uint64) ID {
	s0, s1 := key0[0], key0[1]
	n := uint64(len(words))
	for ; len(words) >= 2; words = words[2:] {
		s0, s1 = absorb(s0, s1, words[0], words[1])
	}
	if len(words) == 1 {
		s0, s1 = absorb(s0, s1, words[0], 0)
	}
	s0, s1 = round(s0, s1^n)
	s0, s1 = round(s0, s1)
	var id ID
	binary.LittleEndian.PutUint64(id[:], s0)
	binary.LittleEndian.PutUint64(id[8:], s1)
	return id
}

func TestHasherMatchesPairwise(t *testing.T) {
	for n := 0; n <= 40; n++ {
		words := make([]uint64, n)
		for i := range words {
			words[i] = uint64(i+1)*0x9e3779b97f4a7c15 ^ uint64(n)
		}
		var h hasher
		h.begin("join3", "p")
		for _, w := range words {
			h.u64(w)
		}
		if got, want := h.sum(), refID(h.key0, words); got != want {
			t.Fatalf("%d words: hasher %v, pairwise %v", n, got, want)
		}
	}
}

// Join3's result ID, hashed from an array of its fields, is the ID the fields give one by one,
// for string keys of every length around the array's bound and for keys of other types.
func TestJoin3IDFields(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 11, 56, 63, 64, 65, 72, 200} {
		key := strings.Repeat("k", n)
		checkJoin3ID(t, key, func(h *hasher, c keyCodec[string]) { c.hashKey(h, key) })
	}
	type pair struct {
		A string
		B int
	}
	k := pair{"x", 7}
	checkJoin3ID(t, k, func(h *hasher, c keyCodec[pair]) { c.hashKey(h, k) })
}

func checkJoin3ID[K comparable](t *testing.T, key K, hashKey func(*hasher, keyCodec[K])) {
	t.Helper()
	j, err := NewJoin3(func(x bTx) K { return key }, func(x bTx) K { return key }, func(x bTx) K { return key }, Tumbling(time.Minute), WithName("p"))
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(&j.cfg, &j.stats)
	r := newJoin3Run(j, rt, func(Joined3[K, bTx, bTx, bTx], error) bool { return true })
	e := &entry[K, winState[join3P[bTx, bTx, bTx]]]{key: key}
	s := &slot[join3P[bTx, bTx, bTx]]{start: 60e9, end: 120e9}
	s.p.A, s.p.C = make([]Record[bTx], 2), make([]Record[bTx], 1)
	s.p.D = [2]uint64{0xfeedface, 0xdeadbeef}
	var h, ref hasher
	got := r.idOf(&h, e, s)
	ref.begin("join3", "p")
	hashKey(&ref, r.eng.keys)
	ref.window(s.start, s.end)
	ref.uv(2)
	ref.uv(0)
	ref.uv(1)
	ref.u64(s.p.D[0])
	ref.u64(s.p.D[1])
	if want := ref.sum(); got != want {
		t.Fatalf("key %v: ID %v, field by field %v", key, got, want)
	}
}

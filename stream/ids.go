package stream

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
)

// hasher hashes the fields of a result into its ID, as they are given: a 128-bit state,
// keyed by the operator kind and the pipeline's name (16 bytes of their SHA-256, computed once
// per run, so that results of different pipelines hash with different keys), absorbs the
// fields as 64-bit words, two at a time (absorb: each half of the state multiplied with the
// pair in its own way); sum absorbs the number of words and mixes the halves into each other
// with two Feistel rounds (round). Numbers are one word each and
// byte strings their length and then their bytes, eight to a word, so that different results
// never give the same sequence of words.
//
// Why not a cryptographic hash. A result ID exists so that downstream can de-duplicate the
// results a restarted pipeline emits again: it must be the same for the same result in every
// run and process (so nothing secret keys it), and two different results must not share one.
// Against chance, 128 bits of a well-mixed hash do as well as 128 bits of SHA-256: two results
// share an ID with probability 2^-128, and among 2^40 results some two do with probability
// below 2^-48. Against an adversary who chooses events so that a result takes the ID of another
// (and is dropped downstream as a duplicate), a public non-cryptographic hash guarantees
// nothing. The ID could not resist such an adversary whatever hashed it last, though: a
// window's events enter its ID through its digest, an order-independent sum of 64-bit hashes
// of the events' identities (it is kept as events arrive, late ones included), which an
// adversary who chooses event IDs can steer to any value (a k-sum problem). With SHA-256 on
// top, that made a window's Update share the ID of its earlier result; with this hash it can
// also make a result of one key share the ID of another key's. Downstream that must withstand
// chosen event IDs de-duplicates by ID and key. SHA-256 over the input of a three-stream join
// result costs about 2.4 times this hash in CPU time (BenchmarkResultID), and was a fifth of
// the join's CPU time per event.
type hasher struct {
	s0, s1 uint64
	pend   uint64 // a word waiting for the second of its pair
	half   bool   // pend holds one
	words  uint64
	kb     []byte    // scratch for key bytes
	key0   [2]uint64 // the hash key of kind and name
	kind   string
	name   string
	keyed  bool
}

func (h *hasher) begin(kind, name string) {
	if !h.keyed || h.kind != kind || h.name != name {
		h.key0 = hashKey0(kind, name)
		h.kind, h.name, h.keyed = kind, name, true
	}
	h.beginKeyed(h.key0)
}

// hashKey0 is the hash key of the results of operator kind in the pipeline name.
func hashKey0(kind, name string) [2]uint64 {
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(kind)))
	b = append(b, kind...)
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	s := sha256.Sum256(b)
	return [2]uint64{binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:16])}
}

// beginKeyed is begin with the hash key computed ahead (hashKey0): what an operator that hashes
// many results does, so that each costs no comparison of names.
func (h *hasher) beginKeyed(key0 [2]uint64) {
	h.s0, h.s1, h.half, h.words = key0[0], key0[1], false, 0
}

// word absorbs one word.
func (h *hasher) word(x uint64) {
	h.words++
	if h.half {
		h.pair(x)
		return
	}
	h.pend, h.half = x, true
}

// pair absorbs the pending word and x. It is kept out of line so that word, called for every
// field, is inlined.
//
//go:noinline
func (h *hasher) pair(x uint64) {
	h.s0, h.s1 = absorb(h.s0, h.s1, h.pend, x)
	h.half = false
}

// absorbWords absorbs ws as word does one by one, with the state in registers: a result whose
// fields are collected in an array first is hashed in one loop.
func (h *hasher) absorbWords(ws []uint64) {
	if h.half && len(ws) > 0 {
		h.word(ws[0])
		ws = ws[1:]
	}
	s0, s1 := h.s0, h.s1
	h.words += uint64(len(ws))
	i := 0
	for ; i+1 < len(ws); i += 2 {
		s0, s1 = absorb(s0, s1, ws[i], ws[i+1])
	}
	h.s0, h.s1 = s0, s1
	if i < len(ws) {
		h.pend, h.half = ws[i], true
	}
}

// absorb mixes the words w0 and w1 into the state (s0, s1): each half becomes the folded product
// of itself and one word with the other word, the two products independent of each other, so
// that a pair costs the latency of one multiplication.
func absorb(s0, s1, w0, w1 uint64) (uint64, uint64) {
	return fold(s0^w0, w1^hc0), fold(s1^w1, w0^hc1)
}

func (h *hasher) byte1(c byte) { h.word(uint64(c)) }

func (h *hasher) uv(v uint64) { h.word(v) }

func (h *hasher) u64(v uint64) { h.word(v) }

func (h *hasher) i64(v int64) { h.word(uint64(v)) }

// str absorbs s: its length, then its bytes eight to a word, the last word zero-padded.
func (h *hasher) str(s string) {
	h.word(uint64(len(s)))
	for len(s) >= 8 {
		h.word(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
		s = s[8:]
	}
	if len(s) > 0 {
		var x uint64
		for i := len(s) - 1; i >= 0; i-- {
			x = x<<8 | uint64(s[i])
		}
		h.word(x)
	}
}

// key absorbs a key's bytes as str does.
func (h *hasher) key(b []byte) {
	h.word(uint64(len(b)))
	for len(b) >= 8 {
		h.word(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	if len(b) > 0 {
		var t [8]byte
		copy(t[:], b)
		h.word(binary.LittleEndian.Uint64(t[:]))
	}
}

// window absorbs a window: its start and its length.
func (h *hasher) window(start, end int64) {
	h.i64(start)
	h.i64(end - start)
}

// event absorbs the identity of a record of the input with index src: its ID, or its offset.
func (h *hasher) event(src int, offset uint64, id string) {
	h.byte1(byte(src))
	h.ident(offset, id)
}

// ident absorbs a record's identity within a known source: its ID, or its offset.
func (h *hasher) ident(offset uint64, id string) {
	if id != "" {
		h.byte1('i')
		h.str(id)
		return
	}
	h.byte1('o')
	h.uv(offset)
}

// sum returns the ID of what was absorbed since begin.
func (h *hasher) sum() ID {
	s0, s1 := h.s0, h.s1
	if h.half {
		s0, s1 = absorb(s0, s1, h.pend, 0)
	}
	s0, s1 = round(s0, s1^h.words)
	s0, s1 = round(s0, s1)
	var id ID
	binary.LittleEndian.PutUint64(id[:], s0)
	binary.LittleEndian.PutUint64(id[8:], s1)
	return id
}

// Odd constants of absorb and round: hexadecimal digits of pi.
const (
	hc0 = 0x243f6a8885a308d3
	hc1 = 0x13198a2e03707345
	hc2 = 0xa4093822299f31d1
	hc3 = 0x082efa98ec4e6c89
)

// fold is the 128-bit product of a and b with its halves xored: the mixing step of absorb and
// round.
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// round is two Feistel rounds over the 128-bit state (s0, s1), each xoring into one half a
// multiplicative mix of the other: a permutation of the state in which every bit of the second
// half depends on every bit of the first, and every bit of the first on every bit of both.
func round(s0, s1 uint64) (uint64, uint64) {
	s1 ^= fold(s0^hc0, hc1)
	s0 ^= fold(s1^hc2, hc3)
	return s0, s1
}

// derived is the ID of a retraction of id.
func derived(id ID, tag string) ID {
	var h hasher
	h.begin("derived", tag)
	for _, c := range id {
		h.byte1(c)
	}
	return h.sum()
}

// keyCodec turns keys into the bytes hashed into IDs and the strings that name them in the
// store, and back.
type keyCodec[K comparable] struct {
	fast bool // K is a string: its bytes are the key's bytes
}

func newKeyCodec[K comparable]() keyCodec[K] {
	var z K
	_, fast := any(z).(string)
	return keyCodec[K]{fast: fast}
}

// appendKey appends the bytes of k that go into IDs: a string key's bytes, the JSON of any
// other key.
func (c keyCodec[K]) appendKey(dst []byte, k K) []byte {
	if c.fast {
		s, _ := any(k).(string)
		return append(dst, s...)
	}
	b, err := json.Marshal(k)
	if err != nil {
		return fmt.Appendf(dst, "%#v", k)
	}
	return append(dst, b...)
}

// hashKey appends k to h's input as hasher.key appends its bytes (length-prefixed): a string
// key straight from the string, another through appendKey.
func (c keyCodec[K]) hashKey(h *hasher, k K) {
	if c.fast {
		s, _ := any(k).(string)
		h.str(s)
		return
	}
	h.kb = c.appendKey(h.kb[:0], k)
	h.key(h.kb)
}

// keyWords puts into ws the words hashKey absorbs for k and returns how many, if k is a string
// key that leaves room in ws for room more words; otherwise it returns 0 and false.
func (c keyCodec[K]) keyWords(ws *[16]uint64, k K, room int) (int, bool) {
	if !c.fast {
		return 0, false
	}
	s, _ := any(k).(string)
	full, rest := len(s)/8, len(s)%8
	n := 1 + full
	if rest > 0 {
		n++
	}
	if n > len(ws)-room {
		return 0, false
	}
	ws[0] = uint64(len(s))
	for i := range full {
		t := s[8*i : 8*i+8]
		ws[1+i] = uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
	}
	switch {
	case rest == 0:
	case full > 0:
		// the last word's bytes are the last rest bytes of the key's last eight, shifted down
		t := s[len(s)-8:]
		x := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		ws[n-1] = x >> (64 - 8*rest)
	default:
		var x uint64
		for i := len(s) - 1; i >= 0; i-- {
			x = x<<8 | uint64(s[i])
		}
		ws[n-1] = x
	}
	return n, true
}

// storeKey is the store key of k's state.
func (c keyCodec[K]) storeKey(k K) (string, error) {
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("encode key %v: %w", k, err)
	}
	return "k/" + string(b), nil
}

func (c keyCodec[K]) parse(skey string) (K, error) {
	var k K
	if len(skey) < 2 || skey[:2] != "k/" {
		return k, fmt.Errorf("not a key entry")
	}
	if err := json.Unmarshal([]byte(skey[2:]), &k); err != nil {
		return k, err
	}
	return k, nil
}

package stream

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// hasher builds the input of a result ID: every field length-prefixed or fixed-size, so that
// different results never share an input; the ID is the first 16 bytes of its SHA-256. The
// input starts with a prefix naming the operator kind and the pipeline (8 bytes of their own
// SHA-256), which keeps a typical result's input within one SHA-256 block. Short inputs are
// built in a fixed array; long ones spill into buf.
type hasher struct {
	kb     []byte // scratch for key bytes
	arr    [160]byte
	n      int
	buf    []byte // used once the input outgrows arr
	prefix [8]byte
	kind   string
	name   string
}

func (h *hasher) begin(kind, name string) {
	if h.kind != kind || h.name != name {
		var b []byte
		b = binary.AppendUvarint(b, uint64(len(kind)))
		b = append(b, kind...)
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		s := sha256.Sum256(b)
		copy(h.prefix[:], s[:])
		h.kind, h.name = kind, name
	}
	h.n = copy(h.arr[:], h.prefix[:])
	h.buf = h.buf[:0]
}

// room makes sure k more bytes fit in arr, spilling into buf if they do not.
func (h *hasher) spill() {
	if h.n >= 0 {
		h.buf = append(h.buf[:0], h.arr[:h.n]...)
		h.n = -1
	}
}

func (h *hasher) byte1(c byte) {
	if h.n >= 0 && h.n < len(h.arr) {
		h.arr[h.n] = c
		h.n++
		return
	}
	h.spill()
	h.buf = append(h.buf, c)
}

// uv appends v as a uvarint.
func (h *hasher) uv(v uint64) {
	if v < 0x80 && uint(h.n) < uint(len(h.arr)) {
		h.arr[h.n] = byte(v)
		h.n++
		return
	}
	if h.n >= 0 && h.n+binary.MaxVarintLen64 <= len(h.arr) {
		h.n += binary.PutUvarint(h.arr[h.n:], v)
		return
	}
	h.spill()
	h.buf = binary.AppendUvarint(h.buf, v)
}

func (h *hasher) u64(v uint64) {
	if h.n >= 0 && h.n+8 <= len(h.arr) {
		binary.BigEndian.PutUint64(h.arr[h.n:], v)
		h.n += 8
		return
	}
	h.spill()
	h.buf = binary.BigEndian.AppendUint64(h.buf, v)
}

func (h *hasher) i64(v int64) { h.u64(uint64(v)) }

func (h *hasher) raw(s string) {
	if h.n >= 0 && h.n+len(s) <= len(h.arr) {
		h.n += copy(h.arr[h.n:], s)
		return
	}
	h.spill()
	h.buf = append(h.buf, s...)
}

func (h *hasher) str(s string) {
	h.uv(uint64(len(s)))
	h.raw(s)
}

// key appends a key's bytes, length-prefixed.
func (h *hasher) key(b []byte) {
	h.uv(uint64(len(b)))
	if h.n >= 0 && h.n+len(b) <= len(h.arr) {
		h.n += copy(h.arr[h.n:], b)
		return
	}
	h.spill()
	h.buf = append(h.buf, b...)
}

// window appends a window: its start and its length.
func (h *hasher) window(start, end int64) {
	h.i64(start)
	h.i64(end - start)
}

// event appends the identity of a record of the input with index src: its ID, or its offset.
func (h *hasher) event(src int, offset uint64, id string) {
	h.byte1(byte(src))
	h.ident(offset, id)
}

// ident appends a record's identity within a known source: its ID, or its offset.
func (h *hasher) ident(offset uint64, id string) {
	if id != "" {
		h.byte1('i')
		h.str(id)
		return
	}
	h.byte1('o')
	h.uv(offset)
}

func (h *hasher) sum() ID {
	var s [32]byte
	if h.n >= 0 {
		s = sha256.Sum256(h.arr[:h.n])
	} else {
		s = sha256.Sum256(h.buf)
	}
	var id ID
	copy(id[:], s[:16])
	return id
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

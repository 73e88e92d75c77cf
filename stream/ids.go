package stream

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// hasher builds the input of a result ID: every field length-prefixed or fixed-size, so that
// different results never share an input; the ID is the first 16 bytes of its SHA-256.
type hasher struct{ buf []byte }

func (h *hasher) begin(kind, name string) {
	h.buf = h.buf[:0]
	h.str(kind)
	h.str(name)
}

func (h *hasher) u64(v uint64) { h.buf = binary.BigEndian.AppendUint64(h.buf, v) }

func (h *hasher) i64(v int64) { h.u64(uint64(v)) }

func (h *hasher) str(s string) {
	h.buf = binary.AppendUvarint(h.buf, uint64(len(s)))
	h.buf = append(h.buf, s...)
}

// key appends a key's bytes, length-prefixed.
func (h *hasher) key(b []byte) {
	h.buf = binary.AppendUvarint(h.buf, uint64(len(b)))
	h.buf = append(h.buf, b...)
}

// event appends the identity of a record of the input with index src: its ID, or its offset.
func (h *hasher) event(src int, offset uint64, id string) {
	h.buf = append(h.buf, byte(src))
	if id != "" {
		h.buf = append(h.buf, 'i')
		h.str(id)
		return
	}
	h.buf = append(h.buf, 'o')
	h.u64(offset)
}

func (h *hasher) sum() ID {
	s := sha256.Sum256(h.buf)
	var id ID
	copy(id[:], s[:16])
	return id
}

// derived is the ID of a retraction of id.
func derived(id ID, tag string) ID {
	var h hasher
	h.begin("derived", tag)
	h.buf = append(h.buf, id[:]...)
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

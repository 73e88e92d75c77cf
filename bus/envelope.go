package bus

import (
	"context"
	"encoding/hex"
	"errors"
	"time"
)

// ID identifies one published message. IDs are unique within a bus and, because each bus draws a
// random 64-bit prefix at construction, across buses with overwhelming probability. The zero ID
// means "none". An ID is a value: creating one never allocates.
type ID struct{ hi, lo uint64 }

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// String formats id as 32 lowercase hex digits in the 8-4-4-4-12 grouping.
func (id ID) String() string {
	if id.IsZero() {
		return ""
	}
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(id.hi >> (56 - 8*i))
		raw[8+i] = byte(id.lo >> (56 - 8*i))
	}
	var out [36]byte
	hex.Encode(out[0:8], raw[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], raw[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], raw[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], raw[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], raw[10:16])
	return string(out[:])
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

var errBadID = errors.New("bus: malformed message id")

// ParseID parses the form String produces. The empty string parses to the zero ID.
func ParseID(s string) (ID, error) {
	if s == "" {
		return ID{}, nil
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return ID{}, errBadID
	}
	var hexd [32]byte
	copy(hexd[0:8], s[0:8])
	copy(hexd[8:12], s[9:13])
	copy(hexd[12:16], s[14:18])
	copy(hexd[16:20], s[19:23])
	copy(hexd[20:32], s[24:36])
	var raw [16]byte
	if _, err := hex.Decode(raw[:], hexd[:]); err != nil {
		return ID{}, errBadID
	}
	var id ID
	for i := range 8 {
		id.hi = id.hi<<8 | uint64(raw[i])
		id.lo = id.lo<<8 | uint64(raw[8+i])
	}
	return id, nil
}

// Headers are free-form string attributes of a message. They are nil unless a publisher sets some.
type Headers map[string]string

// Get returns the value of key, or "" (a nil Headers is empty).
func (h Headers) Get(key string) string { return h[key] }

// Meta is everything about a message except its payload.
type Meta struct {
	ID    ID        // unique message id, assigned by the bus
	Topic string    // literal topic it was published to
	Time  time.Time // publish time from the bus clock
	// Source names the publishing component ("bitcoin", "web5", a host service). Defaults to the
	// bus's source (see WithSource).
	Source string
	// CorrelationID ties every message of one logical operation together; CausationID is the ID of
	// the message whose handling caused this one. Both are zero for a message with no parent; see
	// CausedBy and Correlate.
	CorrelationID ID
	CausationID   ID
	// Key is the ordering key: with WithOrderedKeys, messages with equal keys are handled in
	// publish order even when a subscriber runs several handlers concurrently.
	Key     string
	Headers Headers
}

// Envelope is a message as a subscriber receives it: its Meta and its typed payload.
type Envelope[T any] struct {
	Meta
	Payload T
}

type parentKey struct{}

// ContextWithParent returns a context that makes every message published with it a child of the
// message described by parent: the child's CausationID is parent.ID and its CorrelationID is the
// parent's CorrelationID (or parent.ID when the parent has none). The Correlate middleware does
// this for every handler call.
func ContextWithParent(ctx context.Context, parent Meta) context.Context {
	return context.WithValue(ctx, parentKey{}, parentRef{id: parent.ID, corr: parent.CorrelationID})
}

type parentRef struct{ id, corr ID }

func parentFrom(ctx context.Context) (parentRef, bool) {
	p, ok := ctx.Value(parentKey{}).(parentRef)
	return p, ok
}

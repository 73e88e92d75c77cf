package natsx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultInlineMax is the largest value Blobs keeps inline in a KV entry: well under the
// default NATS max payload (1 MiB), headers included.
const DefaultInlineMax = 256 << 10

var (
	// ErrBadValue is returned by Blobs.Unwrap for a stored value it did not write, or a blob
	// whose content does not match its hash.
	ErrBadValue = errors.New("natsx: malformed stored value")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a Blobs without a Store asked
	// for a blob.
	ErrNotConstructed = errors.New("natsx: not constructed")
)

// NotConstructedError is returned by a Blobs without a Store (the zero Blobs) for a value that
// needs the object store: one larger than InlineMax, or a stored blob reference. It matches
// ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "Blobs"
	Constructor string // how to make a usable one
}

func (e *NotConstructedError) Error() string {
	return "natsx: a zero " + e.Type + " is not usable: create it with " + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

func noStore() error {
	return &NotConstructedError{Type: "Blobs", Constructor: "natsx.Blobs{Store: an object store}"}
}

// Blobs keeps KV values of any size: a value up to InlineMax bytes is stored inline (prefixed
// with 0x00); a larger one goes to a JetStream object store under its SHA-256 (written before
// the KV entry that refers to it, so a reader never finds a dangling reference), and the KV
// entry holds 0x01 and the hex digest. Blobs are immutable and shared by equal values; a blob
// whose entry was refused (a failed compare-and-set) stays until the object store is purged.
// The zero Blobs keeps values up to DefaultInlineMax inline and returns a *NotConstructedError
// for larger ones.
type Blobs struct {
	Store     jetstream.ObjectStore
	InlineMax int // 0 means DefaultInlineMax
}

// Wrap returns the KV value that stands for v, storing v as a blob if it is large.
func (b *Blobs) Wrap(ctx context.Context, v []byte) ([]byte, error) {
	limit := b.InlineMax
	if limit <= 0 {
		limit = DefaultInlineMax
	}
	if len(v) <= limit {
		out := make([]byte, 1+len(v))
		copy(out[1:], v)
		return out, nil
	}
	if b.Store == nil {
		return nil, noStore()
	}
	sum := sha256.Sum256(v)
	name := hex.EncodeToString(sum[:])
	if _, err := b.Store.GetInfo(ctx, name); err != nil {
		if !errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, fmt.Errorf("natsx: blob %s: %w", name, err)
		}
		if _, err := b.Store.PutBytes(ctx, name, v); err != nil {
			return nil, fmt.Errorf("natsx: put blob %s: %w", name, err)
		}
	}
	return append([]byte{1}, name...), nil
}

// Unwrap returns the value a KV value stands for. The result is the caller's.
func (b *Blobs) Unwrap(ctx context.Context, kv []byte) ([]byte, error) {
	if len(kv) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadValue)
	}
	switch kv[0] {
	case 0:
		return bytes.Clone(kv[1:]), nil
	case 1:
		name := string(kv[1:])
		want, err := hex.DecodeString(name)
		if err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("%w: blob reference %q", ErrBadValue, name)
		}
		if b.Store == nil {
			return nil, noStore()
		}
		v, err := b.Store.GetBytes(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("natsx: get blob %s: %w", name, err)
		}
		if sum := sha256.Sum256(v); !bytes.Equal(sum[:], want) {
			return nil, fmt.Errorf("%w: blob %s does not match its hash", ErrBadValue, name)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %d", ErrBadValue, kv[0])
}

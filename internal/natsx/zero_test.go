package natsx_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/internal/natsx"
)

// The zero Blobs keeps small values inline, and refuses with a *NotConstructedError what needs
// an object store: nothing panics.
func TestZeroBlobs(t *testing.T) {
	ctx := context.Background()
	var b natsx.Blobs
	kv, err := b.Wrap(ctx, []byte("small"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := b.Unwrap(ctx, kv); err != nil || !bytes.Equal(v, []byte("small")) {
		t.Fatalf("Unwrap = %q, %v", v, err)
	}
	var nc *natsx.NotConstructedError
	if _, err := b.Wrap(ctx, make([]byte, natsx.DefaultInlineMax+1)); !errors.As(err, &nc) || !errors.Is(err, natsx.ErrNotConstructed) {
		t.Fatalf("Wrap of a large value: %v", err)
	}
	ref := append([]byte{1}, bytes.Repeat([]byte("ab"), 32)...)
	if _, err := b.Unwrap(ctx, ref); !errors.As(err, &nc) {
		t.Fatalf("Unwrap of a blob reference: %v", err)
	}
}

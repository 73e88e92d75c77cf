package keystore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/keystore"
)

// The methods of a zero SQL store and a zero KEK return a *NotConstructedError naming their
// constructor, and the zero SQL's Close returns nil: nothing panics. (The zero Memory works: see
// TestConformanceZeroMemory.)
func TestZeroValues(t *testing.T) {
	ctx := context.Background()
	nc := func(what string, err error, constructor string) {
		t.Helper()
		var e *keystore.NotConstructedError
		if !errors.As(err, &e) || !errors.Is(err, keystore.ErrNotConstructed) || e.Constructor != constructor {
			t.Errorf("%s: err = %v, want a *NotConstructedError naming keystore.%s", what, err, constructor)
		}
	}
	var s keystore.SQL
	nc("Put", s.Put(ctx, keystore.Entry{Name: "a", Secret: []byte{1}}), "Open")
	_, err := s.Get(ctx, "a")
	nc("Get", err, "Open")
	_, err = s.List(ctx, "")
	nc("List", err, "Open")
	nc("Delete", s.Delete(ctx, "a"), "Open")
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	var k keystore.KEK
	_, err = k.Wrap(ctx, []byte("secret"), nil)
	nc("KEK.Wrap", err, "NewKEK")
	_, err = k.Unwrap(ctx, []byte("sealed"), nil)
	nc("KEK.Unwrap", err, "NewKEK")
}

package natscache_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/cache/natscache"
)

// The methods of a zero Store return a *NotConstructedError naming New, and Close returns nil;
// the zero Watcher's Close returns nil. Nothing panics.
func TestZeroValues(t *testing.T) {
	ctx := context.Background()
	var s natscache.Store
	_, getErr := s.Get(ctx, "k")
	_, watchErr := s.Watch(ctx, func(string) {})
	for what, err := range map[string]error{
		"Get":    getErr,
		"Set":    s.Set(ctx, "k", []byte("v"), 0),
		"Delete": s.Delete(ctx, "k"),
		"Watch":  watchErr,
	} {
		var nc *natscache.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, natscache.ErrNotConstructed) || nc.Constructor != "New" {
			t.Errorf("%s: err = %v, want a *NotConstructedError naming New", what, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	var w natscache.Watcher
	if err := w.Close(); err != nil {
		t.Errorf("Watcher.Close: %v", err)
	}
	natscache.Tiers(nil)("ns/id") // a nil tier is skipped
}

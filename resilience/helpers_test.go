package resilience_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/anya-org/anya-go/resilience"
)

var errBoom = errors.New("boom")

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []resilience.Event
}

func (r *recorder) listen(e resilience.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds(kind resilience.EventKind) []resilience.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []resilience.Event
	for _, e := range r.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func ok(context.Context) error   { return nil }
func fail(context.Context) error { return errBoom }

// must returns v, and panics on err: for constructors whose options a test knows are valid.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// calls runs fn through policies n times and returns how many times fn ran.
func calls(t testing.TB, n int, fn func(context.Context) error, ps ...resilience.Policy) int {
	t.Helper()
	ran := 0
	for range n {
		_ = resilience.Do(context.Background(), func(ctx context.Context) error { ran++; return fn(ctx) }, ps...)
	}
	return ran
}

func wantOptionError(t *testing.T, err error, option string) {
	t.Helper()
	var oe *resilience.OptionError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want an *OptionError", err)
	}
	if oe.Option != option {
		t.Fatalf("OptionError.Option = %q, want %q (%v)", oe.Option, option, err)
	}
	if !errors.Is(err, resilience.ErrInvalidOption) {
		t.Fatalf("%v does not match ErrInvalidOption", err)
	}
}

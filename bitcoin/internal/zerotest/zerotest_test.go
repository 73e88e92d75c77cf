package zerotest_test

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"testing"

	"github.com/anya-org/anya-go/bitcoin/internal/zerotest"
)

type recorder struct{ failures []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

type subject struct {
	m       map[string]int
	gotCtx  context.Context
	cleanup bool
}

func (s *subject) Panics()                 { s.m["x"] = 1 } // assignment to a nil map
func (s *subject) Ctx(ctx context.Context) { s.gotCtx = ctx }
func (s *subject) Subscribe(func(int)) func() {
	return func() { s.cleanup = true }
}
func (s *subject) Iter(context.Context) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for i := range 3 {
			if !yield(i, fmt.Errorf("value %d", i)) {
				return
			}
		}
	}
}
func (s *subject) Variadic(first int, rest ...string) int { return first + len(rest) }
func (s *subject) Given(name string, n int) string        { return fmt.Sprint(name, n) }
func (s *subject) Skipped()                               { panic("called") }

// Call reports panics, passes a live context, runs the unsubscribe functions and takes the
// first value of iterators.
func TestCall(t *testing.T) {
	var r recorder
	s := &subject{}
	results := zerotest.Call(&r, s, "given", zerotest.Skip{"Skipped"})
	if len(r.failures) != 1 || r.failures[0] != "*zerotest_test.subject.Panics panicked: assignment to entry in nil map" {
		t.Fatalf("failures %q", r.failures)
	}
	if s.gotCtx == nil || s.gotCtx.Err() != nil {
		t.Fatal("no live context")
	}
	if !s.cleanup {
		t.Fatal("the unsubscribe function was not called")
	}
	var methods []string
	for _, res := range results {
		methods = append(methods, res.Method)
		switch res.Method {
		case "Iter":
			if len(res.Values) != 3 || res.Values[1] != 0 || res.Err() == nil || res.Err().Error() != "value 0" {
				t.Fatalf("Iter: %v", res.Values)
			}
		case "Given":
			if len(res.Values) != 1 || res.Values[0] != "given0" {
				t.Fatalf("Given: %v", res.Values)
			}
		case "Variadic":
			if len(res.Values) != 1 || res.Values[0] != 0 {
				t.Fatalf("Variadic: %v", res.Values)
			}
		}
	}
	if !slices.Equal(methods, []string{"Ctx", "Given", "Iter", "Panics", "Subscribe", "Variadic"}) {
		t.Fatalf("methods %v", methods)
	}
}

package streamtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/anya-org/anya-go/stream"
)

// RunStore checks that the stores newStore returns keep the stream.Store contract. newStore
// is called once per subtest and must return an empty store; RunStore closes it.
func RunStore(t *testing.T, newStore func(t *testing.T) stream.Store) {
	ctx := context.Background()
	open := func(t *testing.T) stream.Store {
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	type kv struct {
		k string
		v []byte
	}
	load := func(t *testing.T, s stream.Store, pipeline string) []kv {
		t.Helper()
		var out []kv
		err := s.Load(ctx, pipeline, func(k string, v []byte) error {
			out = append(out, kv{k, bytes.Clone(v)})
			return nil
		})
		if err != nil {
			t.Fatalf("Load(%q): %v", pipeline, err)
		}
		return out
	}
	commit := func(t *testing.T, s stream.Store, pipeline string, ch ...stream.Change) {
		t.Helper()
		if err := s.Commit(ctx, pipeline, ch); err != nil {
			t.Fatalf("Commit(%q): %v", pipeline, err)
		}
	}
	put := func(k, v string) stream.Change { return stream.Change{Key: k, Value: []byte(v)} }
	del := func(k string) stream.Change { return stream.Change{Key: k, Delete: true} }
	want := func(t *testing.T, got []kv, pairs ...string) {
		t.Helper()
		if len(got) != len(pairs)/2 {
			t.Fatalf("got %d entries %q, want %q", len(got), got, pairs)
		}
		for i := range got {
			if got[i].k != pairs[2*i] || string(got[i].v) != pairs[2*i+1] {
				t.Fatalf("entry %d = %q=%q, want %q=%q (all: %q)", i, got[i].k, got[i].v, pairs[2*i], pairs[2*i+1], got)
			}
		}
	}

	t.Run("EmptyLoad", func(t *testing.T) {
		s := open(t)
		want(t, load(t, s, "p"))
		commit(t, s, "p")
		want(t, load(t, s, "p"))
	})
	t.Run("KeyOrder", func(t *testing.T) {
		s := open(t)
		keys := []string{"m", "k/\"b\"", "k/\"a\"", "p/in0", "k/\"é\"", "k/\"\\u0000\"", "k/1", "k/10", "k/9", "A"}
		var ch []stream.Change
		for _, k := range keys {
			ch = append(ch, put(k, "v:"+k))
		}
		commit(t, s, "p", ch...)
		slices.Sort(keys) // byte order
		var pairs []string
		for _, k := range keys {
			pairs = append(pairs, k, "v:"+k)
		}
		want(t, load(t, s, "p"), pairs...)
	})
	t.Run("OverwriteAndDelete", func(t *testing.T) {
		s := open(t)
		commit(t, s, "p", put("a", "1"), put("b", "2"), put("c", "3"))
		commit(t, s, "p", put("b", "20"), del("c"), del("never-there"))
		want(t, load(t, s, "p"), "a", "1", "b", "20")
	})
	t.Run("InOrderWithinCommit", func(t *testing.T) {
		s := open(t)
		commit(t, s, "p", put("a", "1"), del("a"), put("a", "2"), put("b", "1"), put("b", "2"), put("c", "1"), del("c"))
		want(t, load(t, s, "p"), "a", "2", "b", "2")
	})
	t.Run("PipelinesApart", func(t *testing.T) {
		s := open(t)
		commit(t, s, "one", put("k", "1"))
		commit(t, s, "two", put("k", "2"), put("x", "x"))
		commit(t, s, "one/two", put("k", "3"))
		want(t, load(t, s, "one"), "k", "1")
		want(t, load(t, s, "two"), "k", "2", "x", "x")
		want(t, load(t, s, "one/two"), "k", "3")
		want(t, load(t, s, "on"))
		commit(t, s, "two", del("k"))
		want(t, load(t, s, "one"), "k", "1")
	})
	t.Run("Values", func(t *testing.T) {
		s := open(t)
		big := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<18)
		bin := []byte{0, 0xff, '\n', 0, 'x'}
		commit(t, s, "p", stream.Change{Key: "empty", Value: []byte{}}, stream.Change{Key: "nil"},
			stream.Change{Key: "big", Value: big}, stream.Change{Key: "bin", Value: bin})
		got := load(t, s, "p")
		if len(got) != 4 || got[0].k != "big" || !bytes.Equal(got[0].v, big) || got[1].k != "bin" || !bytes.Equal(got[1].v, bin) ||
			got[2].k != "empty" || len(got[2].v) != 0 || got[3].k != "nil" || len(got[3].v) != 0 {
			t.Fatalf("values did not round-trip: %d entries", len(got))
		}
	})
	t.Run("CommitDoesNotKeepCallerSlices", func(t *testing.T) {
		s := open(t)
		v := []byte("before")
		commit(t, s, "p", stream.Change{Key: "a", Value: v})
		copy(v, "AFTER!")
		want(t, load(t, s, "p"), "a", "before")
	})
	t.Run("LoadCallbackError", func(t *testing.T) {
		s := open(t)
		commit(t, s, "p", put("a", "1"), put("b", "2"), put("c", "3"))
		stop := errors.New("stop here")
		calls := 0
		err := s.Load(ctx, "p", func(string, []byte) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Load returned %v after %d calls, want the callback's error after 1", err, calls)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		s := open(t)
		commit(t, s, "p", put("a", "1"))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Commit(cctx, "p", []stream.Change{put("a", "2"), put("b", "2")}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Commit with a cancelled context = %v, want context.Canceled", err)
		}
		if err := s.Load(cctx, "p", func(string, []byte) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Fatalf("Load with a cancelled context = %v, want context.Canceled", err)
		}
		want(t, load(t, s, "p"), "a", "1")
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := range 8 {
			wg.Go(func() {
				for i := range 20 {
					p := fmt.Sprintf("p%d", w%2)
					k := fmt.Sprintf("w%d/%02d", w, i)
					if err := s.Commit(ctx, p, []stream.Change{{Key: k, Value: []byte(k)}}); err != nil {
						errs <- err
						return
					}
					if err := s.Load(ctx, p, func(string, []byte) error { return nil }); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for p := range 2 {
			got := load(t, s, fmt.Sprintf("p%d", p))
			if len(got) != 4*20 {
				t.Fatalf("pipeline p%d has %d entries, want 80", p, len(got))
			}
			for _, e := range got {
				if e.k != string(e.v) {
					t.Fatalf("entry %q holds %q", e.k, e.v)
				}
			}
		}
	})
	t.Run("Close", func(t *testing.T) {
		s := newStore(t)
		commit(t, s, "p", put("a", "1"))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := s.Commit(ctx, "p", []stream.Change{put("b", "1")}); !errors.Is(err, stream.ErrClosed) {
			t.Fatalf("Commit after Close = %v, want ErrClosed", err)
		}
		if err := s.Load(ctx, "p", func(string, []byte) error { return nil }); !errors.Is(err, stream.ErrClosed) {
			t.Fatalf("Load after Close = %v, want ErrClosed", err)
		}
	})
}

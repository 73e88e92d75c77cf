package stream_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
	"github.com/anya-org/anya-go/stream/streamtest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

type tx struct {
	Addr string
	Sat  int64
}

type link struct {
	DID, Addr string
}

type score struct {
	Addr string
	Risk float64
}

func collect[R any](t *testing.T, seq func(func(R, error) bool)) []R {
	t.Helper()
	var out []R
	for r, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

type rec[T any] struct {
	d time.Duration
	v T
}

func seqOf[T any](rs ...rec[T]) []stream.Record[T] {
	out := make([]stream.Record[T], len(rs))
	for i, r := range rs {
		out[i] = stream.Record[T]{Time: at(r.d), Value: r.v}
	}
	return out
}

// recordSource is a resumable source of fixed records with offsets 1, 2, ...
func recordSource[T any](rs []stream.Record[T], opts ...stream.SourceOption) *stream.Source[T] {
	return stream.NewSource(func(ctx context.Context, after uint64, e *stream.Emitter[T]) error {
		for i := after; i < uint64(len(rs)); i++ {
			r := rs[i]
			r.Offset = i + 1
			if err := e.Emit(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}, opts...)
}

func TestJoin3Inner(t *testing.T) {
	ctx := t.Context()
	j, err := stream.NewJoin3(
		func(x tx) string { return x.Addr },
		func(l link) string { return l.Addr },
		func(s score) string { return s.Addr },
		stream.Tumbling(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	txs := recordSource(seqOf(rec[tx]{10 * time.Second, tx{"a", 1}}, rec[tx]{20 * time.Second, tx{"b", 2}}, rec[tx]{70 * time.Second, tx{"a", 3}}), stream.Named("bitcoin"))
	links := recordSource(seqOf(rec[link]{5 * time.Second, link{"did:a", "a"}}, rec[link]{65 * time.Second, link{"did:a", "a"}}), stream.Named("web5"))
	scores := recordSource(seqOf(rec[score]{30 * time.Second, score{"a", 0.1}}, rec[score]{31 * time.Second, score{"b", 0.9}}), stream.Named("ml"))
	got := collect(t, j.Run(ctx, txs, links, scores))
	if len(got) != 1 {
		t.Fatalf("got %d results, want 1 (only a has all three sides in [0,1m)): %+v", len(got), got)
	}
	r := got[0]
	if r.Key != "a" || !r.Window.Start.Equal(t0) || !r.Window.End.Equal(at(time.Minute)) || len(r.A) != 1 || len(r.B) != 1 || len(r.C) != 1 || r.Missing != nil || r.Kind != stream.Insert {
		t.Fatalf("unexpected result %+v", r)
	}
	if r.A[0].Value.Sat != 1 || r.C[0].Value.Risk != 0.1 {
		t.Fatalf("wrong events joined: %+v", r)
	}
	st := j.Stats()
	if st.Records != 7 || st.Results != 1 || st.Keys != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The same input gives the same IDs.
	again := collect(t, j.Run(ctx, txs, links, scores))
	if len(again) != 1 || again[0].ID != r.ID || r.ID.IsZero() {
		t.Fatalf("IDs differ between runs: %v %v", r.ID, again)
	}
}

func TestJoin3OuterPartials(t *testing.T) {
	ctx := t.Context()
	j, err := stream.NewJoin3(
		func(x tx) string { return x.Addr },
		func(l link) string { return l.Addr },
		func(s score) string { return s.Addr },
		stream.Tumbling(time.Minute), stream.WithOuter())
	if err != nil {
		t.Fatal(err)
	}
	txs := recordSource(seqOf(rec[tx]{10 * time.Second, tx{"a", 1}}, rec[tx]{20 * time.Second, tx{"b", 2}}), stream.Named("bitcoin"))
	links := recordSource(seqOf(rec[link]{5 * time.Second, link{"did:a", "a"}}, rec[link]{50 * time.Second, link{"did:c", "c"}}), stream.Named("web5"))
	scores := recordSource(seqOf(rec[score]{30 * time.Second, score{"a", 0.1}}), stream.Named("ml"))
	got := collect(t, j.Run(ctx, txs, links, scores))
	missing := map[string][]string{}
	for _, r := range got {
		missing[r.Key] = r.Missing
	}
	want := map[string][]string{"a": nil, "b": {"web5", "ml"}, "c": {"bitcoin", "ml"}}
	if len(missing) != len(want) {
		t.Fatalf("got %v, want %v", missing, want)
	}
	for k, w := range want {
		if !slices.Equal(missing[k], w) {
			t.Fatalf("key %s: missing %v, want %v", k, missing[k], w)
		}
	}
}

func TestJoinN(t *testing.T) {
	ctx := t.Context()
	j, err := stream.NewJoin(func(s string) string { return s[:1] }, stream.Tumbling(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	srcs := []*stream.Source[string]{
		recordSource(seqOf(rec[string]{1 * time.Second, "a1"}, rec[string]{2 * time.Second, "b1"})),
		recordSource(seqOf(rec[string]{3 * time.Second, "a2"})),
		recordSource(seqOf(rec[string]{4 * time.Second, "a3"}, rec[string]{5 * time.Second, "a4"})),
		recordSource(seqOf(rec[string]{6 * time.Second, "a5"}, rec[string]{7 * time.Second, "b5"})),
	}
	got := collect(t, j.Run(ctx, srcs...))
	if len(got) != 1 || got[0].Key != "a" || len(got[0].Sides) != 4 || len(got[0].Sides[2]) != 2 {
		t.Fatalf("got %+v", got)
	}
}

func TestManualWatermarks(t *testing.T) {
	ctx := t.Context()
	in := streamtest.NewManual[tx](t)
	agg, err := stream.NewAggregate(func(x tx) string { return x.Addr }, stream.Tumbling(time.Minute), stream.Sum(func(x tx) int64 { return x.Sat }))
	if err != nil {
		t.Fatal(err)
	}
	out := streamtest.Collect(t, agg.Run(ctx, in.Source()))
	in.Emit(at(10*time.Second), tx{"a", 5})
	in.Emit(at(70*time.Second), tx{"a", 7}) // no watermark yet: nothing may close
	in.Emit(at(20*time.Second), tx{"a", 1})
	in.Sync()
	if got := out.Results(); len(got) != 0 {
		t.Fatalf("results before any watermark: %+v", got)
	}
	in.Watermark(at(time.Minute))
	in.Sync()
	got := out.Take()
	if len(got) != 1 || got[0].Value != 6 || got[0].Count != 2 {
		t.Fatalf("after the watermark: %+v", got)
	}
	in.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := out.Take(); len(got) != 1 || got[0].Value != 7 {
		t.Fatalf("at the end: %+v", got)
	}
}

func TestIdleSource(t *testing.T) {
	run := func(t *testing.T, idle bool) []stream.Joined3[string, tx, link, score] {
		clk := streamtest.NewClock(t0)
		var opts []stream.SourceOption
		if idle {
			opts = append(opts, stream.IdleAfter(30*time.Second))
		}
		a := streamtest.NewManual[tx](t, stream.Named("bitcoin"))
		b := streamtest.NewManual[link](t, stream.Named("web5"))
		c := streamtest.NewManual[score](t, append(opts, stream.Named("ml"))...) // never says anything
		j, err := stream.NewJoin3(byAddr, func(l link) string { return l.Addr }, func(s score) string { return s.Addr },
			stream.Tumbling(time.Minute), stream.WithOuter(), stream.WithClock(clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		out := streamtest.Collect(t, j.Run(t.Context(), a.Source(), b.Source(), c.Source()))
		a.Emit(at(s(10)), tx{"x", 1})
		b.Emit(at(s(20)), link{"did:x", "x"})
		a.Watermark(at(s(70)))
		b.Watermark(at(s(70)))
		a.Sync()
		if got := out.Results(); len(got) != 0 {
			t.Fatalf("a window closed while a source held the watermark back: %+v", got)
		}
		clk.Advance(31 * time.Second)
		a.Sync() // the pipeline looks at the clock again
		got := out.Results()
		a.End()
		b.End()
		c.End()
		if err := out.Wait(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := run(t, false); len(got) != 0 {
		t.Fatalf("without IdleAfter, the quiet source must hold the window: %+v", got)
	}
	got := run(t, true)
	if len(got) != 1 || got[0].Key != "x" || !slices.Equal(got[0].Missing, []string{"ml"}) {
		t.Fatalf("with IdleAfter, the window closes without the quiet source: %+v", got)
	}
}

// An idle source that speaks again holds the watermark back again; its records behind the
// watermark are late.
func TestIdleSourceReturns(t *testing.T) {
	clk := streamtest.NewClock(t0)
	a := streamtest.NewManual[tx](t)
	b := streamtest.NewManual[tx](t, stream.IdleAfter(time.Minute))
	op, err := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx](), stream.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	out := streamtest.Collect(t, op.Run(t.Context(), a.Source(), b.Source()))
	a.Emit(at(s(10)), tx{"a", 1})
	a.Watermark(at(s(130)))
	clk.Advance(2 * time.Minute)
	a.Sync()
	if got := render(out.Take()); len(got) != 1 {
		t.Fatalf("window not closed with b idle: %v", got)
	}
	b.Emit(at(s(50)), tx{"b", 1})  // behind the watermark (130): late
	b.Emit(at(s(140)), tx{"b", 1}) // b is active again
	b.Sync()
	a.Watermark(at(s(300)))
	a.Sync()
	if got := render(out.Take()); len(got) != 0 {
		t.Fatalf("b holds the watermark again (its own is at 140), nothing may close: %v", got)
	}
	b.Watermark(at(s(300)))
	b.Sync()
	wantLines(t, render(out.Take()), []string{"insert b [120,180) 1 (1)"})
	if st := op.Stats(); st.Late != 1 || st.LateDropped != 1 {
		t.Fatalf("stats %+v", st)
	}
	a.End()
	b.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestKeyBound(t *testing.T) {
	in := seqOf(rec[tx]{s(1), tx{"a", 1}}, rec[tx]{s(2), tx{"b", 1}}, rec[tx]{s(3), tx{"a", 1}}, rec[tx]{s(4), tx{"c", 1}}, rec[tx]{s(5), tx{"c", 1}})
	t.Run("EvictLRU", func(t *testing.T) {
		op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx](), stream.WithMaxKeys(2))
		// c arrives with a and b kept; b was updated least recently and goes.
		wantLines(t, render(collect(t, op.Run(t.Context(), recordSource(in)))), []string{"insert a [0,60) 2 (2)", "insert c [0,60) 2 (2)"})
		if st := op.Stats(); st.Evicted != 1 || st.Refused != 0 || st.Keys != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("RefuseNew", func(t *testing.T) {
		op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx](), stream.WithMaxKeys(2), stream.WithEviction(stream.RefuseNew))
		wantLines(t, render(collect(t, op.Run(t.Context(), recordSource(in)))), []string{"insert a [0,60) 2 (2)", "insert b [0,60) 1 (1)"})
		if st := op.Stats(); st.Evicted != 0 || st.Refused != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("ClosedWindowsFreeTheirKeys", func(t *testing.T) {
		// Keys whose windows have closed are not counted against the bound.
		in := seqOf(rec[tx]{s(1), tx{"a", 1}}, rec[tx]{s(2), tx{"b", 1}}, rec[tx]{s(61), tx{"c", 1}}, rec[tx]{s(62), tx{"d", 1}})
		op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx](), stream.WithMaxKeys(2), stream.WithEviction(stream.RefuseNew))
		if got := render(collect(t, op.Run(t.Context(), recordSource(in)))); len(got) != 4 {
			t.Fatalf("got %v", got)
		}
		if st := op.Stats(); st.Refused != 0 || st.Evicted != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestIntervalJoin(t *testing.T) {
	pays := recordSource(seqOf(rec[tx]{s(100), tx{"a", 1}}, rec[tx]{s(200), tx{"b", 2}}, rec[tx]{s(300), tx{"a", 3}}))
	scores := recordSource(seqOf(
		rec[score]{s(94), score{"a", 0.1}},  // 6 s before: outside [-5, +10]
		rec[score]{s(95), score{"a", 0.2}},  // lower bound, inclusive
		rec[score]{s(110), score{"a", 0.3}}, // upper bound, inclusive
		rec[score]{s(111), score{"a", 0.4}}, // outside
		rec[score]{s(205), score{"c", 0.5}}, // other key
		rec[score]{s(305), score{"a", 0.6}},
	))
	render := func(ps []stream.Pair[string, tx, score]) []string {
		var out []string
		for _, p := range ps {
			b := "-"
			if p.HasB {
				b = fmt.Sprint(p.B.Value.Risk)
			}
			out = append(out, fmt.Sprintf("%s %s %d %s", p.Kind, p.Key, p.A.Value.Sat, b))
		}
		sort.Strings(out)
		return out
	}
	j, err := stream.NewIntervalJoin(byAddr, func(s score) string { return s.Addr }, -5*time.Second, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, j.Run(t.Context(), pays, scores))
	wantLines(t, render(got), []string{"insert a 1 0.2", "insert a 1 0.3", "insert a 3 0.6"})
	ids := map[stream.ID]bool{}
	for _, p := range got {
		ids[p.ID] = true
	}
	if len(ids) != 3 {
		t.Fatalf("pair IDs are not distinct: %v", ids)
	}
	outer, _ := stream.NewIntervalJoin(byAddr, func(s score) string { return s.Addr }, -5*time.Second, 10*time.Second, stream.WithOuter())
	wantLines(t, render(collect(t, outer.Run(t.Context(), pays, scores))), []string{"insert a 1 0.2", "insert a 1 0.3", "insert a 3 0.6", "insert b 2 -"})
	if _, err := stream.NewIntervalJoin(byAddr, func(s score) string { return s.Addr }, time.Second, -time.Second); !errors.Is(err, stream.ErrInvalidOption) {
		t.Fatalf("lower > upper accepted: %v", err)
	}
}

func TestIntervalJoinLateUpdate(t *testing.T) {
	a := streamtest.NewManual[tx](t)
	b := streamtest.NewManual[score](t)
	j, _ := stream.NewIntervalJoin(byAddr, func(s score) string { return s.Addr }, 0, 10*time.Second,
		stream.WithOuter(), stream.WithLatePolicy(stream.LateUpdate), stream.WithAllowedLateness(time.Minute))
	out := streamtest.Collect(t, j.Run(t.Context(), a.Source(), b.Source()))
	a.Emit(at(s(100)), tx{"a", 1})
	a.Watermark(at(s(120)))
	b.Watermark(at(s(120)))
	a.Sync()
	b.Sync()
	alone := out.Take()
	if len(alone) != 1 || alone[0].HasB {
		t.Fatalf("unmatched payment not emitted alone: %+v", alone)
	}
	b.Emit(at(s(105)), score{"a", 0.9}) // late, kept state still there
	b.Sync()
	got := out.Take()
	if len(got) != 1 || got[0].Kind != stream.Update || got[0].Replaces != alone[0].ID || !got[0].HasB {
		t.Fatalf("late match: %+v", got)
	}
	a.End()
	b.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
}

// WithReuse changes who owns a result's slices, not the results: the same input gives the
// same results (compared as they are received), and Clone keeps one past its loop iteration.
func TestJoinReuse(t *testing.T) {
	var in []stream.Record[tx]
	for i := range 3000 {
		in = append(in, stream.Record[tx]{Time: at(time.Duration(i) * time.Second), Value: tx{Addr: string(rune('a' + i%7)), Sat: int64(i)}})
	}
	line := func(r stream.Joined3[string, tx, tx, tx]) string {
		sum := func(rs []stream.Record[tx]) (n int64) {
			for _, r := range rs {
				n += r.Value.Sat
			}
			return n
		}
		return fmt.Sprintf("%v %s %d %d/%d/%d %d/%d/%d", r.ID, r.Key, r.Window.Start.Unix(), len(r.A), len(r.B), len(r.C), sum(r.A), sum(r.B), sum(r.C))
	}
	run := func(opts ...stream.Option) ([]string, []stream.Joined3[string, tx, tx, tx]) {
		j, err := stream.NewJoin3(byAddr, byAddr, byAddr, stream.Tumbling(time.Minute), append(opts, stream.WithOuter())...)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		var kept []stream.Joined3[string, tx, tx, tx]
		for r, err := range j.Run(t.Context(), recordSource(in[0:]), recordSource(in[1000:]), recordSource(in[2000:])) {
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, line(r))
			kept = append(kept, r.Clone())
		}
		return lines, kept
	}
	owned, _ := run()
	reused, clones := run(stream.WithReuse())
	if len(owned) == 0 || !slices.Equal(owned, reused) {
		t.Fatalf("WithReuse changed the results: %d vs %d", len(owned), len(reused))
	}
	for i, c := range clones {
		if line(c) != reused[i] {
			t.Fatalf("a clone changed after its iteration: %s, was %s", line(c), reused[i])
		}
	}
}

// When many windows close at once, their result IDs are computed on two goroutines before the
// results are emitted; they must be the IDs computed one by one.
func TestManyWindowsClosingAtOnce(t *testing.T) {
	var in []stream.Record[tx]
	for i := range 3000 {
		in = append(in, stream.Record[tx]{Time: at(time.Duration(i) * 10 * time.Millisecond), Value: tx{Addr: fmt.Sprintf("k%04d", i%1000), Sat: int64(i)}})
	}
	ids := func() map[stream.ID]string {
		j, _ := stream.NewJoin3(byAddr, byAddr, byAddr, stream.Tumbling(time.Minute))
		a, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx]())
		out := map[stream.ID]string{}
		for r, err := range j.Run(t.Context(), recordSource(in), recordSource(in), recordSource(in)) {
			if err != nil {
				t.Fatal(err)
			}
			out[r.ID] = "join " + r.Key
		}
		for r, err := range a.Run(t.Context(), recordSource(in)) {
			if err != nil {
				t.Fatal(err)
			}
			out[r.ID] = "count " + r.Key
		}
		return out
	}
	parallel := ids()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	serial := ids()
	if len(parallel) != 2000 || len(serial) != 2000 {
		t.Fatalf("%d and %d results, want 2000", len(parallel), len(serial))
	}
	for id, what := range serial {
		if parallel[id] != what {
			t.Fatalf("%s: ID %v not computed alike", what, id)
		}
	}
}

// A consumer that stops in the middle of a large bucket of closing windows stops the run
// there: the goroutine hashing the bucket's IDs is done before Run returns (the package's
// TestMain checks for leaks), and the results emitted before are those of a run to the end.
func TestStopInLargeBucket(t *testing.T) {
	var in []stream.Record[tx]
	for i := range 3000 {
		in = append(in, stream.Record[tx]{Time: at(time.Duration(i) * 10 * time.Millisecond), Value: tx{Addr: fmt.Sprintf("k%04d", i%1000), Sat: int64(i)}})
	}
	run := func(stop int) []stream.ID {
		j, _ := stream.NewJoin3(byAddr, byAddr, byAddr, stream.Tumbling(time.Minute), stream.WithReuse())
		var ids []stream.ID
		for r, err := range j.Run(t.Context(), recordSource(in), recordSource(in), recordSource(in)) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
			if len(ids) == stop {
				break
			}
		}
		return ids
	}
	all := run(-1)
	for _, stop := range []int{1, 63, 64, 65, 500, 999} {
		if got := run(stop); !slices.Equal(got, all[:stop]) {
			t.Fatalf("stopped after %d: the results differ from a full run's", stop)
		}
	}
}

// A key's windows follow one another: each opens in the place its previous one left (reset with
// WithReuse, emptied without), so its results hold exactly that window's events, with the IDs
// of a join that keeps no buffers, and a key evicted at the bound starts over empty.
func TestJoin3SuccessiveWindows(t *testing.T) {
	ctx := t.Context()
	// Keys a and b get every side in every minute, bitcoin twice in minute 1, except that a
	// has no ml in minute 2; c comes in minute 2 only.
	var txs []rec[tx]
	var links []rec[link]
	var scores []rec[score]
	for m := range 4 {
		base := time.Duration(m) * time.Minute
		for i, k := range []string{"a", "b", "c"} {
			if k == "c" && m != 2 || k != "c" && m == 2 && k == "a" {
				if k == "a" { // a has bitcoin and web5 in minute 2, no ml
					txs = append(txs, rec[tx]{base + 1*time.Second, tx{k, int64(100*m + i)}})
					links = append(links, rec[link]{base + 2*time.Second, link{"did:" + k, k}})
				}
				continue
			}
			off := time.Duration(i) * 10 * time.Second
			txs = append(txs, rec[tx]{base + off + 3*time.Second, tx{k, int64(100*m + i)}})
			if m == 1 {
				txs = append(txs, rec[tx]{base + off + 4*time.Second, tx{k, int64(100*m + i + 50)}})
			}
			links = append(links, rec[link]{base + off + 5*time.Second, link{"did:" + k, k}})
			scores = append(scores, rec[score]{base + off + 6*time.Second, score{k, float64(m)}})
		}
	}
	slices.SortStableFunc(txs, func(x, y rec[tx]) int { return int(x.d - y.d) })
	slices.SortStableFunc(links, func(x, y rec[link]) int { return int(x.d - y.d) })
	slices.SortStableFunc(scores, func(x, y rec[score]) int { return int(x.d - y.d) })
	type res struct {
		key     string
		start   time.Time
		sats    []int64
		b, c    int
		id      stream.ID
		missing []string
	}
	run := func(opts ...stream.Option) []res {
		j, err := stream.NewJoin3(func(x tx) string { return x.Addr }, func(l link) string { return l.Addr },
			func(s score) string { return s.Addr }, stream.Tumbling(time.Minute), opts...)
		if err != nil {
			t.Fatal(err)
		}
		var out []res
		for r, err := range j.Run(ctx, recordSource(seqOf(txs...), stream.Named("bitcoin")),
			recordSource(seqOf(links...), stream.Named("web5")), recordSource(seqOf(scores...), stream.Named("ml"))) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != stream.Insert || !r.Replaces.IsZero() {
				t.Fatalf("key %s, window %v: kind %v replacing %v, want a first insert", r.Key, r.Window, r.Kind, r.Replaces)
			}
			var sats []int64
			for _, a := range r.A {
				sats = append(sats, a.Value.Sat)
			}
			out = append(out, res{r.Key, r.Window.Start, sats, len(r.B), len(r.C), r.ID, slices.Clone(r.Missing)})
		}
		return out
	}
	owned := run()
	want := []string{"c 2 [202] 1 1"}
	for m := range 4 {
		for i, k := range []string{"a", "b"} {
			if m == 2 && k == "a" {
				continue
			}
			sats := fmt.Sprint(100*m + i)
			if m == 1 {
				sats += fmt.Sprint(" ", 100*m+i+50)
			}
			want = append(want, fmt.Sprintf("%s %d [%s] 1 1", k, m, sats))
		}
	}
	var got []string
	for _, r := range owned {
		got = append(got, fmt.Sprintf("%s %d %v %d %d", r.key, int(r.start.Sub(t0)/time.Minute), r.sats, r.b, r.c))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("results\n%v\nwant\n%v", got, want)
	}
	if reused := run(stream.WithReuse()); !slices.EqualFunc(owned, reused, func(x, y res) bool {
		return x.key == y.key && x.start.Equal(y.start) && slices.Equal(x.sats, y.sats) && x.b == y.b && x.c == y.c && x.id == y.id
	}) {
		t.Fatalf("WithReuse gives\n%+v\nwithout\n%+v", reused, owned)
	}
	// Outer, with room for two keys: c (minute 2) evicts the least recently updated key; every
	// key that comes back starts a window of its own events only.
	for _, reuse := range []bool{false, true} {
		opts := []stream.Option{stream.WithOuter(), stream.WithMaxKeys(2)}
		if reuse {
			opts = append(opts, stream.WithReuse())
		}
		for _, r := range run(opts...) {
			m := int(r.start.Sub(t0) / time.Minute)
			for _, s := range r.sats {
				if int(s)/100 != m {
					t.Fatalf("reuse %v: key %s, window %d holds event %d of another window", reuse, r.key, m, s)
				}
			}
			if r.b > 1 || r.c > 1 {
				t.Fatalf("reuse %v: key %s, window %d: %d web5 and %d ml events, want at most one", reuse, r.key, m, r.b, r.c)
			}
		}
	}
}

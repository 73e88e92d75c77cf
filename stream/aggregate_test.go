package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
	"github.com/anya-org/anya-go/stream/streamtest"
)

func byAddr(x tx) string { return x.Addr }
func sat(x tx) int64     { return x.Sat }

// render formats results as "key [start,end) value (count)" with times in seconds from t0,
// sorted, for comparisons.
func render[R any](rs []stream.Result[string, R]) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s %s [%d,%d) %v (%d)", r.Kind, r.Key,
			int(r.Window.Start.Sub(t0)/time.Second), int(r.Window.End.Sub(t0)/time.Second), r.Value, r.Count))
	}
	sort.Strings(out)
	return out
}

func wantLines(t *testing.T, got, want []string) {
	t.Helper()
	got = slices.Clone(got)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func s(d int) time.Duration { return time.Duration(d) * time.Second }

func TestAggregations(t *testing.T) {
	ctx := t.Context()
	in := seqOf(
		rec[tx]{s(1), tx{"a", 5}}, rec[tx]{s(2), tx{"b", 7}}, rec[tx]{s(3), tx{"a", 3}},
		rec[tx]{s(30), tx{"a", 9}}, rec[tx]{s(61), tx{"a", 1}}, rec[tx]{s(62), tx{"b", 7}},
	)
	run := func(t *testing.T, agg func() []string, want ...string) {
		t.Helper()
		wantLines(t, agg(), want)
	}
	w := stream.Tumbling(time.Minute)
	t.Run("Count", func(t *testing.T) {
		op, err := stream.NewAggregate(byAddr, w, stream.Count[tx]())
		if err != nil {
			t.Fatal(err)
		}
		run(t, func() []string { return render(collect(t, op.Run(ctx, recordSource(in)))) },
			"insert a [0,60) 3 (3)", "insert b [0,60) 1 (1)", "insert a [60,120) 1 (1)", "insert b [60,120) 1 (1)")
	})
	t.Run("Sum", func(t *testing.T) {
		op, _ := stream.NewAggregate(byAddr, w, stream.Sum(sat))
		run(t, func() []string { return render(collect(t, op.Run(ctx, recordSource(in)))) },
			"insert a [0,60) 17 (3)", "insert b [0,60) 7 (1)", "insert a [60,120) 1 (1)", "insert b [60,120) 7 (1)")
	})
	t.Run("MinMax", func(t *testing.T) {
		lo, _ := stream.NewAggregate(byAddr, w, stream.Min(sat))
		hi, _ := stream.NewAggregate(byAddr, w, stream.Max(sat))
		got := append(render(collect(t, lo.Run(ctx, recordSource(in)))), render(collect(t, hi.Run(ctx, recordSource(in))))...)
		sort.Strings(got)
		wantLines(t, got, []string{"insert a [0,60) 3 (3)", "insert a [0,60) 9 (3)", "insert b [0,60) 7 (1)", "insert b [0,60) 7 (1)",
			"insert a [60,120) 1 (1)", "insert a [60,120) 1 (1)", "insert b [60,120) 7 (1)", "insert b [60,120) 7 (1)"})
	})
	t.Run("Distinct", func(t *testing.T) {
		op, _ := stream.NewAggregate(func(tx) string { return "all" }, w, stream.Distinct(byAddr))
		run(t, func() []string { return render(collect(t, op.Run(ctx, recordSource(in)))) },
			"insert all [0,60) [a b] (4)", "insert all [60,120) [a b] (2)")
	})
	t.Run("Reduce", func(t *testing.T) {
		op, _ := stream.NewAggregate(byAddr, w, stream.Reduce(func(x, y tx) tx {
			if y.Sat > x.Sat {
				return y
			}
			return x
		}))
		run(t, func() []string { return render(collect(t, op.Run(ctx, recordSource(in)))) },
			"insert a [0,60) {a 9} (3)", "insert b [0,60) {b 7} (1)", "insert a [60,120) {a 1} (1)", "insert b [60,120) {b 7} (1)")
	})
	t.Run("Sliding", func(t *testing.T) {
		op, _ := stream.NewAggregate(byAddr, stream.Sliding(time.Minute, 30*time.Second), stream.Sum(sat))
		run(t, func() []string { return render(collect(t, op.Run(ctx, recordSource(in)))) },
			"insert a [-30,30) 8 (2)", "insert b [-30,30) 7 (1)",
			"insert a [0,60) 17 (3)", "insert b [0,60) 7 (1)",
			"insert a [30,90) 10 (2)", "insert b [30,90) 7 (1)",
			"insert a [60,120) 1 (1)", "insert b [60,120) 7 (1)")
	})
}

func TestSessionWindows(t *testing.T) {
	ctx := t.Context()
	op, err := stream.NewAggregate(byAddr, stream.Session(10*time.Second), stream.Sum(sat))
	if err != nil {
		t.Fatal(err)
	}
	in := seqOf(
		rec[tx]{s(0), tx{"a", 1}}, rec[tx]{s(5), tx{"a", 2}}, rec[tx]{s(14), tx{"a", 4}}, // one session, bridged event by event
		rec[tx]{s(24), tx{"a", 8}},   // exactly gap after the last: a new session
		rec[tx]{s(100), tx{"a", 16}}, // a third
		rec[tx]{s(3), tx{"b", 1}},    // out of order on purpose: late (bound 0) and dropped
	)
	got := render(collect(t, op.Run(ctx, recordSource(in))))
	wantLines(t, got, []string{"insert a [0,24) 7 (3)", "insert a [24,34) 8 (1)", "insert a [100,110) 16 (1)"})
	if st := op.Stats(); st.Late != 1 || st.LateDropped != 1 {
		t.Fatalf("late event not counted as dropped: %+v", st)
	}
}

// A late event bridging two emitted sessions merges them: the merged session replaces one
// and the other is retracted.
func TestSessionMergeLateUpdate(t *testing.T) {
	ctx := t.Context()
	in := streamtest.NewManual[tx](t)
	op, err := stream.NewAggregate(byAddr, stream.Session(10*time.Second), stream.Sum(sat),
		stream.WithLatePolicy(stream.LateUpdate), stream.WithAllowedLateness(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	out := streamtest.Collect(t, op.Run(ctx, in.Source()))
	in.Emit(at(s(0)), tx{"a", 1})
	in.Emit(at(s(15)), tx{"a", 2})
	in.Watermark(at(s(40)))
	in.Sync()
	first := out.Take()
	wantLines(t, render(first), []string{"insert a [0,10) 1 (1)", "insert a [15,25) 2 (1)"})
	in.Emit(at(s(8)), tx{"a", 4}) // bridges [0,10) and [15,25): [0,18) overlaps both
	in.Sync()
	got := out.Take()
	wantLines(t, render(got), []string{"retract a [15,25) 0 (0)", "update a [0,25) 7 (3)"})
	ids := map[stream.ID]bool{first[0].ID: true, first[1].ID: true}
	for _, r := range got {
		if !ids[r.Replaces] {
			t.Fatalf("%v %v replaces %v, which was never emitted", r.Kind, r.ID, r.Replaces)
		}
	}
	in.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestOutOfOrderWithinBound(t *testing.T) {
	ctx := t.Context()
	op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Sum(sat))
	in := seqOf(
		rec[tx]{s(50), tx{"a", 1}}, rec[tx]{s(65), tx{"a", 2}}, rec[tx]{s(40), tx{"a", 4}}, // 25 s behind the newest
		rec[tx]{s(70), tx{"a", 8}}, rec[tx]{s(59), tx{"a", 16}}, rec[tx]{s(130), tx{"a", 32}},
	)
	got := render(collect(t, op.Run(ctx, recordSource(in, stream.OutOfOrder(30*time.Second)))))
	wantLines(t, got, []string{"insert a [0,60) 21 (3)", "insert a [60,120) 10 (2)", "insert a [120,180) 32 (1)"})
	if st := op.Stats(); st.Late != 0 || st.Records != 6 {
		t.Fatalf("stats %+v", st)
	}
	// Without the bound, the records behind are late and dropped.
	got = render(collect(t, op.Run(ctx, recordSource(in))))
	wantLines(t, got, []string{"insert a [0,60) 1 (1)", "insert a [60,120) 10 (2)", "insert a [120,180) 32 (1)"})
	if st := op.Stats(); st.Late != 2 || st.LateDropped != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLatePolicies(t *testing.T) {
	ctx := t.Context()
	// a window [0,60) closes at watermark 60; a late event at 30 arrives at watermark 100.
	in := seqOf(rec[tx]{s(10), tx{"a", 1}}, rec[tx]{s(100), tx{"a", 2}}, rec[tx]{s(30), tx{"a", 4}}, rec[tx]{s(200), tx{"a", 8}}, rec[tx]{s(5), tx{"a", 16}})
	t.Run("Drop", func(t *testing.T) {
		op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Sum(sat))
		got := render(collect(t, op.Run(ctx, recordSource(in))))
		wantLines(t, got, []string{"insert a [0,60) 1 (1)", "insert a [60,120) 2 (1)", "insert a [180,240) 8 (1)"})
		if st := op.Stats(); st.Late != 2 || st.LateDropped != 2 || st.LateOutput != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("SideOutput", func(t *testing.T) {
		var late []stream.Late
		op, err := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Sum(sat),
			stream.WithLatePolicy(stream.LateSideOutput), stream.WithLateOutput(func(_ context.Context, l stream.Late) error {
				late = append(late, l)
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		got := render(collect(t, op.Run(ctx, recordSource(in, stream.Named("txs")))))
		wantLines(t, got, []string{"insert a [0,60) 1 (1)", "insert a [60,120) 2 (1)", "insert a [180,240) 8 (1)"})
		if len(late) != 2 || late[0].Source != "txs" || late[0].Offset != 3 || late[0].Value.(tx).Sat != 4 || !late[0].Time.Equal(at(s(30))) ||
			!late[0].Watermark.Equal(at(s(100))) || late[1].Value.(tx).Sat != 16 {
			t.Fatalf("late events %+v", late)
		}
		if st := op.Stats(); st.Late != 2 || st.LateOutput != 2 || st.LateDropped != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("SideOutputError", func(t *testing.T) {
		boom := errors.New("late sink down")
		op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Sum(sat),
			stream.WithLatePolicy(stream.LateSideOutput), stream.WithLateOutput(func(context.Context, stream.Late) error { return boom }))
		var err error
		for _, e := range op.Run(ctx, recordSource(in)) {
			if e != nil {
				err = e
			}
		}
		if !errors.Is(err, boom) {
			t.Fatalf("Run ended with %v, want the late output's error", err)
		}
	})
	t.Run("Update", func(t *testing.T) {
		var late []stream.Late
		op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Sum(sat),
			stream.WithLatePolicy(stream.LateUpdate), stream.WithAllowedLateness(time.Minute),
			stream.WithLateOutput(func(_ context.Context, l stream.Late) error { late = append(late, l); return nil }))
		m := streamtest.NewManual[tx](t)
		out := streamtest.Collect(t, op.Run(ctx, m.Source()))
		m.Emit(at(s(10)), tx{"a", 1})
		m.Emit(at(s(100)), tx{"a", 2})
		m.Watermark(at(s(100)))
		m.Sync()
		first := out.Take()
		wantLines(t, render(first), []string{"insert a [0,60) 1 (1)"})
		m.Emit(at(s(30)), tx{"a", 4}) // late; [0,60) is kept until watermark 120
		m.Sync()
		upd := out.Take()
		wantLines(t, render(upd), []string{"update a [0,60) 5 (2)"})
		if upd[0].Replaces != first[0].ID || upd[0].ID == first[0].ID {
			t.Fatalf("update %v replaces %v, want %v", upd[0].ID, upd[0].Replaces, first[0].ID)
		}
		m.Emit(at(s(200)), tx{"a", 8})
		m.Watermark(at(s(200)))
		m.Emit(at(s(5)), tx{"a", 16}) // [0,60) was dropped at 120: too late
		m.End()
		if err := out.Wait(); err != nil {
			t.Fatal(err)
		}
		wantLines(t, render(out.Take()), []string{"insert a [60,120) 2 (1)", "insert a [180,240) 8 (1)"})
		if len(late) != 1 || late[0].Value.(tx).Sat != 16 || !late[0].Watermark.Equal(at(s(200))) {
			t.Fatalf("too-late events %+v", late)
		}
		if st := op.Stats(); st.Late != 2 || st.Updates != 1 || st.LateOutput != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestLateUpdateJoinOuter(t *testing.T) {
	ctx := t.Context()
	a := streamtest.NewManual[tx](t, stream.Named("bitcoin"))
	b := streamtest.NewManual[link](t, stream.Named("web5"))
	c := streamtest.NewManual[score](t, stream.Named("ml"))
	j, err := stream.NewJoin3(byAddr, func(l link) string { return l.Addr }, func(s score) string { return s.Addr },
		stream.Tumbling(time.Minute), stream.WithOuter(), stream.WithLatePolicy(stream.LateUpdate), stream.WithAllowedLateness(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	out := streamtest.Collect(t, j.Run(ctx, a.Source(), b.Source(), c.Source()))
	a.Emit(at(s(10)), tx{"x", 1})
	b.Emit(at(s(20)), link{"did:x", "x"})
	for _, w := range []interface{ Watermark(time.Time) }{a, b, c} {
		w.Watermark(at(s(61)))
	}
	a.Sync()
	b.Sync()
	c.Sync()
	first := out.Take()
	if len(first) != 1 || !slices.Equal(first[0].Missing, []string{"ml"}) || first[0].Kind != stream.Insert {
		t.Fatalf("partial at close: %+v", first)
	}
	c.Emit(at(s(30)), score{"x", 0.2}) // late, within the allowed lateness
	c.Sync()
	upd := out.Take()
	if len(upd) != 1 || upd[0].Kind != stream.Update || upd[0].Replaces != first[0].ID || upd[0].Missing != nil || len(upd[0].C) != 1 {
		t.Fatalf("late completion: %+v", upd)
	}
	for _, m := range []interface{ End() }{a, b, c} {
		m.End()
	}
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
}

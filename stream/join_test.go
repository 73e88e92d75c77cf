package stream_test

import (
	"context"
	"slices"
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
	ctx := context.Background()
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
	ctx := context.Background()
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
	ctx := context.Background()
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
	ctx := context.Background()
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

package stream_test

import (
	"context"
	"errors"
	"iter"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/stream"
	"github.com/anya-org/anya-go/stream/streamtest"
)

// A pipeline cancelled half-way checkpoints; the next Run resumes from there and the two runs
// together emit what one run does, under the same IDs.
func TestRestartAfterCancel(t *testing.T) {
	in := make([]stream.Record[tx], 0, 600)
	for i := range 600 {
		in = append(in, stream.Record[tx]{Time: at(time.Duration(i) * time.Second), Value: tx{Addr: string(rune('a' + i%5)), Sat: int64(i)}})
	}
	ref, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Sum(sat))
	want := map[stream.ID]string{}
	for _, r := range collect(t, ref.Run(t.Context(), recordSource(in))) {
		want[r.ID] = render([]stream.Result[string, int64]{r})[0]
	}

	store := stream.NewMemoryStore()
	newOp := func() *stream.Aggregate[string, tx, int64, int64] {
		op, err := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Sum(sat), stream.WithStore(store), stream.WithCheckpointInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	got := map[stream.ID]string{}
	keep := func(rs []stream.Result[string, int64]) {
		for _, r := range rs {
			line := render([]stream.Result[string, int64]{r})[0]
			if prev, ok := got[r.ID]; ok && prev != line {
				t.Fatalf("ID %v for two results: %s, %s", r.ID, prev, line)
			}
			got[r.ID] = line
		}
	}
	// First life: half the input, then the context ends.
	ctx, cancel := context.WithCancel(t.Context())
	op := newOp()
	m := streamtest.NewManual[tx](t)
	out := streamtest.Collect(t, op.Run(ctx, m.Source()))
	for _, r := range in[:300] {
		m.EmitRecord(r)
		m.Watermark(r.Time)
	}
	m.Sync()
	cancel()
	if err := out.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run ended with %v", err)
	}
	if st := op.Stats(); st.Checkpoints != 1 || st.Records == 0 {
		t.Fatalf("a cancelled run checkpoints once on the way out: %+v", st)
	}
	keep(out.Results())
	first := len(got)
	// Second life: a new operator (as a new process would build) resumes after the checkpoint.
	op = newOp()
	m = streamtest.NewManual[tx](t)
	out = streamtest.Collect(t, op.Run(t.Context(), m.Source()))
	after := m.After()
	if after != 300 {
		t.Fatalf("resumed after offset %d, want 300", after)
	}
	for _, r := range in[after:] {
		m.EmitRecord(r)
		m.Watermark(r.Time)
	}
	m.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
	keep(out.Results())
	if len(got) != len(want) || first == 0 || first >= len(want) {
		t.Fatalf("first life %d results, both %d, want %d", first, len(got), len(want))
	}
	for id, line := range want {
		if got[id] != line {
			t.Fatalf("result %v: got %q want %q", id, got[id], line)
		}
	}
	if st := op.Stats(); st.Records != 600 {
		t.Fatalf("counters did not carry over: %+v", st)
	}
}

func TestCheckpointRefused(t *testing.T) {
	ctx := t.Context()
	in := seqOf(rec[tx]{s(1), tx{"a", 1}}, rec[tx]{s(70), tx{"a", 1}})
	good := func(store stream.Store) {
		op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx](), stream.WithStore(store), stream.WithName("p"))
		ctx, cancel := context.WithCancel(ctx)
		for _, err := range op.Run(ctx, recordSource(in[:1])) {
			_ = err
		}
		cancel()
	}
	for name, tc := range map[string]struct {
		prepare func(s stream.Store)
		op      func(s stream.Store) (func(context.Context) error, error)
	}{
		"other window size": {
			prepare: good,
			op: func(s stream.Store) (func(context.Context) error, error) {
				op, err := stream.NewAggregate(byAddr, stream.Tumbling(time.Hour), stream.Count[tx](), stream.WithStore(s), stream.WithName("p"))
				return runErr(op.Run, in), err
			},
		},
		"other operator": {
			prepare: good,
			op: func(s stream.Store) (func(context.Context) error, error) {
				op, err := stream.NewMatcher(byAddr, stream.Begin("a", func(tx) bool { return true }), stream.WithStore(s), stream.WithName("p"))
				return runErr(op.Run, in), err
			},
		},
		"source renamed": {
			prepare: good,
			op: func(s stream.Store) (func(context.Context) error, error) {
				op, err := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx](), stream.WithStore(s), stream.WithName("p"))
				return func(ctx context.Context) error {
					for _, err := range op.Run(ctx, recordSource(in, stream.Named("renamed"))) {
						if err != nil {
							return err
						}
					}
					return nil
				}, err
			},
		},
		"garbage metadata": {
			prepare: func(s stream.Store) { _ = s.Commit(ctx, "p", []stream.Change{{Key: "m", Value: []byte("{not json")}}) },
			op:      aggOp,
		},
		"garbage key state": {
			prepare: func(s stream.Store) {
				good(s)
				_ = s.Commit(ctx, "p", []stream.Change{{Key: `k/"a"`, Value: []byte(`{"seq":1,"slots":[{"s":5,"e":1}]}`)}})
			},
			op: aggOp,
		},
		"unknown entry": {
			prepare: func(s stream.Store) { good(s); _ = s.Commit(ctx, "p", []stream.Change{{Key: "x", Value: []byte("1")}}) },
			op:      aggOp,
		},
		"missing metadata": {
			prepare: func(s stream.Store) { _ = s.Commit(ctx, "p", []stream.Change{{Key: "p/in0", Value: []byte("[]")}}) },
			op:      aggOp,
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := stream.NewMemoryStore()
			tc.prepare(s)
			var before []string
			_ = s.Load(ctx, "p", func(k string, v []byte) error { before = append(before, k+"="+string(v)); return nil })
			run, err := tc.op(s)
			if err != nil {
				t.Fatal(err)
			}
			err = run(ctx)
			var ce *stream.CheckpointError
			if !errors.As(err, &ce) || !errors.Is(err, stream.ErrCheckpoint) {
				t.Fatalf("got %v, want a *CheckpointError", err)
			}
			var after []string
			_ = s.Load(ctx, "p", func(k string, v []byte) error { after = append(after, k+"="+string(v)); return nil })
			if strings.Join(before, "\n") != strings.Join(after, "\n") {
				t.Fatalf("a refused checkpoint was changed:\n%v\n%v", before, after)
			}
		})
	}
}

func aggOp(store stream.Store) (func(context.Context) error, error) {
	op, err := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx](), stream.WithStore(store), stream.WithName("p"))
	return runErr(op.Run, seqOf(rec[tx]{s(1), tx{"a", 1}})), err
}

func runErr[R any](run func(context.Context, ...*stream.Source[tx]) iter.Seq2[R, error], in []stream.Record[tx]) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, err := range run(ctx, recordSource(in)) {
			if err != nil {
				return err
			}
		}
		return nil
	}
}

func TestBusSourceAndSink(t *testing.T) {
	ctx := t.Context()
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rec := make(chan stream.Result[string, int64], 16)
	_, err = bus.Subscribe(b, "anya.totals", func(_ context.Context, e bus.Envelope[stream.Result[string, int64]]) error {
		rec <- e.Payload
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	type payment struct {
		Addr string
		Sat  int64
		At   time.Time
		Seq  uint64
	}
	resumedAfter := make(chan uint64, 1)
	src := stream.FromBus[payment](b, "bitcoin.tx.*",
		stream.EventTime(func(p payment) time.Time { return p.At }),
		stream.OffsetBy(func(p payment) uint64 { return p.Seq }),
		stream.OnResume(func(_ context.Context, after uint64) error { resumedAfter <- after; return nil }),
		stream.SubscribeWith(bus.QueueSize(4)))
	op, err := stream.NewAggregate(func(p payment) string { return p.Addr }, stream.Tumbling(time.Minute), stream.Sum(func(p payment) int64 { return p.Sat }))
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- stream.Pipe(pctx, op.Run(pctx, src), stream.ToBus[stream.Result[string, int64]](b, "anya.totals"))
	}()
	if after := <-resumedAfter; after != 0 {
		t.Fatalf("resumed after %d without a checkpoint", after)
	}
	for i, p := range []payment{{"a", 1, at(s(1)), 1}, {"a", 2, at(s(2)), 2}, {"a", 99, at(s(2)), 2}, {"b", 5, at(s(3)), 3}, {"a", 4, at(s(61)), 4}} {
		if err := bus.Publish(ctx, b, "bitcoin.tx.mempool", p); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	var got []stream.Result[string, int64]
	for len(got) < 2 {
		select {
		case r := <-rec:
			got = append(got, r)
		case <-time.After(10 * time.Second):
			t.Fatalf("results on the bus: %+v", got)
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Key < got[j].Key })
	if got[0].Key != "a" || got[0].Value != 3 || got[1].Key != "b" || got[1].Value != 5 {
		t.Fatalf("got %+v (the replayed offset 2 must be skipped)", got)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("pipe ended with %v", err)
	}
	if st := op.Stats(); st.Skipped != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A consumer that does not take results stops the pipeline taking records, and the source
// waits: at most its input buffer and the records already pending are taken from it.
func TestBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const buffer = 8
		m := streamtest.NewManual[tx](t)
		op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Second), stream.Count[tx](), stream.WithInputBuffer(buffer))
		gate := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- stream.Pipe(t.Context(), op.Run(t.Context(), m.Source()), func(context.Context, stream.Result[string, int64]) error {
				<-gate // a stuck sink
				return nil
			})
		}()
		var emitted atomic.Int64
		go func() {
			for i := range 1000 {
				m.Emit(at(time.Duration(i)*time.Second), tx{"a", 1})
				emitted.Add(1)
				m.Watermark(at(time.Duration(i) * time.Second))
			}
		}()
		synctest.Wait() // everyone is blocked: the sink on the gate, the source on the full buffer
		if n := emitted.Load(); n >= 1000 || n > 4*buffer {
			t.Fatalf("the source emitted %d records past a stuck sink (buffer %d)", n, buffer)
		}
		close(gate)
		synctest.Wait()
		if n := emitted.Load(); n != 1000 {
			t.Fatalf("emitted %d", n)
		}
		m.End()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := op.Stats(); st.Results != 1000 {
			t.Fatalf("stats %+v", st)
		}
	})
}

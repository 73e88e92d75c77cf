package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// mergeOp is an operator whose timers are a sorted list of times; it logs what fires.
type mergeOp struct {
	rt     *runtime
	timers []int64
	log    *[]string
}

func (o *mergeOp) shape() string                   { return "merge test" }
func (o *mergeOp) live() int                       { return 0 }
func (o *mergeOp) checkpoint(*[]Change) error      { return nil }
func (o *mergeOp) restoreKey(string, []byte) error { return nil }
func (o *mergeOp) restored()                       {}

// add sets a timer at at.
func (o *mergeOp) add(at int64) {
	o.timers = append(o.timers, at)
	slices.Sort(o.timers)
	o.rt.timerMin = o.timers[0]
}

// fire fires the timers due at the earliest time.
func (o *mergeOp) fire() {
	at := o.timers[0]
	for len(o.timers) > 0 && o.timers[0] == at {
		o.timers = o.timers[1:]
	}
	o.rt.timerMin = maxTime
	if len(o.timers) > 0 {
		o.rt.timerMin = o.timers[0]
	}
	*o.log = append(*o.log, fmt.Sprintf("timer %d", at))
}

// mergeInput is one input's pending records for TestMergeOrder: times in order, in chunks.
type mergeInput struct {
	times  []int64
	chunks []int // chunk sizes
}

// TestMergeOrder checks that the runtime processes the pending records of several inputs and
// the operator's timers in the documented order — by time; a timer before records of its time;
// records of one time by input, then offset — whatever the inputs' chunks, including timers
// that processed records set (every seventh record of each input, or every one, sets one a
// nanosecond after its own time, which must fire before the records of that later time). The
// reference is the order rule applied one step at a time.
func TestMergeOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inputs   int
		perInput int
		span     int64 // records' times are in [0, span): the smaller, the more ties
		w        int64 // the watermark processed to
		every    uint64
	}{
		{"three inputs, many ties", 3, 1000, 200, 150, 7},
		{"three inputs, few ties", 3, 1000, 100_000, 100_000, 7},
		{"three inputs, long runs of one time", 3, 2000, 20, 20, 7},
		{"three inputs, every record sets a timer", 3, 1000, 3000, 3000, 1},
		{"three inputs, no timers set", 3, 1000, 3000, 2500, 1 << 62},
		{"two inputs", 2, 700, 500, 400, 7},
		{"five inputs", 5, 600, 300, 250, 7},
		{"one input", 1, 900, 300, 200, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.inputs), uint64(tc.span)))
			ins := make([]mergeInput, tc.inputs)
			for i := range ins {
				ts := make([]int64, tc.perInput)
				for j := range ts {
					ts[j] = rng.Int64N(tc.span)
				}
				slices.Sort(ts)
				ins[i].times = ts
				for n := len(ts); n > 0; {
					c := min(n, 1+rng.IntN(300))
					ins[i].chunks = append(ins[i].chunks, c)
					n -= c
				}
			}
			initial := []int64{tc.span / 3, tc.span / 3, tc.span / 2, tc.span + 5}
			got := runMerge(t, ins, initial, tc.w, tc.every)
			want := refMerge(ins, initial, tc.w, tc.every)
			if len(got) != len(want) {
				t.Fatalf("%d steps, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("step %d: %s, want %s", i, got[i], want[i])
				}
			}
		})
	}
}

// runMerge runs the runtime's process to w over ins with the timers initial; every every-th
// record of an input sets a timer a nanosecond after its time.
func runMerge(t *testing.T, ins []mergeInput, initial []int64, w int64, every uint64) []string {
	t.Helper()
	cfg, err := newConfig("merge", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	rt := newRuntime(&cfg, new(statsBox))
	op := &mergeOp{rt: rt, log: &log}
	rt.op = op
	for i := range ins {
		src := NewSource(func(context.Context, uint64, *Emitter[int]) error { return nil })
		err := addPort(rt, src, func(r *Record[int], at int64) {
			log = append(log, fmt.Sprintf("in%d #%d at %d", i, r.Offset, at))
			if r.Offset%every == 0 {
				op.add(at + 1)
			}
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := rt.inputs[i].(*port[int])
		off := uint64(0)
		for _, n := range ins[i].chunks {
			c := make([]pending[int], 0, n)
			for range n {
				off++
				c = append(c, pending[int]{t: ins[i].times[off-1], r: Record[int]{Offset: off}})
			}
			p.chunks = append(p.chunks, c)
		}
		p.queued = int(off)
		p.setHead()
	}
	for _, at := range initial {
		op.add(at)
	}
	rt.process(w)
	total := 0
	for i, in := range rt.inputs {
		p := in.(*port[int])
		left := 0
		for _, ts := range ins[i].times {
			if ts >= w {
				left++
			}
		}
		if p.queued != left {
			t.Errorf("input %d: %d records pending, want %d", i, p.queued, left)
		}
		if want := p.headTime(); rt.heads[i] != want {
			t.Errorf("input %d: head %d, want %d", i, rt.heads[i], want)
		}
		total += len(ins[i].times) - left
	}
	if rt.c.records != uint64(total) {
		t.Errorf("%d records counted, want %d", rt.c.records, total)
	}
	return log
}

// headTime is the time of p's next pending record, maxTime if none.
func (p *port[T]) headTime() int64 {
	if len(p.chunks) == 0 {
		return maxTime
	}
	return p.chunks[0][p.head].t
}

// refMerge applies the order rule one step at a time.
func refMerge(ins []mergeInput, initial []int64, w int64, every uint64) []string {
	var log []string
	timers := slices.Clone(initial)
	pos := make([]int, len(ins))
	for {
		slices.Sort(timers)
		best, bt := -1, w
		for i, in := range ins {
			if pos[i] < len(in.times) && in.times[pos[i]] < bt {
				best, bt = i, in.times[pos[i]]
			}
		}
		if len(timers) > 0 && timers[0] <= w && (best < 0 || timers[0] <= bt) {
			at := timers[0]
			for len(timers) > 0 && timers[0] == at {
				timers = timers[1:]
			}
			log = append(log, fmt.Sprintf("timer %d", at))
			continue
		}
		if best < 0 {
			return log
		}
		pos[best]++
		off := uint64(pos[best])
		log = append(log, fmt.Sprintf("in%d #%d at %d", best, off, bt))
		if off%every == 0 {
			timers = append(timers, bt+1)
		}
	}
}

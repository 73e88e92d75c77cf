package stream

import (
	"strconv"
	"testing"
	"time"
)

type bTx struct {
	Addr string
	Sat  int64
}

// BenchmarkCoreJoin3 drives the join operator directly, without sources, handoff or merge: the
// cost of the operator's own work per event.
func BenchmarkCoreJoin3(b *testing.B) {
	b.Run("owned", func(b *testing.B) { benchCoreJoin3(b) })
	b.Run("reuse", func(b *testing.B) { benchCoreJoin3(b, WithReuse()) })
}

func benchCoreJoin3(b *testing.B, opts ...Option) {
	const keys = 10_000
	names := make([]string, keys)
	for i := range names {
		names[i] = "bc1q" + strconv.Itoa(1_000_000+i)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := time.Minute / (3 * keys)
	j, err := NewJoin3(func(x bTx) string { return x.Addr }, func(x bTx) string { return x.Addr }, func(x bTx) string { return x.Addr }, Tumbling(time.Minute), opts...)
	if err != nil {
		b.Fatal(err)
	}
	rt := newRuntime(&j.cfg, &j.stats)
	n := 0
	r := newJoin3Run(j, rt, func(x Joined3[string, bTx, bTx, bTx], _ error) bool { n += len(x.A); return true })
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w, k := i/(3*keys), i%(3*keys)
		at := base.Add(time.Duration(w)*time.Minute + time.Duration(k)*step)
		rec := Record[bTx]{Offset: uint64(i/3 + 1), Time: at, Value: bTx{Addr: names[k/3], Sat: int64(i)}}
		t := nanos(at)
		for rt.timerMin <= t {
			rt.wm = t
			r.fire()
		}
		switch k % 3 {
		case 0:
			r.addA(&rec, t, minTime)
		case 1:
			r.addB(&rec, t, minTime)
		default:
			r.addC(&rec, t, minTime)
		}
	}
	_ = n
}

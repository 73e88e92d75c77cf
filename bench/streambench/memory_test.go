package streambench

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
)

// BenchmarkMemoryPerKey builds state for many live keys — every key with an open window (or a
// partial match) — and reports the heap it takes per key, measured after a garbage
// collection while the pipeline holds the state.
func BenchmarkMemoryPerKey(b *testing.B) {
	const keys = 100_000
	b.Run("op=join3", func(b *testing.B) {
		j, err := stream.NewJoin3(func(x txEvent) string { return x.Addr }, func(l linkEvent) string { return l.Addr },
			func(s scoreEvent) string { return s.Addr }, stream.Tumbling(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		memPerKey(b, keys, func(ctx context.Context, hold func(ctx context.Context, sync func(context.Context) error) error) {
			for _, err := range j.Run(ctx,
				heldSource(keys, hold, func(i int) stream.Record[txEvent] {
					return stream.Record[txEvent]{Time: base.Add(time.Duration(i)), Value: txEvent{Addr: memKey(i), Sat: int64(i)}}
				}),
				heldSource(keys, nil, func(i int) stream.Record[linkEvent] {
					return stream.Record[linkEvent]{Time: base.Add(time.Duration(i)), Value: linkEvent{Addr: memKey(i), DID: "did:dht:x"}}
				}),
				heldSource(keys, nil, func(i int) stream.Record[scoreEvent] {
					return stream.Record[scoreEvent]{Time: base.Add(time.Duration(i)), Value: scoreEvent{Addr: memKey(i), Risk: 0.5}}
				})) {
				if err != nil && !errors.Is(err, context.Canceled) {
					b.Error(err)
				}
			}
		})
	})
	b.Run("op=matcher", func(b *testing.B) {
		p := stream.Begin("created", func(e entityEvent) bool { return e.Kind == 0 }).
			Then("paid", func(e entityEvent) bool { return e.Kind == 2 }).Within(time.Hour)
		m, err := stream.NewMatcher(func(e entityEvent) string { return e.DID }, p)
		if err != nil {
			b.Fatal(err)
		}
		memPerKey(b, keys, func(ctx context.Context, hold func(ctx context.Context, sync func(context.Context) error) error) {
			for _, err := range m.Run(ctx, heldSource(keys, hold, func(i int) stream.Record[entityEvent] {
				return stream.Record[entityEvent]{Time: base.Add(time.Duration(i)), Value: entityEvent{DID: memKey(i)}}
			})) {
				if err != nil && !errors.Is(err, context.Canceled) {
					b.Error(err)
				}
			}
		})
	})
	b.Run("op=aggregate", func(b *testing.B) {
		a, err := stream.NewAggregate(func(x txEvent) string { return x.Addr }, stream.Tumbling(time.Hour), stream.Sum(func(x txEvent) int64 { return x.Sat }))
		if err != nil {
			b.Fatal(err)
		}
		memPerKey(b, keys, func(ctx context.Context, hold func(ctx context.Context, sync func(context.Context) error) error) {
			for _, err := range a.Run(ctx, heldSource(keys, hold, func(i int) stream.Record[txEvent] {
				return stream.Record[txEvent]{Time: base.Add(time.Duration(i)), Value: txEvent{Addr: memKey(i), Sat: int64(i)}}
			})) {
				if err != nil && !errors.Is(err, context.Canceled) {
					b.Error(err)
				}
			}
		})
	})
}

var memKeys []string

func memKey(i int) string { return memKeys[i] }

// heldSource emits n records, then, if hold is set, calls it (the pipeline holds their state
// then) before ending.
func heldSource[T any](n int, hold func(ctx context.Context, sync func(context.Context) error) error, gen func(int) stream.Record[T]) *stream.Source[T] {
	return stream.NewSource(func(ctx context.Context, _ uint64, e *stream.Emitter[T]) error {
		for i := range n {
			if err := e.Emit(ctx, gen(i)); err != nil {
				return err
			}
		}
		if hold != nil {
			return hold(ctx, e.Sync)
		}
		<-ctx.Done()
		return nil
	})
}

func memPerKey(b *testing.B, keys int, run func(ctx context.Context, hold func(ctx context.Context, sync func(context.Context) error) error)) {
	memKeys = make([]string, keys)
	for i := range memKeys {
		memKeys[i] = "bc1q" + string(rune('a'+i%26)) + itoa(i)
	}
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithCancel(context.Background())
		run(ctx, func(ctx context.Context, sync func(context.Context) error) error {
			if err := sync(ctx); err != nil {
				return err
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			cancel()
			return nil
		})
		cancel()
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(keys), "bytes/key")
	}
}

func itoa(i int) string {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(buf[n:])
		}
	}
}

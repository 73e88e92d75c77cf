package streambench

import (
	"context"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
)

// The pattern input: the seed's cross-protocol sequence per entity — created, linked, then a
// payment — with every key's three steps spread over 30,000 events, so 10,000 keys have a
// partial match at all times. Events are in event-time order, one per millisecond.
type entityEvent struct {
	Kind uint8 // 0 created, 1 linked, 2 paid
	DID  string
	Sat  int64
}

func entityAt(i int) stream.Record[entityEvent] {
	return stream.Record[entityEvent]{
		Offset: uint64(i + 1),
		Time:   base.Add(time.Duration(i) * time.Millisecond),
		Value:  entityEvent{Kind: uint8(i / liveKeys % 3), DID: keyNames[i%liveKeys], Sat: int64(i % 1000 * 100)},
	}
}

func BenchmarkPattern(b *testing.B) {
	b.Run("impl=anya", benchPatternAnya)
	b.Run("impl=map", benchPatternMap)
}

func benchPatternAnya(b *testing.B) {
	n := b.N
	p := stream.Begin("created", func(e entityEvent) bool { return e.Kind == 0 }).
		Then("linked", func(e entityEvent) bool { return e.Kind == 1 }).
		Then("paid", func(e entityEvent) bool { return e.Kind == 2 && e.Sat >= 10_000 }).
		Within(10 * time.Minute)
	m, err := stream.NewMatcher(func(e entityEvent) string { return e.DID }, p)
	if err != nil {
		b.Fatal(err)
	}
	src := stream.NewSource(func(ctx context.Context, after uint64, e *stream.Emitter[entityEvent]) error {
		for i := range n {
			if err := e.Emit(ctx, entityAt(i)); err != nil {
				return err
			}
		}
		return nil
	})
	b.ReportAllocs()
	b.ResetTimer()
	met := startMeter()
	matches := 0
	for _, err := range m.Run(context.Background(), src) {
		if err != nil {
			b.Fatal(err)
		}
		matches++
	}
	b.StopTimer()
	met.report(b, n)
	checkMatches(b, n, matches)
}

// expectedMatches counts the keys whose three steps are all among the first n events with a
// payment of at least 10,000 sat.
func expectedMatches(n int) int {
	c := 0
	for i := 2 * liveKeys; i < n; i++ {
		if i/liveKeys%3 == 2 && i%1000*100 >= 10_000 {
			c++
		}
	}
	return c
}

func checkMatches(b *testing.B, n, got int) {
	if want := expectedMatches(n); got != want {
		b.Fatalf("%d matches, want %d", got, want)
	}
}

// patternState is the hand-written matcher of the same sequence: the step reached and the
// start time, per key.
type patternState struct {
	step  uint8
	start time.Time
}

func benchPatternMap(b *testing.B) {
	n := b.N
	state := make(map[string]*patternState, liveKeys)
	within := 10 * time.Minute
	b.ReportAllocs()
	b.ResetTimer()
	met := startMeter()
	matches := 0
	for i := range n {
		r := entityAt(i)
		e := r.Value
		s := state[e.DID]
		if s != nil && r.Time.Sub(s.start) > within {
			s.step = 0
		}
		switch {
		case e.Kind == 0:
			if s == nil {
				s = &patternState{}
				state[e.DID] = s
			}
			if s.step == 0 {
				s.step, s.start = 1, r.Time
			}
		case s == nil || s.step == 0:
		case e.Kind == 1 && s.step == 1:
			s.step = 2
		case e.Kind == 2 && s.step == 2 && e.Sat >= 10_000:
			matches++
			s.step = 0
		}
	}
	b.StopTimer()
	met.report(b, n)
	checkMatches(b, n, matches)
}

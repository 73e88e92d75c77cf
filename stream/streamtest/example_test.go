package streamtest_test

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/anya-org/anya-go/stream"
	"github.com/anya-org/anya-go/stream/streamtest"
)

// A deterministic clock drives processing time: here it stamps records that carry no event
// time of their own.
func ExampleClock() {
	clk := streamtest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	pings := func(yield func(string) bool) {
		for _, host := range []string{"a", "b", "a"} {
			if !yield(host) {
				return
			}
			clk.Advance(40 * time.Second)
		}
	}
	count, _ := stream.NewAggregate(func(h string) string { return h }, stream.Tumbling(time.Minute),
		stream.Count[string](), stream.WithClock(clk.Now))
	for r, err := range count.Run(context.Background(), stream.FromSeq(iter.Seq[string](pings))) {
		if err != nil {
			panic(err)
		}
		fmt.Println(r.Key, r.Window.Start.Format("15:04"), r.Value)
	}
	// Output:
	// a 12:00 1
	// b 12:00 1
	// a 12:01 1
}

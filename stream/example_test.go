package stream_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/stream"
)

// Events of the three protocols, as their packages might publish them.
type (
	Tx struct { // bitcoin: a transaction seen paying from an address
		Address string
		Sat     int64
		Seen    time.Time
	}
	Link struct { // web5: a DID linked to an address
		DID, Address string
		Linked       time.Time
	}
	Score struct { // ml: a fraud score for an address
		Address string
		Risk    float64
		Scored  time.Time
	}
)

var (
	noon   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	txs    = []Tx{{"bc1qalice", 25_000, noon.Add(10 * time.Second)}, {"bc1qbob", 9_000, noon.Add(20 * time.Second)}}
	links  = []Link{{"did:dht:alice", "bc1qalice", noon.Add(5 * time.Second)}}
	scores = []Score{{"bc1qalice", 0.12, noon.Add(11 * time.Second)}, {"bc1qbob", 0.91, noon.Add(21 * time.Second)}}
)

// Three streams joined by address within one-minute windows; partial joins say which side is
// missing.
func ExampleJoin3() {
	ctx := context.Background()
	btc := stream.FromSeq(slices.Values(txs), stream.Named("bitcoin"), stream.EventTime(func(t Tx) time.Time { return t.Seen }))
	web5 := stream.FromSeq(slices.Values(links), stream.Named("web5"), stream.EventTime(func(l Link) time.Time { return l.Linked }))
	ml := stream.FromSeq(slices.Values(scores), stream.Named("ml"), stream.EventTime(func(s Score) time.Time { return s.Scored }))
	j, _ := stream.NewJoin3(func(t Tx) string { return t.Address }, func(l Link) string { return l.Address },
		func(s Score) string { return s.Address }, stream.Tumbling(time.Minute), stream.WithOuter())
	for r, err := range j.Run(ctx, btc, web5, ml) {
		if err != nil {
			panic(err)
		}
		fmt.Println(r.Key, len(r.A), len(r.B), len(r.C), "missing:", r.Missing)
	}
	// Output:
	// bc1qalice 1 1 1 missing: []
	// bc1qbob 1 0 1 missing: [web5]
}

// ev is one event of any protocol, brought to one type for a pattern.
type event struct {
	Kind, DID, Address string
	Sat                int64
	At                 time.Time
}

// The seed's cross-protocol pattern: a DID is created, linked to an address, then pays at
// least 10,000 sat from that address, within 10 minutes — and no step is skipped.
func ExampleMatcher() {
	ctx := context.Background()
	p := stream.Begin("created", func(e event) bool { return e.Kind == "did.created" }).
		Then("linked", func(e event) bool { return e.Kind == "did.linked" }).
		Then("paid", func(e event) bool { return e.Kind == "tx" && e.Sat >= 10_000 }).
		Where(func(e event, m stream.Partial[event]) bool {
			link, _ := m.Last("linked")
			return e.Address == link.Value.Address
		}).
		Within(10 * time.Minute)
	m, err := stream.NewMatcher(func(e event) string { return e.DID }, p)
	if err != nil {
		panic(err)
	}
	in := []event{
		{"did.created", "did:dht:alice", "", 0, noon},
		{"did.linked", "did:dht:alice", "bc1qalice", 0, noon.Add(time.Minute)},
		{"tx", "did:dht:alice", "bc1qelse", 50_000, noon.Add(2 * time.Minute)},
		{"tx", "did:dht:alice", "bc1qalice", 25_000, noon.Add(3 * time.Minute)},
	}
	src := stream.FromSeq(slices.Values(in), stream.EventTime(func(e event) time.Time { return e.At }))
	for match, err := range m.Run(ctx, src) {
		if err != nil {
			panic(err)
		}
		for _, e := range match.Events {
			fmt.Println(match.Key, e.Step, e.Value.Address, e.Value.Sat)
		}
	}
	// Output:
	// did:dht:alice created  0
	// did:dht:alice linked bc1qalice 0
	// did:dht:alice paid bc1qalice 25000
}

// Transactions per address per minute, from the bus. The subscription pushes back on
// publishers when the pipeline falls behind (bus.PolicyBlock, the default).
func ExampleFromBus() {
	ctx := context.Background()
	b, _ := bus.New()
	subscribed := make(chan struct{})
	src := stream.FromBus[Tx](b, "bitcoin.tx.*", stream.EventTime(func(t Tx) time.Time { return t.Seen }),
		stream.OnResume(func(context.Context, uint64) error { close(subscribed); return nil }))
	count, _ := stream.NewAggregate(func(t Tx) string { return t.Address }, stream.Tumbling(time.Minute), stream.Count[Tx]())
	go func() {
		<-subscribed
		for _, t := range []Tx{{"bc1qalice", 1, noon}, {"bc1qalice", 2, noon.Add(time.Second)}, {"bc1qalice", 3, noon.Add(time.Minute)}} {
			_ = bus.Publish(ctx, b, "bitcoin.tx.seen", t)
		}
		_ = b.Drain(ctx) // the bus closes: the source ends, and the last window with it
	}()
	for r, err := range count.Run(ctx, src) {
		if err != nil {
			panic(err)
		}
		fmt.Println(r.Key, r.Window.Start.Format("15:04"), r.Value)
	}
	// Output:
	// bc1qalice 12:00 2
	// bc1qalice 12:01 1
}

// A transaction followed by its score within five seconds; WithOuter reports the
// transactions that got none.
func ExampleIntervalJoin() {
	ctx := context.Background()
	j, _ := stream.NewIntervalJoin(func(t Tx) string { return t.Address }, func(s Score) string { return s.Address },
		0, 5*time.Second, stream.WithOuter())
	in := []Score{{"bc1qalice", 0.12, noon.Add(11 * time.Second)}, {"bc1qbob", 0.91, noon.Add(30 * time.Second)}}
	btc := stream.FromSeq(slices.Values(txs), stream.EventTime(func(t Tx) time.Time { return t.Seen }))
	ml := stream.FromSeq(slices.Values(in), stream.EventTime(func(s Score) time.Time { return s.Scored }))
	for p, err := range j.Run(ctx, btc, ml) {
		if err != nil {
			panic(err)
		}
		fmt.Println(p.Key, p.HasB, p.B.Value.Risk)
	}
	// Output:
	// bc1qalice true 0.12
	// bc1qbob false 0
}

// Package streamtest helps test code built on package stream: a deterministic Clock for
// stream.WithClock, a Manual source whose records and watermarks the test sets one by one and
// whose Sync waits until the pipeline has processed them, a Collector that runs a pipeline in
// the background and records its results, and RunStore, the conformance suite every
// stream.Store passes.
//
// # A test with manual watermarks
//
//	in := streamtest.NewManual[Tx](t)
//	agg, _ := stream.NewAggregate(func(tx Tx) string { return tx.Address }, stream.Tumbling(time.Minute), stream.Count[Tx]())
//	out := streamtest.Collect(t, agg.Run(ctx, in.Source()))
//	in.Emit(t0.Add(10*time.Second), Tx{Address: "a"})
//	in.Watermark(t0.Add(time.Minute)) // closes the first window
//	in.Sync()                         // returns once the result is recorded
//	got := out.Results()
//
// # Stores
//
// A Store implementation proves its contract with one line:
//
//	func TestStore(t *testing.T) { streamtest.RunStore(t, func(t *testing.T) stream.Store { return newStore(t) }) }
package streamtest

package streamtest

import (
	"context"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
)

// Manual is a source driven by the test: Emit hands over records, Watermark moves its
// watermark (it has no other: stream.ManualWatermarks), Sync waits until the pipeline has
// processed everything so far, End ends it. Its methods fail the test on error and must be
// called from the test's goroutine, while the pipeline runs (see Collect).
type Manual[T any] struct {
	tb      testing.TB
	src     *stream.Source[T]
	mu      sync.Mutex
	em      *stream.Emitter[T]
	after   uint64
	started chan struct{}
	end     chan struct{}
}

// NewManual returns a manual source configured by opts (stream.Named, ...).
func NewManual[T any](tb testing.TB, opts ...stream.SourceOption) *Manual[T] {
	m := &Manual[T]{tb: tb, started: make(chan struct{}), end: make(chan struct{})}
	m.src = stream.NewSource(m.run, append([]stream.SourceOption{stream.ManualWatermarks()}, opts...)...)
	return m
}

func (m *Manual[T]) run(ctx context.Context, after uint64, e *stream.Emitter[T]) error {
	m.mu.Lock()
	m.em, m.after = e, after
	started, end := m.started, m.end
	m.mu.Unlock()
	close(started)
	select {
	case <-ctx.Done():
	case <-end:
	}
	m.mu.Lock()
	m.em = nil
	m.started, m.end = make(chan struct{}), make(chan struct{})
	m.mu.Unlock()
	return nil
}

// Source returns the source to pass to an operator's Run. It can be run again after a run
// ends, as a restarted pipeline would.
func (m *Manual[T]) Source() *stream.Source[T] { return m.src }

// emitter waits for the pipeline to start the source.
func (m *Manual[T]) emitter() *stream.Emitter[T] {
	m.tb.Helper()
	m.mu.Lock()
	started := m.started
	m.mu.Unlock()
	<-started
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.em == nil {
		m.tb.Fatal("streamtest: the manual source is not running")
	}
	return m.em
}

// After returns the offset the running source resumed after (0 without a checkpoint).
func (m *Manual[T]) After() uint64 {
	m.tb.Helper()
	m.emitter()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.after
}

// Emit hands over a record of v at event time at, with the next offset.
func (m *Manual[T]) Emit(at time.Time, v T) {
	m.tb.Helper()
	m.EmitRecord(stream.Record[T]{Time: at, Value: v})
}

// EmitRecord hands over r as it is.
func (m *Manual[T]) EmitRecord(r stream.Record[T]) {
	m.tb.Helper()
	if err := m.emitter().Emit(context.Background(), r); err != nil {
		m.tb.Fatalf("streamtest: emit: %v", err)
	}
}

// Watermark declares that no record before at will follow.
func (m *Manual[T]) Watermark(at time.Time) {
	m.tb.Helper()
	if err := m.emitter().Watermark(context.Background(), at); err != nil {
		m.tb.Fatalf("streamtest: watermark: %v", err)
	}
}

// Sync waits until the pipeline has processed everything handed over so far and delivered the
// results to its consumer.
func (m *Manual[T]) Sync() {
	m.tb.Helper()
	if err := m.emitter().Sync(context.Background()); err != nil {
		m.tb.Fatalf("streamtest: sync: %v", err)
	}
}

// End ends the source: the pipeline ends once all its sources have.
func (m *Manual[T]) End() {
	m.tb.Helper()
	m.emitter()
	m.mu.Lock()
	end := m.end
	m.mu.Unlock()
	close(end)
}

// Collector runs a pipeline on its own goroutine and records what it yields.
type Collector[R any] struct {
	mu      sync.Mutex
	results []R
	err     error
	done    chan struct{}
}

// Collect starts consuming seq (an operator's Run) in the background. The test's cleanup
// waits for it to end.
func Collect[R any](tb testing.TB, seq iter.Seq2[R, error]) *Collector[R] {
	c := &Collector[R]{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for r, err := range seq {
			c.mu.Lock()
			if err != nil {
				c.err = err
			} else {
				c.results = append(c.results, r)
			}
			c.mu.Unlock()
		}
	}()
	tb.Cleanup(func() { <-c.done })
	return c
}

// Results returns what was yielded so far.
func (c *Collector[R]) Results() []R {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]R(nil), c.results...)
}

// Take returns what was yielded since the last Take (or since the start).
func (c *Collector[R]) Take() []R {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.results
	c.results = nil
	return r
}

// Wait waits for the pipeline to end and returns the error it ended with, if any.
func (c *Collector[R]) Wait() error {
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

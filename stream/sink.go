package stream

import (
	"context"
	"iter"

	"github.com/anya-org/anya-go/bus"
)

// Sink takes a pipeline's results one at a time; an error stops Pipe. A sink that waits slows
// the pipeline, and through it the sources (see the package documentation on backpressure).
type Sink[R any] func(ctx context.Context, r R) error

// Pipe runs results (an operator's Run) into sink until it ends, and returns the error it
// ended with: the pipeline's, ctx's, or the sink's. Results of window joins made with
// WithReuse borrow the operator's buffers: a sink that keeps them must take r.Clone().
func Pipe[R any](ctx context.Context, results iter.Seq2[R, error], sink Sink[R]) error {
	for r, err := range results {
		if err != nil {
			return err
		}
		if err := sink(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// ToChan sends each result on ch, waiting while ch is full unless ctx ends.
func ToChan[R any](ch chan<- R) Sink[R] {
	return func(ctx context.Context, r R) error {
		select {
		case ch <- r:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ToBus publishes each result on b to topic, with opts. Under the subscribers' PolicyBlock a
// full subscriber queue makes the sink, and so the pipeline, wait.
func ToBus[R any](b *bus.Bus, topic string, opts ...bus.PublishOption) Sink[R] {
	return func(ctx context.Context, r R) error { return bus.Publish(ctx, b, topic, r, opts...) }
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
)

// Stage names, as reported by [StageError] and [Stats].
const (
	StageExtract   = "extract"
	StageValidate  = "validate"
	StageTransform = "transform"
	StageScore     = "score"
	StageSink      = "sink"
	StagePublish   = "publish"
)

// Sentinel errors.
var (
	// ErrInvalid reports a bad argument: a nil bus given to [Pipeline.Subscribe].
	ErrInvalid = errors.New("pipeline: invalid argument")
	// ErrInvalidOption is wrapped by every [OptionError].
	ErrInvalidOption = errors.New("pipeline: invalid option")
	// ErrNotConstructed is returned by the methods of a zero [Pipeline] that can fail.
	ErrNotConstructed = errors.New("pipeline: a zero Pipeline is not usable: create it with pipeline.New")
)

// OptionError reports an invalid option or argument of [New], naming it. Nothing is
// constructed when it is returned. It matches [ErrInvalidOption] with [errors.Is].
type OptionError struct {
	Option string // the option, e.g. "WithSink", or the argument, e.g. "extract"
	Value  any    // the rejected value
	Reason string // what a valid value looks like
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("pipeline: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns [ErrInvalidOption].
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// StageError reports the stage at which an input failed.
type StageError struct {
	Pipeline string
	Stage    string
	Err      error
}

func (e *StageError) Error() string {
	return fmt.Sprintf("pipeline %s: %s: %v", e.Pipeline, e.Stage, e.Err)
}

// Unwrap returns the stage's error.
func (e *StageError) Unwrap() error { return e.Err }

// Scorer scores feature vectors; *ml.Engine is one.
type Scorer interface {
	Score(ctx context.Context, v ml.Vector) (ml.Result, error)
}

// Extract turns an input (a transaction event, a resolved identity) into a feature vector.
type Extract[In any] func(ctx context.Context, in In) (ml.Vector, error)

// Transform adjusts a vector before scoring: enrichment from the feature store, redaction,
// clipping.
type Transform func(ctx context.Context, v ml.Vector) (ml.Vector, error)

// Sink receives every scored input: record it, act on it.
type Sink[In any] func(ctx context.Context, s Scored[In]) error

// Scored is an input with the vector it was scored on and the result: the message a pipeline
// publishes.
type Scored[In any] struct {
	Input  In        `json:"input"`
	Vector ml.Vector `json:"vector"`
	Result ml.Result `json:"result"`
}

// Option configures a Pipeline of inputs of type In.
type Option[In any] func(*config[In])

type config[In any] struct {
	schema     *ml.Schema
	transforms []Transform
	sinks      []Sink[In]
}

// WithSchema validates extracted vectors against s, which must pass [ml.Schema.Check].
// Defaults to the scorer's active model's schema when the scorer has one (as *ml.Engine does),
// else no validation stage.
func WithSchema[In any](s ml.Schema) Option[In] { return func(c *config[In]) { c.schema = &s } }

// WithTransform appends transform stages, run in order after validation; none may be nil.
// Defaults to none.
func WithTransform[In any](t ...Transform) Option[In] {
	return func(c *config[In]) { c.transforms = append(c.transforms, t...) }
}

// WithSink appends sinks, run in order after scoring; none may be nil. Defaults to none.
func WithSink[In any](s ...Sink[In]) Option[In] {
	return func(c *config[In]) { c.sinks = append(c.sinks, s...) }
}

// Pipeline runs inputs through extract → validate → transform → score → sinks. It owns no
// goroutines: callers (or a bus subscription, see [Pipeline.Subscribe]) bring the concurrency,
// and an [ml.Engine] scorer coalesces concurrent calls into batches. Safe for concurrent use.
// Create it with [New]; the methods of the zero value that can fail return [ErrNotConstructed].
type Pipeline[In any] struct {
	name       string
	extract    Extract[In]
	schema     *ml.Schema
	transforms []Transform
	scorer     Scorer
	sinks      []Sink[In]

	processed atomic.Uint64
	failed    map[string]*atomic.Uint64
}

// New returns a pipeline called name (for errors and stats).
func New[In any](name string, extract Extract[In], scorer Scorer, opts ...Option[In]) (*Pipeline[In], error) {
	var c config[In]
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	bad := func(option string, v any, reason string) (*Pipeline[In], error) {
		return nil, &OptionError{Option: option, Value: v, Reason: reason}
	}
	switch {
	case name == "":
		return bad("name", name, "must not be empty")
	case extract == nil:
		return bad("extract", nil, "must not be nil")
	case scorer == nil:
		return bad("scorer", nil, "must not be nil")
	}
	if c.schema != nil {
		if err := c.schema.Check(); err != nil {
			return bad("WithSchema", c.schema.ID(), err.Error())
		}
	}
	for i, t := range c.transforms {
		if t == nil {
			return bad("WithTransform", nil, fmt.Sprintf("transform %d is nil", i))
		}
	}
	for i, s := range c.sinks {
		if s == nil {
			return bad("WithSink", nil, fmt.Sprintf("sink %d is nil", i))
		}
	}
	p := &Pipeline[In]{name: name, extract: extract, scorer: scorer, schema: c.schema, transforms: c.transforms, sinks: c.sinks,
		failed: map[string]*atomic.Uint64{}}
	for _, s := range []string{StageExtract, StageValidate, StageTransform, StageScore, StageSink, StagePublish} {
		p.failed[s] = new(atomic.Uint64)
	}
	return p, nil
}

// Name returns the pipeline's name.
func (p *Pipeline[In]) Name() string { return p.name }

// Stats counts inputs fully processed and failures per stage.
type Stats struct {
	Processed uint64
	Failed    map[string]uint64
}

// Stats returns the pipeline's counters.
func (p *Pipeline[In]) Stats() Stats {
	s := Stats{Processed: p.processed.Load(), Failed: map[string]uint64{}}
	for k, v := range p.failed {
		s.Failed[k] = v.Load()
	}
	return s
}

func (p *Pipeline[In]) fail(stage string, err error) error {
	p.failed[stage].Add(1)
	return &StageError{Pipeline: p.name, Stage: stage, Err: err}
}

type modeled interface{ Model() *ml.Model }

// Process runs one input through every stage and returns what the sinks received. The first
// failing stage stops it with a [*StageError].
func (p *Pipeline[In]) Process(ctx context.Context, in In) (Scored[In], error) {
	if p.extract == nil {
		return Scored[In]{}, ErrNotConstructed
	}
	v, err := p.extract(ctx, in)
	if err != nil {
		return Scored[In]{}, p.fail(StageExtract, err)
	}
	schema := p.schema
	if schema == nil {
		if m, ok := p.scorer.(modeled); ok {
			schema = m.Model().Schema()
		}
	}
	if schema != nil {
		if err := schema.Validate(v); err != nil {
			return Scored[In]{}, p.fail(StageValidate, err)
		}
	}
	for _, t := range p.transforms {
		if v, err = t(ctx, v); err != nil {
			return Scored[In]{}, p.fail(StageTransform, err)
		}
	}
	r, err := p.scorer.Score(ctx, v)
	if err != nil {
		return Scored[In]{}, p.fail(StageScore, err)
	}
	s := Scored[In]{Input: in, Vector: v, Result: r}
	for _, sink := range p.sinks {
		if err := sink(ctx, s); err != nil {
			return s, p.fail(StageSink, err)
		}
	}
	p.processed.Add(1)
	return s, nil
}

// Subscribe makes the bus the pipeline's source and, when out is not empty, a sink: every message
// of type In on a topic matching pattern is processed, and its Scored result is published on
// out as a child of the input message (same key, causation and correlation IDs). A failed input
// is returned to the bus as the handler's error, so the subscription's DeadLetter, Retry and
// error handler apply. opts are passed to bus.Subscribe; use bus.Concurrency to score several
// inputs at once (the engine batches them).
func (p *Pipeline[In]) Subscribe(b *bus.Bus, pattern, out string, opts ...bus.SubscribeOption) (*bus.Subscription, error) {
	if p.extract == nil {
		return nil, ErrNotConstructed
	}
	if b == nil {
		return nil, fmt.Errorf("%w: nil bus", ErrInvalid)
	}
	opts = append([]bus.SubscribeOption{bus.Named("pipeline." + p.name)}, opts...)
	return bus.Subscribe(b, pattern, func(ctx context.Context, e bus.Envelope[In]) error {
		ctx = bus.ContextWithParent(ctx, e.Meta)
		s, err := p.Process(ctx, e.Payload)
		if err != nil {
			return err
		}
		if out == "" {
			return nil
		}
		if err := bus.Publish(ctx, b, out, s, bus.WithKey(e.Key)); err != nil {
			return p.fail(StagePublish, err)
		}
		return nil
	}, opts...)
}

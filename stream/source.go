package stream

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/anya-org/anya-go/bus"
)

// Defaults of the source options.
const (
	// DefaultOutOfOrder is how far behind its newest record a source's records may arrive.
	DefaultOutOfOrder = time.Duration(0)
	// DefaultIdleAfter is how long a source must be quiet to stop holding back the
	// watermark; 0 means never.
	DefaultIdleAfter = time.Duration(0)
)

// Source is one input of a pipeline: it produces records of type T, each with an event time and
// an offset, and resumes after an offset when a pipeline restarts from a checkpoint. Create one
// with FromSeq, FromChan, FromBus or NewSource. A Source can feed one running pipeline at a
// time.
//
// Watermarks. A source's watermark is the time before which it will produce no more records:
// by default the newest event time it has produced minus its OutOfOrder bound. A pipeline's
// watermark is the smallest of its sources', ignoring sources that have ended and sources idle
// for their IdleAfter; it never goes back.
//
// Offsets. Records carry strictly increasing offsets within their source. A pipeline that
// restarts from a checkpoint runs each source with the offset of the last record the checkpoint
// covers, and drops records at or below it, so a source that replays a little more than asked
// loses nothing and doubles nothing.
type Source[T any] struct {
	cfg sourceConfig
	err error // an invalid option, reported by Run
	run func(ctx context.Context, after uint64, e *Emitter[T]) error
	// value extractors, type-checked when the source is created
	timeOf   func(T) time.Time
	idOf     func(T) string
	offsetOf func(T) uint64
}

// SourceOption configures a Source.
type SourceOption func(*sourceConfig)

type sourceConfig struct {
	name     string
	bound    time.Duration
	idle     time.Duration
	manual   bool
	onResume func(ctx context.Context, after uint64) error
	timeOf   any
	idOf     any
	offsetOf any
	busOpts  []bus.SubscribeOption
}

// Named names the source in checkpoints, stats, missing sides of outer joins and late events.
// Names must be unique among the sources of one pipeline and stay the same across restarts.
// Defaults to "in0", "in1", ... by position.
func Named(name string) SourceOption { return func(c *sourceConfig) { c.name = name } }

// OutOfOrder declares that the source's records may arrive up to d behind the newest one it has
// produced: its watermark trails its newest event time by d. Records later than that are late
// (see WithLatePolicy). Defaults to DefaultOutOfOrder (records arrive in event-time order).
func OutOfOrder(d time.Duration) SourceOption { return func(c *sourceConfig) { c.bound = d } }

// IdleAfter makes the source stop holding back the pipeline's watermark once it has produced
// nothing for d of processing time, so that one quiet stream does not stall a join; it counts
// again with its next record, which may then be late. Defaults to DefaultIdleAfter (never idle).
func IdleAfter(d time.Duration) SourceOption { return func(c *sourceConfig) { c.idle = d } }

// ManualWatermarks makes the source's watermark move only when it calls Emitter.Watermark,
// instead of following its event times. Defaults to off.
func ManualWatermarks() SourceOption { return func(c *sourceConfig) { c.manual = true } }

// OnResume calls f when the pipeline starts the source, with the offset its checkpoint covers
// (0 without one), so the host can replay what follows into a channel or onto the bus: the
// notifier's block height, an event sequence. For FromBus it is called once the subscription is
// in place, so nothing the replay publishes is missed. Defaults to none.
func OnResume(f func(ctx context.Context, after uint64) error) SourceOption {
	return func(c *sourceConfig) { c.onResume = f }
}

// EventTime takes each record's event time from its value. T must be the source's value type;
// the pipeline reports an *OptionError otherwise. Defaults to the bus message's time for
// FromBus, and to the processing time at which the record is emitted for other sources.
func EventTime[T any](f func(T) time.Time) SourceOption {
	return func(c *sourceConfig) { c.timeOf = f }
}

// EventID takes each record's ID from its value (see Record.ID). Defaults to none: records are
// identified by source name and offset.
func EventID[T any](f func(T) string) SourceOption {
	return func(c *sourceConfig) { c.idOf = f }
}

// OffsetBy takes each record's offset from its value: a block height and index, an event
// sequence number. Offsets must increase; a record at or below the last one is treated as a
// replay and skipped (Stats.Skipped). Defaults to counting records: 1, 2, 3, ... after the
// offset the source resumed from.
func OffsetBy[T any](f func(T) uint64) SourceOption {
	return func(c *sourceConfig) { c.offsetOf = f }
}

// SubscribeWith passes options to the bus subscription of a FromBus source: its queue size and
// OnFull policy decide what happens when the pipeline is slower than the publishers (see the
// package documentation). Defaults to the bus's defaults.
func SubscribeWith(opts ...bus.SubscribeOption) SourceOption {
	return func(c *sourceConfig) { c.busOpts = append(c.busOpts, opts...) }
}

func newSource[T any](opts []SourceOption) *Source[T] {
	s := &Source[T]{}
	for _, o := range opts {
		if o != nil {
			o(&s.cfg)
		}
	}
	typed := func(opt string, v any, want string) bool {
		if v != nil && s.err == nil {
			s.err = &OptionError{Option: opt, Value: fmt.Sprintf("%T", v), Reason: "the source's values need " + want}
		}
		return false
	}
	var ok bool
	if s.cfg.timeOf != nil {
		if s.timeOf, ok = s.cfg.timeOf.(func(T) time.Time); !ok {
			typed("EventTime", s.cfg.timeOf, fmt.Sprintf("func(%s) time.Time", typeName[T]()))
		}
	}
	if s.cfg.idOf != nil {
		if s.idOf, ok = s.cfg.idOf.(func(T) string); !ok {
			typed("EventID", s.cfg.idOf, fmt.Sprintf("func(%s) string", typeName[T]()))
		}
	}
	if s.cfg.offsetOf != nil {
		if s.offsetOf, ok = s.cfg.offsetOf.(func(T) uint64); !ok {
			typed("OffsetBy", s.cfg.offsetOf, fmt.Sprintf("func(%s) uint64", typeName[T]()))
		}
	}
	switch {
	case s.err != nil:
	case s.cfg.bound < 0:
		s.err = &OptionError{Option: "OutOfOrder", Value: s.cfg.bound, Reason: "must not be negative"}
	case s.cfg.idle < 0:
		s.err = &OptionError{Option: "IdleAfter", Value: s.cfg.idle, Reason: "must not be negative"}
	}
	return s
}

func typeName[T any]() string {
	var p *T
	return fmt.Sprintf("%T", p)[1:]
}

// record builds the record of value v with the source's extractors; Time and Offset stay zero
// when the source has no extractor for them (the emitter fills them in).
func (s *Source[T]) record(v T) Record[T] {
	r := Record[T]{Value: v}
	if s.timeOf != nil {
		r.Time = s.timeOf(v)
	}
	if s.idOf != nil {
		r.ID = s.idOf(v)
	}
	if s.offsetOf != nil {
		r.Offset = s.offsetOf(v)
	}
	return r
}

// NewSource returns a source that runs run: run emits records through e until it has nothing
// more (it returns nil: the source has ended) or ctx is done; any other error stops the
// pipeline. after is the offset of the last record a restored checkpoint covers (0 without
// one): run should continue after it. A record emitted with a zero Offset gets the last offset
// plus one; one with a zero Time gets the processing time.
func NewSource[T any](run func(ctx context.Context, after uint64, e *Emitter[T]) error, opts ...SourceOption) *Source[T] {
	s := newSource[T](opts)
	s.run = run
	if run == nil && s.err == nil {
		s.err = &OptionError{Option: "NewSource", Value: nil, Reason: "nil run function"}
	}
	return s
}

// FromSeq returns a source of the values of seq, with offsets 1, 2, 3, ... (or OffsetBy). On
// resume it skips the values up to the checkpoint's offset, so seq must yield the same values
// in the same order each time. The source ends when seq does.
func FromSeq[T any](seq iter.Seq[T], opts ...SourceOption) *Source[T] {
	s := newSource[T](opts)
	s.run = func(ctx context.Context, after uint64, e *Emitter[T]) error {
		if s.cfg.onResume != nil {
			if err := s.cfg.onResume(ctx, after); err != nil {
				return err
			}
		}
		var i uint64
		for v := range seq {
			i++
			r := s.record(v)
			if s.offsetOf == nil {
				if i <= after {
					continue
				}
				r.Offset = i
			}
			if err := e.Emit(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}
	if seq == nil && s.err == nil {
		s.err = &OptionError{Option: "FromSeq", Value: nil, Reason: "nil sequence"}
	}
	return s
}

// FromChan returns a source of the values received from ch; it ends when ch is closed. A
// channel cannot be rewound: to resume without loss, replay into it from OnResume (with
// OffsetBy, so replayed values keep their offsets).
func FromChan[T any](ch <-chan T, opts ...SourceOption) *Source[T] {
	s := newSource[T](opts)
	s.run = func(ctx context.Context, after uint64, e *Emitter[T]) error {
		if s.cfg.onResume != nil {
			if err := s.cfg.onResume(ctx, after); err != nil {
				return err
			}
		}
		for {
			select {
			case v, ok := <-ch:
				if !ok {
					return nil
				}
				if err := e.Emit(ctx, s.record(v)); err != nil {
					return err
				}
			case <-ctx.Done():
				return nil
			}
		}
	}
	if ch == nil && s.err == nil {
		s.err = &OptionError{Option: "FromChan", Value: nil, Reason: "nil channel"}
	}
	return s
}

// FromBus returns a source of the messages published on b to topics matching pattern, with the
// message's time as event time unless EventTime says otherwise. The subscription is made when
// the pipeline starts and ends with it; the source ends if the bus closes.
//
// The subscription's handler hands each message to the pipeline and waits while the pipeline's
// input buffer is full, so a slow pipeline fills the subscription's queue, and then its OnFull
// policy (SubscribeWith) decides: bus.PolicyBlock, the default, makes publishers wait — the
// slow consumer pushes back all the way; the drop policies discard messages at the bus (counted
// in its stats, never seen by the pipeline); bus.PolicyFail makes Publish return an error.
//
// The bus keeps no history: to resume without loss, republish from OnResume (the notifier from
// the checkpoint's block height, say) with OffsetBy giving each message its offset.
func FromBus[T any](b *bus.Bus, pattern string, opts ...SourceOption) *Source[T] {
	s := newSource[T](opts)
	s.run = func(ctx context.Context, after uint64, e *Emitter[T]) error {
		sub, err := bus.Subscribe(b, pattern, func(hctx context.Context, m bus.Envelope[T]) error {
			r := s.record(m.Payload)
			if s.timeOf == nil {
				r.Time = m.Time
			}
			return e.Emit(hctx, r)
		}, s.cfg.busOpts...)
		if err != nil {
			return err
		}
		defer func() {
			_ = sub.Unsubscribe()
			<-sub.Done()
		}()
		if s.cfg.onResume != nil {
			if err := s.cfg.onResume(ctx, after); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
		case <-sub.Done():
		}
		return nil
	}
	if b == nil && s.err == nil {
		s.err = &OptionError{Option: "FromBus", Value: nil, Reason: "nil bus"}
	} else if err := bus.ValidatePattern(pattern); err != nil && s.err == nil {
		s.err = &OptionError{Option: "FromBus", Value: pattern, Reason: err.Error()}
	}
	return s
}

// Map returns a source of f applied to the values of src, with the same offsets, IDs, event
// times, name and watermark settings: the way to bring streams of different types into one
// Matcher or Join.
func Map[A, B any](src *Source[A], f func(A) B) *Source[B] {
	out := &Source[B]{cfg: src.cfg, err: src.err}
	out.cfg.timeOf, out.cfg.idOf, out.cfg.offsetOf = nil, nil, nil
	if f == nil && out.err == nil {
		out.err = &OptionError{Option: "Map", Value: nil, Reason: "nil function"}
	}
	out.run = func(ctx context.Context, after uint64, e *Emitter[B]) error {
		inner := &Emitter[A]{
			emit: func(ctx context.Context, r Record[A]) error {
				return e.Emit(ctx, Record[B]{Offset: r.Offset, ID: r.ID, Time: r.Time, Value: f(r.Value)})
			},
			watermark: e.watermark,
			sync:      e.sync,
		}
		return src.run(ctx, after, inner)
	}
	return out
}

// Emitter is how a source hands records to its pipeline. Its methods are safe for concurrent
// use.
type Emitter[T any] struct {
	port      *port[T]                               // the pipeline's input; nil for the inner emitter of Map
	emit      func(context.Context, Record[T]) error // Map's, when port is nil
	watermark func(context.Context, time.Time) error
	sync      func(context.Context) error
}

// Emit hands r to the pipeline. It waits while the pipeline's input buffer is full, which is
// how a slow pipeline slows its sources; it returns ctx.Err() if ctx ends first and ErrStopped
// once the pipeline has stopped. A zero Offset becomes the last offset plus one, a zero Time
// the processing time; a record at or below the last offset is skipped as a replay.
func (e *Emitter[T]) Emit(ctx context.Context, r Record[T]) error {
	if e.port != nil {
		return e.port.push(ctx, &r)
	}
	return e.emit(ctx, r)
}

// Watermark declares that the source will produce no more records with a time before t. With
// ManualWatermarks it is the only way the source's watermark moves; otherwise it can only move
// it further than the source's event times do.
func (e *Emitter[T]) Watermark(ctx context.Context, t time.Time) error { return e.watermark(ctx, t) }

// Sync waits until the pipeline has processed everything emitted before it, and has handed the
// results that caused to its consumer.
func (e *Emitter[T]) Sync(ctx context.Context) error { return e.sync(ctx) }

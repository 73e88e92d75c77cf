package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/security"
)

// Errors of the package.
var (
	// ErrInvalidOption: a constructor option or registration refused (see *OptionError).
	ErrInvalidOption = errors.New("handler: invalid option")
	// ErrInterrupted: a side effect began and never finished (see *InterruptedError).
	ErrInterrupted = errors.New("handler: side effect interrupted")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("handler: closed")
	// ErrHandler: a handler or post-processor failed (see *HandlerError).
	ErrHandler = errors.New("handler: handler failed")
)

// OptionError names the option or registration refused. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("handler: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// HandlerError names the handler or post-processor that failed on an event. It matches
// ErrHandler and wraps the cause.
type HandlerError struct {
	Handler string
	Event   string
	Err     error
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("handler: %s on event %s: %v", e.Handler, e.Event, e.Err)
}

// Unwrap returns ErrHandler and the cause.
func (e *HandlerError) Unwrap() []error { return []error{ErrHandler, e.Err} }

// Event is what handlers receive: a kind (dot-separated), a unique ID (side effects run once
// per event ID), a time and data.
type Event struct {
	ID   string
	Kind string
	Time time.Time
	Data map[string]any
}

// Crossing is the boundary a side effect's data crosses before it runs.
type Crossing struct {
	From, To security.Protocol
	Action   string
	Data     map[string]any
}

// Effect is a side effect a handler asks for. It runs after every handler and post-processor,
// once per (event ID, handler, Name) — never again for the same event — and, when Cross is
// set, only if its data crosses the boundary; Run receives the data as it crossed.
type Effect struct {
	Name  string
	Cross *Crossing
	Run   func(ctx context.Context, data map[string]any) (any, error)
}

// Result is what a handler returns: values (its findings) and the side effects it wants.
type Result struct {
	Handler string // set by the dispatcher
	Values  map[string]any
	Effects []Effect
}

// Func handles an event.
type Func func(ctx context.Context, ev Event) (Result, error)

// PostProcessor sees every handler's result for an event, in registration order, and returns
// them changed: correlate values, drop or add effects, veto. Its error stops the event before
// any effect runs.
type PostProcessor func(ctx context.Context, ev Event, results []Result) ([]Result, error)

// Boundary checks side effects' data: a *security.Boundaries.
type Boundary interface {
	Cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error)
}

// Once runs a side effect at most once per key: a *Store.
type Once interface {
	Once(ctx context.Context, key string, f func(ctx context.Context) (any, error)) (any, bool, error)
}

// Retracter takes the side effects under a key prefix back in the Once store, so that they run
// again: a *Store.
type Retracter interface {
	RetractPrefix(ctx context.Context, prefix string) ([]Retracted, error)
}

var (
	_ Retracter = (*Store)(nil)
	_ Once      = (*Store)(nil)
	_ Boundary  = (*security.Boundaries)(nil)
)

// Option configures New.
type Option func(*config)

type config struct {
	boundary    Boundary
	concurrency int
	log         *slog.Logger
}

// DefaultConcurrency is how many handlers run at once for one event.
const DefaultConcurrency = 4

// WithBoundary sets the boundary side effects with a Crossing pass. Defaults to none: an
// effect with a Crossing is then refused (deny by default).
func WithBoundary(b Boundary) Option { return func(c *config) { c.boundary = b } }

// WithConcurrency sets how many handlers run at once for one event. Defaults to
// DefaultConcurrency.
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithLogger sets the logger. Defaults to a silent one.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

type registration struct {
	pattern, name string
	f             Func
}

// Dispatcher runs the handlers registered for an event's kind, its post-processors, then the
// side effects, each once. It is safe for concurrent use.
type Dispatcher struct {
	once Once
	cfg  config

	mu    sync.RWMutex
	regs  []registration
	posts []namedPost
}

type namedPost struct {
	name string
	f    PostProcessor
}

// New returns a dispatcher whose side effects run once through once (a *Store).
func New(once Once, opts ...Option) (*Dispatcher, error) {
	if once == nil {
		return nil, &OptionError{Option: "once", Value: nil, Reason: "side effects need an idempotency store: nil"}
	}
	cfg := config{concurrency: DefaultConcurrency, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.concurrency < 1:
		return nil, &OptionError{Option: "WithConcurrency", Value: cfg.concurrency, Reason: "must be at least 1"}
	case cfg.log == nil:
		return nil, &OptionError{Option: "WithLogger", Value: nil, Reason: "nil logger"}
	}
	return &Dispatcher{once: once, cfg: cfg}, nil
}

// Handle registers f as handler name for event kinds matching pattern ('*' one token, a final
// '>' one or more). Names are unique, without newlines: they key the side effects.
func (d *Dispatcher) Handle(pattern, name string, f Func) error {
	if err := bus.ValidatePattern(pattern); err != nil {
		return &OptionError{Option: "pattern", Value: pattern, Reason: err.Error()}
	}
	if name == "" || f == nil {
		return &OptionError{Option: "handler", Value: name, Reason: "a name and a function are needed"}
	}
	if strings.ContainsRune(name, '\n') {
		return &OptionError{Option: "handler", Value: name, Reason: "a name must not contain a newline (it separates the parts of an effect's key)"}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.regs {
		if r.name == name {
			return &OptionError{Option: "handler", Value: name, Reason: "registered twice"}
		}
	}
	d.regs = append(d.regs, registration{pattern: pattern, name: name, f: f})
	return nil
}

// PostProcess registers a post-processor; they run in registration order.
func (d *Dispatcher) PostProcess(name string, p PostProcessor) error {
	if name == "" || p == nil {
		return &OptionError{Option: "post-processor", Value: name, Reason: "a name and a function are needed"}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.posts = append(d.posts, namedPost{name: name, f: p})
	return nil
}

// EffectOutcome is what happened to one side effect.
type EffectOutcome struct {
	Handler, Effect string
	Result          any
	// Repeated: the effect ran before for this event; Result is the first run's.
	Repeated bool
	// Denied: the boundary refused its data (Err is the *security.DeniedError); it did not run.
	Denied bool
	Err    error
}

// Outcome is what one event did: every handler's result (after the post-processors) and every
// side effect's outcome.
type Outcome struct {
	Results []Result
	Effects []EffectOutcome
}

// Dispatch runs the handlers matching ev.Kind (several at once, results in registration
// order), the post-processors, then the side effects in order. A handler or post-processor
// failure is a *HandlerError and no side effect runs; side effects' failures and denials are
// in the outcome. Dispatching an event again runs no side effect twice.
func (d *Dispatcher) Dispatch(ctx context.Context, ev Event) (*Outcome, error) {
	if ev.ID == "" {
		return nil, &OptionError{Option: "event", Value: ev.Kind, Reason: "an event needs an ID"}
	}
	d.mu.RLock()
	var regs []registration
	for _, r := range d.regs {
		if bus.MatchTopic(r.pattern, ev.Kind) {
			regs = append(regs, r)
		}
	}
	posts := append([]namedPost(nil), d.posts...)
	d.mu.RUnlock()

	results := make([]Result, len(regs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.cfg.concurrency)
	for i, r := range regs {
		g.Go(func() error {
			res, err := r.f(gctx, ev)
			if err != nil {
				if gctx.Err() != nil && ctx.Err() != nil {
					return ctx.Err()
				}
				return &HandlerError{Handler: r.name, Event: ev.ID, Err: err}
			}
			res.Handler = r.name
			results[i] = res
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	for _, p := range posts {
		var err error
		if results, err = p.f(ctx, ev, results); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &HandlerError{Handler: p.name, Event: ev.ID, Err: err}
		}
	}
	out := &Outcome{Results: results}
	for _, res := range results {
		for _, eff := range res.Effects {
			o := d.effect(ctx, ev, res.Handler, eff)
			out.Effects = append(out.Effects, o)
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
		}
	}
	return out, nil
}

// Retract takes back the side effects that ran for event eventID, which no longer happened (a
// block a reorg disconnected): each is marked retracted in the Once store — dispatching the
// event again runs it again — and returned with the result it had (Handler, Effect and
// Result set), for the host to compensate. With a Once store that is not a Retracter there is
// nothing to retract.
func (d *Dispatcher) Retract(ctx context.Context, eventID string) ([]EffectOutcome, error) {
	r, ok := d.once.(Retracter)
	if !ok {
		return nil, nil
	}
	d.mu.RLock()
	names := make([]string, len(d.regs))
	for i, reg := range d.regs {
		names[i] = reg.name
	}
	d.mu.RUnlock()
	var out []EffectOutcome
	for _, name := range names {
		prefix := eventID + "\n" + name + "\n"
		rs, err := r.RetractPrefix(ctx, prefix)
		if err != nil {
			return out, err
		}
		for _, x := range rs {
			out = append(out, EffectOutcome{Handler: name, Effect: x.Key[len(prefix):], Result: x.Result})
		}
	}
	return out, nil
}

func (d *Dispatcher) effect(ctx context.Context, ev Event, handler string, eff Effect) EffectOutcome {
	o := EffectOutcome{Handler: handler, Effect: eff.Name}
	if eff.Name == "" || eff.Run == nil {
		o.Err = &OptionError{Option: "effect", Value: eff.Name, Reason: "an effect needs a name and a Run"}
		return o
	}
	var data map[string]any
	if c := eff.Cross; c != nil {
		if d.cfg.boundary == nil {
			o.Denied, o.Err = true, &security.DeniedError{From: c.From, To: c.To, Action: c.Action, Rule: "boundary", Reason: "no boundary is configured", Err: security.ErrDenied}
			return o
		}
		crossed, err := d.cfg.boundary.Cross(ctx, string(c.From), string(c.To), c.Action, c.Data)
		if err != nil {
			o.Denied, o.Err = errors.Is(err, security.ErrDenied), err
			return o
		}
		data = crossed
	}
	key := ev.ID + "\n" + handler + "\n" + eff.Name
	var ran bool
	o.Result, ran, o.Err = d.once.Once(ctx, key, func(ctx context.Context) (any, error) { return eff.Run(ctx, data) })
	o.Repeated = !ran && o.Err == nil
	return o
}

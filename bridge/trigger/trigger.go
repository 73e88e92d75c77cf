package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/security"
)

// Errors of the package.
var (
	// ErrInvalidDefinition: definitions that cannot be compiled (see *DefinitionError).
	ErrInvalidDefinition = errors.New("trigger: invalid definition")
	// ErrInvalidOption: a constructor option refused (see *OptionError).
	ErrInvalidOption = errors.New("trigger: invalid option")
	// ErrEvaluation: a condition or a param failed to evaluate on an event (see *EvalError).
	ErrEvaluation = errors.New("trigger: evaluation failed")
)

// OptionError names the option New refused. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("trigger: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// EvalError reports a condition or param that failed on an event. It matches ErrEvaluation.
type EvalError struct {
	Trigger, Field string
	Err            error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("trigger: %s: %s: %v", e.Trigger, e.Field, e.Err)
}

// Unwrap returns ErrEvaluation and the cause.
func (e *EvalError) Unwrap() []error { return []error{ErrEvaluation, e.Err} }

// Event is what triggers fire on: a kind (dot-separated, e.g. "bitcoin.tx"), a unique ID
// (side effects run once per event ID and trigger with WithOnce), a time and data: a JSON-like
// map (strings, bools, int64, float64, lists, maps) that conditions and params read.
type Event struct {
	ID   string
	Kind string
	Time time.Time
	Data map[string]any
}

// Action is a side effect in two halves, one on each side of the boundary. Prepare (optional)
// runs on the sending side with the event and the definition's params and returns the data to
// send; without it the params are sent. The data crosses the boundary (checked, redacted,
// audited); Run then performs the side effect on the receiving side and sees only what
// crossed, and the event's ID. Undo (optional) takes the side effect back when its event is
// retracted (Engine.Retract: a block a reorg disconnected), given the result Run returned (as
// the Once store kept it: decoded from JSON).
type Action struct {
	Prepare func(ctx context.Context, ev Event, params map[string]any) (map[string]any, error)
	Run     func(ctx context.Context, eventID string, data map[string]any) (any, error)
	Undo    func(ctx context.Context, eventID string, result any) error
}

// Boundary is the trust boundary side effects cross: a *security.Boundaries.
type Boundary interface {
	Cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error)
}

var _ Boundary = (*security.Boundaries)(nil)

// Once runs f at most once per key, returning the first run's result to later calls (ran is
// false then): an idempotency store such as *handler.Store.
type Once interface {
	Once(ctx context.Context, key string, f func(ctx context.Context) (any, error)) (result any, ran bool, err error)
}

// Retracter takes an event's side effect back in the Once store: it marks the effect of key
// retracted, so that the next Once runs it again, and returns the result it had (ran false
// when none finished). *handler.Store implements it.
type Retracter interface {
	Retract(ctx context.Context, key string) (result any, ran bool, err error)
}

// DefaultCostLimit bounds the CEL cost of one condition or param evaluation.
const DefaultCostLimit = 10_000

// Option configures New.
type Option func(*config)

type config struct {
	actions map[string]Action
	once    Once
	cost    uint64
	log     *slog.Logger
	badName []string
}

// WithAction registers the side effect name (Run must be set). Defaults to none: every
// definition's action must be registered.
func WithAction(name string, a Action) Option {
	return func(c *config) {
		if name == "" || a.Run == nil {
			c.badName = append(c.badName, name)
			return
		}
		c.actions[name] = a
	}
}

// WithOnce makes side effects run once per (event ID, trigger) through o. Defaults to none:
// firing an event twice runs its side effects twice.
func WithOnce(o Once) Option { return func(c *config) { c.once = o } }

// WithCostLimit bounds the CEL cost of one evaluation. Defaults to DefaultCostLimit.
func WithCostLimit(n uint64) Option { return func(c *config) { c.cost = n } }

// WithLogger sets the logger. Defaults to a silent one.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

type compiled struct {
	def    Definition
	when   cel.Program
	params []param
}

type param struct {
	name string
	prg  cel.Program
}

// Engine evaluates triggers on events. It is safe for concurrent use.
type Engine struct {
	triggers []*compiled
	b        Boundary
	cfg      config
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("data", cel.MapType(cel.StringType, cel.DynType)),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(MaxExpressionBytes),
		cel.ParserRecursionLimit(64),
	)
}

// New compiles defs once. Every problem of every definition is reported together in a
// *DefinitionError: names (present, well-formed, unique), event patterns, conditions (CEL,
// bool), actions (registered), crossings (known protocols, an action) and params (CEL).
func New(defs []Definition, b Boundary, opts ...Option) (*Engine, error) {
	cfg := config{actions: map[string]Action{}, cost: DefaultCostLimit, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case b == nil:
		return nil, &OptionError{Option: "boundary", Value: nil, Reason: "every side effect crosses a boundary: nil"}
	case len(cfg.badName) > 0:
		return nil, &OptionError{Option: "WithAction", Value: cfg.badName[0], Reason: "empty name or nil action"}
	case cfg.cost == 0:
		return nil, &OptionError{Option: "WithCostLimit", Value: 0, Reason: "must be positive"}
	case cfg.log == nil:
		return nil, &OptionError{Option: "WithLogger", Value: nil, Reason: "nil logger"}
	}
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	var probs []Problem
	if len(defs) > MaxDefinitions {
		probs = append(probs, Problem{Trigger: "-", Field: "-", Reason: fmt.Sprintf("%d definitions, at most %d", len(defs), MaxDefinitions)})
		return nil, &DefinitionError{Problems: probs}
	}
	seen := map[string]bool{}
	e := &Engine{b: b, cfg: cfg}
	for i, d := range defs {
		who := d.Name
		if who == "" {
			who = fmt.Sprintf("#%d", i)
		}
		bad := func(field, format string, args ...any) {
			probs = append(probs, Problem{Trigger: who, Field: field, Reason: fmt.Sprintf(format, args...)})
		}
		switch {
		case d.Name == "":
			bad("name", "missing")
		case !nameRE.MatchString(d.Name):
			bad("name", "%q: use letters, digits, '.', '-' and '_' (at most 64)", clip(d.Name))
		case seen[d.Name]:
			bad("name", "used twice")
		}
		seen[d.Name] = true
		if d.On == "" {
			bad("on", "missing")
		} else if err := bus.ValidatePattern(d.On); err != nil {
			bad("on", "%v", err)
		}
		if d.Action == "" {
			bad("action", "missing")
		} else if _, ok := cfg.actions[d.Action]; !ok {
			bad("action", "%q is not a registered action", clip(d.Action))
		}
		for _, side := range []struct{ field, v string }{{"cross.from", d.Cross.From}, {"cross.to", d.Cross.To}} {
			switch security.Protocol(side.v) {
			case security.Bitcoin, security.Web5, security.ML:
			default:
				bad(side.field, "%q is not a protocol (bitcoin, web5, ml)", clip(side.v))
			}
		}
		if d.Cross.From != "" && d.Cross.From == d.Cross.To {
			bad("cross", "from and to are the same protocol")
		}
		if d.Cross.Action == "" {
			bad("cross.action", "missing")
		}
		c := &compiled{def: d}
		if d.When != "" {
			prg, msg := compile(env, d.When, cfg.cost, true)
			if msg != "" {
				bad("when", "%s", msg)
			}
			c.when = prg
		}
		if len(d.Params) > MaxParams {
			bad("params", "%d params, at most %d", len(d.Params), MaxParams)
		}
		names := make([]string, 0, len(d.Params))
		for n := range d.Params {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if n == "" {
				bad("params", "a param without a name")
				continue
			}
			prg, msg := compile(env, d.Params[n], cfg.cost, false)
			if msg != "" {
				bad("params."+clip(n), "%s", msg)
				continue
			}
			c.params = append(c.params, param{name: n, prg: prg})
		}
		e.triggers = append(e.triggers, c)
	}
	if len(probs) > 0 {
		return nil, &DefinitionError{Problems: probs}
	}
	return e, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// compile type-checks expr (a bool when cond) and builds its program with the cost limit.
func compile(env *cel.Env, expr string, cost uint64, cond bool) (cel.Program, string) {
	if len(expr) > MaxExpressionBytes {
		return nil, fmt.Sprintf("expression is %d bytes, at most %d", len(expr), MaxExpressionBytes)
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err().Error()
	}
	if cond {
		if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
			return nil, fmt.Sprintf("must be a bool, is %s", t)
		}
	}
	prg, err := env.Program(ast, cel.CostLimit(cost), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, err.Error()
	}
	return prg, ""
}

// Names returns the triggers' names in definition order.
func (e *Engine) Names() []string {
	out := make([]string, len(e.triggers))
	for i, t := range e.triggers {
		out[i] = t.def.Name
	}
	return out
}

// Outcome is what one trigger did with an event.
type Outcome struct {
	Trigger string
	// Params are the data as it crossed the boundary (redacted where it says so).
	Params map[string]any
	// Result is the action's result.
	Result any
	// Denied reports that the boundary refused the params; Err is then its
	// *security.DeniedError and the action did not run.
	Denied bool
	// Repeated reports that the side effect ran before for this event (WithOnce): Result is
	// the first run's.
	Repeated bool
	// Err is why the trigger failed: an *EvalError, a denial, or the action's error.
	Err error
}

// Fire evaluates every trigger whose pattern matches ev.Kind, in definition order, and runs
// the side effects of those whose condition holds. Failures, denials included, are outcomes,
// not errors; the error is ctx.Err() when ctx ends.
func (e *Engine) Fire(ctx context.Context, ev Event) ([]Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data := ev.Data
	if data == nil {
		data = map[string]any{}
	}
	vars := map[string]any{
		"event": map[string]any{"id": ev.ID, "kind": ev.Kind, "time": ev.Time.UTC().Format(time.RFC3339Nano), "data": data},
		"data":  data,
	}
	var out []Outcome
	for _, t := range e.triggers {
		if !bus.MatchTopic(t.def.On, ev.Kind) {
			continue
		}
		if t.when != nil {
			v, _, err := t.when.ContextEval(ctx, vars)
			if err != nil {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				out = append(out, Outcome{Trigger: t.def.Name, Err: &EvalError{Trigger: t.def.Name, Field: "when", Err: err}})
				continue
			}
			ok, isBool := v.Value().(bool)
			if !isBool {
				out = append(out, Outcome{Trigger: t.def.Name, Err: &EvalError{Trigger: t.def.Name, Field: "when", Err: fmt.Errorf("result is %s, not a bool", v.Type().TypeName())}})
				continue
			}
			if !ok {
				continue
			}
		}
		o := e.run(ctx, t, ev, vars)
		if ctx.Err() != nil {
			return append(out, o), ctx.Err()
		}
		out = append(out, o)
	}
	return out, nil
}

func (e *Engine) run(ctx context.Context, t *compiled, ev Event, vars map[string]any) Outcome {
	o := Outcome{Trigger: t.def.Name}
	params := make(map[string]any, len(t.params))
	for _, p := range t.params {
		v, _, err := p.prg.ContextEval(ctx, vars)
		if err == nil {
			params[p.name], err = native(v, 0)
		}
		if err != nil {
			o.Err = &EvalError{Trigger: t.def.Name, Field: "params." + p.name, Err: err}
			return o
		}
	}
	action := e.cfg.actions[t.def.Action]
	if action.Prepare != nil {
		prepared, err := action.Prepare(ctx, ev, params)
		if err != nil {
			o.Err = err
			return o
		}
		params = prepared
	}
	crossed, err := e.b.Cross(ctx, t.def.Cross.From, t.def.Cross.To, t.def.Cross.Action, params)
	if err != nil {
		o.Denied, o.Err = errors.Is(err, security.ErrDenied), err
		if o.Denied {
			e.cfg.log.Info("trigger: side effect denied", "trigger", t.def.Name, "event", ev.ID, "err", err)
		}
		return o
	}
	o.Params = crossed
	if e.cfg.once == nil {
		o.Result, o.Err = action.Run(ctx, ev.ID, crossed)
		return o
	}
	var ran bool
	o.Result, ran, o.Err = e.cfg.once.Once(ctx, ev.ID+"\n"+t.def.Name, func(ctx context.Context) (any, error) {
		return action.Run(ctx, ev.ID, crossed)
	})
	o.Repeated = !ran && o.Err == nil
	return o
}

// Retraction is what Retract did with one trigger's side effect for an event.
type Retraction struct {
	Trigger string
	// Result is what the side effect had returned.
	Result any
	// Undone reports that the action's Undo ran and succeeded; false for an action without
	// one, whose effect is only marked retracted.
	Undone bool
	// Err is Undo's error (the effect stays marked retracted: the event is gone either way).
	Err error
}

// Retract takes back the side effects that ran for event eventID, which no longer happened (a
// block a reorg disconnected): for each trigger whose effect ran for it (WithOnce's store
// kept its result), the effect is marked retracted in the store — firing the event again (the
// block returning) runs it again — and the action's Undo, if it has one, is given the result
// to take it back. It needs a Once store that is a Retracter (*handler.Store); with none
// there is nothing to retract. The error is the store's or ctx.Err(): Undo's errors are in
// the retractions.
func (e *Engine) Retract(ctx context.Context, eventID string) ([]Retraction, error) {
	r, ok := e.cfg.once.(Retracter)
	if !ok {
		return nil, nil
	}
	var out []Retraction
	for _, t := range e.triggers {
		res, ran, err := r.Retract(ctx, eventID+"\n"+t.def.Name)
		if err != nil {
			return out, err
		}
		if !ran {
			continue
		}
		x := Retraction{Trigger: t.def.Name, Result: res}
		if undo := e.cfg.actions[t.def.Action].Undo; undo != nil {
			if x.Err = undo(ctx, eventID, res); x.Err == nil {
				x.Undone = true
			} else if ctx.Err() != nil {
				return append(out, x), ctx.Err()
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// native converts a CEL value to JSON-like Go: nil, bool, int64, uint64, float64, string,
// []any, map[string]any.
func native(v ref.Val, depth int) (any, error) {
	if depth > 32 {
		return nil, errors.New("value nested too deep")
	}
	switch v.Type() {
	case types.NullType:
		return nil, nil
	case types.BoolType, types.IntType, types.UintType, types.DoubleType, types.StringType:
		return v.Value(), nil
	case types.ListType:
		l := v.(traits.Lister)
		n, _ := l.Size().Value().(int64)
		out := make([]any, 0, n)
		for i := int64(0); i < n; i++ {
			x, err := native(l.Get(types.Int(i)), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case types.MapType:
		m := v.(traits.Mapper)
		out := map[string]any{}
		for it := m.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			ks, ok := k.Value().(string)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string", k)
			}
			x, err := native(m.Get(k), depth+1)
			if err != nil {
				return nil, err
			}
			out[ks] = x
		}
		return out, nil
	}
	if types.IsError(v) {
		return nil, fmt.Errorf("%v", v)
	}
	return nil, fmt.Errorf("a %s cannot be a param", v.Type().TypeName())
}

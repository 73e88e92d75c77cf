package workflow

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/telemetry"
	"github.com/anya-org/anya-go/security"
)

// runner executes one run. It lives for one Run or Resume call, on one goroutine.
type runner struct {
	e       *Engine
	p       *plan
	rec     *RunRecord // status, error, version as stored (or about to be created)
	created bool
	lease   *holder      // the run's lease; acquired at once for a stored run, after Create for a new one
	steps   []StepRecord // per plan step; Status "" until reached
	sc      scope
	act     activation
	events  []staged // to publish after the next flush
	buf     []StepRecord
	tr      Transition
}

type staged struct {
	topic string
	ev    Event
}

// abortError carries a store failure out through an Executor: the run stops without recording a
// failure, and continues on Resume.
type abortError struct{ err error }

func (e *abortError) Error() string { return e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

func (e *Engine) newRunner(p *plan, rec *RunRecord, in map[string]any) *runner {
	r := &runner{e: e, p: p, rec: rec, created: true, steps: make([]StepRecord, len(p.steps)),
		sc: scope{input: in, outs: make([]map[string]any, len(p.steps))}}
	r.act = activation{names: p.names, sc: &r.sc}
	return r
}

// restore loads the stored step records into the runner.
func (r *runner) restore() error {
	for _, st := range r.rec.Steps {
		if st.Index < 0 || st.Index >= len(r.p.steps) || r.p.steps[st.Index].id != st.ID {
			return fmt.Errorf("%w: run %s: step record %s at %d does not match the definition", ErrCorruptState, r.rec.ID, st.ID, st.Index)
		}
		switch st.Status {
		case StepRunning, StepSkipped:
		case StepCompleted, StepCompensating, StepCompensated, StepCompensationFailed:
			out, err := decodeObject(st.Output)
			if err != nil {
				return fmt.Errorf("%w: run %s step %s output: %v", ErrCorruptState, r.rec.ID, st.ID, err)
			}
			if out == nil {
				out = map[string]any{}
			}
			for k, t := range r.p.steps[st.Index].fields {
				if v, ok := out[k]; ok {
					if out[k], err = coerce(v, t); err != nil {
						return fmt.Errorf("%w: run %s step %s output %s: %v", ErrCorruptState, r.rec.ID, st.ID, k, err)
					}
				}
			}
			r.sc.outs[st.Index] = out
		case StepFailed:
			if r.rec.Status == StatusRunning {
				return fmt.Errorf("%w: run %s is running with failed step %s", ErrCorruptState, r.rec.ID, st.ID)
			}
		default:
			return fmt.Errorf("%w: run %s step %s has status %q", ErrCorruptState, r.rec.ID, st.ID, st.Status)
		}
		r.steps[st.Index] = st
	}
	if !r.rec.Status.valid() {
		return fmt.Errorf("%w: run %s has status %q", ErrCorruptState, r.rec.ID, r.rec.Status)
	}
	return nil
}

func (r *runner) execute(ctx context.Context) (*Result, error) {
	if r.rec.Status == StatusCompensating {
		return r.compensate(ctx)
	}
	for i, sp := range r.p.steps {
		st := &r.steps[i]
		switch st.Status {
		case StepCompleted, StepSkipped:
			continue
		case "":
			st.ID, st.Index = sp.id, i
			if sp.cond != nil {
				ok, err := sp.cond.eval(&r.act)
				if err != nil {
					return r.fail(ctx, i, err, true)
				}
				if !ok {
					st.Status, st.Finished = StepSkipped, r.e.cfg.now()
					r.stepEvent(TopicStepSkipped, i, "")
					continue
				}
			}
		}
		out, err := r.step(ctx, i)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var ae *abortError
			if errors.As(err, &ae) {
				return nil, ae.err
			}
			return r.fail(ctx, i, err, true)
		}
		enc, err := encodeJSON(out)
		if err != nil {
			return r.fail(ctx, i, err, true)
		}
		st.Status, st.Output, st.Finished, st.Error = StepCompleted, enc, r.e.cfg.now(), ""
		r.sc.outs[i] = out
		r.stepEvent(TopicStepCompleted, i, "")
		if sp.term != nil {
			stop, err := sp.term.eval(&r.act)
			if err != nil {
				return r.fail(ctx, i, err, false)
			}
			if stop {
				return r.finish(ctx, StatusTerminated)
			}
		}
	}
	return r.finish(ctx, StatusCompleted)
}

// runStep renders the step's input, passes it through the guard, and runs its attempts under its
// policy. Each attempt after the first renders the input afresh (the operation owns what it gets).
func (r *runner) runStep(ctx context.Context, i int) (map[string]any, error) {
	sp, st := r.p.steps[i], &r.steps[i]
	input, err := r.input(ctx, sp)
	if err != nil {
		return nil, err
	}
	var result map[string]any
	first := true
	err = sp.exec(ctx, func(actx context.Context) error {
		if st.Attempt >= sp.max {
			return Permanent(fmt.Errorf("%w: %d of %d used; last error: %s", ErrAttemptsExhausted, st.Attempt, sp.max, st.Error))
		}
		if !first {
			var err error
			if input, err = r.input(ctx, sp); err != nil {
				return err
			}
		}
		first = false
		st.Attempt++
		st.Status = StepRunning
		if st.Started.IsZero() {
			st.Started = r.e.cfg.now()
		}
		r.stepEvent(TopicStepStarted, i, "")
		if err := r.flush(ctx, StatusRunning, nil); err != nil {
			return Permanent(&abortError{err})
		}
		out, err := callOp(actx, sp.op.Func, r.call(sp, st.Attempt, false, input))
		if err == nil {
			out, err = r.shape(sp, out)
		}
		if err != nil {
			st.Error = err.Error()
			return err
		}
		result = out
		return nil
	})
	return result, err
}

// input renders a step's input, checks it against the operation's declared inputs and passes it
// through the guard for each protocol it comes from.
func (r *runner) input(ctx context.Context, sp *stepPlan) (map[string]any, error) {
	input, err := renderMap(sp.input, &r.sc)
	if err != nil {
		return nil, Permanent(err)
	}
	if input == nil {
		input = map[string]any{}
	}
	if sp.op.Inputs != nil {
		if input, err = checkFields(input, sp.op.Inputs); err != nil {
			return nil, Permanent(err)
		}
	}
	if g := r.e.cfg.guard; g != nil {
		for _, src := range sp.sources {
			if input, err = g.Cross(ctx, src, sp.protocol, sp.op.Name, input); err != nil {
				if errors.Is(err, security.ErrAudit) || ctx.Err() != nil {
					// not a refusal: the crossing could not be recorded; try again on Resume
					return nil, Permanent(&abortError{err})
				}
				return nil, Permanent(fmt.Errorf("workflow: crossing %s → %s refused: %w", src, sp.protocol, err))
			}
		}
	}
	return input, nil
}

func (r *runner) call(sp *stepPlan, attempt int, comp bool, in map[string]any) *Call {
	c := &Call{RunID: r.rec.ID, Workflow: r.p.name, StepID: sp.id, Protocol: sp.protocol,
		IdempotencyKey: r.rec.ID + "/" + sp.id, Attempt: attempt, Compensating: comp, Input: in, store: r.e.store}
	if comp {
		c.Operation = sp.comp.op.Name
		c.IdempotencyKey += "/compensate"
	} else {
		c.Operation = sp.op.Name
	}
	return c
}

func callOp(ctx context.Context, f OperationFunc, call *Call) (out map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(fmt.Errorf("%w: %v\n%s", ErrOperationPanic, p, debug.Stack()))
		}
	}()
	return f(ctx, call)
}

// shape checks an operation's result against its declared outputs (keeping only those) and
// applies the step's output mapping. The engine owns the map the operation returned.
func (r *runner) shape(sp *stepPlan, out map[string]any) (map[string]any, error) {
	var res map[string]any
	if decl := sp.op.Outputs; decl != nil {
		res = make(map[string]any, len(decl))
		for k, t := range decl {
			v, ok := out[k]
			if !ok {
				return nil, Permanent(fmt.Errorf("%w: %s returned no %q", ErrOutput, sp.op.Name, k))
			}
			nv, err := normalize(v)
			if err != nil {
				return nil, Permanent(err)
			}
			if res[k], err = coerce(nv, t); err != nil {
				return nil, Permanent(fmt.Errorf("%w: %s output %q: %v", ErrOutput, sp.op.Name, k, err))
			}
		}
	} else {
		v, err := normalize(out)
		if err != nil {
			return nil, Permanent(err)
		}
		if res, _ = v.(map[string]any); res == nil {
			res = map[string]any{}
		}
	}
	if sp.output == nil {
		return res, nil
	}
	sc := r.sc
	sc.result = res
	mapped, err := renderMap(sp.output, &sc)
	if err != nil {
		return nil, Permanent(err)
	}
	for k, t := range sp.fields {
		v := mapped[k]
		if v == nil {
			continue // a reference into a step that did not run
		}
		if mapped[k], err = coerce(v, t); err != nil {
			return nil, Permanent(fmt.Errorf("%w: output mapping %q: %v", ErrOutput, k, err))
		}
	}
	return mapped, nil
}

// fail records the failure of step i (markStep) or of the run at step i, then compensates.
func (r *runner) fail(ctx context.Context, i int, cause error, markStep bool) (*Result, error) {
	st := &r.steps[i]
	se := &StepError{RunID: r.rec.ID, StepID: st.ID, Attempt: st.Attempt, Err: cause}
	if markStep {
		st.Status, st.Error, st.Finished = StepFailed, cause.Error(), r.e.cfg.now()
		r.stepEvent(TopicStepFailed, i, st.Error)
	}
	r.rec.Error = se.Error()
	for j := i; j >= 0; j-- {
		if r.p.steps[j].comp != nil && r.steps[j].Status == StepCompleted {
			r.runEvent(TopicRunCompensating, r.rec.Error)
			if err := r.flush(ctx, StatusCompensating, nil); err != nil {
				return nil, err
			}
			return r.compensate(ctx)
		}
	}
	return r.end(ctx, StatusFailed, nil)
}

// compensate undoes completed steps in reverse order, then ends the run failed.
func (r *runner) compensate(ctx context.Context) (*Result, error) {
	var failed []string
	for i := len(r.p.steps) - 1; i >= 0; i-- {
		sp, st := r.p.steps[i], &r.steps[i]
		if sp.comp == nil || (st.Status != StepCompleted && st.Status != StepCompensating) {
			continue
		}
		input, err := renderMap(sp.comp.input, &r.sc)
		if err == nil && input == nil {
			input = map[string]any{}
		}
		if err == nil {
			cctx, span := r.spanCompensate(ctx, i)
			err = sp.exec(cctx, func(actx context.Context) error {
				if st.CompensationAttempt >= sp.max {
					return Permanent(fmt.Errorf("%w: %d of %d compensation attempts used; last error: %s", ErrAttemptsExhausted, st.CompensationAttempt, sp.max, st.Error))
				}
				st.CompensationAttempt++
				st.Status = StepCompensating
				if err := r.flush(ctx, StatusCompensating, nil); err != nil {
					return Permanent(&abortError{err})
				}
				in := input
				if st.CompensationAttempt < sp.max {
					in = deepCopy(input).(map[string]any)
				}
				_, err := callOp(actx, sp.comp.op.Func, r.call(sp, st.CompensationAttempt, true, in))
				if err != nil {
					st.Error = err.Error()
				}
				return err
			})
			if span != nil {
				telemetry.End(span, err, knownErrors[:]...)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var ae *abortError
			if errors.As(err, &ae) {
				return nil, ae.err
			}
			st.Status, st.Error = StepCompensationFailed, err.Error()
			failed = append(failed, fmt.Sprintf("%s: %v", st.ID, err))
			r.stepEvent(TopicStepCompensationFailed, i, st.Error)
		} else {
			st.Status = StepCompensated
			r.stepEvent(TopicStepCompensated, i, "")
		}
	}
	if len(failed) > 0 {
		r.rec.Error += "; compensation failed for " + strings.Join(failed, "; ")
	}
	return r.end(ctx, StatusFailed, nil)
}

// finish renders the run's output and ends it with status.
func (r *runner) finish(ctx context.Context, status RunStatus) (*Result, error) {
	out, err := renderMap(r.p.output, &r.sc)
	if err != nil {
		return r.fail(ctx, len(r.p.steps)-1, fmt.Errorf("workflow: output: %w", err), false)
	}
	return r.end(ctx, status, out)
}

func (r *runner) end(ctx context.Context, status RunStatus, out map[string]any) (*Result, error) {
	var enc []byte
	if out != nil {
		var err error
		if enc, err = encodeJSON(out); err != nil {
			return nil, fmt.Errorf("workflow: run output: %w", err)
		}
	}
	topic := TopicRunCompleted
	switch status {
	case StatusTerminated:
		topic = TopicRunTerminated
	case StatusFailed:
		topic = TopicRunFailed
	}
	errText := ""
	if status == StatusFailed {
		errText = r.rec.Error
	} else {
		r.rec.Error = ""
	}
	r.runEvent(topic, errText)
	if err := r.flush(ctx, status, enc); err != nil {
		return nil, err
	}
	res := &Result{RunID: r.rec.ID, Workflow: r.rec.Workflow, Status: status, Output: out, Error: errText}
	for i, st := range r.steps {
		if st.Status != "" {
			res.Steps = append(res.Steps, StepResult{ID: st.ID, Status: st.Status, Attempt: st.Attempt, Output: r.sc.outs[i], Error: st.Error})
		}
	}
	return res, finishedErr(res)
}

// flush stores the run's step records with its new status in one transition (creating the run
// the first time), then publishes the staged events.
func (r *runner) flush(ctx context.Context, status RunStatus, output []byte) error {
	now := r.e.cfg.now()
	steps := r.buf[:0] // the store does not retain it
	for _, st := range r.steps {
		if st.Status != "" {
			steps = append(steps, st)
		}
	}
	r.buf = steps
	if !r.created {
		r.rec.Status, r.rec.Output, r.rec.Updated, r.rec.Steps = status, output, now, steps
		if err := r.create(ctx); err != nil {
			return err
		}
		r.events = append([]staged{{TopicRunStarted, Event{RunID: r.rec.ID, Workflow: r.p.name, Status: string(StatusRunning), Time: r.rec.Created}}}, r.events...)
	} else {
		r.tr = Transition{RunID: r.rec.ID, Version: r.rec.Version, Status: status, Output: output, Error: r.rec.Error, Time: now, Steps: steps}
		if r.lease != nil {
			r.tr.Lease = r.lease.token()
		}
		if status != StatusFailed && status != StatusCompensating {
			r.tr.Error = ""
		}
		if err := r.e.store.Commit(ctx, &r.tr); err != nil {
			return err
		}
		r.rec.Version++
		if status.Finished() && r.lease != nil {
			r.lease.finish()
		}
	}
	r.rec.Status = status
	r.publish(ctx)
	return nil
}

// create stores the new run and takes its lease (when the engine leases its runs): in one write
// when the store is a CreateLeaser — no other engine can see the run without the lease held —
// otherwise Create and then Acquire. It marks the run created once it is stored.
func (r *runner) create(ctx context.Context) error {
	if cl, ok := r.e.store.(CreateLeaser); ok && r.lease != nil {
		if err := r.lease.take(func() (Lease, error) {
			return cl.CreateLeased(ctx, r.rec, r.p.body, r.e.owner, r.e.cfg.leaseTTL)
		}); err != nil {
			return err
		}
		r.created = true
		return nil
	}
	if err := r.e.store.Create(ctx, r.rec, r.p.body); err != nil {
		return err
	}
	r.created = true
	if r.lease != nil {
		// Another engine's Resume may have seen the new run first: then it is that
		// engine's to execute, and this one stops before any side effect.
		return r.lease.acquire(ctx)
	}
	return nil
}

func (r *runner) stepEvent(topic string, i int, errText string) {
	if r.e.cfg.bus == nil {
		return
	}
	sp, st := r.p.steps[i], &r.steps[i]
	op := sp.op.Name
	if st.Status == StepCompensated || st.Status == StepCompensationFailed {
		op = sp.comp.op.Name
	}
	r.events = append(r.events, staged{topic, Event{RunID: r.rec.ID, Workflow: r.p.name, Step: sp.id, Operation: op,
		Status: string(st.Status), Attempt: st.Attempt, Error: errText, Time: r.e.cfg.now()}})
}

func (r *runner) event(topic, step, op, status string, attempt int, errText string) {
	if r.e.cfg.bus == nil {
		return
	}
	r.events = append(r.events, staged{topic, Event{RunID: r.rec.ID, Workflow: r.p.name, Step: step, Operation: op,
		Status: status, Attempt: attempt, Error: errText, Time: r.e.cfg.now()}})
}

func (r *runner) runEvent(topic, errText string) {
	status := map[string]RunStatus{TopicRunCompleted: StatusCompleted, TopicRunTerminated: StatusTerminated,
		TopicRunFailed: StatusFailed, TopicRunCompensating: StatusCompensating}[topic]
	r.event(topic, "", "", string(status), 0, errText)
}

// publish sends the staged events. A bus that refuses one (closed, a full PolicyFail queue) is
// logged; the run goes on, the store being the record.
func (r *runner) publish(ctx context.Context) {
	b := r.e.cfg.bus
	if b == nil || len(r.events) == 0 {
		return
	}
	opts := append(r.e.cfg.eventOpts[:len(r.e.cfg.eventOpts):len(r.e.cfg.eventOpts)], bus.WithKey(r.rec.ID))
	for _, s := range r.events {
		if err := bus.Publish(ctx, b, s.topic, s.ev, opts...); err != nil {
			r.e.cfg.logger.Warn("workflow: event not published", "topic", s.topic, "run", r.rec.ID, "error", err)
		}
	}
	clear(r.events)
	r.events = r.events[:0]
}

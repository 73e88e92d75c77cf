package workflow

import (
	"context"
	"fmt"
	"time"
)

// RunDetail is a stored run as someone inspecting it needs it: its input and output, and every
// step of its definition with the input the step was given, its output, error and timings.
type RunDetail struct {
	RunSummary
	DefinitionHash string
	Input          map[string]any
	Output         map[string]any // once finished
	Steps          []StepDetail   // every step of the definition, in order, reached or not
}

// StepDetail is one step of a run.
type StepDetail struct {
	ID        string
	Protocol  string
	Operation string
	Status    StepStatus // "" for a step not reached
	Attempt   int        // operation calls made
	// Input is the step's input as its templates render over the run's input and the outputs of
	// the steps before it — what the operation was given before the trust boundaries' checks;
	// nil for a step that did not start (skipped, or not reached). InputError says why it could
	// not be rendered, if so.
	Input      map[string]any
	InputError string
	Output     map[string]any // once completed
	Error      string         // the last attempt's error
	Started    time.Time      // the first attempt's start; zero if none
	Finished   time.Time      // when it completed, was skipped or failed for good; zero otherwise
}

// Duration returns how long the step took from its first attempt's start to its end; 0 while it
// has not both.
func (s *StepDetail) Duration() time.Duration {
	if s.Started.IsZero() || s.Finished.IsZero() {
		return 0
	}
	return s.Finished.Sub(s.Started)
}

// Inspect returns stored run id in detail (ErrNotFound if there is none). It reads the run and
// the definition it started with; it runs nothing.
func (e *Engine) Inspect(ctx context.Context, id string) (*RunDetail, error) {
	rec, err := e.store.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := e.planFor(ctx, rec)
	if err != nil {
		return nil, err
	}
	in, err := decodeObject(rec.Input)
	if err != nil {
		return nil, fmt.Errorf("%w: run %s input: %v", ErrCorruptState, rec.ID, err)
	}
	if in, err = p.checkInput(in); err != nil {
		return nil, fmt.Errorf("%w: run %s input: %v", ErrCorruptState, rec.ID, err)
	}
	out, err := decodeObject(rec.Output)
	if err != nil {
		return nil, fmt.Errorf("%w: run %s output: %v", ErrCorruptState, rec.ID, err)
	}
	r := e.newRunner(p, rec, in)
	if err := r.restore(); err != nil {
		return nil, err
	}
	d := &RunDetail{
		RunSummary: RunSummary{ID: rec.ID, Workflow: rec.Workflow, Status: rec.Status, Error: rec.Error, Created: rec.Created,
			Updated: rec.Updated},
		DefinitionHash: rec.DefinitionHash, Input: in, Output: out, Steps: make([]StepDetail, len(p.steps)),
	}
	for i, sp := range p.steps {
		st := r.steps[i]
		sd := StepDetail{ID: sp.id, Protocol: sp.protocol, Operation: sp.op.Name, Status: st.Status, Attempt: st.Attempt,
			Output: r.sc.outs[i], Error: st.Error, Started: st.Started, Finished: st.Finished}
		if st.Status != "" && st.Status != StepSkipped {
			sd.Input, sd.InputError = stepInput(sp, &r.sc)
		}
		d.Steps[i] = sd
	}
	return d, nil
}

// stepInput renders a step's input as the runner does before the guard: the templates, then the
// operation's declared input types.
func stepInput(sp *stepPlan, sc *scope) (map[string]any, string) {
	in, err := renderMap(sp.input, sc)
	if err != nil {
		return nil, err.Error()
	}
	if in == nil {
		in = map[string]any{}
	}
	if sp.op.Inputs != nil {
		if in, err = checkFields(in, sp.op.Inputs); err != nil {
			return nil, err.Error()
		}
	}
	return in, ""
}

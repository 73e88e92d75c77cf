package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/security"
)

// Engine defaults.
const (
	// DefaultTimeout bounds each attempt of a step that declares no timeout.
	DefaultTimeout = time.Minute
	// DefaultResumeConcurrency is how many runs Resume continues at once.
	DefaultResumeConcurrency = 4
	// MaxRunIDLength bounds run IDs.
	MaxRunIDLength = 128
)

// Guard checks data that crosses from one protocol to another before a step receives it, and may
// change it (redact fields). security.Boundaries implements it. action is the operation name of
// the receiving step. An error refuses the crossing: the step fails without retries — except an
// error wrapping security.ErrAudit (the crossing could not be recorded), which stops the run
// unfinished, to be continued by Resume.
type Guard interface {
	Cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error)
}

// GuardFunc adapts a function to a Guard.
type GuardFunc func(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error)

// Cross calls f.
func (f GuardFunc) Cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error) {
	return f(ctx, from, to, action, data)
}

var _ Guard = GuardFunc(nil)

// Engine runs workflow definitions durably on a Store. It is safe for concurrent use; runs with
// different IDs execute in parallel, each on its caller's goroutine. An Engine starts no
// goroutines of its own outside Resume, which waits for the ones it starts.
//
// Several engines may share a store that several processes can reach (package
// workflow/natsstore): each run executes on the engine holding its lease (see the package
// documentation, Several hosts), and a commit from an engine that lost the lease is refused.
// The SQLite store is for one process at a time.
//
// Create it with New: the methods of a zero Engine return a *NotConstructedError naming New.
type Engine struct {
	store Store
	ops   *Registry
	cfg   config
	owner string // the engine's name on the leases it holds

	mu     sync.Mutex
	plans  map[string]*plan // by workflow name
	byHash map[string]*plan
	active map[string]bool // run IDs being executed

	tel *engineTelemetry // nil unless traced or metered
}

// New returns an engine that keeps runs in store and resolves operations in ops. The engine does
// not close the store. A nil store or registry, an invalid option, or one that configures a
// store (WithFullSync), makes it return an *OptionError and construct nothing.
func New(store Store, ops *Registry, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, &OptionError{Option: "store", Reason: "must not be nil"}
	}
	if ops == nil {
		return nil, &OptionError{Option: "ops", Reason: "must not be nil"}
	}
	cfg, err := newConfig(kindEngine, opts)
	if err != nil {
		return nil, err
	}
	if cfg.owner == "" {
		cfg.owner = newOwner()
	}
	cfg.eventOpts = []bus.PublishOption{bus.WithSource(EventSource)}
	tel, err := newEngineTelemetry(&cfg)
	if err != nil {
		return nil, err
	}
	return &Engine{store: store, ops: ops, cfg: cfg, owner: cfg.owner, plans: map[string]*plan{}, byHash: map[string]*plan{}, active: map[string]bool{}, tel: tel}, nil
}

// constructed reports whether e was made by New.
func (e *Engine) constructed() bool { return e != nil && e.store != nil }

func notEngine() error { return &NotConstructedError{Type: "Engine", Constructor: "New"} }

func (e *Engine) compileEnv() *compileEnv {
	return &compileEnv{ops: e.ops, limits: e.cfg.limits, policy: e.cfg.policy, timeout: e.cfg.timeout, retry: e.cfg.retry}
}

// Register validates and compiles def, replacing any definition of the same name for new runs.
// Runs already stored keep the definition they started with. Problems are reported together in
// a *ValidationError.
func (e *Engine) Register(def *Definition) error {
	if !e.constructed() {
		return notEngine()
	}
	p, err := compile(def, e.compileEnv())
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.plans[p.name] = p
	e.byHash[p.hash] = p
	return nil
}

// Result is a run's outcome as stored.
type Result struct {
	RunID    string
	Workflow string
	Status   RunStatus
	Output   map[string]any
	Error    string
	Steps    []StepResult
}

// StepResult is one step's outcome as stored.
type StepResult struct {
	ID      string
	Status  StepStatus
	Attempt int
	Output  map[string]any
	Error   string
}

// Step returns the result of the step with id, or nil.
func (r *Result) Step(id string) *StepResult {
	for i := range r.Steps {
		if r.Steps[i].ID == id {
			return &r.Steps[i]
		}
	}
	return nil
}

func validRunID(id string) bool {
	if id == "" || len(id) > MaxRunIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(isIdentChar(c) || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// Run executes the workflow name as run id with input, to the end, and returns its result. The
// run ID is the caller's idempotency key: calling Run again with the same ID and input never
// executes a step twice — it returns the stored result of a finished run, and continues an
// unfinished one from its last stored transition (as Resume would).
//
// The error is nil for a run that completed or terminated, a *RunError (with the Result) for
// one that failed, and otherwise explains why the run could not reach an end: bad input (an
// *InputError; nothing is stored), ErrRunInProgress, ErrRunMismatch (the ID was used for another
// workflow or input), a store failure, or ctx.Err() — after which the run is stored unfinished
// and Resume or another Run continues it.
//
// If ctx carries a security context (security.NewContext) it is stored with the run and
// restored when the run resumes, so guards see the same principal.
func (e *Engine) Run(ctx context.Context, name, id string, input map[string]any) (*Result, error) {
	if !e.constructed() {
		return nil, notEngine()
	}
	if !validRunID(id) {
		return nil, fmt.Errorf("%w: %q (want 1 to %d letters, digits, '_', '-', '.', ':')", ErrInvalidRunID, id, MaxRunIDLength)
	}
	e.mu.Lock()
	p := e.plans[name]
	e.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownWorkflow, name)
	}
	in, err := p.checkInput(input)
	if err != nil {
		return nil, err
	}
	inJSON, err := encodeJSON(in)
	if err != nil {
		return nil, &InputError{Reason: err.Error()}
	}
	if !e.claim(id) {
		return nil, fmt.Errorf("%w: %s", ErrRunInProgress, id)
	}
	defer e.release(id)

	rec, err := e.store.Load(ctx, id)
	switch {
	case err == nil:
		if rec.Workflow != name || !bytes.Equal(rec.Input, inJSON) {
			return nil, fmt.Errorf("%w: %s", ErrRunMismatch, id)
		}
		if rec.Status.Finished() {
			return e.continueRun(ctx, rec, nil)
		}
		return e.leased(ctx, id, e.loadAndContinue)
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	var secJSON []byte
	if sc, ok := security.FromContext(ctx); ok {
		if secJSON, err = json.Marshal(sc); err != nil {
			return nil, fmt.Errorf("workflow: encode security context: %w", err)
		}
	}
	now := e.cfg.now()
	rec = &RunRecord{ID: id, Workflow: name, DefinitionHash: p.hash, Status: StatusRunning, Input: inJSON,
		Context: secJSON, Version: 1, Created: now, Updated: now}
	ctx, h := e.hold(ctx, id)
	defer h.end()
	r := e.newRunner(p, rec, in)
	r.created, r.lease = false, h
	res, err := r.run(ctx, false)
	return res, h.check(ctx, err)
}

// loadAndContinue loads run id — afresh, now that its lease is held — and continues it.
func (e *Engine) loadAndContinue(ctx context.Context, h *holder) (*Result, error) {
	rec, err := e.store.Load(ctx, h.id)
	if err != nil {
		return nil, err
	}
	return e.continueRun(ctx, rec, h)
}

func (e *Engine) claim(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.active[id] {
		return false
	}
	e.active[id] = true
	return true
}

func (e *Engine) release(id string) {
	e.mu.Lock()
	delete(e.active, id)
	e.mu.Unlock()
}

// planFor returns the plan a stored run was started with: the registered one with the same hash,
// or the definition stored with the run, compiled against the current operations.
func (e *Engine) planFor(ctx context.Context, rec *RunRecord) (*plan, error) {
	e.mu.Lock()
	p := e.byHash[rec.DefinitionHash]
	e.mu.Unlock()
	if p != nil {
		return p, nil
	}
	body, err := e.store.Definition(ctx, rec.DefinitionHash)
	if err != nil {
		return nil, fmt.Errorf("workflow: run %s: definition %s: %w", rec.ID, rec.DefinitionHash, err)
	}
	def, err := Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: run %s: stored definition: %v", ErrCorruptState, rec.ID, err)
	}
	p, err = compile(def, e.compileEnv())
	if err != nil {
		return nil, fmt.Errorf("workflow: run %s: stored definition no longer compiles: %w", rec.ID, err)
	}
	if p.hash != rec.DefinitionHash {
		return nil, fmt.Errorf("%w: run %s: stored definition hashes to %s, not %s", ErrCorruptState, rec.ID, p.hash, rec.DefinitionHash)
	}
	e.mu.Lock()
	e.byHash[p.hash] = p
	e.mu.Unlock()
	return p, nil
}

// continueRun resumes a stored run; the caller holds its claim, and its lease (h) unless the
// run is finished.
func (e *Engine) continueRun(ctx context.Context, rec *RunRecord, h *holder) (*Result, error) {
	if rec.Status.Finished() {
		res, err := resultOf(rec)
		if err != nil {
			return nil, err
		}
		return res, finishedErr(res)
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
	if len(rec.Context) > 0 {
		var sc security.Context
		if err := json.Unmarshal(rec.Context, &sc); err != nil {
			return nil, fmt.Errorf("%w: run %s security context: %v", ErrCorruptState, rec.ID, err)
		}
		ctx = security.NewContext(ctx, &sc)
	}
	r := e.newRunner(p, rec, in)
	r.lease = h
	if err := r.restore(); err != nil {
		return nil, err
	}
	r.event(TopicRunResumed, "", "", string(rec.Status), 0, "")
	r.publish(ctx)
	return r.run(ctx, true)
}

func finishedErr(res *Result) error {
	if res.Status == StatusFailed {
		return &RunError{RunID: res.RunID, Cause: res.Error}
	}
	return nil
}

// Resume continues every unfinished run in the store — call it when the host starts, after a
// crash — running up to WithResumeConcurrency of them at once, and returns their results in the
// store's order (oldest first). Runs this engine is already executing are left alone. The error
// joins the failures of runs that could not be continued (a failed run is a result, not an error
// here); the runs concerned stay stored unfinished.
func (e *Engine) Resume(ctx context.Context) ([]*Result, error) {
	if !e.constructed() {
		return nil, notEngine()
	}
	ids, err := e.store.Unfinished(ctx)
	if err != nil {
		return nil, err
	}
	results := make([]*Result, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, e.cfg.resumeN)
	var wg sync.WaitGroup
	for i, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i], errs[i] = e.resumeOne(ctx, id)
		})
	}
	wg.Wait()
	var out []*Result
	for i, r := range results {
		if r != nil {
			out = append(out, r)
		}
		var re *RunError
		if errs[i] != nil && !errors.As(errs[i], &re) && !errors.Is(errs[i], ErrRunInProgress) {
			e.cfg.logger.Warn("workflow: resume failed", "run", ids[i], "error", errs[i])
			err = errors.Join(err, fmt.Errorf("run %s: %w", ids[i], errs[i]))
		}
	}
	return out, err
}

func (e *Engine) resumeOne(ctx context.Context, id string) (*Result, error) {
	if !e.claim(id) {
		return nil, ErrRunInProgress
	}
	defer e.release(id)
	return e.leased(ctx, id, e.loadAndContinue)
}

// Get returns the stored state of run id (ErrNotFound if there is none).
func (e *Engine) Get(ctx context.Context, id string) (*Result, error) {
	if !e.constructed() {
		return nil, notEngine()
	}
	rec, err := e.store.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	return resultOf(rec)
}

func resultOf(rec *RunRecord) (*Result, error) {
	res := &Result{RunID: rec.ID, Workflow: rec.Workflow, Status: rec.Status, Error: rec.Error}
	out, err := decodeObject(rec.Output)
	if err != nil {
		return nil, fmt.Errorf("%w: run %s output: %v", ErrCorruptState, rec.ID, err)
	}
	res.Output = out
	for _, st := range rec.Steps {
		o, err := decodeObject(st.Output)
		if err != nil {
			return nil, fmt.Errorf("%w: run %s step %s output: %v", ErrCorruptState, rec.ID, st.ID, err)
		}
		res.Steps = append(res.Steps, StepResult{ID: st.ID, Status: st.Status, Attempt: st.Attempt, Output: o, Error: st.Error})
	}
	return res, nil
}

// checkInput converts input to canonical form and checks it against the declared inputs.
func (p *plan) checkInput(input map[string]any) (map[string]any, error) {
	v, err := normalize(input)
	if err != nil {
		return nil, &InputError{Reason: err.Error()}
	}
	in, _ := v.(map[string]any)
	if in == nil {
		in = map[string]any{}
	}
	if len(p.inputs) == 0 {
		return in, nil
	}
	return checkFields(in, p.inputs)
}

// checkFields checks an object against declared fields, converting numbers. Problems are
// reported for the first field in sorted order, so the error does not depend on map order.
func checkFields(in map[string]any, fields map[string]Field) (map[string]any, error) {
	bad := false
	for k, v := range in {
		f, ok := fields[k]
		if !ok {
			bad = true
			break
		}
		if v == nil && !f.Required {
			continue
		}
		c, err := coerce(v, f.Type)
		if err != nil {
			bad = true
			break
		}
		if f.Type == TypeNumber {
			in[k] = c // int64 -> float64
		}
	}
	for k, f := range fields {
		if _, ok := in[k]; !ok && f.Required {
			bad = true
		}
	}
	if !bad {
		return in, nil
	}
	for _, k := range sortedKeys(in) {
		f, ok := fields[k]
		if !ok {
			return nil, &InputError{Field: k, Reason: "not declared"}
		}
		if in[k] == nil && !f.Required {
			continue
		}
		if _, err := coerce(in[k], f.Type); err != nil {
			return nil, &InputError{Field: k, Reason: err.Error()}
		}
	}
	for _, k := range sortedKeys(fields) {
		if _, ok := in[k]; !ok && fields[k].Required {
			return nil, &InputError{Field: k, Reason: "required"}
		}
	}
	return in, nil
}

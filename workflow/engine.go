package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

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

type config struct {
	bus       *bus.Bus
	logger    *slog.Logger
	now       func() time.Time
	policy    PolicyFunc
	guard     Guard
	limits    Limits
	timeout   time.Duration
	retry     Retry
	resumeN   int
	eventOpts []bus.PublishOption
	owner     string
	leaseTTL  time.Duration

	tracerProv trace.TracerProvider
	meterProv  metric.MeterProvider
}

// Option configures an Engine.
type Option func(*config) error

// WithBus publishes the engine's Events on b. Defaults to none.
func WithBus(b *bus.Bus) Option {
	return func(c *config) error {
		if b == nil {
			return &OptionError{Option: "WithBus", Reason: "nil bus"}
		}
		c.bus = b
		return nil
	}
}

// WithTracerProvider traces the engine's runs with tp: a span (SpanRun) for each execution of a
// run — a child of the span in Run's context; the host's Execute span, say — with a span
// (SpanStep) for each step in it, covering all the step's attempts, whose context the step's
// operations and its guard crossings receive, and a span (SpanCompensate) for each
// compensation. Spans name the workflow, step, operation and protocol, never run IDs, inputs,
// outputs or error texts. Defaults to OpenTelemetry's no-op provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error {
		if tp == nil {
			return &OptionError{Option: "WithTracerProvider", Reason: "nil provider"}
		}
		c.tracerProv = tp
		return nil
	}
}

// WithMeterProvider counts the engine's runs by workflow and outcome (anya.workflow.runs) and
// records each step's duration (anya.workflow.step.duration) as instruments of mp. Defaults to
// OpenTelemetry's no-op provider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error {
		if mp == nil {
			return &OptionError{Option: "WithMeterProvider", Reason: "nil provider"}
		}
		c.meterProv = mp
		return nil
	}
}

// WithLogger sets the logger for events that could not be published and runs Resume could not
// continue. Defaults to a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return &OptionError{Option: "WithLogger", Reason: "nil logger"}
		}
		c.logger = l
		return nil
	}
}

// WithClock sets the clock that stamps records and events. Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return &OptionError{Option: "WithClock", Reason: "nil clock"}
		}
		c.now = now
		return nil
	}
}

// WithPolicy sets how steps' timeouts and retries are carried out. Defaults to DefaultPolicy.
func WithPolicy(f PolicyFunc) Option {
	return func(c *config) error {
		if f == nil {
			return &OptionError{Option: "WithPolicy", Reason: "nil policy"}
		}
		c.policy = f
		return nil
	}
}

// WithGuard makes every step whose input reads the output of a step of another protocol pass
// that data through g first (see Guard). Defaults to none.
func WithGuard(g Guard) Option {
	return func(c *config) error {
		if g == nil {
			return &OptionError{Option: "WithGuard", Reason: "nil guard"}
		}
		c.guard = g
		return nil
	}
}

// WithLimits bounds the definitions the engine accepts; zero fields keep their defaults.
// Defaults to Limits{} (DefaultMaxSteps, DefaultMaxNesting, DefaultMaxExpressionBytes,
// DefaultCELCostLimit).
func WithLimits(l Limits) Option {
	return func(c *config) error {
		if l.MaxSteps < 0 || l.MaxNesting < 0 || l.MaxExpressionBytes < 0 {
			return &OptionError{Option: "WithLimits", Reason: "negative limit"}
		}
		c.limits = l.withDefaults()
		return nil
	}
}

// WithDefaultTimeout bounds each attempt of steps that declare no timeout; 0 means unbounded.
// Defaults to DefaultTimeout.
func WithDefaultTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return &OptionError{Option: "WithDefaultTimeout", Reason: "negative"}
		}
		c.timeout = d
		return nil
	}
}

// WithDefaultRetry sets the retry policy of steps that declare none. Defaults to
// Retry{MaxAttempts: DefaultMaxAttempts} with the default backoff.
func WithDefaultRetry(r Retry) Option {
	return func(c *config) error {
		if r.MaxAttempts < 1 || r.MaxAttempts > MaxAttemptsLimit || r.Backoff < 0 || r.MaxBackoff < 0 || (r.Multiplier != 0 && r.Multiplier < 1) {
			return &OptionError{Option: "WithDefaultRetry", Reason: "max attempts out of range, negative backoff or multiplier below 1"}
		}
		c.retry = r
		return nil
	}
}

// WithResumeConcurrency sets how many runs Resume continues at once. Defaults to
// DefaultResumeConcurrency.
func WithResumeConcurrency(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return &OptionError{Option: "WithResumeConcurrency", Reason: "must be at least 1"}
		}
		c.resumeN = n
		return nil
	}
}

// WithOwner names the engine on the leases it takes (see Lease): engines sharing a store must
// have distinct owners. Defaults to a random name drawn at New.
func WithOwner(owner string) Option {
	return func(c *config) error {
		if owner == "" {
			return &OptionError{Option: "WithOwner", Reason: "empty owner"}
		}
		c.owner = owner
		return nil
	}
}

// WithLeaseTTL sets how long the engine's lease on a run lasts without renewal; it renews at a
// third of it. Another engine sharing the store takes over a run once its lease has lapsed, so
// this is how long the runs of an engine that died wait. Defaults to DefaultLeaseTTL.
func WithLeaseTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < 3*time.Millisecond {
			return &OptionError{Option: "WithLeaseTTL", Reason: "must be at least 3ms"}
		}
		c.leaseTTL = d
		return nil
	}
}

// New returns an engine that keeps runs in store and resolves operations in ops. The engine does
// not close the store.
func New(store Store, ops *Registry, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, &OptionError{Option: "store", Reason: "nil store"}
	}
	if ops == nil {
		return nil, &OptionError{Option: "ops", Reason: "nil registry"}
	}
	cfg := config{
		logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:      time.Now,
		policy:   DefaultPolicy,
		limits:   Limits{}.withDefaults(),
		timeout:  DefaultTimeout,
		retry:    Retry{MaxAttempts: DefaultMaxAttempts},
		resumeN:  DefaultResumeConcurrency,
		leaseTTL: DefaultLeaseTTL,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
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

func (e *Engine) compileEnv() *compileEnv {
	return &compileEnv{ops: e.ops, limits: e.cfg.limits, policy: e.cfg.policy, timeout: e.cfg.timeout, retry: e.cfg.retry}
}

// Register validates and compiles def, replacing any definition of the same name for new runs.
// Runs already stored keep the definition they started with. Problems are reported together in
// a *ValidationError.
func (e *Engine) Register(def *Definition) error {
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

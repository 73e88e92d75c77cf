package ml

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/semaphore"

	"github.com/anya-org/anya-go/internal/telemetry"

	"github.com/anya-org/anya-go/ml/onnx"
)

// maxHistory is how many previously active models an engine keeps for [Engine.Rollback].
const maxHistory = 8

// Result is the outcome of scoring one feature vector.
type Result struct {
	// Model and Version identify the model version that computed the score.
	Model   string `json:"model"`
	Version string `json:"version"`
	// Score is the model's output, in [0, 1] for the SDK's models (a probability).
	Score float32 `json:"score"`
	// Factors are the features that moved the score most, largest first, when the engine was
	// built [WithFactors] and the model has an attribution (see [onnx.Explainer]).
	Factors []Factor `json:"factors,omitempty"`
}

// ModelID returns "model@version".
func (r Result) ModelID() string { return r.Model + "@" + r.Version }

// Factor is one feature's contribution to a score, in the model's raw-score units (log-odds for
// the SDK's classifiers): positive contributions push the score up.
type Factor struct {
	Feature      string  `json:"feature"`
	Value        float32 `json:"value"`
	Contribution float32 `json:"contribution"`
}

// Stats counts an engine's work since it started.
type Stats struct {
	// Requests counts scored requests: one per Score call, one per chunk of a ScoreBatch call.
	Requests uint64
	// Rows counts scored feature vectors.
	Rows uint64
	// Batches counts backend runs; Rows/Batches is the mean coalesced batch size.
	Batches uint64
	// Rejected counts calls refused with ErrOverloaded.
	Rejected uint64
}

// Engine scores feature vectors with the active version of a model. Concurrent calls are
// coalesced by a micro-batcher into backend runs of up to the max batch: each worker owns one
// backend session, takes every request queued (up to the max batch) when it becomes free, and,
// when [WithMaxWait] is set, waits that long for a partial batch to fill. The queue is bounded
// in rows; a full queue makes callers wait or, with [WithRejectWhenFull], fail fast. A caller
// whose context ends while its request is queued takes it out of the queue at once, releasing its
// slot; a request whose context has ended is never put in a batch.
//
// A new model version is activated, or the previous one restored, while traffic flows: sessions
// for the new version are built first (a failure leaves the current version serving), then
// workers switch at their next batch. An Engine is safe for concurrent use.
//
// Create it with [NewEngine]. The zero value holds no model: its Score, ScoreBatch, Activate and
// Rollback return a [*NotConstructedError], and its other methods report nothing.
type Engine struct {
	cfg         config
	backend     Backend // nil for the zero Engine
	ownsBackend bool
	reason      BackendReason

	dep     atomic.Pointer[deployment]
	mu      sync.Mutex // serialises Activate, Rollback and Close's teardown
	history []*Model

	q    queue
	sem  *semaphore.Weighted
	wg   sync.WaitGroup
	pool sync.Pool

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	requests, rows, batches, rejected atomic.Uint64
	callers                           atomic.Int64 // Score and ScoreBatch calls in progress

	tel *engineTelemetry // nil unless traced or metered
}

// deployment is one activated model version: a session per worker.
type deployment struct {
	model     *Model
	name      string
	version   string
	schema    *Schema
	schemaID  string
	width     int
	sessions  []*session
	explainer *onnx.Explainer

	metricAttrs metric.MeasurementOption // the model and version, when the engine is metered
}

// session is one backend session and its lock, a one-slot channel rather than a sync.Mutex: a
// worker waiting for a busy session is then durably blocked, which keeps the engine testable with
// testing/synctest.
type session struct {
	busy   chan struct{}
	s      Session
	closed bool
}

func (s *session) lock()   { s.busy <- struct{}{} }
func (s *session) unlock() { <-s.busy }

func (s *session) tryLock() bool {
	select {
	case s.busy <- struct{}{}:
		return true
	default:
		return false
	}
}

func (d *deployment) close() {
	for _, s := range d.sessions {
		s.lock()
		if !s.closed {
			s.closed = true
			s.s.Close()
		}
		s.unlock()
	}
}

// NewEngine returns an engine serving m. Without [WithBackend] it starts its own ONNX Runtime
// backend on the library [FindORTLibrary] finds (the [WithORTLibrary] path,
// $ANYA_ONNXRUNTIME_LIB, the user cache, or the SDK checkout's .tools when running inside it).
// A configured library path that does not exist, or a library that fails to load, returns a
// [*LibraryError] naming it. When nothing is configured and no library is found, or the
// program was built without cgo, NewEngine returns that error too, unless [WithGoFallback] is
// set: then it scores with the pure-Go evaluator, logs a warning on the engine's logger, and
// says why in [Engine.BackendReason].
func NewEngine(m *Model, opts ...Option) (*Engine, error) {
	if m == nil || m.graph == nil {
		return nil, &OptionError{Option: "model", Value: m, Reason: "must be a model from NewModel or a Registry"}
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, backend: cfg.backend, sem: semaphore.NewWeighted(int64(cfg.queueSize))}
	if e.backend != nil {
		e.reason = BackendReason{Backend: e.backend.Name(), Given: true}
	} else {
		b, err := NewORTBackend(cfg.ortLibrary)
		switch {
		case err == nil:
			e.backend = b
			e.reason = BackendReason{Backend: b.Name(), Library: ORTLibrary{Path: b.Library(), Source: b.LibrarySource()}}
		case cfg.goFallback && fallbackAllowed(err):
			cfg.logger.Warn("ml: ONNX Runtime unavailable: scoring with the pure-Go evaluator", "reason", err.Error(), "install", SetupCommand)
			e.backend = NewGoBackend()
			e.reason = BackendReason{Backend: e.backend.Name(), Fallback: err}
		default:
			return nil, err
		}
		e.ownsBackend = true
	}
	tel, err := newEngineTelemetry(e)
	if err != nil {
		if e.ownsBackend {
			e.backend.Close()
		}
		return nil, err
	}
	e.tel = tel
	d, err := e.deploy(context.Background(), m)
	if err != nil {
		if e.tel != nil && e.tel.reg != nil {
			_ = e.tel.reg.Unregister()
		}
		if e.ownsBackend {
			e.backend.Close()
		}
		return nil, err
	}
	e.dep.Store(d)
	e.q.init(cfg.workers)
	e.pool.New = func() any { return &request{done: make(chan struct{}, 1)} }
	e.wg.Add(cfg.workers)
	for i := range cfg.workers {
		go e.worker(i)
	}
	cfg.logger.Info("ml: engine serving", "model", m.ID(), "backend", e.backend.Name(), "workers", cfg.workers)
	return e, nil
}

// fallbackAllowed reports whether the engine may fall back to the pure-Go evaluator after its
// own ORT backend failed with err: only when nothing was configured and no library was found,
// or when the program cannot load any library (no cgo). A configured path that does not exist
// and a library that fails to load are errors.
func fallbackAllowed(err error) bool {
	if errors.Is(err, ErrNoCgo) {
		return true
	}
	var le *LibraryError
	return errors.As(err, &le) && le.Path == "" && errors.Is(err, ErrORTNotFound)
}

// BackendReason says which backend an [Engine] runs on and why; see [Engine.BackendReason].
type BackendReason struct {
	// Backend is the backend's name: "ort", "go", or that of a backend given with
	// [WithBackend]; "" for the zero Engine.
	Backend string
	// Given reports a backend given with [WithBackend].
	Given bool
	// Library is the ONNX Runtime library the engine's own ORT backend loaded, and where it
	// was found.
	Library ORTLibrary
	// Fallback, when not nil, is why the engine scores with the pure-Go evaluator instead of
	// ONNX Runtime ([WithGoFallback]): a [*LibraryError] matching [ErrORTNotFound] that lists
	// the places searched (nothing was configured and nothing was found), or an error matching
	// [ErrNoCgo].
	Fallback error
}

// String describes the reason in a line, e.g. "ort: library /home/u/.cache/anya-go/... (from
// user cache)" or "go: fallback: ml: ONNX Runtime 1.24.1 library not found ...".
func (r BackendReason) String() string {
	switch {
	case r.Backend == "":
		return "no backend"
	case r.Given:
		return r.Backend + ": given with WithBackend"
	case r.Fallback != nil:
		return r.Backend + ": fallback: " + r.Fallback.Error()
	}
	return r.Backend + ": library " + r.Library.Path + " (from " + r.Library.Source.String() + ")"
}

// Backend returns the name of the backend in use ("ort" or "go" for the SDK's own); "" for the
// zero Engine.
func (e *Engine) Backend() string { return e.reason.Backend }

// BackendReason says which backend the engine runs on and why: given with [WithBackend],
// ONNX Runtime and where its library was found, or the pure-Go fallback and the error that
// caused it.
func (e *Engine) BackendReason() BackendReason { return e.reason }

// Model returns the active model; nil for the zero Engine.
func (e *Engine) Model() *Model {
	if d := e.dep.Load(); d != nil {
		return d.model
	}
	return nil
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{Requests: e.requests.Load(), Rows: e.rows.Load(), Batches: e.batches.Load(), Rejected: e.rejected.Load()}
}

func notEngine() error { return &NotConstructedError{Type: "Engine", Constructor: "NewEngine"} }

func (e *Engine) deploy(ctx context.Context, m *Model) (*deployment, error) {
	d := &deployment{model: m, name: m.Name(), version: m.Version(), schema: m.Schema(), schemaID: m.Schema().ID(), width: m.Width()}
	if e.tel.metered() {
		d.metricAttrs = telemetry.Set(attrModel.String(d.name), attrVersion.String(d.version), attrBackend.String(e.backend.Name()))
	}
	for range e.cfg.workers {
		if err := ctx.Err(); err != nil {
			d.close()
			return nil, err
		}
		s, err := e.backend.NewSession(m)
		if err != nil {
			d.close()
			return nil, fmt.Errorf("ml: activating %s on %s: %w", m.ID(), e.backend.Name(), err)
		}
		d.sessions = append(d.sessions, &session{s: s, busy: make(chan struct{}, 1)})
	}
	if e.cfg.factors > 0 {
		x, err := onnx.NewExplainer(m.Graph())
		if err == nil && x.Features() == d.width {
			d.explainer = x
		} else {
			e.cfg.logger.Info("ml: model has no per-feature attribution; results carry no factors", "model", m.ID(), "err", err)
		}
	}
	return d, nil
}

// Activate makes m the active model. Sessions for m are created first; if that fails the
// current model keeps serving and the error is returned. The replaced model is remembered for
// [Engine.Rollback]. Calls in flight finish on the model they started with.
func (e *Engine) Activate(ctx context.Context, m *Model) error {
	if e.backend == nil {
		return notEngine()
	}
	if m == nil || m.graph == nil {
		return &OptionError{Option: "model", Value: m, Reason: "must be a model from NewModel or a Registry"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed.Load() {
		return ErrClosed
	}
	d, err := e.deploy(ctx, m)
	if err != nil {
		return err
	}
	old := e.dep.Swap(d)
	e.history = append(e.history, old.model)
	if len(e.history) > maxHistory {
		e.history = slices.Delete(e.history, 0, len(e.history)-maxHistory)
	}
	old.close()
	e.cfg.logger.Info("ml: activated", "model", m.ID(), "replaced", old.model.ID())
	return nil
}

// Rollback re-activates the model that was active before the current one. It returns
// [ErrNoPrevious] when there is none; on failure the current model keeps serving.
func (e *Engine) Rollback(ctx context.Context) error {
	if e.backend == nil {
		return notEngine()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed.Load() {
		return ErrClosed
	}
	if len(e.history) == 0 {
		return ErrNoPrevious
	}
	prev := e.history[len(e.history)-1]
	d, err := e.deploy(ctx, prev)
	if err != nil {
		return err
	}
	e.history = e.history[:len(e.history)-1]
	old := e.dep.Swap(d)
	old.close()
	e.cfg.logger.Info("ml: rolled back", "model", prev.ID(), "replaced", old.model.ID())
	return nil
}

// Close stops accepting calls, lets queued requests finish, stops the workers and closes the
// sessions (and the backend, when the engine created it). Idempotent; the zero Engine has
// nothing to close.
func (e *Engine) Close() error {
	if e.backend == nil {
		return nil
	}
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.q.close()
		e.wg.Wait()
		e.mu.Lock()
		e.dep.Load().close()
		e.mu.Unlock()
		if e.ownsBackend {
			e.closeErr = e.backend.Close()
		}
		if e.tel != nil && e.tel.reg != nil {
			_ = e.tel.reg.Unregister()
		}
	})
	return e.closeErr
}

// Score validates v against the active model's schema and scores it. Invalid vectors return
// [*SchemaError], [*ShapeError] or [*FeatureError] without reaching the model. A cancelled
// context returns ctx.Err(); the max latency budget, a [*DeadlineError].
func (e *Engine) Score(ctx context.Context, v Vector) (Result, error) {
	if e.tel.traced() {
		ctx, span := e.spanScore(ctx, SpanScore, 1)
		res, err := e.score(ctx, v)
		endScore(span, res.Model, res.Version, err)
		return res, err
	}
	return e.score(ctx, v)
}

func (e *Engine) score(ctx context.Context, v Vector) (Result, error) {
	if e.closed.Load() {
		return Result{}, ErrClosed
	}
	d := e.dep.Load()
	if d == nil {
		return Result{}, notEngine()
	}
	if err := d.schema.Validate(v); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	e.callers.Add(1)
	defer e.callers.Add(-1)
	if e.cfg.maxLatency > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.cfg.maxLatency, &DeadlineError{MaxLatency: e.cfg.maxLatency.String()})
		defer cancel()
	}
	r := e.get(1, d.width)
	copy(r.x, v.Values)
	if e.runInline(d, r) {
		if err := ctx.Err(); err != nil {
			e.put(r)
			return Result{}, e.ctxErr(ctx, err)
		}
	} else {
		r.schemaID = d.schemaID
		r.ctxDone = ctx.Done()
		if err := e.submit(ctx, r); err != nil {
			e.put(r)
			return Result{}, e.ctxErr(ctx, err)
		}
		if err := e.await(r); err != nil {
			return Result{}, e.ctxErr(ctx, err)
		}
	}
	dep, score, err := r.dep, r.scores[0], r.err
	e.put(r)
	if err != nil {
		return Result{}, err
	}
	res := Result{Model: dep.name, Version: dep.version, Score: score}
	if e.cfg.factors > 0 {
		res.Factors = dep.factors(v.Values, e.cfg.factors)
	}
	return res, nil
}

// ScoreBatch validates and scores vs, in order. The batch is split into chunks of at most the
// max batch size that go through the same queue as single calls. One invalid vector fails the
// whole batch with a [*BatchError] naming it, before anything is scored.
func (e *Engine) ScoreBatch(ctx context.Context, vs []Vector) ([]Result, error) {
	if e.tel.traced() {
		ctx, span := e.spanScore(ctx, SpanScoreBatch, len(vs))
		res, err := e.scoreBatch(ctx, vs)
		var model, version string
		if len(res) > 0 {
			model, version = res[0].Model, res[0].Version
		}
		endScore(span, model, version, err)
		return res, err
	}
	return e.scoreBatch(ctx, vs)
}

func (e *Engine) scoreBatch(ctx context.Context, vs []Vector) ([]Result, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	d := e.dep.Load()
	if d == nil {
		return nil, notEngine()
	}
	for i := range vs {
		if err := d.schema.Validate(vs[i]); err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
	}
	if len(vs) == 0 {
		return nil, nil
	}
	e.callers.Add(1)
	defer e.callers.Add(-1)
	if e.cfg.maxLatency > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.cfg.maxLatency, &DeadlineError{MaxLatency: e.cfg.maxLatency.String()})
		defer cancel()
	}
	w := d.width
	type pending struct {
		r      *request
		inline bool // scored by runInline: nothing to wait for
	}
	reqs := make([]pending, 0, (len(vs)+e.cfg.maxBatch-1)/e.cfg.maxBatch)
	var firstErr error
	for start := 0; start < len(vs); start += e.cfg.maxBatch {
		if err := ctx.Err(); err != nil {
			firstErr = err
			break
		}
		end := min(start+e.cfg.maxBatch, len(vs))
		r := e.get(end-start, w)
		for i := start; i < end; i++ {
			copy(r.x[(i-start)*w:], vs[i].Values)
		}
		r.schemaID = d.schemaID
		r.ctxDone = ctx.Done()
		inline := e.runInline(d, r)
		if !inline {
			if err := e.submit(ctx, r); err != nil {
				e.put(r)
				firstErr = err
				break
			}
		}
		reqs = append(reqs, pending{r, inline})
	}
	results := make([]Result, len(vs))
	for k, p := range reqs {
		r := p.r
		if !p.inline {
			if err := e.await(r); err != nil {
				firstErr = cmp.Or(firstErr, err)
				continue
			}
		}
		if r.err != nil {
			firstErr = cmp.Or(firstErr, r.err)
		} else if firstErr == nil {
			base := k * e.cfg.maxBatch
			for i := range r.rows {
				res := &results[base+i]
				res.Model, res.Version, res.Score = r.dep.name, r.dep.version, r.scores[i]
				if e.cfg.factors > 0 {
					res.Factors = r.dep.factors(vs[base+i].Values, e.cfg.factors)
				}
			}
		}
		e.put(r)
	}
	if firstErr != nil {
		return nil, e.ctxErr(ctx, firstErr)
	}
	return results, nil
}

// ctxErr turns context errors into ctx.Err(), or into the [*DeadlineError] when the engine's max
// latency ran out.
func (e *Engine) ctxErr(ctx context.Context, err error) error {
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var de *DeadlineError
	if c := context.Cause(ctx); errors.As(c, &de) {
		return de
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// factors returns the n largest contributions to the score of values.
func (d *deployment) factors(values []float32, n int) []Factor {
	if d.explainer == nil {
		return nil
	}
	contrib := make([]float32, d.width)
	if _, err := d.explainer.Explain(values, contrib); err != nil {
		return nil
	}
	idx := make([]int, 0, d.width)
	for i, c := range contrib {
		if c != 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(math.Abs(float64(contrib[b])), math.Abs(float64(contrib[a])))
	})
	if len(idx) > n {
		idx = idx[:n]
	}
	out := make([]Factor, len(idx))
	for k, i := range idx {
		out[k] = Factor{Feature: d.schema.Features[i].Name, Value: values[i], Contribution: contrib[i]}
	}
	return out
}

// --- requests and the queue ---------------------------------------------------------------------

// Request states. queued→taken and queued→dropped happen under the queue lock (by a worker),
// queued→cancelled too (by the caller); taken→done (worker) and taken→abandoned (caller) race
// through compare-and-swap, and whoever loses knows the other side owns the request.
const (
	stIdle int32 = iota
	stQueued
	stTaken
	stDone
	stDropped   // removed by a worker because its context had ended; the caller owns it
	stCancelled // removed by its caller
	stAbandoned // its caller stopped waiting while it ran; the worker recycles it
)

type request struct {
	x        []float32
	scores   []float32
	rows     int
	schemaID string
	ctxDone  <-chan struct{}
	state    atomic.Int32
	done     chan struct{}
	err      error
	dep      *deployment

	prev, next *request
}

func (e *Engine) get(rows, width int) *request {
	r := e.pool.Get().(*request)
	r.rows = rows
	if cap(r.x) < rows*width {
		r.x = make([]float32, rows*width)
	}
	r.x = r.x[:rows*width]
	if cap(r.scores) < rows {
		r.scores = make([]float32, rows)
	}
	r.scores = r.scores[:rows]
	return r
}

func (e *Engine) put(r *request) {
	r.state.Store(stIdle)
	r.err, r.dep, r.ctxDone, r.schemaID = nil, nil, nil, ""
	r.prev, r.next = nil, nil
	e.pool.Put(r)
}

// runInline scores r on an idle session of d when nothing is queued, sparing the hand-off to a
// worker: a lone call costs what the backend costs. It reports whether it did; when it did not
// (every session busy, or requests waiting, which must go first and coalesce), r is untouched.
//
// An inline run holds its rows' queue slots like a queued request, so the bound on rows in flight
// holds; like a request a worker already runs, it is not interrupted by its context — backend
// runs take microseconds — and a context that ended meanwhile is reported after it.
func (e *Engine) runInline(d *deployment, r *request) bool {
	// Only when the engine is not contended: with more callers than sessions, queueing lets
	// their rows share backend calls, which costs far less per row than a call each.
	if e.q.queued.Load() != 0 || e.callers.Load() > int64(len(d.sessions)) {
		return false
	}
	for _, s := range d.sessions {
		if !s.tryLock() {
			continue
		}
		if s.closed {
			s.unlock()
			return false // a newer version is being activated: take the queue
		}
		if !e.sem.TryAcquire(int64(r.rows)) {
			s.unlock()
			return false // the queue is full: wait, or be refused, like everyone else
		}
		var start time.Time
		if e.tel.metered() {
			start = time.Now()
		}
		r.err = s.s.Run(r.x, r.rows, r.scores)
		if r.err == nil && e.tel.metered() {
			e.tel.recordBatch(d, r.rows, time.Since(start))
		}
		s.unlock()
		e.sem.Release(int64(r.rows))
		r.dep = d
		e.requests.Add(1)
		if r.err == nil {
			e.batches.Add(1)
			e.rows.Add(uint64(r.rows))
		}
		return true
	}
	return false
}

func (e *Engine) submit(ctx context.Context, r *request) error {
	n := int64(r.rows)
	if e.cfg.rejectFull {
		if !e.sem.TryAcquire(n) {
			e.rejected.Add(1)
			return ErrOverloaded
		}
	} else if err := e.sem.Acquire(ctx, n); err != nil {
		return err
	}
	if !e.q.push(r) {
		e.sem.Release(n)
		return ErrClosed
	}
	return nil
}

// await waits for r. On success the caller owns r again. On a context error the request is
// either taken back (and released) or abandoned to its worker; either way the caller must not
// touch it.
func (e *Engine) await(r *request) error {
	select {
	case <-r.done:
		return nil
	case <-r.ctxDone:
	}
	e.q.mu.Lock()
	switch r.state.Load() {
	case stQueued:
		e.q.unlink(r)
		r.state.Store(stCancelled)
		fallthrough
	case stDropped:
		e.q.mu.Unlock()
		e.sem.Release(int64(r.rows))
		e.put(r)
		return context.Canceled
	}
	e.q.mu.Unlock()
	if r.state.CompareAndSwap(stTaken, stAbandoned) {
		return context.Canceled
	}
	<-r.done // it finished while we looked
	return nil
}

// queue is a FIFO of requests, an intrusive doubly linked list so cancelled requests leave in O(1).
type queue struct {
	mu         sync.Mutex
	head, tail *request
	queued     atomic.Int32 // requests in the list, readable without the lock
	closed     bool
	wake       chan struct{}
	closing    chan struct{}
}

func (q *queue) init(workers int) {
	q.wake = make(chan struct{}, workers)
	q.closing = make(chan struct{})
}

func (q *queue) push(r *request) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	r.state.Store(stQueued)
	r.prev, r.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = r
	} else {
		q.head = r
	}
	q.tail = r
	q.queued.Add(1)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // every worker already has a wake-up pending
	}
	return true
}

func (q *queue) unlink(r *request) {
	q.queued.Add(-1)
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		q.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		q.tail = r.prev
	}
	r.prev, r.next = nil, nil
}

func (q *queue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.closing)
	}
	q.mu.Unlock()
}

// takeLocked moves queued requests into batch while they fit in maxRows (the first always fits).
// Requests whose context has ended are dropped instead. q.mu must be held.
func (q *queue) takeLocked(batch []*request, rows, maxRows int) ([]*request, int) {
	for r := q.head; r != nil && rows < maxRows; {
		next := r.next
		select {
		case <-r.ctxDone:
			q.unlink(r)
			r.state.Store(stDropped)
			r = next
			continue
		default:
		}
		if rows > 0 && rows+r.rows > maxRows {
			break
		}
		q.unlink(r)
		r.state.Store(stTaken)
		batch = append(batch, r)
		rows += r.rows
		r = next
	}
	return batch, rows
}

// --- workers ------------------------------------------------------------------------------------

func (e *Engine) worker(i int) {
	defer e.wg.Done()
	q := &e.q
	maxRows := e.cfg.maxBatch
	var (
		batch  []*request
		x      []float32
		scores = make([]float32, maxRows)
		timer  *time.Timer
	)
	for {
		// Wait for work without holding anything.
		q.mu.Lock()
		for q.head == nil && !q.closed {
			q.mu.Unlock()
			select {
			case <-q.wake:
			case <-q.closing:
			}
			q.mu.Lock()
		}
		if q.head == nil && q.closed {
			q.mu.Unlock()
			return // closed and drained
		}
		q.mu.Unlock()

		// More callers in progress than requests queued: they are runnable but waiting for a
		// processor, which this worker holds. Yield once so they can queue their rows and
		// share this backend call instead of each paying for one.
		if n := q.queued.Load(); int64(n) < e.callers.Load() && int(n) < maxRows {
			runtime.Gosched()
		}

		// Hold a session of the active version before taking requests: while it is busy (an
		// inline caller, a slow run), requests stay queued, cancellable and coalescing.
		d := e.dep.Load()
		s := d.sessions[i]
		s.lock()
		if s.closed { // a newer version was activated meanwhile
			s.unlock()
			continue
		}
		q.mu.Lock()
		batch, rows := q.takeLocked(batch[:0], 0, maxRows)
		closed := q.closed
		q.mu.Unlock()
		if len(batch) == 0 { // another worker or a cancellation emptied the queue
			s.unlock()
			continue
		}
		if e.cfg.maxWait > 0 && rows < maxRows && !closed {
			if timer == nil {
				timer = time.NewTimer(e.cfg.maxWait)
			} else {
				timer.Reset(e.cfg.maxWait)
			}
		fill:
			for rows < maxRows {
				select {
				case <-q.wake:
					q.mu.Lock()
					batch, rows = q.takeLocked(batch, rows, maxRows)
					q.mu.Unlock()
				case <-timer.C:
					break fill
				case <-q.closing:
					break fill
				}
			}
			timer.Stop()
		}
		x = e.run(d, s, batch, x, scores)
		s.unlock()
	}
}

// run scores a batch on session s of deployment d (held by the caller) and completes its
// requests.
func (e *Engine) run(d *deployment, s *session, batch []*request, x, scores []float32) []float32 {
	w := d.width
	rows := 0
	for _, r := range batch {
		if r.schemaID != d.schemaID { // validated against a version with another schema
			r.err = &SchemaError{Want: d.schemaID, Got: r.schemaID}
			continue
		}
		if need := (rows + r.rows) * w; cap(x) < need {
			x = slices.Grow(x[:cap(x)], need-cap(x))
		}
		x = x[:(rows+r.rows)*w]
		copy(x[rows*w:], r.x)
		rows += r.rows
	}
	var runErr error
	if rows > 0 {
		var start time.Time
		if e.tel.metered() {
			start = time.Now()
		}
		runErr = s.s.Run(x, rows, scores)
		if runErr == nil && e.tel.metered() {
			e.tel.recordBatch(d, rows, time.Since(start))
		}
		if runErr == nil {
			e.batches.Add(1)
			e.rows.Add(uint64(rows))
		}
	}
	off := 0
	for _, r := range batch {
		r.dep = d
		if r.err == nil {
			if runErr != nil {
				r.err = runErr
			} else {
				copy(r.scores, scores[off:off+r.rows])
				off += r.rows
			}
		}
		e.requests.Add(1)
		e.sem.Release(int64(r.rows))
		if r.state.CompareAndSwap(stTaken, stDone) {
			r.done <- struct{}{}
		} else {
			e.put(r) // abandoned by its caller
		}
	}
	return x
}

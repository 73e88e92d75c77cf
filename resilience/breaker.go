package resilience

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// State is a circuit breaker's state.
type State uint8

// The states of a [CircuitBreaker].
const (
	// StateClosed lets calls through and judges their outcomes in a sliding window.
	StateClosed State = iota
	// StateOpen refuses calls until its wait is over, then turns half-open.
	StateOpen
	// StateHalfOpen lets a limited number of probe calls through and judges them: it closes
	// if they succeed well enough and opens again otherwise.
	StateHalfOpen
	// StateForcedOpen refuses every call until [CircuitBreaker.Reset].
	StateForcedOpen
	// StateDisabled lets every call through and records nothing until [CircuitBreaker.Reset].
	StateDisabled
)

var stateNames = [...]string{"closed", "open", "half-open", "forced-open", "disabled"}

// String returns the state's name, e.g. "half-open".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Defaults of a [CircuitBreaker].
const (
	DefaultWindowSize            = 100              // calls in the count-based window
	DefaultTimeWindowBuckets     = 10               // buckets of a time-based window
	DefaultMinCalls              = 10               // calls in the window before it is judged
	DefaultFailureRateThreshold  = 0.5              // failure rate that opens the breaker
	DefaultSlowCallRateThreshold = 1.0              // slow-call rate that opens it, once a slow-call duration is set
	DefaultOpenWait              = 30 * time.Second // time open before turning half-open
	DefaultHalfOpenCalls         = 5                // probe calls let through when half-open
)

type breakerConfig struct {
	common
	windowSize  int
	windowDur   time.Duration
	buckets     int
	timeBased   bool
	minCalls    int
	failureRate float64
	slowDur     time.Duration
	slowRate    float64
	openWait    time.Duration
	openMult    float64
	openMax     time.Duration
	probes      int
	failureIf   func(error) bool
	ignoreIf    func(error) bool
	failResults []any // func(R) bool
	ignResults  []any // func(R) bool
}

// CountWindow judges the outcomes of the last n calls. It configures a [CircuitBreaker].
// Defaults to a count window of [DefaultWindowSize] calls.
func CountWindow(n int) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "CountWindow", n) {
			c.breaker.timeBased, c.breaker.windowSize = false, n
		}
	}
}

// TimeWindow judges the outcomes of the calls that ended in the last d, kept in buckets
// buckets of d/buckets each (so the window slides by d/buckets). It configures a
// [CircuitBreaker]. Defaults to a count window of [DefaultWindowSize] calls (see [CountWindow]),
// and to [DefaultTimeWindowBuckets] buckets.
func TimeWindow(d time.Duration, buckets int) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "TimeWindow", d) {
			c.breaker.timeBased, c.breaker.windowDur, c.breaker.buckets = true, d, buckets
		}
	}
}

// MinCalls is the number of calls the window must hold before the breaker judges it. It
// configures a [CircuitBreaker]. Defaults to [DefaultMinCalls].
func MinCalls(n int) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "MinCalls", n) {
			c.breaker.minCalls = n
		}
	}
}

// FailureRateThreshold opens the breaker when the failure rate in the window reaches rate,
// in (0, 1]. It configures a [CircuitBreaker]. Defaults to [DefaultFailureRateThreshold].
func FailureRateThreshold(rate float64) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "FailureRateThreshold", rate) {
			c.breaker.failureRate = rate
		}
	}
}

// SlowCallThreshold counts a call that takes d or longer as slow, and opens the breaker when
// the rate of slow calls in the window reaches rate, in (0, 1]; a slow call may also be a
// failure. It configures a [CircuitBreaker]. Defaults to no slow-call judging (d = 0), with
// rate [DefaultSlowCallRateThreshold] once d is set.
func SlowCallThreshold(d time.Duration, rate float64) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "SlowCallThreshold", d) {
			c.breaker.slowDur, c.breaker.slowRate = d, rate
		}
	}
}

// OpenWait is how long the breaker stays open before letting probe calls through. It
// configures a [CircuitBreaker]. Defaults to [DefaultOpenWait].
func OpenWait(d time.Duration) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "OpenWait", d) {
			c.breaker.openWait = d
		}
	}
}

// OpenBackoff multiplies the open wait by multiplier (≥ 1) each time the probe calls fail and
// the breaker opens again, up to maxWait; closing resets it. It configures a
// [CircuitBreaker]. Defaults to no backoff (multiplier 1).
func OpenBackoff(multiplier float64, maxWait time.Duration) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "OpenBackoff", multiplier) {
			c.breaker.openMult, c.breaker.openMax = multiplier, maxWait
		}
	}
}

// HalfOpenCalls is the number of probe calls a half-open breaker lets through and judges. It
// configures a [CircuitBreaker]. Defaults to [DefaultHalfOpenCalls].
func HalfOpenCalls(n int) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "HalfOpenCalls", n) {
			c.breaker.probes = n
		}
	}
}

// FailureIf says which errors count as failures; the others count as successes. An error
// from the caller's context ending never counts (see the package documentation), nor does one
// that [IgnoreIf] ignores. It configures a [CircuitBreaker]. Defaults to every error.
func FailureIf(pred func(error) bool) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "FailureIf", nil) {
			c.breaker.failureIf = pred
		}
	}
}

// IgnoreIf says which errors count neither as failures nor as successes. It configures a
// [CircuitBreaker]. Defaults to none.
func IgnoreIf(pred func(error) bool) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "IgnoreIf", nil) {
			c.breaker.ignoreIf = pred
		}
	}
}

// FailureResultIf counts a call that returns a result of type R accepted by pred, without an
// error, as a failure. Calls of other result types are not affected; give it once per result
// type. It configures a [CircuitBreaker]. Defaults to none.
func FailureResultIf[R any](pred func(R) bool) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "FailureResultIf", nil) {
			c.breaker.failResults = append(c.breaker.failResults, pred)
		}
	}
}

// IgnoreResultIf leaves a call that returns a result of type R accepted by pred, without an
// error, unrecorded. It configures a [CircuitBreaker]. Defaults to none.
func IgnoreResultIf[R any](pred func(R) bool) Option {
	return func(c *config) {
		if c.accepts(KindCircuitBreaker, "IgnoreResultIf", nil) {
			c.breaker.ignResults = append(c.breaker.ignResults, pred)
		}
	}
}

func defaultBreakerConfig() breakerConfig {
	return breakerConfig{
		windowSize:  DefaultWindowSize,
		buckets:     DefaultTimeWindowBuckets,
		minCalls:    DefaultMinCalls,
		failureRate: DefaultFailureRateThreshold,
		slowRate:    DefaultSlowCallRateThreshold,
		openWait:    DefaultOpenWait,
		openMult:    1,
		probes:      DefaultHalfOpenCalls,
	}
}

// newBreakerConfig applies opts to the defaults and validates the result.
func newBreakerConfig(opts []Option) (breakerConfig, error) {
	c, err := applyOptions(KindCircuitBreaker, opts)
	if err != nil {
		return breakerConfig{}, err
	}
	bc := c.breaker
	bc.common = c.common
	return bc, bc.validate()
}

func (c *breakerConfig) validate() error {
	bad := func(option string, v any, reason string) error {
		return &OptionError{Policy: KindCircuitBreaker, Option: option, Value: v, Reason: reason}
	}
	if c.timeBased {
		if c.windowDur <= 0 {
			return bad("TimeWindow", c.windowDur, "the window must be positive")
		}
		if c.buckets < 1 || c.buckets > 1<<16 {
			return bad("TimeWindow", c.buckets, "the buckets must be in [1, 65536]")
		}
		if c.windowDur/time.Duration(c.buckets) <= 0 {
			return bad("TimeWindow", c.windowDur, "must be at least one nanosecond per bucket")
		}
	} else if c.windowSize < 1 || c.windowSize > 1<<20 {
		return bad("CountWindow", c.windowSize, "must be in [1, 1048576]")
	}
	if c.minCalls < 1 {
		return bad("MinCalls", c.minCalls, "must be at least 1")
	}
	if !c.timeBased && c.minCalls > c.windowSize {
		return bad("MinCalls", c.minCalls, "must not exceed the count window")
	}
	if !validRate(c.failureRate) {
		return bad("FailureRateThreshold", c.failureRate, "must be in (0, 1]")
	}
	if c.slowDur < 0 {
		return bad("SlowCallThreshold", c.slowDur, "the duration must not be negative")
	}
	if !validRate(c.slowRate) {
		return bad("SlowCallThreshold", c.slowRate, "the rate must be in (0, 1]")
	}
	if c.openWait <= 0 {
		return bad("OpenWait", c.openWait, "must be positive")
	}
	if !(c.openMult >= 1) || math.IsInf(c.openMult, 0) {
		return bad("OpenBackoff", c.openMult, "the multiplier must be finite and at least 1")
	}
	if c.openMult > 1 && c.openMax < c.openWait {
		return bad("OpenBackoff", c.openMax, "the maximum wait must be at least the open wait")
	}
	if c.probes < 1 || c.probes > math.MaxInt32/2 {
		return bad("HalfOpenCalls", c.probes, "must be at least 1")
	}
	return nil
}

func validRate(r float64) bool { return r > 0 && r <= 1 }

// outcome is a call's recorded outcome: 0 (ignored), or recorded with failure and slow bits.
type outcome uint32

const (
	outcomeIgnored outcome = 0
	outcomeSuccess outcome = 1
	outcomeFailure outcome = 1 | 2
	outcomeSlow    outcome = 4
)

func (o outcome) failed() int64 { return int64(o>>1) & 1 }
func (o outcome) slow() int64   { return int64(o>>2) & 1 }

// generation is one stretch of a breaker's life in one state. A change of state replaces it,
// so that calls that started in an earlier generation cannot affect the current one.
type generation struct {
	state     State
	window    window // StateClosed
	openUntil int64  // StateOpen: nanoseconds since the breaker's epoch
	opens     int    // consecutive openings, for the open backoff
	permits   atomic.Int32
	done      atomic.Int32
	fails     atomic.Int32
	slow      atomic.Int32
}

// CircuitBreaker stops calling a failing dependency: it opens when the rate of failures, or of
// slow calls, in a sliding window reaches a threshold, refuses calls with [ErrCircuitOpen]
// while open, and after a wait lets a few probe calls through to decide whether to close
// again. Its success path takes no lock and allocates nothing.
//
// A CircuitBreaker is safe for concurrent use, and one breaker can guard calls of any result
// type. Create it with [NewCircuitBreaker] and apply it with [Do] or [Get]. The zero value is
// a closed breaker with the defaults, as NewCircuitBreaker() returns, set up on first use; it
// must not be copied after first use.
type CircuitBreaker struct {
	gen      atomic.Pointer[generation] // nil until set up
	_        [56]byte                   // keep the hot pointer on a cache line of its own
	cfg      breakerConfig
	em       emitter
	epoch    time.Time
	system   bool // the clock is package time: measure with time.Since
	needNow  bool
	rejected atomic.Uint64
	metrics  *breakerMetrics // nil unless metered
	mu       sync.Mutex      // serializes state changes and their events, and the zero value's set-up
}

// NewCircuitBreaker returns a closed circuit breaker. Every listener receives the initial
// state as an [EventStateChange] with Initial set before NewCircuitBreaker returns.
func NewCircuitBreaker(opts ...Option) (*CircuitBreaker, error) {
	cfg, err := newBreakerConfig(opts)
	if err != nil {
		return nil, err
	}
	b := &CircuitBreaker{}
	b.setup(cfg)
	if m := b.em.tel; m != nil && m.meter != nil {
		if err := b.startBreakerMetrics(m.meter); err != nil {
			return nil, err
		}
	}
	b.em.emit(Event{Kind: EventStateChange, From: StateClosed, To: StateClosed, Initial: true})
	return b, nil
}

// setup configures the breaker and publishes its first generation, which makes the
// configuration visible to every goroutine that loads a generation.
func (b *CircuitBreaker) setup(cfg breakerConfig) {
	b.cfg = cfg
	b.em = cfg.emitter(KindCircuitBreaker)
	b.epoch = cfg.now()
	b.system = !cfg.clockSet
	b.needNow = cfg.timeBased || cfg.slowDur > 0
	b.gen.Store(b.newGeneration(StateClosed, nil, 0))
}

// load returns the current generation, setting a zero breaker up with the defaults first.
func (b *CircuitBreaker) load() *generation {
	if g := b.gen.Load(); g != nil {
		return g
	}
	return b.setupZero()
}

func (b *CircuitBreaker) setupZero() *generation {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen.Load() == nil {
		cfg := defaultBreakerConfig()
		cfg.common = defaultCommon()
		b.setup(cfg)
	}
	return b.gen.Load()
}

// Name returns the breaker's name (see [WithName]).
func (b *CircuitBreaker) Name() string {
	b.load()
	return b.cfg.name
}

// State returns the breaker's current state. An open breaker whose wait is over reports
// StateOpen until a call arrives and turns it half-open.
func (b *CircuitBreaker) State() State { return b.load().state }

// ForceOpen makes the breaker refuse every call until [CircuitBreaker.Reset].
func (b *CircuitBreaker) ForceOpen() {
	b.load()
	b.transition(nil, StateForcedOpen, b.now())
}

// Disable makes the breaker let every call through, recording nothing, until
// [CircuitBreaker.Reset].
func (b *CircuitBreaker) Disable() {
	b.load()
	b.transition(nil, StateDisabled, b.now())
}

// Reset closes the breaker with an empty window, from any state.
func (b *CircuitBreaker) Reset() {
	b.load()
	b.transition(nil, StateClosed, b.now())
}

// now returns the time since the breaker's epoch. With package time, it reads the monotonic
// clock only, which costs half of time.Now.
func (b *CircuitBreaker) now() int64 {
	if b.system {
		return int64(time.Since(b.epoch))
	}
	return int64(b.cfg.now().Sub(b.epoch))
}

func (b *CircuitBreaker) newGeneration(to State, prev *generation, now int64) *generation {
	g := &generation{state: to}
	switch to {
	case StateClosed:
		if b.cfg.timeBased {
			g.window = newTimeWindow(b.cfg.windowDur, b.cfg.buckets)
		} else {
			g.window = newCountWindow(b.cfg.windowSize)
		}
	case StateOpen:
		g.opens = 1
		if prev != nil && prev.state == StateHalfOpen {
			g.opens = prev.opens + 1
		}
		g.openUntil = satAdd(now, int64(b.openWait(g.opens)))
	case StateHalfOpen:
		g.opens = prev.opens
		g.permits.Store(int32(b.cfg.probes))
	}
	return g
}

// openWait returns the wait of the n-th consecutive opening.
func (b *CircuitBreaker) openWait(n int) time.Duration {
	if b.cfg.openMult == 1 || n <= 1 {
		return b.cfg.openWait
	}
	w := float64(b.cfg.openWait) * math.Pow(b.cfg.openMult, float64(n-1))
	if w >= float64(b.cfg.openMax) {
		return b.cfg.openMax
	}
	return time.Duration(w)
}

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// transition moves the breaker to state to, if its generation is still from (any generation
// for a nil from), and reports the change to the listeners.
func (b *CircuitBreaker) transition(from *generation, to State, now int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.gen.Load()
	if from != nil && cur != from {
		return
	}
	b.gen.Store(b.newGeneration(to, cur, now))
	b.em.emitCtx(context.Background(), Event{Kind: EventStateChange, From: cur.state, To: to})
}

// permit is a call's admission: the generation it was admitted in and when it started.
type permit struct {
	g     *generation
	start int64
}

// acquire admits a call or refuses it with ErrCircuitOpen.
func (b *CircuitBreaker) acquire(ctx context.Context) (permit, error) {
	for {
		g := b.load()
		switch g.state {
		case StateClosed:
			if b.needNow {
				return permit{g: g, start: b.now()}, nil
			}
			return permit{g: g}, nil
		case StateDisabled:
			return permit{g: g}, nil
		case StateOpen:
			now := b.now()
			if now < g.openUntil {
				return permit{}, b.reject(ctx, g.state)
			}
			b.transition(g, StateHalfOpen, now)
		case StateHalfOpen:
			if g.permits.Add(-1) < 0 {
				g.permits.Add(1)
				return permit{}, b.reject(ctx, g.state)
			}
			if b.cfg.slowDur > 0 {
				return permit{g: g, start: b.now()}, nil
			}
			return permit{g: g}, nil
		default: // StateForcedOpen
			return permit{}, b.reject(ctx, g.state)
		}
	}
}

func (b *CircuitBreaker) reject(ctx context.Context, s State) error {
	b.rejected.Add(1)
	b.em.emitCtx(ctx, Event{Kind: EventRejected, From: s, To: s, Err: ErrCircuitOpen})
	return ErrCircuitOpen
}

// release records the outcome of a call admitted by p, and changes state if it must.
func (b *CircuitBreaker) release(p permit, o outcome) {
	g := p.g
	switch g.state {
	case StateClosed:
		if o == outcomeIgnored {
			return
		}
		var now int64
		if b.needNow {
			now = b.now()
			if b.cfg.slowDur > 0 && now-p.start >= int64(b.cfg.slowDur) {
				o |= outcomeSlow
			}
		}
		calls, fails, slow, changed := g.window.record(now, o)
		if changed && b.tripped(calls, fails, slow, int64(b.cfg.minCalls)) {
			if !b.needNow {
				now = b.now()
			}
			b.transition(g, StateOpen, now)
		}
	case StateHalfOpen:
		if o == outcomeIgnored {
			g.permits.Add(1)
			return
		}
		var now int64
		if b.cfg.slowDur > 0 {
			now = b.now()
			if now-p.start >= int64(b.cfg.slowDur) {
				o |= outcomeSlow
			}
		}
		if o.failed() != 0 {
			g.fails.Add(1)
		}
		if o.slow() != 0 {
			g.slow.Add(1)
		}
		if g.done.Add(1) != int32(b.cfg.probes) {
			return
		}
		if b.cfg.slowDur == 0 {
			now = b.now()
		}
		if b.tripped(int64(b.cfg.probes), int64(g.fails.Load()), int64(g.slow.Load()), 0) {
			b.transition(g, StateOpen, now)
		} else {
			b.transition(g, StateClosed, now)
		}
	}
}

// tripped reports whether calls outcomes with fails failures and slow slow calls open the
// breaker.
func (b *CircuitBreaker) tripped(calls, fails, slow, minCalls int64) bool {
	if calls < minCalls || calls == 0 {
		return false
	}
	if float64(fails) >= b.cfg.failureRate*float64(calls) {
		return true
	}
	return b.cfg.slowDur > 0 && float64(slow) >= b.cfg.slowRate*float64(calls)
}

// classify returns the outcome of a call that returned err, or a result when err is nil.
func classify[R any](ctx context.Context, b *CircuitBreaker, res R, err error) outcome {
	if err == nil {
		if len(b.cfg.ignResults) > 0 && matchResult(b.cfg.ignResults, res) {
			return outcomeIgnored
		}
		if len(b.cfg.failResults) > 0 && matchResult(b.cfg.failResults, res) {
			return outcomeFailure
		}
		return outcomeSuccess
	}
	if callerDone(ctx, err) || (b.cfg.ignoreIf != nil && b.cfg.ignoreIf(err)) {
		return outcomeIgnored
	}
	if b.cfg.failureIf != nil && !b.cfg.failureIf(err) {
		return outcomeSuccess
	}
	return outcomeFailure
}

func runBreaker[R any](ctx context.Context, b *CircuitBreaker, ps []Policy, fn func(context.Context) (R, error)) (R, error) {
	p, err := b.acquire(ctx)
	if err != nil {
		var zero R
		return zero, err
	}
	finished := false
	defer func() {
		if !finished { // fn panicked: count it as a failure, and let the panic go on
			if b.metrics != nil {
				b.metrics.count(outcomeFailure)
			}
			b.release(p, outcomeFailure)
		}
	}()
	res, err := run(ctx, ps, fn)
	finished = true
	o := classify(ctx, b, res, err)
	if b.metrics != nil {
		b.metrics.count(o)
	}
	b.release(p, o)
	return res, err
}

// BreakerSnapshot is a point-in-time view of a [CircuitBreaker].
type BreakerSnapshot struct {
	Name         string
	State        State
	Calls        int       // calls in the window (closed), or probe calls finished (half-open)
	Failures     int       // of Calls, the failures
	SlowCalls    int       // of Calls, the slow ones
	FailureRate  float64   // Failures / Calls, or 0 without calls
	SlowCallRate float64   // SlowCalls / Calls, or 0 without calls
	Rejected     uint64    // calls refused since the breaker was created
	OpenUntil    time.Time // StateOpen: when probe calls will be let through
}

// Snapshot returns the breaker's state and the counts it judges.
func (b *CircuitBreaker) Snapshot() BreakerSnapshot {
	g := b.load()
	s := BreakerSnapshot{Name: b.cfg.name, State: g.state, Rejected: b.rejected.Load()}
	var calls, fails, slow int64
	switch g.state {
	case StateClosed:
		calls, fails, slow = g.window.counts(b.now())
	case StateHalfOpen:
		calls, fails, slow = int64(g.done.Load()), int64(g.fails.Load()), int64(g.slow.Load())
	case StateOpen:
		s.OpenUntil = b.epoch.Add(time.Duration(g.openUntil))
	}
	s.Calls, s.Failures, s.SlowCalls = int(calls), int(fails), int(slow)
	if calls > 0 {
		s.FailureRate = float64(fails) / float64(calls)
		s.SlowCallRate = float64(slow) / float64(calls)
	}
	return s
}

// Package resilience protects calls that cross to a node, a resolver, a model or a store with
// generic, composable policies: [CircuitBreaker], [Retry], [Timeout], [Bulkhead],
// [RateLimiter], [Fallback] and [Hedge], and a keyed [Registry] of them.
//
// # Composition
//
// [Do] and [Get] apply policies to a call, outermost first:
//
//	err := resilience.Do(ctx, call, fallback, retry, breaker, timeout)
//	n, err := resilience.Get(ctx, count, retry, breaker)
//
// is fallback(retry(breaker(timeout(call)))). The order is the caller's; the one that suits
// most calls is
//
//	Fallback → Retry → CircuitBreaker → RateLimiter → Bulkhead → Timeout → call
//
// so that a fallback sees the final outcome, every retry is judged by the breaker (and refused
// fast while it is open), limits apply per attempt, and the timeout bounds a single attempt.
// Put a Timeout outside the Retry instead to bound all attempts together. Each policy also
// works alone: Do(ctx, call, breaker).
//
// Policies are not tied to a result type: one circuit breaker can guard calls returning
// different types. Predicates on results are typed ([FailureResultIf], [RetryResultIf],
// [DelayFunc]) and apply to the calls of their type only.
//
// A [Hedge] starts attempts on goroutines of its own, so it runs calls with [Hedged] rather
// than as a Policy; nest a hedged call in [Get] to compose it with other policies.
//
// # Cancellation
//
// An error that comes from the caller's context ending (the context passed to Do) never counts
// as a failure: breakers do not record it, retries do not retry it, fallbacks do not replace
// it. A call cut short by a [Timeout] is a failure of the callee, reported as a
// [*TimeoutError]. When the caller's context ends while a policy waits, the call returns
// ctx.Err().
//
// # Circuit breaker
//
// A [CircuitBreaker] judges outcomes in a count-based ([CountWindow]) or time-based
// ([TimeWindow]) sliding window once it holds [MinCalls] calls, and opens when the failure rate
// reaches [FailureRateThreshold] or, with [SlowCallThreshold], the rate of slow calls reaches
// its threshold. Open, it refuses calls with [ErrCircuitOpen] for [OpenWait] (growing with
// [OpenBackoff] while probes keep failing), then lets [HalfOpenCalls] probe calls through and
// closes or opens again on their outcome. It can be forced open or disabled. [FailureIf],
// [IgnoreIf], [FailureResultIf] and [IgnoreResultIf] decide what counts. Its success path takes
// no lock and allocates nothing.
//
// # Retry
//
// A [Retry] makes up to [MaxAttempts] attempts within [MaxElapsed], waiting an exponential
// backoff with full jitter ([Backoff]) or the wait of a [DelayFunc], and at least the wait a
// server asked for ([RetryAfterHint], [WithRetryAfter], [ParseRetryAfter]). [RetryIf],
// [RetryOn], [RetryOnType], [AbortIf] and [RetryResultIf] say what is retried; [Permanent]
// errors never are. A [RetryBudget] shared by the retries of a dependency caps retries at a
// ratio of calls, so they cannot amplify an outage. A retry that gives up returns a
// [*RetryError] that wraps the last failure and counts the attempts.
//
// # Events
//
// Every policy reports its state changes, rejections, retries, timeouts, fallbacks and hedges
// as [Event] values to the listeners given with [WithListener]; a circuit breaker's listeners
// also receive its initial state. [Event.Topic] names a bus topic for each ("resilience.>"
// matches them all), and [Publisher] is a listener that publishes them to the SDK's event bus,
// or any other, without this package importing it; events encode to JSON for a bus transport.
// [WithLogger] logs them.
//
// # Observability
//
// With [WithTracerProvider], policies open no span for a call that goes well — the success
// path stays as cheap as without — and report their events on the span of the call they wrap
// (the span in the call's context): "resilience.rejected", "resilience.retry",
// "resilience.give_up", "resilience.timeout", "resilience.fallback", "resilience.hedge", with
// the attributes anya.resilience.policy, anya.resilience.name, anya.resilience.attempt,
// anya.resilience.delay (seconds) and error.type (the error's type or sentinel, never its text).
// A [Retry] whose first attempt fails opens the span [SpanRetry] ("resilience.retry"), back-dated
// to the call's start; the next attempts run inside it, and it ends with the call, carrying the
// number of attempts and, when it gave up, status Error.
//
// With [WithMeterProvider], every event counts in anya.resilience.events ({event}, by
// anya.resilience.policy, anya.resilience.name and anya.resilience.event), and a circuit
// breaker reports anya.resilience.breaker.state ({state}: 1 for its current state, 0 for the
// others, by anya.resilience.breaker.state) and anya.resilience.breaker.calls ({call}, by
// anya.outcome: success, failure, ignored, rejected), read from its counters when the meter
// collects. Without either (the default, or OpenTelemetry's no-op providers) a policy tests one
// pointer. docs/observability.md lists the instruments of every package.
//
// # Options
//
// Every policy is configured with options of one type, [Option]. [WithName], [WithListener],
// [WithClock] and [WithLogger] configure any policy; each other option belongs to one kind of
// policy (its documentation says which: [MaxAttempts] configures a [Retry], [OpenWait] a
// [CircuitBreaker]), and a constructor given an option of another policy returns an
// [*OptionError] that names it and says it "does not apply" to the policy being built. The
// policies' constructors validate their arguments (a [Bulkhead]'s size, a [Timeout]'s
// duration) the same way, naming the argument.
//
// The zero [CircuitBreaker] and the zero [Retry] work as their constructors' defaults. The
// policies that need a constructor's argument ([Timeout], [Bulkhead], [RateLimiter],
// [Fallback], [Hedge]) and the zero [Registry] refuse calls with a [*NotConstructedError]
// naming the constructor to use.
//
// # Time
//
// Policies read the time through the function given with [WithClock], time.Now by default,
// and wait with package time's timers. Tests of time-based behaviour run in a
// testing/synctest bubble, where package time is fake.
//
// # Conventions
//
// The SDK has one option style. A constructor takes options of one type, Option, a
// func(*config) over an unexported configuration: it applies the defaults, then the options in
// order, then validates the whole configuration once and returns a typed *OptionError naming
// the offending option, its value and the reason (it matches the package's ErrInvalidOption
// with errors.Is). Option constructors never fail and never panic, and each option's
// documentation ends with its default. Time comes from WithClock(now func() time.Time),
// time.Now by default; timers and sleeps use package time, so tests fake time with
// testing/synctest. Logs go to WithLogger(*slog.Logger), silent by default. The zero value of an
// exported type either works as documented or returns an error naming its constructor (it
// matches the package's ErrNotConstructed with errors.Is); it never panics.
package resilience

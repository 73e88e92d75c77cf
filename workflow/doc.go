// Package workflow runs durable, multi-step workflows across the SDK's protocols — the verified
// payment is the canonical one: verify the sender's identity (Web5), assess fraud risk (ML), send
// the payment only if verified and the risk is low (Bitcoin), record it (Web5) — so that a crash at
// any point neither loses a payment nor makes it twice.
//
// # Definitions
//
// A Definition is plain data: named steps, run in order, each calling an operation by name with
// templated input, optionally guarded by a CEL condition. Write it in Go or in JSON/YAML and
// Parse it; VerifiedPayment is the built-in one. Operations are registered by the host in a
// Registry (the anya package registers the Bitcoin, Web5 and ML ones), so this package depends on
// none of the protocols.
//
//	steps:
//	  - id: send_payment
//	    operation: bitcoin.send_payment
//	    if: steps.verify_sender.sender_verified && steps.fraud_assessment.risk_score < 0.7
//	    input: {amount_sat: "{{input.amount_sat}}", to_address: "{{input.recipient_address}}"}
//	    retry: {max_attempts: 10, backoff: 500ms}
//	    timeout: 1m
//
// A step may declare an output mapping (templates over result, the operation's result), an If
// condition (false: the step is recorded as skipped), a TerminateIf condition (true after the
// step completes: the run ends early, terminated), dependencies (After), a per-attempt timeout, a
// retry policy, and a compensation.
//
// # Templates
//
// Strings in inputs and outputs may reference {{input.x}}, {{steps.<id>.<field>}} and, in output
// mappings, {{result.<field>}}, with .field and [index] paths into nested objects and lists. A
// string that is exactly one reference becomes the referenced value with its type; a string mixing
// text and references becomes a string. Templates are parsed once, when the definition is
// compiled; values are substituted and never parsed again, so a value that contains "{{...}}" —
// from the run input or an operation's result — is data, never a template. A reference into a
// step that was skipped or not reached is null; a missing field of a value that exists is an error
// that fails the step.
//
// # Conditions
//
// If and TerminateIf are CEL expressions (cel.dev/cel-go) over input and steps, compiled and
// type-checked once per definition. Inputs declared by the definition and outputs declared by
// operations (or by a step's output mapping) are typed variables, so
// steps.fraud_assessment.risk_score < 0.7 is checked as a double comparison; has(steps.x.f) tests
// presence. Each evaluation is bounded by a cost limit (Limits.CELCostLimit).
//
// # Validation
//
// Engine.Register and Validate check a definition before anything runs and report every problem
// together in a *ValidationError, each with its path and, for parsed definitions, its line and
// column: unknown operations (with a suggestion), protocol mismatches, references to steps or fields
// that do not exist or to steps that do not precede the referencing one, cycles, malformed
// templates, CEL syntax and type errors, and limits on size, step count, nesting and expression
// length. Parse refuses YAML aliases, duplicate keys and sources over DefaultMaxDefinitionBytes.
//
// # Durability
//
// Every transition is written to the Store before the next step begins: a run is created with its
// first step's start; each step's start (with its attempt number) is committed together with the
// previous step's completion or skip before the step's operation is called; the last completion is
// committed with the run's end. After a crash, Resume (or Run with the same run ID) continues every
// unfinished run from its last committed transition: completed steps are not run again. A run
// remembers the exact definition it started with, so a host that has since registered a new
// version still finishes old runs the old way. The SQLite store (OpenSQLiteStore) is the default;
// MemoryStore is for tests. Both pass workflowtest.Run.
//
// # Exactly-once side effects
//
// The guarantee, precisely:
//
//  1. Operations are invoked at least once per step until an attempt's result is committed. A crash
//     after an operation returns and before the commit causes one more invocation after Resume.
//  2. Every invocation of a step — every attempt, before and after restarts — carries the same
//     Call.IdempotencyKey, "<run id>/<step id>"; Call.Attempt counts them across restarts.
//  3. An operation whose side effect is identified by data it can compute before causing it (a
//     signed Bitcoin transaction and its txid) achieves exactly-once effect by recording that data
//     with Call.SaveIntent before causing the effect and, on every invocation, first loading the
//     intent (Call.LoadIntent) and completing the recorded effect — look the txid up, rebroadcast
//     the same bytes if it is unknown — instead of creating a new one. No crash point yields a
//     second transaction: before the intent is committed nothing was broadcast; after, the same
//     transaction is reused. Resume continues the run until the step completes, so the payment is
//     not lost either.
//
// This holds when each run is executed by one Engine at a time (see Several hosts), the host calls Resume after
// restarting, the external system treats resubmission of the same effect as a no-op (a Bitcoin
// transaction can confirm once), and commits are durable against the failure considered: the
// SQLite store's default survives process crashes (kill -9); WithFullSync extends that to power
// loss. If a step's attempts run out (crashes count as attempts) the step fails with
// ErrAttemptsExhausted; its intent stays in the store for reconciliation. The package's crash test
// kills a worker process with SIGKILL at random points and at both critical points of a send, and
// checks 200 payments for zero double and zero lost broadcasts.
//
// The run ID is the caller's idempotency key at the edge: Run with an ID that exists returns the
// stored result (or continues the run) instead of starting another.
//
// # Several hosts
//
// Engines in several processes may share one store (a NATS JetStream store, package
// workflow/natsstore): each run executes on one engine at a time, the holder of the run's
// Lease. An engine acquires the lease before executing a run (Run of a stored run, Resume, or
// right after creating a new one — in the same write, when the store is a CreateLeaser, as the
// SQLite store is) and renews it in the background at a third of WithLeaseTTL;
// a run whose lease another engine holds is ErrRunInProgress, and Resume leaves it alone. An
// engine that dies stops renewing: once its leases lapse, another engine's Resume takes its runs
// over from their last commit. An engine that cannot renew in time (cut off from the store, or
// paused) stops the run at once — its context is cancelled with ErrLeaseLost — and whatever it
// still tries to commit is refused: every commit carries the lease's fencing token and the store
// checks it atomically with the version, so a host that lost its lease never overwrites the
// progress of the one that took over. Intents are recorded create-only (Call.RecordIntent): of
// two attempts racing on one step, only the first records its effect, and the other finds it.
// Engines sharing a store need distinct owner names (WithOwner); an engine restarted under its
// old name takes its own runs back without waiting for their leases to lapse. The SQLite store
// is for one process at a time and releases leases left behind when it is opened.
//
// # Compensation
//
// When a step fails for good, the completed steps that declare Compensate are undone in reverse
// order (a saga); compensations get the key "<run id>/<step id>/compensate", retries, durability
// and events like steps. A failed run reports the step error and any compensation failures.
//
// # Events
//
// With WithBus the engine publishes an Event on the Topic constants (workflow.run.started,
// workflow.step.completed, workflow.step.skipped, workflow.step.compensated, ...) after each
// transition is stored, keyed by run ID.
//
// # Observability
//
// With WithTracerProvider, each execution of a run — Run, or a resumption — is a span, SpanRun
// ("workflow.run"), a child of the span in the caller's context (the host's Execute span);
// each step is a span, SpanStep ("workflow.step"), covering all its attempts, whose context the
// step's guard crossings and operations receive, so the boundary's, the chain's and the model's
// spans sit under the step that caused them; each compensation is a span, SpanCompensate
// ("workflow.compensate"). They carry anya.workflow.name, anya.workflow.step,
// anya.workflow.operation, anya.workflow.protocol, anya.workflow.attempt, anya.workflow.resumed
// and anya.workflow.status (completed, terminated, failed, interrupted); a failure has status
// Error and error.type. Run IDs, inputs, outputs and error texts are never recorded: run IDs
// are the caller's keys and may be anything, a DID included.
//
// With WithMeterProvider, anya.workflow.runs ({run}) counts executions by anya.workflow.name
// and anya.outcome (completed, terminated, failed, interrupted), and the histogram
// anya.workflow.step.duration (s) records each step's time in one execution, attempts and
// their waits included, by anya.workflow.name, anya.workflow.step and anya.outcome (completed,
// failed, interrupted). docs/observability.md lists the instruments of every package.
//
// # Security
//
// If the context passed to Run carries a security.Context, it is stored with the run and restored
// when the run resumes. WithGuard passes data crossing from one protocol's step to another's
// through a Guard — security.Boundaries — which may redact it or refuse it (the step then fails
// without retries); every crossing is audited there.
//
// # Retry and timeout policy
//
// Each step's attempts run through an Executor built from its Policy by a PolicyFunc:
// DefaultPolicy (exponential backoff, per-attempt timeout) unless WithPolicy plugs in another.
// ResiliencePolicy builds them from the resilience package — its Retry and Timeout, with room for
// shared policies per protocol or operation (a circuit breaker for the Bitcoin node). Permanent
// errors are not retried; cancellation of the run's context is not a failure: the run stays
// stored unfinished.
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
//
// New and OpenSQLiteStore take the one Option type: WithFullSync configures the SQLite store and
// the other options an Engine, and an option given to the constructor it does not configure is an
// *OptionError saying it does not apply. The zero Engine and SQLiteStore return a
// *NotConstructedError naming New and OpenSQLiteStore; the zero MemoryStore and Registry are
// empty and ready to use.
package workflow

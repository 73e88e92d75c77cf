// Package security puts trust boundaries between the SDK's protocols and keeps a tamper-evident
// audit log of what crossed them.
//
// # Security context
//
// A Context says who acts — the principal's DID, the credentials verified for it, the scopes
// granted, the request's origin — and travels in the context.Context (NewContext, FromContext).
// IdentityVerified holds when the principal holds a valid credential issued to it. Durable
// workflows store the Context with a run and restore it on resume.
//
// # Boundaries
//
// A Boundary says what may cross from one protocol to another (Bitcoin→Web5, Web5→ML, ML→Bitcoin
// and the reverse directions): the actions the receiving side may perform, the fields allowed and
// their types, a size limit, fields to remove or replace by a keyed pseudonym before they cross
// (personal data before it reaches ML), detection of values that look like personal data, a
// provenance or signature check registered by name (Web5 data attached to a transaction must
// verify), required scopes, and outbound and inbound policies in CEL, so hosts add their own rules
// as configuration (ParseBoundaries reads them from JSON):
//
//	{"name": "cap", "expr": "data.amount_sat <= 1000000 || 'payments:large' in scopes"}
//
// New compiles boundaries once; Boundaries.Cross checks one crossing and returns the data that
// may cross (a redacted copy) or a *DeniedError naming the rule. A protocol pair without a
// boundary is refused: deny by default. DefaultBoundaries fits the verified-payment workflow.
//
// # Privilege rules
//
// Two rules hold whatever the configuration. A payment action (Boundary.PaymentActions) needs a
// verified identity in the security context. Data from ML can block a payment ("block": true
// denies it) but can never authorise one: ML data carrying an authorisation field ("approved",
// "authorize", "action", ... at any depth, in any case or Unicode folding of the name) is
// refused. Boundaries into Bitcoin must list their actions.
//
// # Cancellation
//
// A cancelled or expired context is never reported as a denial: Cross returns ctx.Err()
// (errors.Is(err, context.Canceled), not ErrDenied) and nothing crosses. A refusal decided before
// the caller gave up is still written to the audit log, so cancelling cannot hide an attempt.
//
// # Audit
//
// With WithAudit every crossing — allowed or denied, with the rule and reason, the principal and
// digests (never the content) of the data — is appended to an AuditLog; a crossing that cannot be
// audited is refused. The log's entries live in an AuditStore: SQLite by default (OpenAuditLog,
// or NewAuditLog on a shared database), or any other through NewAuditLogOn — package
// security/natsaudit keeps them in a NATS JetStream stream that several hosts append to. Each
// entry is chained to its predecessor by SHA-256 (HashEntry); an append is optimistic — the
// store takes an entry only at the next position, and a log that lost the race to another
// writer chains its entry again after the new head — so the chain never forks. Verify reports
// entries modified, deleted, reordered, truncated from the end or inserted, each as a
// *TamperError. Verify reads the log entry by entry from one snapshot of the store: its memory
// does not grow with the log. Hosts record their own decisions with Append (KindDecision).
//
// Appends made at once are committed together on a store that takes batches (BatchAuditStore;
// SQLite's does, with its statements prepared once): one transaction stores the whole queue,
// chained in commit order, so concurrent crossings share a commit. Cross and Append return only
// after their entry is stored (in SQLite: committed, with the database's synchronous setting),
// never when it is only chained in memory: an allowed crossing's external effect always follows
// its audit entry. The tamper evidence is the same for an entry whatever batch it came in.
//
// # Canonical data
//
// Cross copies the data once into its canonical form — what encoding it to JSON and decoding it
// would give (objects map[string]any, lists []any, integers int64, other numbers float64),
// without the round trip — and encodes that once, as JSON with keys in order: the size limit
// bounds that encoding and the audit digests are taken over it. Typed numeric tables
// ([]float32, []float64, [][]float32, [][]float64: feature vectors and matrices) cross typed, as
// copies; they hold only numbers, so no check walks them element by element, and a TypeList
// field accepts them. The personal-data scan runs a pattern over a string only when the string
// has what the pattern needs (an '@', "did:", enough digits): numbers and ordinary names cost no
// pattern matching.
// Package security/audittest is the conformance suite every AuditStore passes.
//
// # Checkpoints
//
// The chain is not keyed: whoever can write the database can rewrite the newest entries and
// rehash them consistently. A checkpoint is the log's Head signed by the host's key
// (WithCheckpointSigner; NewEd25519Signer, or any Signer such as a key manager's) as a compact
// JWS of type TypeSignedHead. With WithCheckpointPublisher each checkpoint is handed to the host
// to keep outside the log (a record in its own store, an anchor on chain): one every
// WithCheckpointEvery entries (DefaultCheckpointEvery), one on Close, and any asked for with
// AuditLog.Checkpoint. ParseSignedHead reads a stored checkpoint back, strictly (duplicate or
// case-variant members, unknown members, "alg": "none", trailing data are refused) and verifies
// it (NewEd25519Verifier); Verify given it then detects any rewrite, deletion or truncation of
// the entries up to it. What a checkpoint proves is the log's integrity up to its own position:
// entries after the newest published checkpoint are protected by the chain alone, and an older
// checkpoint replayed to the verifier proves nothing about the entries after it — verify against
// the newest one.
//
// # Events
//
// With WithBus each crossing publishes a Decision on TopicCrossingAllowed or TopicCrossingDenied.
//
// # Observability
//
// With WithTracerProvider, every crossing between two protocols is a span, SpanCross
// ("security.cross"), a child of the caller's (the workflow step that crosses), with
// anya.security.from, anya.security.to, anya.security.action, anya.security.decision (allow,
// deny), anya.security.rule (the rule that denied) and anya.security.verified; a denial has
// status Error and error.type "security: crossing denied". The principal appears only as
// anya.security.principal, its pseudonym under WithRedactionKey — the value a RedactHash field
// holding the same DID gets, so the two can be matched without the DID — and not at all
// without a key. Data, amounts, reasons (which may quote the principal) and error texts are
// never recorded. Given to OpenAuditLog or NewAuditLog, WithTracerProvider makes each Append a span, SpanAuditAppend
// ("security.audit.append"), with anya.security.audit.kind, anya.security.decision (a kind or
// decision outside the package's constants is "other") and anya.security.audit.seq.
//
// With WithMeterProvider, anya.security.crossings ({crossing}) counts crossings by from, to,
// decision and rule; given to an AuditLog, anya.security.audit.appends ({entry}) counts
// appended entries by kind and decision. docs/observability.md lists the instruments of every
// package.
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
// New, OpenAuditLog and NewAuditLog take the one Option type: WithClock, WithLogger,
// WithTracerProvider and WithMeterProvider configure both Boundaries and an AuditLog, WithAudit, WithBus, WithProvenance, WithRedactionKey and
// WithCostLimit configure Boundaries, and the WithCheckpoint options an AuditLog; an option given
// to the constructor it does not configure is an *OptionError saying it does not apply. The zero
// Boundaries refuses every crossing, and the zero AuditLog, Ed25519Signer and Ed25519Verifier
// refuse every call, with a *NotConstructedError naming their constructor.
package security

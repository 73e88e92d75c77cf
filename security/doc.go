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
// "authorize", "action", ...) is refused. Boundaries into Bitcoin must list their actions.
//
// # Audit
//
// With WithAudit every crossing — allowed or denied, with the rule and reason, the principal and
// digests (never the content) of the data — is appended to an AuditLog; a crossing that cannot be
// audited is refused. The log lives in SQLite (OpenAuditLog, or NewAuditLog on a shared database);
// each entry is chained to its predecessor by SHA-256, and Verify reports entries modified,
// deleted, reordered, truncated from the end or inserted, each as a *TamperError. Keep Head values
// outside the database (a checkpoint) to detect an attacker who rewrites the tail consistently.
// Hosts record their own decisions with Append (KindDecision).
//
// # Events
//
// With WithBus each crossing publishes a Decision on TopicCrossingAllowed or TopicCrossingDenied.
package security

// Package console is the operators' web console of an anya Manager: an http.Handler, like
// net/http/pprof's, that a host mounts at a path of its choice.
//
//	h, err := console.New(m, console.BasicAuth("operator", password))
//	mux.Handle("/console/", http.StripPrefix("/console", h))
//
// # Pages
//
// The overview shows the Manager's health, the newest payments and the bus's live events.
// Payments lists the verified payments, filtered by outcome and sender and paged, each with its
// outcome and the typed reason of one not sent; a payment's run shows each workflow step with
// its input and output, timings and error. Runs lists every workflow run, by workflow, status
// and sender. Alerts lists the fraud monitor's alerts (Manager.FraudAlerts: transactions the
// fraud model rated at or above the threshold, with their sender's pseudonym, the factors that
// weighed most, and whether a reorg retracted them; with anya.WithFraudMonitor), the payments
// the fraud model blocked and the crossings the trust boundaries denied. Audit shows the audit log, newest first, and whether its hash chain
// verifies. Breakers shows the per-protocol circuit breakers; Models the model versions with
// their cards and ROC and precision-recall curves; Health the whole of Manager.Health (and
// health.json, for probes: 200 when healthy, 503 otherwise); Live the bus's events as they are
// published (server-sent events from /events).
//
// # Security
//
// The console is deny by default. New requires an Authorizer, a function of the request that
// runs before anything else; BasicAuth and BearerToken are two (compared in constant time), or
// the host writes its own. A request it refuses gets 401 (ErrUnauthenticated, with the
// challenge) or 403, and nothing else. The console is read-only unless WithWrites enables its
// one write, resetting a circuit breaker, for the requests a second Authorizer allows; a write
// is a POST that must carry the console's CSRF token and pass net/http's cross-origin checks.
//
// Every answer carries a strict Content-Security-Policy (the console's own script, style and
// images only; no inline script or style, no framing, no form to elsewhere), nosniff and
// no-store. Every page is rendered by html/template, so stored strings — a payment ID, an audit
// entry's reason, an event's payload — are escaped; the live events are added as text, never
// as HTML. Assets come from the binary (embed): no request leaves for another origin. Queries
// longer than MaxQueryBytes are refused (414), unknown or repeated parameters and malformed
// values are 400, and paths that are not clean (dot segments, empty segments) are 404.
//
// # Personal data
//
// The console shows no personal data beyond what the trust boundaries let through: DIDs and
// Bitcoin addresses, wherever they appear — a payment's sender and recipient, an audit entry's
// principal, a step's input, an error message, an event's payload, base64 or JWS encodings
// that hold one — are shown as keyed pseudonyms (Pseudonym; "did#…" or "addr#…"), the first
// digits of the boundaries' own pseudonym under the same key (WithRedactionKey). Amounts, risk
// scores, transaction and record IDs are shown as they are.
//
// # Lifecycle
//
// A live event stream holds a bus subscription with a bounded queue that drops its oldest
// messages when its reader is slow, so the console never slows the bus; at most
// WithMaxEventStreams are open at once. Close ends them and waits; it is idempotent. Close the
// Handler before the Manager, and before http.Server.Shutdown, which would otherwise wait for
// the streams.
package console

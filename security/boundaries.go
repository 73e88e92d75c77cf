package security

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/anya-org/anya-go/bus"
)

// Crossing is data about to cross a boundary, as a provenance check sees it.
type Crossing struct {
	From, To Protocol
	Action   string
	Data     map[string]any
}

// ProvenanceFunc checks where data comes from — a signature over it, a credential behind it —
// and returns an error to refuse it.
type ProvenanceFunc func(ctx context.Context, c Crossing) error

// Topics Boundaries publishes a Decision on, with WithBus.
const (
	TopicCrossingAllowed = "security.crossing.allowed"
	TopicCrossingDenied  = "security.crossing.denied"
)

// Decision is the payload of the crossing topics: the outcome of one crossing.
type Decision struct {
	From, To  Protocol
	Action    string
	Principal string
	Allowed   bool
	Rule      string // the rule that denied; "" when allowed
	Reason    string
	Time      time.Time
}

// Boundaries decides what data may cross between protocols. Every crossing and its decision is
// appended to the audit log when one is configured; a crossing that cannot be audited is refused.
// A protocol pair with no boundary is refused (deny by default). Boundaries is safe for
// concurrent use and implements workflow.Guard. Create it with New: a zero Boundaries refuses
// every crossing with a *NotConstructedError naming New.
type Boundaries struct {
	byPair map[[2]Protocol]*boundary
	cfg    config
	tel    *boundariesTelemetry // nil unless traced or metered
}

type boundary struct {
	Boundary
	names             []string // of Fields, in order
	outbound, inbound []*compiledPolicy
}

// New compiles boundaries (each protocol pair at most once) and their CEL policies. An invalid
// option, or one that configures an AuditLog, is refused with an *OptionError, a malformed
// boundary with a *ConfigError.
func New(boundaries []Boundary, opts ...Option) (*Boundaries, error) {
	cfg, err := newConfig(kindBoundaries, opts)
	if err != nil {
		return nil, err
	}
	env, err := newPolicyEnv()
	if err != nil {
		return nil, err
	}
	tel, err := newBoundariesTelemetry(&cfg)
	if err != nil {
		return nil, err
	}
	bs := &Boundaries{byPair: map[[2]Protocol]*boundary{}, cfg: cfg, tel: tel}
	for _, b := range boundaries {
		if err := b.check(); err != nil {
			return nil, err
		}
		pair := [2]Protocol{b.From, b.To}
		if _, dup := bs.byPair[pair]; dup {
			return nil, &ConfigError{Boundary: b.name(), Reason: "defined twice"}
		}
		cb := &boundary{Boundary: b}
		cb.Actions, cb.PaymentActions, cb.Scopes = slices.Clone(b.Actions), slices.Clone(b.PaymentActions), slices.Clone(b.Scopes)
		cb.Fields = clone(b.Fields)
		for k := range cb.Fields {
			cb.names = append(cb.names, k)
		}
		sort.Strings(cb.names)
		for _, f := range b.Fields {
			if f.Redact == RedactHash && cfg.key == nil {
				return nil, &ConfigError{Boundary: b.name(), Field: "fields", Reason: "hash redaction needs WithRedactionKey"}
			}
		}
		if cb.MaxBytes == 0 {
			cb.MaxBytes = DefaultMaxBytes
		}
		for _, p := range b.Outbound {
			cp, err := compilePolicy(env, &b, p, cfg.cost)
			if err != nil {
				return nil, err
			}
			cb.outbound = append(cb.outbound, cp)
		}
		for _, p := range b.Inbound {
			cp, err := compilePolicy(env, &b, p, cfg.cost)
			if err != nil {
				return nil, err
			}
			cb.inbound = append(cb.inbound, cp)
		}
		bs.byPair[pair] = cb
	}
	return bs, nil
}

// mlAuthorisingFields are keys by which data would claim to authorise an action. Data from ML
// carrying one — at any depth, in any case or Unicode folding of the name — is refused: a model
// may block a payment but never authorise one.
var mlAuthorisingFields = []string{"authorize", "authorise", "authorized", "authorised", "approve", "approved", "approval", "action", "allow", "permit"}

// findAuthorisation returns the path of the first key in v that names an authorisation.
func findAuthorisation(v any, path string, depth int) string {
	if depth > 64 {
		return path
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			for _, a := range mlAuthorisingFields {
				if strings.EqualFold(k, a) {
					return p
				}
			}
			if found := findAuthorisation(x[k], p, depth+1); found != "" {
				return found
			}
		}
	case []any:
		for i, e := range x {
			// Only keys can authorise: the path of an element is built when it holds some.
			switch e.(type) {
			case map[string]any, []any:
			default:
				if depth+1 <= 64 {
					continue
				}
			}
			if found := findAuthorisation(e, indexPath(path, i), depth+1); found != "" {
				return found
			}
		}
	}
	return ""
}

// Cross checks data crossing from one protocol to another for action, and returns what may cross
// (a copy in the canonical form the package documentation describes under "Canonical data",
// with redactions applied). With an audit log, Cross returns only after the crossing's entry
// is stored. The security context, if any, is read from ctx. A refusal
// is a *DeniedError; the crossing and its decision are audited either way. Crossing within one
// protocol is not a crossing: the data is returned as it is.
//
// Two rules hold whatever the configuration: a payment action needs a verified identity in the
// security context, and data from ML that claims to authorise an action (a field such as
// "approved" or "action", at any depth and in any case) is refused, while data from ML with
// "block": true blocks it.
//
// Cancellation is not a denial: when ctx is done before the crossing is decided and audited,
// Cross returns ctx.Err() (nothing crosses, and nothing is recorded as refused).
func (bs *Boundaries) Cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error) {
	if bs.tel != nil && from != to {
		return bs.crossTraced(ctx, from, to, action, data)
	}
	return bs.cross(ctx, from, to, action, data)
}

func (bs *Boundaries) cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error) {
	f, t := Protocol(from), Protocol(to)
	if f == t {
		return data, nil
	}
	if bs.byPair == nil {
		return nil, &NotConstructedError{Type: "Boundaries", Constructor: "New"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sc, _ := FromContext(ctx)
	now := bs.cfg.now()
	// The data is copied once into its canonical form and encoded once (for the size limit and
	// the audit digest); the checks redact the copy in place.
	in, err := canonicalData(data)
	if err != nil {
		return nil, bs.deny(ctx, sc, now, f, t, action, nil, "encoding", err.Error(), ErrSchema)
	}
	bp := encodings.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 {
			encodings.Put(bp)
		}
	}()
	enc := appendCanonical((*bp)[:0], in)
	*bp = enc
	b := bs.byPair[[2]Protocol{f, t}]
	if b == nil {
		return nil, bs.deny(ctx, sc, now, f, t, action, enc, "undefined-boundary", "no boundary is defined for "+from+" → "+to, ErrUndefinedBoundary)
	}
	if len(enc) > b.MaxBytes {
		return nil, bs.deny(ctx, sc, now, f, t, action, enc, "size", fmt.Sprintf("%d bytes, more than %d", len(enc), b.MaxBytes), ErrTooLarge)
	}
	if rule, reason, err := bs.check(ctx, b, sc, now, action, in); err != nil {
		if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return nil, ctx.Err() // a check the caller gave up on, not a refusal
		}
		return nil, bs.deny(ctx, sc, now, f, t, action, enc, rule, reason, err)
	}
	var inDigest, outDigest string
	if bs.cfg.audit != nil {
		inDigest = digest(enc)
		*bp = appendCanonical(enc[:0], in) // the redacted data
		outDigest = digest(*bp)
	}
	if err := bs.record(ctx, sc, now, f, t, action, inDigest, outDigest, true, "", ""); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &DeniedError{From: f, To: t, Action: action, Rule: "audit", Reason: err.Error(), Err: ErrAudit}
	}
	return in, nil
}

// check runs a boundary's rules over data, redacting it in place. It returns the rule and reason
// of the first that refuses.
func (bs *Boundaries) check(ctx context.Context, b *boundary, sc *Context, now time.Time, action string, data map[string]any) (string, string, error) {
	if len(b.outbound) > 0 {
		vars := policyVars(sc, now, b.From, b.To, action, data)
		for _, p := range b.outbound {
			if rule, reason, err := evalPolicy(p, vars); err != nil {
				return rule, reason, err
			}
		}
	}
	if len(b.Actions) > 0 && !slices.Contains(b.Actions, action) {
		return "action", fmt.Sprintf("action %q is not allowed across %s", action, b.name()), ErrActionNotAllowed
	}
	for _, s := range b.Scopes {
		if !sc.HasScope(s) {
			return "scope", fmt.Sprintf("scope %q required", s), ErrMissingScope
		}
	}
	if slices.Contains(b.PaymentActions, action) && !sc.IdentityVerified(now) {
		who := "no principal"
		if sc != nil && sc.Principal != "" {
			who = strconv.Quote(sc.Principal)
		}
		return "privilege", fmt.Sprintf("payment action %q needs a verified identity; %s has none", action, who), ErrUnverifiedIdentity
	}
	if b.From == ML {
		if path := findAuthorisation(data, "", 0); path != "" {
			return "privilege", fmt.Sprintf("an ML result cannot authorise: field %q", path), ErrPrivilege
		}
		if blk, _ := data["block"].(bool); blk {
			return "block", "the ML result blocks " + action, ErrBlocked
		}
	}
	if reason := b.checkSchema(data); reason != "" {
		if reason[0] == '!' {
			return "fields", reason[1:], ErrFieldNotAllowed
		}
		return "schema", reason, ErrSchema
	}
	for k, fd := range b.Fields {
		v, ok := data[k]
		if !ok {
			continue
		}
		switch fd.Redact {
		case RedactRemove:
			delete(data, k)
		case RedactHash:
			data[k] = redactHash(bs.cfg.key, v)
		}
	}
	if b.DetectPII {
		if path, kind := findPersonalData(data, "", 0); kind != "" {
			return "personal-data", fmt.Sprintf("%s looks like %s", path, kind), ErrPersonalData
		}
	}
	if b.Provenance != "" {
		check := bs.cfg.provenance[b.Provenance]
		if check == nil {
			return "provenance", fmt.Sprintf("no provenance check %q is registered", b.Provenance), ErrProvenance
		}
		if err := check(ctx, Crossing{From: b.From, To: b.To, Action: action, Data: data}); err != nil {
			if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				return "provenance", err.Error(), err
			}
			return "provenance", err.Error(), ErrProvenance
		}
	}
	if len(b.inbound) > 0 {
		vars := policyVars(sc, now, b.From, b.To, action, data)
		for _, p := range b.inbound {
			if rule, reason, err := evalPolicy(p, vars); err != nil {
				return rule, reason, err
			}
		}
	}
	return "", "", nil
}

func evalPolicy(p *compiledPolicy, vars map[string]any) (string, string, error) {
	ok, err := p.eval(vars)
	switch {
	case err != nil:
		return "policy:" + p.Name, "evaluation failed: " + err.Error(), ErrPolicy
	case !ok:
		msg := p.Message
		if msg == "" {
			msg = p.Expr + " is false"
		}
		return "policy:" + p.Name, msg, ErrPolicy
	}
	return "", "", nil
}

// checkSchema returns "" when data fits the fields, "!reason" for an unlisted field and "reason"
// for a type or presence problem.
func (b *boundary) checkSchema(data map[string]any) string {
	if !b.AllowUnknown {
		unknown, found := "", false
		for k := range data {
			if _, ok := b.Fields[k]; !ok && (!found || k < unknown) { // the first by name
				unknown, found = k, true
			}
		}
		if found {
			return "!field " + strconv.Quote(unknown) + " may not cross " + b.name()
		}
	}
	for _, k := range b.names {
		fd := b.Fields[k]
		v, ok := data[k]
		if !ok || v == nil {
			if fd.Required {
				return "field " + strconv.Quote(k) + " is required"
			}
			continue
		}
		if !hasType(v, fd.Type) {
			return fmt.Sprintf("field %q must be %s", k, fd.Type)
		}
	}
	return ""
}

func hasType(v any, t Type) bool {
	switch t {
	case TypeAny:
		return true
	case TypeString:
		_, ok := v.(string)
		return ok
	case TypeBoolean:
		_, ok := v.(bool)
		return ok
	case TypeInteger:
		_, ok := v.(int64)
		return ok
	case TypeNumber:
		switch v.(type) {
		case int64, float64:
			return true
		}
	case TypeObject:
		_, ok := v.(map[string]any)
		return ok
	case TypeList:
		switch v.(type) {
		case []any, []float64, []float32, [][]float64, [][]float32:
			return true
		}
	}
	return false
}

// deny audits a refusal and returns its *DeniedError. The refusal is recorded even when ctx is
// done — an attempt must not escape the audit by cancelling — but the caller that gave up gets
// ctx.Err(): cancellation is not reported as a denial.
func (bs *Boundaries) deny(ctx context.Context, sc *Context, now time.Time, from, to Protocol, action string, in []byte, rule, reason string, cause error) error {
	de := &DeniedError{From: from, To: to, Action: action, Rule: rule, Reason: reason, Err: cause}
	bs.cfg.logger.Warn("security: crossing denied", "from", from, "to", to, "action", action, "rule", rule, "reason", reason)
	var inDigest string
	if bs.cfg.audit != nil {
		inDigest = digest(in)
	}
	err := bs.record(context.WithoutCancel(ctx), sc, now, from, to, action, inDigest, "", false, rule, reason)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		bs.cfg.logger.Error("security: denied crossing not audited", "error", err)
		return &DeniedError{From: from, To: to, Action: action, Rule: rule, Reason: reason + "; and the refusal could not be audited: " + err.Error(), Err: cause}
	}
	return de
}

// record audits one crossing and publishes its decision.
func (bs *Boundaries) record(ctx context.Context, sc *Context, now time.Time, from, to Protocol, action string, inDigest, outDigest string, allowed bool, rule, reason string) error {
	principal := ""
	if sc != nil {
		principal = sc.Principal
	}
	if bs.cfg.audit != nil {
		e := Entry{Time: now, Kind: KindCrossing, From: string(from), To: string(to), Action: action, Principal: principal,
			Decision: DecisionDeny, Rule: rule, Reason: reason, DataHash: inDigest}
		if allowed {
			e.Decision, e.Reason = DecisionAllow, "redacted data "+outDigest
		}
		if _, err := bs.cfg.audit.Append(ctx, e); err != nil {
			return fmt.Errorf("%w: %v", ErrAudit, err)
		}
	}
	if bs.cfg.bus != nil {
		topic := TopicCrossingDenied
		if allowed {
			topic = TopicCrossingAllowed
		}
		d := Decision{From: from, To: to, Action: action, Principal: principal, Allowed: allowed, Rule: rule, Reason: reason, Time: now}
		if err := bus.Publish(ctx, bs.cfg.bus, topic, d, bus.WithSource("security"), bus.WithKey(principal)); err != nil {
			bs.cfg.logger.Warn("security: decision not published", "topic", topic, "error", err)
		}
	}
	return nil
}

func digest(b []byte) string {
	if b == nil {
		return ""
	}
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

package security

import (
	"bytes"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/bus"
)

// Option configures Boundaries (New) or an AuditLog (OpenAuditLog, NewAuditLog). The package has
// one option type: WithClock, WithLogger, WithTracerProvider and WithMeterProvider configure
// both; WithAudit, WithBus, WithProvenance,
// WithRedactionKey and WithCostLimit configure Boundaries; the WithCheckpoint options configure
// an AuditLog. A constructor given an option of the other kind returns an *OptionError saying
// it "does not apply" and constructs nothing.
type Option func(*config)

// The kinds of thing an option configures.
const (
	kindBoundaries = "Boundaries"
	kindAuditLog   = "AuditLog"
)

type config struct {
	kind   string       // what is being constructed: kindBoundaries or kindAuditLog
	misuse *OptionError // the first option of the other kind
	bad    *OptionError // the first invalid value an option could judge only when applied

	logger     *slog.Logger
	now        func() time.Time
	tracerProv trace.TracerProvider
	meterProv  metric.MeterProvider

	// Boundaries
	audit      *AuditLog
	bus        *bus.Bus
	provenance map[string]ProvenanceFunc
	key        []byte
	cost       uint64

	// AuditLog
	signer    Signer
	publisher CheckpointPublisher
	every     int
	onClose   bool
}

// accepts reports whether an option of kind applies to what is being constructed; the first one
// that does not is recorded as an *OptionError.
func (c *config) accepts(kind, option string, value any) bool {
	if c.kind == kind {
		return true
	}
	if c.misuse == nil {
		article := "an "
		if kind == kindBoundaries {
			article = ""
		}
		c.misuse = &OptionError{Option: option, Value: value, Reason: "does not apply to " + c.kind + " (it configures " + article + kind + ")"}
	}
	return false
}

// invalid records the first invalid option value; the constructor reports it.
func (c *config) invalid(option string, v any, reason string) {
	if c.bad == nil {
		c.bad = &OptionError{Option: option, Value: v, Reason: reason}
	}
}

// WithLogger sets the logger: of denied crossings and unpublished decisions (Boundaries), and of
// automatic checkpoints that could not be signed or published (AuditLog). It configures both.
// Defaults to a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithClock sets the clock: of credential validity and decision times (Boundaries), and of
// entries appended without a Time and signed checkpoints (AuditLog). It configures both.
// Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithTracerProvider traces with tp. Boundaries: every crossing is a span (SpanCross) under the
// caller's — the workflow step that crosses — with the protocols, the action, the decision, the
// rule that denied, whether the identity is verified and, only when WithRedactionKey is set, the
// principal's pseudonym (the keyed hash that RedactHash fields get). AuditLog: every Append is a
// span (SpanAuditAppend) naming the entry's kind, decision and position, never its principal,
// reason or data; under a traced crossing it is the crossing's child. Data, reasons and error
// texts are never recorded. It configures both; a nil tp is the no-op provider. Defaults to
// OpenTelemetry's no-op provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProv = tp }
}

// WithMeterProvider counts with instruments of mp. Boundaries: crossings by protocols, decision
// and rule (anya.security.crossings). AuditLog: appended entries by kind and decision
// (anya.security.audit.appends). It configures both; a nil mp is the no-op provider. Defaults to
// OpenTelemetry's no-op provider: nothing is counted.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProv = mp }
}

// WithAudit appends every crossing and decision to log; a nil log is refused: a host that means
// to audit must not silently run without. It configures Boundaries. Defaults to none.
func WithAudit(log *AuditLog) Option {
	return func(c *config) {
		if !c.accepts(kindBoundaries, "WithAudit", nil) {
			return
		}
		if log == nil {
			c.invalid("WithAudit", nil, "must not be nil")
		}
		c.audit = log
	}
}

// WithBus publishes a Decision for every crossing on b. It configures Boundaries. Defaults to
// none.
func WithBus(b *bus.Bus) Option {
	return func(c *config) {
		if !c.accepts(kindBoundaries, "WithBus", nil) {
			return
		}
		if b == nil {
			c.invalid("WithBus", nil, "must not be nil")
		}
		c.bus = b
	}
}

// WithProvenance registers the provenance check boundaries refer to by name (a non-empty name,
// a non-nil check). It configures Boundaries. Defaults to none.
func WithProvenance(name string, f ProvenanceFunc) Option {
	return func(c *config) {
		if !c.accepts(kindBoundaries, "WithProvenance", name) {
			return
		}
		if name == "" || f == nil {
			c.invalid("WithProvenance", name, "empty name or nil check")
			return
		}
		if c.provenance == nil {
			c.provenance = map[string]ProvenanceFunc{}
		}
		c.provenance[name] = f
	}
}

// WithRedactionKey sets the HMAC key of RedactHash fields: the same value always hashes to the
// same pseudonym under one key. Required when a boundary hashes a field; at least 16 bytes. It
// configures Boundaries. Defaults to none.
func WithRedactionKey(key []byte) Option {
	return func(c *config) {
		if !c.accepts(kindBoundaries, "WithRedactionKey", fmt.Sprintf("%d bytes", len(key))) {
			return
		}
		if len(key) < 16 {
			c.invalid("WithRedactionKey", fmt.Sprintf("%d bytes", len(key)), "key shorter than 16 bytes")
			return
		}
		c.key = bytes.Clone(key)
	}
}

// WithCostLimit bounds the work of one policy evaluation; it must not be 0. It configures
// Boundaries. Defaults to DefaultCELCostLimit.
func WithCostLimit(n uint64) Option {
	return func(c *config) {
		if c.accepts(kindBoundaries, "WithCostLimit", n) {
			c.cost = n
		}
	}
}

// WithCheckpointSigner signs checkpoints with the host's key: Checkpoint returns the log's head
// signed by s, and with WithCheckpointPublisher checkpoints are also made and published on their
// own. The signer must name its key (KeyID) and must not use "none". It configures an AuditLog.
// Defaults to none: Checkpoint returns ErrNoSigner.
func WithCheckpointSigner(s Signer) Option {
	return func(c *config) {
		if c.accepts(kindAuditLog, "WithCheckpointSigner", nil) {
			c.signer = s
		}
	}
}

// WithCheckpointPublisher publishes every checkpoint — those asked for with Checkpoint, one every
// WithCheckpointEvery entries, and one on Close — to p. It needs WithCheckpointSigner. An
// automatic checkpoint that fails does not fail the Append that triggered it: it is logged and
// tried again at the next Append (and on Close), so at most the entries since the last published
// checkpoint are unprotected. It configures an AuditLog. Defaults to none.
func WithCheckpointPublisher(p CheckpointPublisher) Option {
	return func(c *config) {
		if c.accepts(kindAuditLog, "WithCheckpointPublisher", nil) {
			c.publisher = p
		}
	}
}

// WithCheckpointEvery makes (with WithCheckpointPublisher) a checkpoint of the entry at every
// position that is a multiple of n; 0 makes none by count, and n must not be negative. It
// configures an AuditLog. Defaults to DefaultCheckpointEvery.
func WithCheckpointEvery(n int) Option {
	return func(c *config) {
		if c.accepts(kindAuditLog, "WithCheckpointEvery", n) {
			c.every = n
		}
	}
}

// WithCheckpointOnClose makes (with WithCheckpointPublisher) a checkpoint of the newest entry
// when the log is closed, unless it was already published. It configures an AuditLog. Defaults
// to true.
func WithCheckpointOnClose(on bool) Option {
	return func(c *config) {
		if c.accepts(kindAuditLog, "WithCheckpointOnClose", on) {
			c.onClose = on
		}
	}
}

// newConfig applies the defaults, then opts in order (nil options are skipped), then validates
// the result once.
func newConfig(kind string, opts []Option) (config, error) {
	c := config{kind: kind, logger: slog.New(slog.DiscardHandler), now: time.Now, cost: DefaultCELCostLimit,
		every: DefaultCheckpointEvery, onClose: true}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	bad := func(option string, v any, reason string) (config, error) {
		return config{}, &OptionError{Option: option, Value: v, Reason: reason}
	}
	switch {
	case c.misuse != nil:
		return config{}, c.misuse
	case c.bad != nil:
		return config{}, c.bad
	case c.logger == nil:
		return bad("WithLogger", nil, "must not be nil")
	case c.now == nil:
		return bad("WithClock", nil, "must not be nil")
	case c.cost == 0:
		return bad("WithCostLimit", c.cost, "must not be 0")
	case c.every < 0:
		return bad("WithCheckpointEvery", c.every, "must not be negative")
	case c.publisher != nil && c.signer == nil:
		return bad("WithCheckpointPublisher", c.publisher, "needs WithCheckpointSigner")
	}
	if c.signer != nil {
		if err := checkSigner(c.signer); err != nil {
			return bad("WithCheckpointSigner", c.signer.KeyID(), err.Error())
		}
	}
	return c, nil
}

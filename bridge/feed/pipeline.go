package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"cel.dev/cel-go/common/types"

	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Errors of the package.
var (
	// ErrInvalidOption: a constructor option refused (see *OptionError).
	ErrInvalidOption = errors.New("feed: invalid option")
	// ErrInvalidSpec: a pipeline spec that cannot be compiled (see *SpecError).
	ErrInvalidSpec = errors.New("feed: invalid spec")
	// ErrRejected: a record failed a validation rule or an expression on it (see *RejectError).
	ErrRejected = errors.New("feed: record rejected")
	// ErrConflict: a sync write lost to a concurrent write (retried at the next sync).
	ErrConflict = errors.New("feed: conflicting write")
)

// OptionError names the option a constructor refused. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("feed: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// RejectError says which rule or expression refused a record. It matches ErrRejected.
type RejectError struct {
	RecordID string
	Rule     string // a validation rule's name, or "filter", "features.<name>"
	Err      error  // the evaluation error, nil when a rule evaluated to false
}

func (e *RejectError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("feed: record %s: %s: %v", e.RecordID, e.Rule, e.Err)
	}
	return fmt.Sprintf("feed: record %s fails rule %s", e.RecordID, e.Rule)
}

// Unwrap returns ErrRejected and the cause.
func (e *RejectError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRejected}
	}
	return []error{ErrRejected, e.Err}
}

// Reader reads records: a *bridge.Records (or a reader with grants for another protocol).
type Reader interface {
	Read(ctx context.Context, tenant, id string) (*dwn.Record, error)
}

// Writer writes score records: a *bridge.Records.
type Writer interface {
	Create(ctx context.Context, tenant, path string, data any, opts ...bridge.WriteOption) (*dwn.Record, error)
}

// Scorer scores vectors of its model's schema: an *ml.Engine (built WithFactors for
// explanations).
type Scorer interface {
	Score(ctx context.Context, v ml.Vector) (ml.Result, error)
	Model() *ml.Model
}

// Boundary checks what crosses: a *security.Boundaries.
type Boundary interface {
	Cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error)
}

var (
	_ Reader   = (*bridge.Records)(nil)
	_ Writer   = (*bridge.Records)(nil)
	_ Scorer   = (*ml.Engine)(nil)
	_ Boundary = (*security.Boundaries)(nil)
)

// CrossScore is the boundary action of a score written back into Web5 (ml→web5).
const CrossScore = "web5.record_score"

// DefaultCostLimit bounds the CEL cost of one expression evaluation.
const DefaultCostLimit = 10_000

// Option configures New and NewSyncer.
type Option func(*config)

type config struct {
	cost uint64
	log  *slog.Logger
}

// WithCostLimit bounds the CEL cost of one evaluation. Defaults to DefaultCostLimit.
func WithCostLimit(n uint64) Option { return func(c *config) { c.cost = n } }

// WithLogger sets the logger. Defaults to a silent one.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

func newConfig(opts []Option) (config, error) {
	cfg := config{cost: DefaultCostLimit, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.cost == 0:
		return cfg, &OptionError{Option: "WithCostLimit", Value: 0, Reason: "must be positive"}
	case cfg.log == nil:
		return cfg, &OptionError{Option: "WithLogger", Value: nil, Reason: "nil logger"}
	}
	return cfg, nil
}

// Pipeline turns records into scores: record → filter → validation → features → model → a
// score record (with its explanation) written back to the record's tenant, across the ml→web5
// boundary. It is safe for concurrent use and owns no goroutines.
type Pipeline struct {
	spec   *compiledSpec
	reader Reader
	writer Writer
	scorer Scorer
	b      Boundary
	cfg    config
	stats  struct{ seen, skipped, rejected, scored, failed atomic.Int64 }
}

// New compiles spec against scorer's model schema (every problem listed in a *SpecError).
func New(spec Spec, r Reader, w Writer, s Scorer, b Boundary, opts ...Option) (*Pipeline, error) {
	switch {
	case r == nil:
		return nil, &OptionError{Option: "reader", Value: nil, Reason: "nil"}
	case w == nil:
		return nil, &OptionError{Option: "writer", Value: nil, Reason: "nil"}
	case s == nil:
		return nil, &OptionError{Option: "scorer", Value: nil, Reason: "nil"}
	case b == nil:
		return nil, &OptionError{Option: "boundary", Value: nil, Reason: "scores cross ml→web5: nil"}
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range s.Model().Schema().Names() {
		names[n] = true
	}
	c, err := compileSpec(spec, names, cfg.cost)
	if err != nil {
		return nil, err
	}
	return &Pipeline{spec: c, reader: r, writer: w, scorer: s, b: b, cfg: cfg}, nil
}

// Name returns the spec's name.
func (p *Pipeline) Name() string { return p.spec.spec.Name }

// Stats counts records seen, skipped (another protocol or path, or the filter said no),
// rejected (a rule), scored, and failed (reading, scoring, crossing or writing).
type Stats struct{ Seen, Skipped, Rejected, Scored, Failed int64 }

// Stats returns the counters.
func (p *Pipeline) Stats() Stats {
	return Stats{p.stats.seen.Load(), p.stats.skipped.Load(), p.stats.rejected.Load(), p.stats.scored.Load(), p.stats.failed.Load()}
}

// Scored is a record's score as written back.
type Scored struct {
	RecordID string
	Model    string // name@version
	Score    float64
	Factors  []ml.Factor
	// ScoreRecord is the score's record in the tenant's store.
	ScoreRecord string
}

// scoreData is a score record's data.
type scoreData struct {
	Pipeline string      `json:"pipeline"`
	RecordID string      `json:"record_id"`
	Model    string      `json:"model"`
	Score    float64     `json:"score"`
	Factors  []ml.Factor `json:"factors,omitempty"`
}

// Process runs the pipeline on one record of tenant. It returns nil, nil for a record the
// pipeline skips; a *RejectError for one a rule refuses; a *security.DeniedError when the
// score may not cross back into Web5.
func (p *Pipeline) Process(ctx context.Context, tenant, recordID string) (*Scored, error) {
	p.stats.seen.Add(1)
	s, err := p.process(ctx, tenant, recordID)
	switch {
	case err == nil && s == nil:
		p.stats.skipped.Add(1)
	case err == nil:
		p.stats.scored.Add(1)
	case errors.Is(err, ErrRejected):
		p.stats.rejected.Add(1)
	case ctx.Err() == nil:
		p.stats.failed.Add(1)
	}
	return s, err
}

func (p *Pipeline) process(ctx context.Context, tenant, recordID string) (*Scored, error) {
	rec, err := p.reader.Read(ctx, tenant, recordID)
	if err != nil {
		return nil, err
	}
	if !p.matches(rec) {
		return nil, nil
	}
	var data any
	if len(rec.Data) > 0 && rec.DataFormat == bridge.DataFormat {
		if err := json.Unmarshal(rec.Data, &data); err != nil {
			return nil, &RejectError{RecordID: rec.ID, Rule: "data", Err: err}
		}
	}
	vars := map[string]any{"record": map[string]any{
		"id": rec.ID, "tenant": tenant, "author": rec.Author, "protocol": rec.Protocol, "protocol_path": rec.ProtocolPath,
		"schema": rec.Schema, "recipient": rec.Recipient, "data_format": rec.DataFormat, "date_created": rec.DateCreated,
		"date_updated": rec.DateUpdated, "data_size": rec.DataSize,
	}, "data": data}
	if p.spec.filter != nil {
		v, _, err := p.spec.filter.ContextEval(ctx, vars)
		if err != nil {
			return nil, &RejectError{RecordID: rec.ID, Rule: "filter", Err: err}
		}
		if b, ok := v.Value().(bool); !ok || !b {
			return nil, nil
		}
	}
	for _, r := range p.spec.rules {
		v, _, err := r.prg.ContextEval(ctx, vars)
		if err != nil {
			return nil, &RejectError{RecordID: rec.ID, Rule: r.name, Err: err}
		}
		if b, ok := v.Value().(bool); !ok || !b {
			return nil, &RejectError{RecordID: rec.ID, Rule: r.name}
		}
	}
	named := make(map[string]float32, len(p.spec.features))
	for _, f := range p.spec.features {
		v, _, err := f.prg.ContextEval(ctx, vars)
		if err != nil {
			return nil, &RejectError{RecordID: rec.ID, Rule: "features." + f.name, Err: err}
		}
		x, ok := number(v.Value())
		if !ok {
			return nil, &RejectError{RecordID: rec.ID, Rule: "features." + f.name, Err: fmt.Errorf("%s is not a number", v.Type())}
		}
		named[f.name] = float32(x)
	}
	model := p.scorer.Model()
	vec, err := model.Schema().Vector(named)
	if err != nil {
		return nil, &RejectError{RecordID: rec.ID, Rule: "features", Err: err}
	}
	res, err := p.scorer.Score(ctx, vec)
	if err != nil {
		return nil, err
	}
	factors := res.Factors
	if len(factors) > p.spec.spec.Explain {
		factors = factors[:p.spec.spec.Explain]
	}
	sd := scoreData{Pipeline: p.Name(), RecordID: rec.ID, Model: res.ModelID(), Score: float64(res.Score), Factors: factors}
	raw, err := json.Marshal(sd)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	crossed, err := p.b.Cross(ctx, string(security.ML), string(security.Web5), CrossScore, out)
	if err != nil {
		return nil, err
	}
	srec, err := p.writer.Create(ctx, tenant, bridge.PathScore, crossed, bridge.WithRecipient(tenant))
	if err != nil {
		return nil, err
	}
	return &Scored{RecordID: rec.ID, Model: sd.Model, Score: sd.Score, Factors: factors, ScoreRecord: srec.ID}, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case types.Double:
		return float64(x), true
	}
	return 0, false
}

// matches reports whether rec is one of the pipeline's: its protocol and path, and not a
// score record (which would feed the pipeline its own output).
func (p *Pipeline) matches(rec *dwn.Record) bool {
	if rec == nil || rec.Deleted || rec.Protocol != p.spec.spec.Protocol {
		return false
	}
	if p.spec.spec.Path != "" && rec.ProtocolPath != p.spec.spec.Path {
		return false
	}
	return !(rec.Protocol == bridge.ProtocolURI && rec.ProtocolPath == bridge.PathScore)
}

// Subscribe feeds the pipeline from a records store's events on b (a *dwn.Node built
// WithBus): every record written under the spec's protocol and path is processed. Handler
// errors go back to the bus (opts such as bus.RetryHandler and bus.DeadLetter apply); rejected and
// denied records are counted, not retried.
func (p *Pipeline) Subscribe(b *bus.Bus, opts ...bus.SubscribeOption) (*bus.Subscription, error) {
	keep := bus.Filter(func(e bus.Envelope[dwn.Event]) bool {
		r := e.Payload.Record
		return r != nil && p.matches(r)
	})
	return bus.Subscribe(b, dwn.TopicPrefix+".*."+dwn.EventRecordWritten, func(ctx context.Context, e bus.Envelope[dwn.Event]) error {
		_, err := p.Process(ctx, e.Payload.Tenant, e.Payload.Record.ID)
		if errors.Is(err, ErrRejected) || errors.Is(err, security.ErrDenied) {
			p.cfg.log.Info("feed: record not scored", "pipeline", p.Name(), "record", e.Payload.Record.ID, "err", err)
			return nil
		}
		return err
	}, append([]bus.SubscribeOption{keep, bus.Named("feed." + p.Name())}, opts...)...)
}

// Boundaries returns bs extended so that scores cross ml→web5 for CrossScore with pipeline,
// record_id, model (strings), score (a number) and factors (a list). bs is not modified.
func Boundaries(bs []security.Boundary) []security.Boundary {
	out := make([]security.Boundary, len(bs))
	for i, b := range bs {
		if b.From == security.ML && b.To == security.Web5 {
			b.Actions = append(append([]string(nil), b.Actions...), CrossScore)
			fields := make(map[string]security.Field, len(b.Fields)+5)
			for k, v := range b.Fields {
				fields[k] = v
			}
			fields["pipeline"] = security.Field{Type: security.TypeString}
			fields["record_id"] = security.Field{Type: security.TypeString}
			fields["model"] = security.Field{Type: security.TypeString}
			fields["score"] = security.Field{Type: security.TypeNumber}
			fields["factors"] = security.Field{Type: security.TypeList}
			b.Fields = fields
		}
		out[i] = b
	}
	return out
}

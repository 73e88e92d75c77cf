package anya

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/bridge/learn"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/models"
)

// DefaultFactors is how many risk or reputation factors a score explains.
const DefaultFactors = 5

type mlConfig struct {
	fraud, reputation *ml.Model
	opts              []ml.Option
}

// WithFraudModel scores payments with model m, whose schema names the transaction and identity
// features it needs (see the models package). Defaults to the shipped models.Fraud.
func WithFraudModel(m *ml.Model) Option {
	return func(c *config) {
		c.give("WithFraudModel")
		c.ml.fraud = m
	}
}

// WithReputationModel scores identities with model m. Defaults to the shipped
// models.Reputation.
func WithReputationModel(m *ml.Model) Option {
	return func(c *config) {
		c.give("WithReputationModel")
		c.ml.reputation = m
	}
}

// WithMLOptions passes options to both ML engines (a backend, batching, latency bounds), after
// the Manager's own. Defaults to ONNX Runtime when its library is found (ml.FindORTLibrary), the
// pure-Go evaluator otherwise (ml.WithGoFallback; Manager.BackendReason says which and why),
// explaining DefaultFactors factors per score.
func WithMLOptions(opts ...ml.Option) Option {
	return func(c *config) { c.ml.opts = append(c.ml.opts, opts...) }
}

func (m *Manager) openML(ctx context.Context) error {
	for _, e := range []struct {
		dst   *scorer
		model *ml.Model
		name  string
	}{{&m.fraud, m.cfg.ml.fraud, models.Fraud}, {&m.reputation, m.cfg.ml.reputation, models.Reputation}} {
		model := e.model
		if model == nil {
			var err error
			if model, err = models.Load(ctx, e.name); err != nil {
				return fmt.Errorf("anya: load the %s model: %w", e.name, err)
			}
		}
		opts := append([]ml.Option{ml.WithGoFallback(), ml.WithFactors(DefaultFactors), ml.WithLogger(m.log),
			ml.WithTracerProvider(m.cfg.tracerProv), ml.WithMeterProvider(m.cfg.meterProv)}, m.cfg.ml.opts...)
		eng, err := ml.NewEngine(model, opts...)
		if err != nil {
			return fmt.Errorf("anya: %s engine: %w", e.name, err)
		}
		m.onClose(eng.Close)
		*e.dst = &engineScorer{e: eng}
	}
	return nil
}

// engineScorer scores with an ml.Engine: through the model's circuit breaker (BreakerModel)
// and, once the bridges are wired, recording each vector with an entity in the feature store
// before scoring it (learn.Recorder).
type engineScorer struct {
	e      *ml.Engine
	rec    *learn.Recorder
	guard  *Manager                                 // the Manager whose breakers guard scoring; nil: none
	scored func(ctx context.Context, entity string) // called after a vector of entity was scored
}

func (s *engineScorer) inputs() []featureSpec {
	sch := s.e.Model().Schema()
	out := make([]featureSpec, len(sch.Features))
	for i, f := range sch.Features {
		out[i] = featureSpec{Name: f.Name, Default: f.Default, Min: f.Min, Max: f.Max}
	}
	return out
}

func (s *engineScorer) score(ctx context.Context, entity string, v []float32) (float64, string, []Factor, error) {
	sch := s.e.Model().Schema()
	vec := ml.Vector{Schema: sch.Name, Version: sch.Version, Values: v}
	run := func(ctx context.Context) (ml.Result, error) {
		if s.rec != nil && entity != "" {
			return s.rec.Score(ctx, entity, vec)
		}
		return s.e.Score(ctx, vec)
	}
	var (
		r   ml.Result
		err error
	)
	if s.guard != nil {
		r, err = guard(ctx, s.guard, BreakerModel, run)
	} else {
		r, err = run(ctx)
	}
	if err != nil {
		return 0, "", nil, err
	}
	if s.scored != nil && entity != "" {
		s.scored(ctx, entity)
	}
	fs := make([]Factor, len(r.Factors))
	for i, f := range r.Factors {
		fs[i] = Factor{Feature: f.Feature, Value: float64(f.Value), Contribution: float64(f.Contribution)}
	}
	return float64(r.Score), r.ModelID(), fs, nil
}

// Backend returns the ML backend scoring the Manager's models: "ort" (ONNX Runtime) or "go"
// (the pure-Go evaluator); "" for a Manager New did not create.
func (m *Manager) Backend() string {
	return m.BackendReason().Backend
}

// BackendReason says which ML backend scores the Manager's models and why (the fraud engine's
// ml.Engine.BackendReason; both engines are configured alike): ONNX Runtime and where its
// library was found, the pure-Go evaluator and the error that made the engine fall back to
// it, or a backend given with WithMLOptions. It is the zero ml.BackendReason for a Manager New
// did not create.
func (m *Manager) BackendReason() ml.BackendReason {
	if m == nil {
		return ml.BackendReason{}
	}
	if s, ok := m.fraud.(*engineScorer); ok {
		return s.e.BackendReason()
	}
	return ml.BackendReason{}
}

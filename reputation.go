package anya

import (
	"context"
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
)

// Factor is one feature's contribution to a model's score, in the model's raw-score units
// (log-odds for the shipped models): positive contributions push the score up.
type Factor struct {
	Feature      string
	Value        float64
	Contribution float64
}

// featureSpec is one input of a model.
type featureSpec struct {
	Name     string
	Default  float32
	Min, Max float32
}

// scorer is a model the Manager scores with (the ML engines).
type scorer interface {
	// inputs returns the model's features, in vector order.
	inputs() []featureSpec
	// score scores one vector in the model's order, recording it in the feature store under
	// entity when entity is not empty.
	score(ctx context.Context, entity string, v []float32) (score float64, model string, factors []Factor, err error)
}

// vector lays named values out in s's order: features not named take their default, values
// outside a feature's range are clamped to it (a DID older than the schema's 100 years is 100
// years old to the model).
func vector(s scorer, values map[string]float64) []float32 {
	specs := s.inputs()
	v := make([]float32, len(specs))
	for i, f := range specs {
		x, ok := values[f.Name]
		if !ok {
			v[i] = f.Default
			continue
		}
		v[i] = min(max(float32(x), f.Min), f.Max)
	}
	return v
}

// Web5ToML scores the reputation of a DID from its identity features — its resolution (method,
// service endpoints), credentials and address links, and its records-store history (payments,
// records, reports) — with the reputation model. The features cross the Web5→ML boundary
// (and are audited) before the model sees them; the DID itself does not reach ML. Execute
// returns a *Reputation.
type Web5ToML struct {
	DID string
}

// Reputation is an identity's reputation score (the result of Web5ToML).
type Reputation struct {
	DID string
	// Score is the model's probability that the identity is reputable, in [0, 1].
	Score float64
	// Model is the model version that scored ("reputation@1").
	Model string
	// Features are the identity features the model saw, by name.
	Features map[string]float64
	// Factors are the features that moved the score most, largest first.
	Factors []Factor
	// Stale reports the model's fallback: the model could not score (BreakerModel), and Score,
	// Model and Factors are the last re-scoring's (Rescore), as the identity's store keeps it.
	Stale bool
}

func (*Reputation) direction() Direction { return DirectionWeb5ToML }

func (op Web5ToML) name() string { return "Web5ToML" }

func (op Web5ToML) execute(ctx context.Context, m *Manager) (Result, error) {
	return result(m.scoreReputation(ctx, op))
}

func (m *Manager) scoreReputation(ctx context.Context, op Web5ToML) (*Reputation, error) {
	if _, err := did.Parse(op.DID); err != nil {
		return nil, &OpError{Op: op.name(), Field: "DID", Reason: "not a DID", Err: err}
	}
	feats, err := m.identityFeatures(ctx, op.DID, "")
	if err != nil {
		var re *did.ResolutionError
		if errors.As(err, &re) && !errors.Is(err, ErrUnavailable) {
			return nil, &OpError{Op: op.name(), Field: "DID", Reason: "does not resolve", Err: err}
		}
		return nil, err
	}
	crossed, err := m.cross(ctx, security.Web5, security.ML, ActionScoreReputation,
		map[string]any{"identity_features": toAny(feats)})
	if err != nil {
		return nil, err
	}
	seen, err := numbers(crossed["identity_features"])
	if err != nil {
		return nil, err
	}
	score, model, factors, err := m.reputation.score(ctx, m.pseudonym(op.DID), vector(m.reputation, seen))
	if errors.Is(err, ErrUnavailable) {
		// The model's fallback: the last score the Manager wrote to the identity's store.
		if last, ok := m.lastReputation(ctx, op.DID); ok {
			return &Reputation{DID: op.DID, Score: last.Score, Model: last.Model, Features: seen, Factors: last.Factors, Stale: true}, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("anya: reputation model: %w", err)
	}
	return &Reputation{DID: op.DID, Score: score, Model: model, Features: seen, Factors: factors}, nil
}

// toAny converts named numbers for a crossing.
func toAny(v map[string]float64) map[string]any {
	out := make(map[string]any, len(v))
	for k, x := range v {
		out[k] = x
	}
	return out
}

// numbers reads back named numbers that crossed a boundary.
func numbers(v any) (map[string]float64, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("anya: features crossed as %T, not an object", v)
	}
	out := make(map[string]float64, len(m))
	for k, x := range m {
		switch n := x.(type) {
		case float64:
			out[k] = n
		case int64:
			out[k] = float64(n)
		case int:
			out[k] = float64(n)
		default:
			return nil, fmt.Errorf("anya: feature %q crossed as %T, not a number", k, x)
		}
	}
	return out, nil
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"

	sdk "github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/models"
)

type factorJSON struct {
	Feature      string  `json:"feature"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"`
}

type scoreJSON struct {
	Model     string       `json:"model"`
	Score     float64      `json:"score"`
	Threshold float64      `json:"threshold"`
	Blocked   *bool        `json:"blocked,omitempty"` // fraud model: whether the Manager would block a payment at this score
	Factors   []factorJSON `json:"factors"`
	Backend   string       `json:"backend"`
}

func round6(v float32) float64 { return math.Round(float64(v)*1e6) / 1e6 }

// scoreFlags are the flags both score commands take.
type scoreFlags struct {
	backend, dir *string
	factors      *int
	threshold    *float64
}

func addScoreFlags(fs *flag.FlagSet) scoreFlags {
	return scoreFlags{
		backend: fs.String("backend", "ort", "the backend, `ort|go`: ONNX Runtime (install it with anya setup first) or the pure-Go evaluator"),
		factors: fs.Int("factors", 5, "number (`N`, 0 or more) of risk factors to report"),
		dir:     fs.String("dir", "", "the registry directory (`DIR`; default ./models when it holds the model, else the models built into anya)"),
		threshold: fs.Float64("risk-threshold", sdk.DefaultRiskThreshold,
			"the fraud `RISK` in (0, 1] at or above which the Manager blocks a payment (its --risk-threshold)"),
	}
}

func loadModel(ctx context.Context, id, dir string) (*ml.Model, error) {
	name, version := splitID(id)
	fsys, _, _ := modelSource(dir, name)
	m, err := ml.OpenRegistryFS(fsys).Load(ctx, name, version)
	if err != nil {
		return nil, &cliError{Code: "model", Err: err}
	}
	return m, nil
}

// score runs v through an engine for m on the chosen backend and prints the result.
func score(ctx context.Context, m *ml.Model, v ml.Vector, f scoreFlags, stdout io.Writer) error {
	if *f.factors < 0 {
		return usageError("score: --factors must be 0 or more, not %d", *f.factors)
	}
	if !(*f.threshold > 0 && *f.threshold <= 1) {
		return usageError("score: --risk-threshold: %v is not in (0, 1]", *f.threshold)
	}
	opts := []ml.Option{ml.WithWorkers(1), ml.WithFactors(*f.factors)}
	switch *f.backend {
	case "ort":
	case "go":
		opts = append(opts, ml.WithBackend(ml.NewGoBackend()))
	default:
		return usageError("score: backend %q: want ort or go", *f.backend)
	}
	e, err := ml.NewEngine(m, opts...)
	if err != nil {
		return &cliError{Code: "backend", Err: err}
	}
	defer e.Close()
	r, err := e.Score(ctx, v)
	if err != nil {
		return &cliError{Code: "score", Err: err}
	}
	out := scoreJSON{Model: r.ModelID(), Score: round6(r.Score), Threshold: m.Manifest().Threshold, Backend: e.Backend(), Factors: []factorJSON{}}
	if m.Manifest().Name == models.Fraud {
		// One threshold: the one at which the Manager's verified payment blocks a payment.
		blocked := float64(r.Score) >= *f.threshold
		out.Threshold, out.Blocked = *f.threshold, &blocked
	}
	for _, fc := range r.Factors {
		out.Factors = append(out.Factors, factorJSON{Feature: fc.Feature, Value: round6(fc.Value), Contribution: round6(fc.Contribution)})
	}
	return writeJSON(stdout, out)
}

// runScoreFeatures scores a JSON object of named feature values; unnamed features take their
// schema default (for the fraud model: an unknown identity and unknown inputs).
func runScoreFeatures(ctx context.Context, e *env, args []string) error {
	flags := newFlags("score features")
	name := flags.String("model", models.Fraud, "the model (`NAME[@VERSION]`)")
	sf := addScoreFlags(flags)
	pos, err := parse(flags, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("score features: want exactly one argument, a JSON object of features (or @FILE, or - for standard input)")
	}
	input, err := e.read(inFeatures, pos[0])
	if err != nil {
		return err
	}
	var named map[string]float64
	if err := json.Unmarshal(input, &named); err != nil {
		return &cliError{Code: "invalid_features", Err: fmt.Errorf("features must be a JSON object of numbers: %w", err)}
	}
	m, err := loadModel(ctx, *name, *sf.dir)
	if err != nil {
		return err
	}
	vals := make(map[string]float32, len(named))
	for k, v := range named {
		if math.Abs(v) > math.MaxFloat32 {
			return &cliError{Code: "invalid_features", Err: fmt.Errorf("feature %q = %v does not fit a float32", k, v)}
		}
		vals[k] = float32(v)
	}
	vec, err := m.Schema().Vector(vals)
	if err != nil {
		return &cliError{Code: "invalid_features", Err: err}
	}
	return score(ctx, m, vec, sf, e.stdout)
}

// runScoreTx extracts a raw transaction's features with the bitcoin package and scores them with
// the fraud model. Without a chain index the inputs' values, ages and script reuse are unknown,
// and without a DID the sender is unknown; the model learned from such rows too.
func runScoreTx(ctx context.Context, e *env, args []string) error {
	flags := newFlags("score tx")
	sf := addScoreFlags(flags)
	pos, err := parse(flags, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("score tx: want exactly one argument, the transaction in hex (or @FILE, or - for standard input)")
	}
	tx, err := readTx(e, pos[0])
	if err != nil {
		return err
	}
	fx, err := bitcoin.NewFeatureExtractor()
	if err != nil {
		return err
	}
	values, err := fx.Tx(ctx, tx, -1, nil)
	if err != nil {
		return bitcoinError(err)
	}
	m, err := loadModel(ctx, models.Fraud, *sf.dir)
	if err != nil {
		return err
	}
	vec, err := m.Schema().Project(bitcoin.TxFeatureSchema().Names, values, map[string]float32{"identity_known": 0})
	if err != nil {
		return &cliError{Code: "invalid_features", Err: err}
	}
	return score(ctx, m, vec, sf, e.stdout)
}

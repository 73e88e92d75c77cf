package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/anya-org/anya-go/ml"
)

const scoreUsage = "usage: anya score features JSON|- [--model fraud|reputation] [--backend ort|go] [--factors N] [--dir DIR]"

func runScore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return fail(stdout, "usage", errors.New(scoreUsage))
	}
	switch args[0] {
	case "features":
		return scoreFeatures(ctx, args[1:], stdout)
	}
	return fail(stdout, "usage", fmt.Errorf("unknown subcommand %q; %s", args[0], scoreUsage))
}

type factorJSON struct {
	Feature      string  `json:"feature"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"`
}

type scoreJSON struct {
	Model     string       `json:"model"`
	Score     float64      `json:"score"`
	Threshold float64      `json:"threshold"`
	Factors   []factorJSON `json:"factors"`
	Backend   string       `json:"backend"`
}

func round6(v float32) float64 { return math.Round(float64(v)*1e6) / 1e6 }

// scoreFeatures scores a JSON object of named feature values; unnamed features take their
// schema default (for the fraud model: an unknown identity).
func scoreFeatures(ctx context.Context, args []string, stdout io.Writer) int {
	flags := flag.NewFlagSet("score features", flag.ContinueOnError)
	name := flags.String("model", "fraud", "model name[@version]")
	backend := flags.String("backend", "ort", "ort (ONNX Runtime) or go (pure-Go evaluator)")
	factors := flags.Int("factors", 5, "number of risk factors to report")
	dir := flags.String("dir", "", "registry directory (default ./models when it holds the model, else the models built into anya)")
	pos, err := parseFlags(flags, args)
	if err != nil || len(pos) != 1 {
		return fail(stdout, "usage", fmt.Errorf("%s (%v)", scoreUsage, err))
	}
	input := []byte(pos[0])
	if pos[0] == "-" {
		if input, err = io.ReadAll(os.Stdin); err != nil {
			return fail(stdout, "io", err)
		}
	}
	var named map[string]float64
	if err := json.Unmarshal(input, &named); err != nil {
		return fail(stdout, "invalid_features", fmt.Errorf("features must be a JSON object of numbers: %w", err))
	}
	modelName, version := splitID(*name)
	fsys, _, _ := modelSource(*dir, modelName)
	m, err := ml.OpenRegistryFS(fsys).Load(ctx, modelName, version)
	if err != nil {
		return fail(stdout, "model", err)
	}
	vals := make(map[string]float32, len(named))
	for k, v := range named {
		if math.Abs(v) > math.MaxFloat32 {
			return fail(stdout, "invalid_features", fmt.Errorf("feature %q = %v does not fit a float32", k, v))
		}
		vals[k] = float32(v)
	}
	vec, err := m.Schema().Vector(vals)
	if err != nil {
		return fail(stdout, "invalid_features", err)
	}
	opts := []ml.Option{ml.WithWorkers(1), ml.WithFactors(max(*factors, 0))}
	switch *backend {
	case "ort":
	case "go":
		opts = append(opts, ml.WithBackend(ml.NewGoBackend()))
	default:
		return fail(stdout, "usage", fmt.Errorf("backend %q: want ort or go", *backend))
	}
	e, err := ml.NewEngine(m, opts...)
	if err != nil {
		return fail(stdout, "backend", err)
	}
	defer e.Close()
	r, err := e.Score(ctx, vec)
	if err != nil {
		return fail(stdout, "score", err)
	}
	out := scoreJSON{Model: r.ModelID(), Score: round6(r.Score), Threshold: m.Manifest().Threshold, Backend: e.Backend(), Factors: []factorJSON{}}
	for _, f := range r.Factors {
		out.Factors = append(out.Factors, factorJSON{Feature: f.Feature, Value: round6(f.Value), Contribution: round6(f.Contribution)})
	}
	writeJSON(stdout, out)
	return 0
}

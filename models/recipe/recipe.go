package recipe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/dataset"
	"github.com/anya-org/anya-go/ml/modelcard"
	"github.com/anya-org/anya-go/ml/onnx"
	"github.com/anya-org/anya-go/ml/train"
)

// Tensor names of the SDK's models.
const (
	InputName  = "features"
	OutputName = "score"
	// Threshold is the shipped models' decision threshold: their scores are calibrated
	// probabilities (logistic loss), so 0.5 is the point where both classes are equally likely.
	Threshold = 0.5
	// SimplerWithin is the selection rule's margin. The engine's callers compare probabilities
	// with thresholds (the workflow sends a payment only below 0.7 risk), so candidates are
	// compared on validation log-loss, a proper scoring rule that rewards both ranking and
	// calibration: the simpler model (logistic regression) is shipped unless the trees' log-loss
	// is lower by more than this fraction.
	SimplerWithin = 0.05
)

// Spec describes one of the SDK's models: its data, its splits and its card text.
type Spec struct {
	Name, Version string
	Seed          uint64
	Train, Valid  int
	Test          int
	Generate      func(seed uint64, n int) *dataset.Dataset
	GeneratorName string
	Description   string
	IntendedUse   string
	Limitations   string
	PositiveMeans string
}

// Specs returns the SDK's two models.
func Specs() []Spec {
	return []Spec{
		{
			Name: "fraud", Version: "1", Seed: 1, Train: 60000, Valid: 20000, Test: 20000,
			Generate: dataset.Transactions, GeneratorName: "ml/dataset.Transactions",
			Description:   "Probability that a Bitcoin payment is fraudulent, from the transaction's features and its sender's identity features.",
			IntendedUse:   "Inline risk check before sending a payment: block or review at or above the threshold; show the result's factors as the reasons.",
			Limitations:   "Trained on synthetic data from the SDK's generator (peel chains, fan-out, dust, round cash-outs, fresh unverified identities, address reuse). Scores on real traffic need recalibration on labelled real data.",
			PositiveMeans: "fraud",
		},
		{
			Name: "reputation", Version: "1", Seed: 2, Train: 30000, Valid: 10000, Test: 10000,
			Generate: dataset.Identities, GeneratorName: "ml/dataset.Identities",
			Description:   "Probability that a decentralized identity is reputable, from its age, credentials, proofs, payment history and data-store activity.",
			IntendedUse:   "Rank or gate counterparties by reputation; combine with the fraud model for payments.",
			Limitations:   "Trained on synthetic identities from the SDK's generator; kinds of bad actors it has not seen will not be recognised.",
			PositiveMeans: "reputable",
		},
	}
}

// Progress reports training progress: model name, stage, and done out of total steps.
type Progress func(model, stage string, done, total int)

// Build trains every model of [Specs] and writes it into dir: <dir>/<name>/<version>/ with
// model.onnx, model.json (the registry manifest), card.json and card.png. The same code always
// writes the same bytes.
func Build(ctx context.Context, dir string, progress Progress) ([]*ml.Model, error) {
	var out []*ml.Model
	for _, s := range Specs() {
		m, err := BuildOne(ctx, dir, s, progress)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

type candidate struct {
	algorithm string
	data      []byte
	params    map[string]string
	valid     modelcard.Metrics
	test      modelcard.Metrics
	roc, pr   []modelcard.Point
}

// BuildOne trains, selects, exports and documents one model.
func BuildOne(ctx context.Context, dir string, s Spec, progress Progress) (*ml.Model, error) {
	if progress == nil {
		progress = func(string, string, int, int) {}
	}
	progress(s.Name, "generating data", 0, 1)
	d := s.Generate(s.Seed, s.Train+s.Valid+s.Test)
	trainSet, rest := d.Split(s.Train)
	validSet, testSet := rest.Split(s.Valid)
	td := func(x *dataset.Dataset) train.Data { return train.Data{X: x.X, Y: x.Y, Width: x.Width()} }
	progress(s.Name, "generating data", 1, 1)

	schema := d.Schema
	manifest := func(alg string) ml.Manifest {
		return ml.Manifest{Name: s.Name, Version: s.Version,
			Input:  ml.Tensor{Name: InputName, Shape: []int64{-1, int64(schema.Len())}},
			Output: ml.Tensor{Name: OutputName, Shape: []int64{-1, 1}},
			Schema: schema, Threshold: Threshold}
	}
	graph := s.Name + "_" + s.Version

	ens, err := train.FitGBT(ctx, td(trainSet), td(validSet), train.DefaultGBT(), func(r, n int) { progress(s.Name, "boosting trees", r, n) })
	if err != nil {
		return nil, fmt.Errorf("recipe: %s: %w", s.Name, err)
	}
	cfg := train.DefaultGBT()
	gbt := &candidate{algorithm: "gradient-boosted trees", data: onnx.Encode(ens.ONNX(graph, InputName, OutputName)), params: map[string]string{
		"trees": strconv.Itoa(len(ens.Trees)), "max_trees": strconv.Itoa(cfg.MaxTrees), "depth": strconv.Itoa(cfg.Depth),
		"learning_rate": fmtF(cfg.LearningRate), "bins": strconv.Itoa(cfg.Bins), "lambda": fmtF(cfg.Lambda),
		"min_child_weight": fmtF(cfg.MinChildWeight), "early_stop": strconv.Itoa(cfg.EarlyStop), "loss": "logistic"}}

	progress(s.Name, "fitting logistic regression", 0, 1)
	lr, err := train.FitLogistic(ctx, td(trainSet), train.DefaultLogistic())
	if err != nil {
		return nil, fmt.Errorf("recipe: %s: %w", s.Name, err)
	}
	lcfg := train.DefaultLogistic()
	logit := &candidate{algorithm: "logistic regression", data: onnx.Encode(lr.ONNX(graph, InputName, OutputName)), params: map[string]string{
		"l2": fmtF(lcfg.L2), "iterations": strconv.Itoa(lcfg.Iterations), "log1p": strconv.FormatBool(lcfg.Log1p), "standardized": "true"}}
	progress(s.Name, "fitting logistic regression", 1, 1)

	progress(s.Name, "evaluating", 0, 2)
	for k, c := range []*candidate{gbt, logit} {
		m, err := ml.NewModel(c.data, manifest(c.algorithm))
		if err != nil {
			return nil, fmt.Errorf("recipe: %s %s: %w", s.Name, c.algorithm, err)
		}
		if c.valid, _, _, err = evaluate(m, validSet); err != nil {
			return nil, err
		}
		if c.test, c.roc, c.pr, err = evaluate(m, testSet); err != nil {
			return nil, err
		}
		progress(s.Name, "evaluating", k+1, 2)
	}
	chosen, other := logit, gbt
	if gbt.valid.LogLoss < logit.valid.LogLoss*(1-SimplerWithin) {
		chosen, other = gbt, logit
	}
	selection := fmt.Sprintf("Both families were trained on the same %d rows and compared on %d validation rows by log-loss "+
		"(scores are used as probabilities against thresholds, so calibration counts as well as ranking). "+
		"Logistic regression is shipped unless gradient-boosted trees lower the validation log-loss by more than %.0f%%: "+
		"trees %.4f (AUC %.4f) vs logistic regression %.4f (AUC %.4f), so %s.",
		s.Train, s.Valid, 100*SimplerWithin, gbt.valid.LogLoss, gbt.valid.AUC, logit.valid.LogLoss, logit.valid.AUC, chosen.algorithm)

	man := manifest(chosen.algorithm)
	t := chosen.test
	man.Metrics = map[string]float64{"auc": t.AUC, "pr_auc": t.PRAUC, "precision": t.Precision, "recall": t.Recall,
		"f1": t.F1, "accuracy": t.Accuracy, "log_loss": t.LogLoss, "brier": t.Brier}
	man.Training = map[string]string{"algorithm": chosen.algorithm, "data": fmt.Sprintf("%s seed %d", s.GeneratorName, s.Seed),
		"rows": fmt.Sprintf("%d train / %d validation / %d test", s.Train, s.Valid, s.Test), "positive_class": s.PositiveMeans}
	for k, v := range chosen.params {
		man.Training[k] = v
	}
	vdir := filepath.Join(dir, s.Name, s.Version)
	model, err := ml.WriteVersion(vdir, chosen.data, man)
	if err != nil {
		return nil, err
	}

	patterns := map[string]int{}
	for p, n := range d.PatternCounts() {
		patterns[p.String()] = n
	}
	card := &modelcard.Card{
		Model: model.ID(), Description: s.Description, IntendedUse: s.IntendedUse, Limitations: s.Limitations,
		Schema: schema.ID(), Features: schema.Names(),
		Data: modelcard.Data{Generator: s.GeneratorName, Seed: s.Seed, Train: s.Train, Validation: s.Valid, Test: s.Test,
			PositiveRate: round6(d.PositiveRate()), Patterns: patterns},
		Algorithm: chosen.algorithm, Params: chosen.params, Selection: selection,
		Candidates: []modelcard.Candidate{
			{Algorithm: chosen.algorithm, Validation: chosen.valid, Test: chosen.test, Chosen: true},
			{Algorithm: other.algorithm, Validation: other.valid, Test: other.test},
		},
		Test: chosen.test, ROC: modelcard.Thin(chosen.roc, 200), PR: modelcard.Thin(chosen.pr, 200), Plot: modelcard.PlotFile,
	}
	js, err := card.JSON()
	if err != nil {
		return nil, err
	}
	png, err := card.PlotPNG()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(vdir, modelcard.CardFile), js, 0o644); err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	if err := os.WriteFile(filepath.Join(vdir, modelcard.PlotFile), png, 0o644); err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	progress(s.Name, "written", 1, 1)
	return model, nil
}

// evaluate scores every row of d with the exported model through the pure-Go backend: the
// metrics describe the artifact, not the trainer's in-memory model.
func evaluate(m *ml.Model, d *dataset.Dataset) (modelcard.Metrics, []modelcard.Point, []modelcard.Point, error) {
	s, err := ml.NewGoBackend().NewSession(m)
	if err != nil {
		return modelcard.Metrics{}, nil, nil, err
	}
	defer s.Close()
	scores32 := make([]float32, d.Rows())
	if err := s.Run(d.X, d.Rows(), scores32); err != nil {
		return modelcard.Metrics{}, nil, nil, err
	}
	scores := make([]float64, len(scores32))
	for i, v := range scores32 {
		scores[i] = float64(v)
	}
	return modelcard.Evaluate(scores, d.Y, Threshold)
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func round6(v float64) float64 { return float64(int64(v*1e6+0.5)) / 1e6 }

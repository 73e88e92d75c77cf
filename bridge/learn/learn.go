package learn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/ml/modelcard"
	"github.com/anya-org/anya-go/ml/onnx"
	"github.com/anya-org/anya-go/ml/train"
)

// Errors of the package.
var (
	// ErrInvalidOption: an option or argument refused (see *OptionError).
	ErrInvalidOption = errors.New("learn: invalid option")
	// ErrNotEnoughData: the offline tier holds too little labelled data to train (see
	// *DataError).
	ErrNotEnoughData = errors.New("learn: not enough training data")
	// ErrRecord: a scored vector could not be recorded in the feature store.
	ErrRecord = errors.New("learn: feature store write failed")
)

// OptionError names the option or argument refused. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("learn: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// DataError says why the training data is not enough. It matches ErrNotEnoughData.
type DataError struct {
	Rows, Positives, Skipped, MinRows int
}

func (e *DataError) Error() string {
	return fmt.Sprintf("learn: %d labelled rows (%d positive, %d events without a vector), need %d of both classes",
		e.Rows, e.Positives, e.Skipped, e.MinRows)
}

// Is reports whether target is ErrNotEnoughData.
func (e *DataError) Is(target error) bool { return target == ErrNotEnoughData }

// FeatureStore keeps vectors: a *featurestore.Store.
type FeatureStore interface {
	Put(ctx context.Context, entity string, v ml.Vector) (featurestore.Record, error)
}

// Scorer scores vectors: an *ml.Engine.
type Scorer interface {
	Score(ctx context.Context, v ml.Vector) (ml.Result, error)
}

var (
	_ FeatureStore = (*featurestore.Store)(nil)
	_ Scorer       = (*ml.Engine)(nil)
)

// Recorder scores vectors and writes every vector it scores to the feature store (online and
// offline tiers) under its entity, before scoring it: what a model is served is what later
// trains it. A vector that cannot be recorded is not scored (ErrRecord): no decision is made
// on data the store does not have.
type Recorder struct {
	s  Scorer
	fs FeatureStore
}

// NewRecorder returns a recorder over s and fs.
func NewRecorder(s Scorer, fs FeatureStore) (*Recorder, error) {
	if s == nil || fs == nil {
		return nil, &OptionError{Option: "NewRecorder", Value: nil, Reason: "a scorer and a feature store are needed"}
	}
	return &Recorder{s: s, fs: fs}, nil
}

// Score records v for entity, then scores it.
func (r *Recorder) Score(ctx context.Context, entity string, v ml.Vector) (ml.Result, error) {
	if _, err := r.fs.Put(ctx, entity, v); err != nil {
		if ctx.Err() != nil {
			return ml.Result{}, ctx.Err()
		}
		return ml.Result{}, fmt.Errorf("%w: %s: %w", ErrRecord, entity, err)
	}
	return r.s.Score(ctx, v)
}

// TrainingSource is the offline tier: a *featurestore.Store.
type TrainingSource interface {
	TrainingSet(ctx context.Context, schema string, version int, events []featurestore.Event) (x [][]float32, y []uint8, skipped []int, err error)
}

var _ TrainingSource = (*featurestore.Store)(nil)

// Activator switches a serving engine to a model: an *ml.Engine.
type Activator interface {
	Activate(ctx context.Context, m *ml.Model) error
}

// Algorithm is a model family EnsureModel trains.
type Algorithm string

// Algorithms.
const (
	Logistic Algorithm = "logistic regression"
	GBT      Algorithm = "gradient-boosted trees"
)

// Defaults of EnsureModel.
const (
	DefaultMinRows   = 200
	DefaultValidate  = 0.2
	DefaultThreshold = 0.5
	DefaultVersion   = "1"
)

// Model tensor names of the models EnsureModel trains.
const (
	InputName  = "features"
	OutputName = "score"
)

// TrainOption configures EnsureModel.
type TrainOption func(*trainConfig)

type trainConfig struct {
	algorithm   Algorithm
	minRows     int
	validate    float64
	threshold   float64
	version     string
	activate    Activator
	description string
	log         *slog.Logger
}

// WithAlgorithm sets the model family. Defaults to Logistic.
func WithAlgorithm(a Algorithm) TrainOption { return func(c *trainConfig) { c.algorithm = a } }

// WithMinRows sets the least labelled rows (of each class at least one) to train on. Defaults
// to DefaultMinRows.
func WithMinRows(n int) TrainOption { return func(c *trainConfig) { c.minRows = n } }

// WithValidation sets the share of rows held out to evaluate the model (the last rows, in
// event order). Defaults to DefaultValidate.
func WithValidation(share float64) TrainOption { return func(c *trainConfig) { c.validate = share } }

// WithThreshold sets the decision threshold of the model. Defaults to DefaultThreshold.
func WithThreshold(t float64) TrainOption { return func(c *trainConfig) { c.threshold = t } }

// WithVersion sets the version a new model gets. Defaults to DefaultVersion.
func WithVersion(v string) TrainOption { return func(c *trainConfig) { c.version = v } }

// WithActivate activates the model (found or trained) in a serving engine. Defaults to none.
func WithActivate(a Activator) TrainOption { return func(c *trainConfig) { c.activate = a } }

// WithDescription sets the model card's description. Defaults to a generated one.
func WithDescription(s string) TrainOption { return func(c *trainConfig) { c.description = s } }

// WithLogger sets the logger. Defaults to a silent one.
func WithLogger(l *slog.Logger) TrainOption { return func(c *trainConfig) { c.log = l } }

// EnsureModel returns the newest version of model name in the registry directory dir, or, when
// there is none, trains one: it joins events (labelled decisions) with the vectors current
// when they happened (the feature store's offline tier, schema's name and version), fits the
// algorithm on the first rows, evaluates it on the held-out rest through the exported ONNX
// file, writes the version (model.onnx, model.json with its metrics, card.json) and returns it
// with trained true. With WithActivate the model is activated either way. Too little data is a
// *DataError.
func EnsureModel(ctx context.Context, dir, name string, src TrainingSource, schema ml.Schema, events []featurestore.Event, opts ...TrainOption) (*ml.Model, bool, error) {
	cfg := trainConfig{algorithm: Logistic, minRows: DefaultMinRows, validate: DefaultValidate, threshold: DefaultThreshold,
		version: DefaultVersion, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case dir == "":
		return nil, false, &OptionError{Option: "dir", Value: dir, Reason: "empty"}
	case !ml.ValidName(name):
		return nil, false, &OptionError{Option: "name", Value: name, Reason: "not a model name"}
	case src == nil:
		return nil, false, &OptionError{Option: "src", Value: nil, Reason: "nil"}
	case cfg.algorithm != Logistic && cfg.algorithm != GBT:
		return nil, false, &OptionError{Option: "WithAlgorithm", Value: cfg.algorithm, Reason: "unknown"}
	case cfg.minRows < 2:
		return nil, false, &OptionError{Option: "WithMinRows", Value: cfg.minRows, Reason: "at least 2"}
	case cfg.validate <= 0 || cfg.validate >= 1:
		return nil, false, &OptionError{Option: "WithValidation", Value: cfg.validate, Reason: "a share in (0, 1)"}
	case cfg.threshold <= 0 || cfg.threshold >= 1:
		return nil, false, &OptionError{Option: "WithThreshold", Value: cfg.threshold, Reason: "a probability in (0, 1)"}
	case cfg.version == "":
		return nil, false, &OptionError{Option: "WithVersion", Value: "", Reason: "empty"}
	case cfg.log == nil:
		return nil, false, &OptionError{Option: "WithLogger", Value: nil, Reason: "nil logger"}
	}
	if err := schema.Check(); err != nil {
		return nil, false, &OptionError{Option: "schema", Value: schema.ID(), Reason: err.Error()}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	reg, err := ml.OpenRegistry(dir)
	if err != nil {
		return nil, false, err
	}
	if versions, err := reg.Versions(name); err == nil && len(versions) > 0 {
		m, err := reg.Load(ctx, name, versions[len(versions)-1])
		if err != nil {
			return nil, false, err
		}
		return m, false, activate(ctx, cfg, m)
	}
	m, err := trainModel(ctx, dir, name, src, schema, events, cfg)
	if err != nil {
		return nil, false, err
	}
	cfg.log.Info("learn: trained a model", "model", m.ID(), "rows", len(events))
	return m, true, activate(ctx, cfg, m)
}

func activate(ctx context.Context, cfg trainConfig, m *ml.Model) error {
	if cfg.activate == nil {
		return nil
	}
	return cfg.activate.Activate(ctx, m)
}

func trainModel(ctx context.Context, dir, name string, src TrainingSource, schema ml.Schema, events []featurestore.Event, cfg trainConfig) (*ml.Model, error) {
	x, y, skipped, err := src.TrainingSet(ctx, schema.Name, schema.Version, events)
	if err != nil {
		return nil, err
	}
	pos := 0
	for _, l := range y {
		if l != 0 {
			pos++
		}
	}
	if len(y) < cfg.minRows || pos == 0 || pos == len(y) {
		return nil, &DataError{Rows: len(y), Positives: pos, Skipped: len(skipped), MinRows: cfg.minRows}
	}
	width := schema.Len()
	nValid := int(float64(len(y)) * cfg.validate)
	if nValid < 1 {
		nValid = 1
	}
	nTrain := len(y) - nValid
	flat := func(rows [][]float32) []float32 {
		out := make([]float32, 0, len(rows)*width)
		for _, r := range rows {
			out = append(out, r...)
		}
		return out
	}
	trainData := train.Data{X: flat(x[:nTrain]), Y: y[:nTrain], Width: width}
	validData := train.Data{X: flat(x[nTrain:]), Y: y[nTrain:], Width: width}
	graph := name + "_" + cfg.version
	var data []byte
	params := map[string]string{}
	switch cfg.algorithm {
	case GBT:
		gcfg := train.DefaultGBT()
		ens, err := train.FitGBT(ctx, trainData, validData, gcfg, nil)
		if err != nil {
			return nil, err
		}
		data = onnx.Encode(ens.ONNX(graph, InputName, OutputName))
		params["trees"] = strconv.Itoa(len(ens.Trees))
		params["depth"] = strconv.Itoa(gcfg.Depth)
	default:
		lcfg := train.DefaultLogistic()
		lr, err := train.FitLogistic(ctx, trainData, lcfg)
		if err != nil {
			return nil, err
		}
		data = onnx.Encode(lr.ONNX(graph, InputName, OutputName))
		params["l2"] = strconv.FormatFloat(lcfg.L2, 'g', -1, 64)
		params["log1p"] = strconv.FormatBool(lcfg.Log1p)
	}
	man := ml.Manifest{Name: name, Version: cfg.version,
		Input:  ml.Tensor{Name: InputName, Shape: []int64{-1, int64(width)}},
		Output: ml.Tensor{Name: OutputName, Shape: []int64{-1, 1}},
		Schema: schema, Threshold: cfg.threshold}
	candidate, err := ml.NewModel(data, man)
	if err != nil {
		return nil, err
	}
	metrics, roc, pr, err := evaluate(candidate, validData, cfg.threshold)
	if err != nil {
		return nil, err
	}
	man.Metrics = map[string]float64{"auc": metrics.AUC, "pr_auc": metrics.PRAUC, "precision": metrics.Precision,
		"recall": metrics.Recall, "f1": metrics.F1, "accuracy": metrics.Accuracy, "log_loss": metrics.LogLoss, "brier": metrics.Brier}
	man.Training = map[string]string{"algorithm": string(cfg.algorithm), "data": "feature store offline tier, as of each event",
		"rows": fmt.Sprintf("%d train / %d validation", nTrain, nValid)}
	for k, v := range params {
		man.Training[k] = v
	}
	vdir := filepath.Join(dir, name, cfg.version)
	m, err := ml.WriteVersion(vdir, data, man)
	if err != nil {
		return nil, err
	}
	desc := cfg.description
	if desc == "" {
		desc = fmt.Sprintf("%s trained by the host because no %q model was configured, from %d labelled decisions.", cfg.algorithm, name, len(y))
	}
	card := &modelcard.Card{Model: m.ID(), Description: desc,
		IntendedUse: "Scoring " + schema.ID() + " vectors until a curated model replaces it.",
		Limitations: "Trained on the host's own decisions and labels: it learns their biases and needs retraining as they change.",
		Schema:      schema.ID(), Features: schema.Names(), Algorithm: string(cfg.algorithm), Params: params,
		Selection:  "The only candidate: trained when no model existed.",
		Candidates: []modelcard.Candidate{{Algorithm: string(cfg.algorithm), Validation: metrics, Chosen: true}},
		Test:       metrics, ROC: modelcard.Thin(roc, 200), PR: modelcard.Thin(pr, 200)}
	js, err := card.JSON()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(vdir, modelcard.CardFile), js, 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

// evaluate scores the held-out rows with the exported model on the pure-Go backend.
func evaluate(m *ml.Model, d train.Data, threshold float64) (modelcard.Metrics, []modelcard.Point, []modelcard.Point, error) {
	s, err := ml.NewGoBackend().NewSession(m)
	if err != nil {
		return modelcard.Metrics{}, nil, nil, err
	}
	defer s.Close()
	rows := len(d.Y)
	out := make([]float32, rows)
	if err := s.Run(d.X, rows, out); err != nil {
		return modelcard.Metrics{}, nil, nil, err
	}
	scores := make([]float64, rows)
	for i, v := range out {
		scores[i] = float64(v)
	}
	return modelcard.Evaluate(scores, d.Y, threshold)
}

// Rescorer re-scores entities periodically (a reputation that must not go stale): every
// interval it lists the entities, computes each one's vector, scores it (through a Recorder,
// so the vectors land in the feature store) and hands the result to a sink (for example a
// score record written back to the entity's store). It owns no goroutine: Run blocks.
type Rescorer struct {
	every    time.Duration
	entities func(ctx context.Context) ([]string, error)
	features func(ctx context.Context, entity string) (ml.Vector, error)
	scorer   *Recorder
	sink     func(ctx context.Context, entity string, r ml.Result) error
	log      *slog.Logger
}

// RescoreOption configures NewRescorer.
type RescoreOption func(*Rescorer)

// WithRescoreLogger sets the logger. Defaults to a silent one.
func WithRescoreLogger(l *slog.Logger) RescoreOption { return func(r *Rescorer) { r.log = l } }

// NewRescorer returns a rescorer running every interval.
func NewRescorer(every time.Duration, entities func(ctx context.Context) ([]string, error),
	features func(ctx context.Context, entity string) (ml.Vector, error), scorer *Recorder,
	sink func(ctx context.Context, entity string, r ml.Result) error, opts ...RescoreOption) (*Rescorer, error) {
	r := &Rescorer{every: every, entities: entities, features: features, scorer: scorer, sink: sink, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(r)
	}
	switch {
	case every <= 0:
		return nil, &OptionError{Option: "every", Value: every, Reason: "must be positive"}
	case entities == nil || features == nil || scorer == nil || sink == nil:
		return nil, &OptionError{Option: "NewRescorer", Value: nil, Reason: "entities, features, scorer and sink are needed"}
	case r.log == nil:
		return nil, &OptionError{Option: "WithRescoreLogger", Value: nil, Reason: "nil logger"}
	}
	return r, nil
}

// RescoreStats counts one pass.
type RescoreStats struct{ Entities, Scored, Failed int }

// RunOnce re-scores every entity once. An entity that fails is counted and logged; the pass
// goes on.
func (r *Rescorer) RunOnce(ctx context.Context) (RescoreStats, error) {
	var st RescoreStats
	list, err := r.entities(ctx)
	if err != nil {
		return st, err
	}
	st.Entities = len(list)
	for _, e := range list {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		err := r.one(ctx, e)
		if err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			st.Failed++
			r.log.Warn("learn: re-scoring failed", "entity", e, "err", err)
			continue
		}
		st.Scored++
	}
	return st, nil
}

func (r *Rescorer) one(ctx context.Context, e string) error {
	v, err := r.features(ctx, e)
	if err != nil {
		return err
	}
	res, err := r.scorer.Score(ctx, e, v)
	if err != nil {
		return err
	}
	return r.sink(ctx, e, res)
}

// Run re-scores every interval (the first pass after one interval) until ctx ends, and
// returns ctx.Err().
func (r *Rescorer) Run(ctx context.Context) error {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if _, err := r.RunOnce(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.log.Warn("learn: re-scoring pass failed", "err", err)
			}
		}
	}
}

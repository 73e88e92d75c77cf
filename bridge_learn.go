package anya

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/feed"
	"github.com/anya-org/anya-go/bridge/learn"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/dwn"
)

// ModelsDir is the directory, in the data directory, of the models the Manager trains
// (WithTrainIfMissing): <name>/<version>/model.onnx, model.json and card.json.
const ModelsDir = "models"

// DefaultRescoreInterval is how often the Manager re-scores the reputation of its registered
// identities (WithRescoreInterval).
const DefaultRescoreInterval = 24 * time.Hour

// learner is the Manager's side of package learn: the feature store's recorders and the
// periodic re-scoring.
type learner struct {
	key      []byte   // the pseudonym key of the identities' entities in the feature store
	entities sync.Map // pseudonym → DID, for the re-scoring's sink
	rescorer *learn.Rescorer
}

// openLearn opens the feature store (FeaturesFile), makes both models record every vector
// they score in it, and, with WithTrainIfMissing, trains the fraud model when the Manager's
// model registry has none.
func (m *Manager) openLearn(ctx context.Context) error {
	fraud, fok := m.fraud.(*engineScorer)
	rep, rok := m.reputation.(*engineScorer)
	if !fok || !rok {
		return errors.New("anya: the models are not ML engines")
	}
	fs, err := featurestore.Open(ctx, filepath.Join(m.dir, FeaturesFile), featurestore.WithClock(m.now), featurestore.WithLogger(m.log),
		featurestore.WithSchemas(*fraud.e.Model().Schema(), *rep.e.Model().Schema()))
	if err != nil {
		return fmt.Errorf("anya: the feature store in %s: %w", FeaturesFile, err)
	}
	m.br.features = fs
	m.onClose(fs.Close)
	for _, s := range []*engineScorer{fraud, rep} {
		if s.rec, err = learn.NewRecorder(s.e, fs); err != nil {
			return err
		}
		s.guard = m
	}
	fraud.scored = m.noteScored
	m.br.learn.key = m.cfg.redactionKey
	if m.br.learn.key == nil {
		m.br.learn.key = make([]byte, 32)
		_, _ = rand.Read(m.br.learn.key)
	}
	if m.cfg.trainMinRows > 0 && m.cfg.ml.fraud == nil {
		if _, _, err := m.trainFraud(ctx); err != nil {
			var de *learn.DataError
			if !errors.As(err, &de) {
				return err
			}
			m.log.Info("anya: not enough labelled payments to train a fraud model yet; the shipped one serves", "err", err)
		}
	}
	if m.cfg.rescoreEvery > 0 {
		m.br.learn.rescorer, err = learn.NewRescorer(m.cfg.rescoreEvery, m.rescoreEntities, m.rescoreFeatures, rep.rec, m.rescoreSink,
			learn.WithRescoreLogger(m.log))
		if err != nil {
			return err
		}
	}
	return nil
}

// startLearn starts the periodic re-scoring on a goroutine the Manager owns.
func (m *Manager) startLearn() error {
	r := m.br.learn.rescorer
	if r == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	m.onStop(func() error {
		cancel()
		<-done
		return nil
	})
	return nil
}

// pseudonym is an identity's entity in the feature store: a keyed digest of its DID, so that
// DIDs do not reach ML.
func (m *Manager) pseudonym(d string) string {
	mac := hmac.New(sha256.New, m.br.learn.key)
	mac.Write([]byte(d))
	return "did:" + hex.EncodeToString(mac.Sum(nil)[:16])
}

// paymentEntity is a payment's entity in the feature store.
func paymentEntity(id string) string { return "payment:" + id }

// noteScored notes a payment the fraud model scored as a labelled decision (label 0 until a
// report says otherwise; see Report), for training.
func (m *Manager) noteScored(ctx context.Context, entity string) {
	if len(entity) < len("payment:") || entity[:len("payment:")] != "payment:" {
		return
	}
	if _, err := m.stateDB.ExecContext(ctx, `INSERT INTO anya_labels (entity, time) VALUES (?, ?) ON CONFLICT (entity) DO NOTHING`,
		entity, m.now().UnixNano()); err != nil && ctx.Err() == nil {
		m.log.Warn("anya: note a scored payment", "entity", entity, "err", err)
	}
}

// labelFraud marks payment id as fraudulent for training (a fraud report or a dispute).
func (m *Manager) labelFraud(ctx context.Context, paymentID string) error {
	if paymentID == "" {
		return nil
	}
	if _, err := m.stateDB.ExecContext(ctx, `UPDATE anya_labels SET label = 1 WHERE entity = ?`, paymentEntity(paymentID)); err != nil {
		return fmt.Errorf("anya: label payment %s: %w", paymentID, err)
	}
	return nil
}

// labelled returns the labelled decisions, oldest first.
func (m *Manager) labelled(ctx context.Context) ([]featurestore.Event, error) {
	rows, err := m.stateDB.QueryContext(ctx, `SELECT entity, time, label FROM anya_labels ORDER BY time, entity`)
	if err != nil {
		return nil, fmt.Errorf("anya: labels: %w", err)
	}
	defer rows.Close()
	var out []featurestore.Event
	for rows.Next() {
		var (
			e  featurestore.Event
			at int64
		)
		if err := rows.Scan(&e.Entity, &at, &e.Label); err != nil {
			return nil, fmt.Errorf("anya: labels: %w", err)
		}
		e.Time = time.Unix(0, at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// TrainFraudModel makes the fraud model the newest version in the Manager's model registry
// (ModelsDir in the data directory) — training one first when there is none, from the
// payments the Manager scored, as the feature store's offline tier holds their vectors, each
// labelled 1 when a fraud report or a dispute named it (Report) — and activates it. It
// returns the model's ID ("fraud@1") and whether it was trained now; too few labelled
// payments (WithTrainIfMissing's minimum, learn.DefaultMinRows without it) is an error
// matching learn.ErrNotEnoughData, and the model serving stays. New calls it with
// WithTrainIfMissing.
func (m *Manager) TrainFraudModel(ctx context.Context) (string, bool, error) {
	type out struct {
		id      string
		trained bool
	}
	o, err := call(ctx, m, func() (out, error) {
		id, trained, err := m.trainFraud(ctx)
		return out{id, trained}, err
	})
	return o.id, o.trained, err
}

func (m *Manager) trainFraud(ctx context.Context) (string, bool, error) {
	fraud, ok := m.fraud.(*engineScorer)
	if !ok {
		return "", false, errors.New("anya: the fraud model is not an ML engine")
	}
	events, err := m.labelled(ctx)
	if err != nil {
		return "", false, err
	}
	minRows := m.cfg.trainMinRows
	if minRows <= 0 {
		minRows = learn.DefaultMinRows
	}
	model, trained, err := learn.EnsureModel(ctx, filepath.Join(m.dir, ModelsDir), models.Fraud, m.br.features,
		*fraud.e.Model().Schema(), events, learn.WithActivate(fraud.e), learn.WithMinRows(minRows), learn.WithLogger(m.log),
		learn.WithDescription("the Manager's fraud model, trained on the payments it scored"))
	if err != nil {
		return "", false, err
	}
	return model.ID(), trained, nil
}

// rescoreEntities lists the registered identities, as pseudonyms, for the re-scoring.
func (m *Manager) rescoreEntities(ctx context.Context) ([]string, error) {
	dids, err := sqlitex.Strings(ctx, m.stateDB, `SELECT did FROM anya_identities WHERE write_grant <> '' ORDER BY did`)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(dids))
	for i, d := range dids {
		out[i] = m.pseudonym(d)
		m.br.learn.entities.Store(out[i], d)
	}
	return out, nil
}

// rescoreFeatures computes an identity's features and passes them through the Web5→ML
// boundary, as Reputation does.
func (m *Manager) rescoreFeatures(ctx context.Context, entity string) (ml.Vector, error) {
	v, ok := m.br.learn.entities.Load(entity)
	if !ok {
		return ml.Vector{}, fmt.Errorf("anya: unknown entity %s", entity)
	}
	feats, err := m.identityFeatures(ctx, v.(string), "")
	if err != nil {
		return ml.Vector{}, err
	}
	crossed, err := m.cross(ctx, security.Web5, security.ML, ActionScoreReputation, map[string]any{"identity_features": toAny(feats)})
	if err != nil {
		return ml.Vector{}, err
	}
	seen, err := numbers(crossed["identity_features"])
	if err != nil {
		return ml.Vector{}, err
	}
	sch := m.reputation.(*engineScorer).e.Model().Schema()
	return ml.Vector{Schema: sch.Name, Version: sch.Version, Values: vector(m.reputation, seen)}, nil
}

// rescoreSink writes a re-scored reputation back to the identity's store (ML→Web5, through
// the boundary) and publishes it (TopicReputationRescored).
func (m *Manager) rescoreSink(ctx context.Context, entity string, r ml.Result) error {
	v, ok := m.br.learn.entities.Load(entity)
	if !ok {
		return fmt.Errorf("anya: unknown entity %s", entity)
	}
	d := v.(string)
	factors := make([]any, len(r.Factors))
	fs := make([]Factor, len(r.Factors))
	for i, f := range r.Factors {
		factors[i] = map[string]any{"feature": f.Feature, "value": float64(f.Value), "contribution": float64(f.Contribution)}
		fs[i] = Factor{Feature: f.Feature, Value: float64(f.Value), Contribution: float64(f.Contribution)}
	}
	if _, err := m.cross(ctx, security.ML, security.Web5, feed.CrossScore, map[string]any{"pipeline": "reputation", "record_id": "",
		"model": r.ModelID(), "score": float64(r.Score), "factors": factors}); err != nil {
		return err
	}
	rec := ScoreRecord{Kind: "reputation", Model: r.ModelID(), Score: float64(r.Score), Factors: fs, At: m.now().UTC().Format(time.RFC3339)}
	if _, err := m.br.records.Create(ctx, d, bridge.PathScore, rec); err != nil {
		return err
	}
	out := Rescored{DID: d, Score: float64(r.Score), Model: r.ModelID()}
	if err := bus.Publish(ctx, m.bus, TopicReputationRescored, out, bus.WithKey(d), bus.WithSource(EventSource)); err != nil &&
		!errors.Is(err, bus.ErrClosed) {
		m.log.Warn("anya: publish", "topic", TopicReputationRescored, "err", err)
	}
	return nil
}

// Rescored is the payload of TopicReputationRescored.
type Rescored struct {
	DID   string
	Score float64
	Model string
}

// Rescore re-scores the reputation of every registered identity once, as the periodic
// re-scoring does (WithRescoreInterval): each score is recorded in the feature store, written
// to the identity's store (bridge.PathScore) and published (TopicReputationRescored). It
// returns how many identities it scored and how many failed.
func (m *Manager) Rescore(ctx context.Context) (scored, failed int, err error) {
	st, err := call(ctx, m, func() (learn.RescoreStats, error) {
		r := m.br.learn.rescorer
		if r == nil {
			rep := m.reputation.(*engineScorer)
			var err error
			if r, err = learn.NewRescorer(DefaultRescoreInterval, m.rescoreEntities, m.rescoreFeatures, rep.rec, m.rescoreSink,
				learn.WithRescoreLogger(m.log)); err != nil {
				return learn.RescoreStats{}, err
			}
		}
		return r.RunOnce(ctx)
	})
	return st.Scored, st.Failed, err
}

// lastReputation returns the last reputation score the Manager wrote to d's store.
func (m *Manager) lastReputation(ctx context.Context, d string) (ScoreRecord, bool) {
	recs, err := m.br.records.Query(ctx, d, bridge.PathScore, dwn.Filter{})
	if err != nil {
		return ScoreRecord{}, false
	}
	for i := len(recs) - 1; i >= 0; i-- {
		var sr ScoreRecord
		if json.Unmarshal(recs[i].Data, &sr) == nil && sr.Kind == "reputation" {
			return sr, true
		}
	}
	return ScoreRecord{}, false
}

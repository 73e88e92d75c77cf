package monitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/security"
)

// featureIdentityKnown is the fraud schema's flag for a sender whose identity was found.
const featureIdentityKnown = "identity_known"

// plan maps the engine's model schema onto what the monitor computes: the features taken from
// the transaction (package bitcoin's names) and those taken from the sender's identity (every
// other feature of the model; identity_known is set by the monitor).
type plan struct {
	model   *ml.Model
	schema  *ml.Schema
	id      string
	width   int
	txNames []string
	txFrom  []int // index in bitcoin.TxFeatureSchema of each txNames entry
	txAt    []int // index in the model's schema
	idNames []string
	idAt    []int
	known   int // index of identity_known in idNames, or -1
}

func newPlan(model *ml.Model) (*plan, error) {
	p, err := schemaPlan(model.Schema())
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", model.ID(), err)
	}
	p.model, p.id = model, model.ID()
	return p, nil
}

func schemaPlan(s *ml.Schema) (*plan, error) {
	txs := bitcoin.TxFeatureSchema()
	p := &plan{schema: s, width: s.Len(), known: -1}
	for i, f := range s.Features {
		if j := txs.Index(f.Name); j >= 0 {
			p.txNames, p.txFrom, p.txAt = append(p.txNames, f.Name), append(p.txFrom, j), append(p.txAt, i)
			continue
		}
		if f.Name == featureIdentityKnown {
			p.known = len(p.idNames)
		}
		p.idNames, p.idAt = append(p.idNames, f.Name), append(p.idAt, i)
	}
	if len(p.txNames) == 0 {
		return nil, fmt.Errorf("schema %s takes none of the transaction features (%s)", s.ID(), txs.Name)
	}
	return p, nil
}

// Vectorizer builds the fraud model's input vectors as the monitor does. It is safe for
// concurrent use.
type Vectorizer struct{ p *plan }

// NewVectorizer returns a Vectorizer for schema s, which must take some of package bitcoin's
// transaction features.
func NewVectorizer(s *ml.Schema) (*Vectorizer, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil schema", ErrInvalidArgument)
	}
	p, err := schemaPlan(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return &Vectorizer{p: p}, nil
}

// Vector builds the input vector of a transaction from its features (tx, in
// bitcoin.TxFeatureSchema order) and its sender's identity features (nil when the sender is not
// linked): the schema's features take the value of the same name, identity_known is 1 when an
// identity is given, the others take their default; values outside a feature's range are
// clamped to it, and their names returned.
func (vz *Vectorizer) Vector(tx []float32, identity map[string]float64) (ml.Vector, []string, error) {
	p := vz.p
	if len(tx) != len(bitcoin.TxFeatureSchema().Names) {
		return ml.Vector{}, nil, fmt.Errorf("%w: %d transaction features, want %d", ErrInvalidArgument, len(tx), len(bitcoin.TxFeatureSchema().Names))
	}
	v := make([]float32, p.width)
	for k, f := range p.schema.Features {
		v[k] = f.Default
	}
	for k, j := range p.txFrom {
		v[p.txAt[k]] = tx[j]
	}
	if identity != nil {
		row, err := identityRow(p, identity)
		if err != nil {
			return ml.Vector{}, nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
		}
		for j, pos := range p.idAt {
			v[pos] = row[j]
		}
	}
	clamped := clamp(p.schema, v)
	return ml.Vector{Schema: p.schema.Name, Version: p.schema.Version, Values: v}, clamped, nil
}

// currentPlan returns the plan of the engine's active model, rebuilt when it changed.
func (m *Monitor) currentPlan() (*plan, error) {
	model := m.engine.Model()
	if model == nil {
		return nil, errors.New("the engine has no model")
	}
	if p := m.plan.Load(); p != nil && p.model == model {
		return p, nil
	}
	p, err := newPlan(model)
	if err != nil {
		return nil, err
	}
	m.plan.Store(p)
	return p, nil
}

// worker is the per-goroutine scratch of scoring: a feature extractor over a recording lookup,
// and the addresses of the scripts it met last (an address is encoded once, not for every
// payment from it).
type worker struct {
	rec   *prevOuts
	fx    *bitcoin.FeatureExtractor
	buf   []float32
	addrs map[string]string // pkScript → address, "" for a script without one
}

// maxAddrs bounds a worker's address cache; it is emptied when full.
const maxAddrs = 4096

// address returns the address pkScript pays on net, "" when it has none.
func (w *worker) address(pkScript []byte, net bitcoin.Network) string {
	if a, ok := w.addrs[string(pkScript)]; ok {
		return a
	}
	addr := ""
	if a, err := bitcoin.AddressFromScript(pkScript, net); err == nil {
		addr = a.String()
	}
	if len(w.addrs) >= maxAddrs {
		clear(w.addrs)
	}
	w.addrs[string(pkScript)] = addr
	return addr
}

func (m *Monitor) getWorker() *worker {
	select {
	case w := <-m.workers:
		return w
	default:
	}
	rec := &prevOuts{base: m.cfg.lookup}
	fx, err := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(rec), bitcoin.WithFeatureNetwork(m.net))
	if err != nil { // the network was checked by New
		panic(err)
	}
	return &worker{rec: rec, fx: fx, buf: make([]float32, 0, len(bitcoin.TxFeatureSchema().Names)), addrs: map[string]string{}}
}

func (m *Monitor) putWorker(w *worker) {
	w.rec.reset(nil, 0)
	select {
	case m.workers <- w:
	default:
	}
}

// txIn is a transaction to score.
type txIn struct {
	tx   *wire.MsgTx
	txid chainhash.Hash
}

// result is one transaction's outcome. A transaction whose features cannot be computed (an
// invalid transaction) has err set and no score.
type result struct {
	risk         float64
	model        string
	factors      []ml.Factor
	did, address string
	clamped      []string
	err          error
}

// scoreBatch scores txs, whose features are dated at height (their block's, or the next
// block's for mempool transactions) and whose spent outputs are looked up in block first. It
// returns one result per transaction, or a *BatchError when a crossing or the engine failed
// (ctx.Err() when ctx ended).
func (m *Monitor) scoreBatch(ctx context.Context, txs []txIn, height int32, block map[chainhash.Hash]*wire.MsgTx) ([]result, error) {
	p, err := m.currentPlan()
	if err != nil {
		return nil, &BatchError{Stage: "engine", Size: len(txs), Err: err}
	}
	res := make([]result, len(txs))
	nt := len(p.txNames)
	slab := make([]float32, len(txs)*nt)
	rows := make([][]float32, 0, len(txs))
	at := make([]int, 0, len(txs)) // the transaction of each row
	var idRows [][]float32
	var idIndex []int
	w := m.getWorker()
	for i, t := range txs {
		w.rec.reset(block, height)
		vals, err := w.fx.Tx(ctx, t.tx, height, w.buf[:0])
		if err != nil {
			if ctx.Err() != nil {
				m.putWorker(w)
				return nil, ctx.Err()
			}
			res[i].err = err
			continue
		}
		w.buf = vals[:0]
		row := slab[len(rows)*nt : (len(rows)+1)*nt : (len(rows)+1)*nt]
		for k, j := range p.txFrom {
			row[k] = vals[j]
		}
		if m.cfg.identities != nil && len(p.idNames) > 0 {
			idRow, did, addr, err := m.identify(ctx, p, w, w.rec.outs)
			if err != nil && ctx.Err() != nil {
				m.putWorker(w)
				return nil, ctx.Err()
			}
			if idRow != nil {
				idRows, idIndex = append(idRows, idRow), append(idIndex, len(rows))
				res[i].did, res[i].address = did, addr
			}
		}
		rows, at = append(rows, row), append(at, i)
	}
	m.putWorker(w)
	if len(rows) == 0 {
		return res, nil
	}

	// bitcoin→ml: the transaction features.
	crossed, err := m.boundary.Cross(ctx, string(security.Bitcoin), string(security.ML), ActionScore,
		map[string]any{FieldFeatureNames: p.txNames, FieldFeatureRows: rows})
	if err != nil {
		return nil, m.batchErr(ctx, "bitcoin→ml", len(rows), err)
	}
	txRows, err := crossedRows(crossed, p.txNames, len(rows))
	if err != nil {
		return nil, &BatchError{Stage: "bitcoin→ml", Size: len(rows), Err: err}
	}
	values := make([]float32, len(rows)*p.width)
	for r := range rows {
		v := values[r*p.width : (r+1)*p.width]
		for k, f := range p.schema.Features {
			v[k] = f.Default
		}
		for k, pos := range p.txAt {
			v[pos] = txRows[r][k]
		}
	}
	// web5→ml: the linked senders' identity features.
	if len(idRows) > 0 {
		crossed, err := m.boundary.Cross(ctx, string(security.Web5), string(security.ML), ActionScore,
			map[string]any{FieldFeatureNames: p.idNames, FieldFeatureRows: idRows, FieldRowIndex: idIndex})
		if err != nil {
			return nil, m.batchErr(ctx, "web5→ml", len(rows), err)
		}
		got, err := crossedRows(crossed, p.idNames, len(idRows))
		if err != nil {
			return nil, &BatchError{Stage: "web5→ml", Size: len(rows), Err: err}
		}
		index, err := crossedIndex(crossed, idIndex, len(rows))
		if err != nil {
			return nil, &BatchError{Stage: "web5→ml", Size: len(rows), Err: err}
		}
		for k, r := range index {
			v := values[r*p.width : (r+1)*p.width]
			for j, pos := range p.idAt {
				v[pos] = got[k][j]
			}
		}
	}
	vecs := make([]ml.Vector, len(rows))
	for r := range rows {
		v := values[r*p.width : (r+1)*p.width]
		if names := clamp(p.schema, v); names != nil {
			res[at[r]].clamped = names
			m.stats.clamped.Add(1)
		}
		vecs[r] = ml.Vector{Schema: p.schema.Name, Version: p.schema.Version, Values: v}
	}
	scored, err := m.engine.ScoreBatch(ctx, vecs)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &BatchError{Stage: "engine", Size: len(rows), Err: err}
	}
	if len(scored) != len(rows) {
		return nil, &BatchError{Stage: "engine", Size: len(rows), Err: fmt.Errorf("%d results for %d vectors", len(scored), len(rows))}
	}

	// ml→host: the scores, and the factors of those at or above the threshold.
	model := scored[0].ModelID()
	scores := make([]float32, len(scored))
	var factors [][]ml.Factor
	for r, s := range scored {
		scores[r] = s.Score
		if len(s.Factors) > 0 && factors == nil {
			factors = make([][]ml.Factor, len(scored))
		}
	}
	report := map[string]any{FieldModel: model, FieldScores: scores}
	if factors != nil {
		for r, s := range scored {
			factors[r] = []ml.Factor{}
			if float64(s.Score) >= m.cfg.threshold {
				factors[r] = s.Factors
			}
		}
		report[FieldFactors] = factors
	}
	crossed, err = m.boundary.Cross(ctx, string(security.ML), string(Host), ActionReport, report)
	if err != nil {
		return nil, m.batchErr(ctx, "ml→host", len(rows), err)
	}
	risks, gotModel, gotFactors, err := crossedReport(crossed, len(rows))
	if err != nil {
		return nil, &BatchError{Stage: "ml→host", Size: len(rows), Err: err}
	}
	for r, i := range at {
		res[i].risk, res[i].model = risks[r], gotModel
		if gotFactors != nil {
			res[i].factors = gotFactors[r]
		}
	}
	return res, nil
}

// batchErr wraps a crossing's error; cancellation stays ctx.Err().
func (m *Monitor) batchErr(ctx context.Context, stage string, n int, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ctx.Err()
	}
	return &BatchError{Stage: stage, Size: n, Err: err}
}

// identify finds the sender's identity: the first spent output (in input order) whose address
// is linked to a DID gives the DID and its features, as a row of p's identity features. It
// returns a nil row when no sender address is linked; a lookup's error (counted) leaves the
// transaction without an identity.
func (m *Monitor) identify(ctx context.Context, p *plan, w *worker, outs []*wire.TxOut) ([]float32, string, string, error) {
	var seen [4]string
	tried := seen[:0]
	for _, out := range outs {
		addr := w.address(out.PkScript, m.net)
		if addr == "" || slices.Contains(tried, addr) {
			continue
		}
		tried = append(tried, addr)
		d, err := m.cfg.identities.Owner(ctx, addr)
		if err == nil && d != "" {
			var feats map[string]float64
			if feats, err = m.cfg.identities.Features(ctx, d, addr); err == nil {
				row, ferr := identityRow(p, feats)
				if ferr == nil {
					m.stats.linked.Add(1)
					return row, d, addr, nil
				}
				err = fmt.Errorf("identity features of %s: %w", d, ferr)
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				m.stats.identityErrors.Add(1)
				m.cfg.log.Warn("monitor: identity lookup failed; scoring without it", "address", addr, "err", err)
			}
			return nil, "", "", err
		}
	}
	return nil, "", "", nil
}

// identityRow is the identity part of a vector: identity_known 1, the named features, the
// schema's defaults for the others. A value that is not a finite float32 is refused.
func identityRow(p *plan, feats map[string]float64) ([]float32, error) {
	row := make([]float32, len(p.idNames))
	for j, name := range p.idNames {
		if j == p.known {
			row[j] = 1
			continue
		}
		x, ok := feats[name]
		if !ok {
			row[j] = p.schema.Features[p.idAt[j]].Default
			continue
		}
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > math.MaxFloat32 {
			return nil, fmt.Errorf("%s = %v is not a finite float32", name, x)
		}
		row[j] = float32(x)
	}
	return row, nil
}

// clamp brings v's values into their features' ranges and returns the names of those it moved
// (nil when none).
func clamp(s *ml.Schema, v []float32) []string {
	var moved []string
	for k := range v {
		f := &s.Features[k]
		x := v[k]
		switch {
		case x >= f.Min && x <= f.Max:
			continue
		case x < f.Min:
			v[k] = f.Min
		case x > f.Max:
			v[k] = f.Max
		default: // NaN
			v[k] = f.Default
		}
		moved = append(moved, f.Name)
	}
	return moved
}

// crossedRows reads back the feature rows of a crossing: the same names in the same order, n
// rows of len(names) numbers.
func crossedRows(data map[string]any, names []string, n int) ([][]float32, error) {
	gotNames, ok := data[FieldFeatureNames].([]any)
	if !ok || len(gotNames) != len(names) {
		return nil, fmt.Errorf("%w: %s", ErrCrossedData, FieldFeatureNames)
	}
	for i, g := range gotNames {
		if s, _ := g.(string); s != names[i] {
			return nil, fmt.Errorf("%w: %s[%d]", ErrCrossedData, FieldFeatureNames, i)
		}
	}
	if typed, ok := data[FieldFeatureRows].([][]float32); ok {
		// A typed table crosses typed (security.Boundaries keeps it so): it is a copy already.
		if len(typed) != n {
			return nil, fmt.Errorf("%w: %s", ErrCrossedData, FieldFeatureRows)
		}
		for r, row := range typed {
			if len(row) != len(names) {
				return nil, fmt.Errorf("%w: %s[%d]", ErrCrossedData, FieldFeatureRows, r)
			}
		}
		return typed, nil
	}
	list, ok := data[FieldFeatureRows].([]any)
	if !ok || len(list) != n {
		return nil, fmt.Errorf("%w: %s", ErrCrossedData, FieldFeatureRows)
	}
	out := make([][]float32, n)
	flat := make([]float32, n*len(names))
	for r, x := range list {
		row, ok := x.([]any)
		if !ok || len(row) != len(names) {
			return nil, fmt.Errorf("%w: %s[%d]", ErrCrossedData, FieldFeatureRows, r)
		}
		out[r] = flat[r*len(names) : (r+1)*len(names)]
		for k, v := range row {
			f, ok := number(v)
			if !ok {
				return nil, fmt.Errorf("%w: %s[%d][%d]", ErrCrossedData, FieldFeatureRows, r, k)
			}
			out[r][k] = float32(f)
		}
	}
	return out, nil
}

// crossedIndex reads back the row index of the identity crossing: the rows sent, each within
// the batch.
func crossedIndex(data map[string]any, sent []int, n int) ([]int, error) {
	list, ok := data[FieldRowIndex].([]any)
	if !ok || len(list) != len(sent) {
		return nil, fmt.Errorf("%w: %s", ErrCrossedData, FieldRowIndex)
	}
	out := make([]int, len(list))
	for i, v := range list {
		x, ok := v.(int64)
		if !ok || x < 0 || x >= int64(n) || int(x) != sent[i] {
			return nil, fmt.Errorf("%w: %s[%d]", ErrCrossedData, FieldRowIndex, i)
		}
		out[i] = int(x)
	}
	return out, nil
}

// crossedReport reads back the ml→host crossing: the model, n scores in [0, 1] and, when
// present, n lists of factors.
func crossedReport(data map[string]any, n int) ([]float64, string, [][]ml.Factor, error) {
	model, ok := data[FieldModel].(string)
	if !ok || model == "" {
		return nil, "", nil, fmt.Errorf("%w: %s", ErrCrossedData, FieldModel)
	}
	risks := make([]float64, n)
	switch list := data[FieldScores].(type) {
	case []float32: // a typed list crosses typed
		if len(list) != n {
			return nil, "", nil, fmt.Errorf("%w: %s", ErrCrossedData, FieldScores)
		}
		for i, v := range list {
			if !(v >= 0 && v <= 1) {
				return nil, "", nil, fmt.Errorf("%w: %s[%d]", ErrCrossedData, FieldScores, i)
			}
			// The decimal a float32 is written as, as the score would read back from JSON.
			risks[i], _ = strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		}
	case []any:
		if len(list) != n {
			return nil, "", nil, fmt.Errorf("%w: %s", ErrCrossedData, FieldScores)
		}
		for i, v := range list {
			f, ok := number(v)
			if !ok || f < 0 || f > 1 {
				return nil, "", nil, fmt.Errorf("%w: %s[%d]", ErrCrossedData, FieldScores, i)
			}
			risks[i] = f
		}
	default:
		return nil, "", nil, fmt.Errorf("%w: %s", ErrCrossedData, FieldScores)
	}
	raw, present := data[FieldFactors]
	if !present || raw == nil {
		return risks, model, nil, nil
	}
	rows, ok := raw.([]any)
	if !ok || len(rows) != n {
		return nil, "", nil, fmt.Errorf("%w: %s", ErrCrossedData, FieldFactors)
	}
	factors := make([][]ml.Factor, n)
	for i, r := range rows {
		fs, ok := r.([]any)
		if !ok {
			return nil, "", nil, fmt.Errorf("%w: %s[%d]", ErrCrossedData, FieldFactors, i)
		}
		for k, x := range fs {
			obj, ok := x.(map[string]any)
			name, _ := obj["feature"].(string)
			value, okV := number(obj["value"])
			contrib, okC := number(obj["contribution"])
			if !ok || name == "" || !okV || !okC {
				return nil, "", nil, fmt.Errorf("%w: %s[%d][%d]", ErrCrossedData, FieldFactors, i, k)
			}
			factors[i] = append(factors[i], ml.Factor{Feature: name, Value: float32(value), Contribution: float32(contrib)})
		}
	}
	return risks, model, factors, nil
}

// number reads a number as a crossing decodes it (int64 or float64).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

package monitor

import (
	"context"
	"iter"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
)

// Bus topics of the monitor's events, with the payload type beside each. Every event is keyed
// by its txid (bus.WithKey) and has source BusSource.
const (
	TopicScored    = "anya.fraud.scored"    // Scored: every transaction scored
	TopicAlert     = "anya.fraud.alert"     // Alert: a transaction at or above the threshold
	TopicRetracted = "anya.fraud.retracted" // Retraction: an alert withdrawn by a reorg

	// BusSource is the bus.Meta Source of the monitor's events.
	BusSource = "monitor"
)

// Defaults.
const (
	// DefaultThreshold is the fraud risk at or above which a transaction raises an alert: the
	// value of the root package's anya.DefaultRiskThreshold (0.7), at which the Manager's
	// verified payment blocks a payment, so that the monitor alerts on what a payment would be
	// blocked for. The monitor cannot import the root package (bridges sit below it); the
	// root package's tests keep the two in step.
	DefaultThreshold = 0.7
	// DefaultMaxBatch is how many transactions one micro-batch holds at most: one crossing of
	// each boundary and one engine call per batch. 128 rows of transaction features fit a
	// boundary's default size limit (security.DefaultMaxBytes).
	DefaultMaxBatch = 128
	// MaxBatchLimit bounds WithMaxBatch.
	MaxBatchLimit = 4096
	// DefaultMaxWait is how long a mempool micro-batch waits for more transactions once it has
	// one: a burst fills batches at once, a trickle waits this long at most.
	DefaultMaxWait = 2 * time.Millisecond
	// DefaultQueueSize is how many mempool transactions wait for a batch before the bus
	// subscription (and, with bus.PolicyBlock, the publisher) is held back.
	DefaultQueueSize = 4096
	// DefaultMaxTracked bounds the unconfirmed transactions the monitor remembers (to score a
	// transaction once across the mempool and its block); the oldest are forgotten first.
	DefaultMaxTracked = 200_000
	// DefaultSafetyLimit is how many blocks deep a reorg can retract an alert: the Notifier's
	// bitcoin.DefaultSafetyLimit.
	DefaultSafetyLimit = bitcoin.DefaultSafetyLimit
	// DefaultRetryMin and DefaultRetryMax bound the backoff between attempts to read a block
	// from a chain that fails.
	DefaultRetryMin = 100 * time.Millisecond
	DefaultRetryMax = 5 * time.Second
)

// Chain reads blocks and transactions: a bitcoin.Chain.
type Chain interface {
	Params() *chaincfg.Params
	Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error)
	Tx(ctx context.Context, txid chainhash.Hash) (bitcoin.TxInfo, error)
}

var _ Chain = (bitcoin.Chain)(nil)

// Notifier delivers block events from a checkpoint and mempool transactions of watched
// scripts: a *bitcoin.Notifier.
type Notifier interface {
	Blocks(ctx context.Context, from bitcoin.BlockStamp) iter.Seq2[bitcoin.BlockEvent, error]
	Tip() bitcoin.BlockStamp
	WatchMempool(ctx context.Context, pkScripts [][]byte) (*bitcoin.Registration[bitcoin.MempoolTx], error)
}

var _ Notifier = (*bitcoin.Notifier)(nil)

// Engine scores feature vectors with the fraud model: an *ml.Engine.
type Engine interface {
	Model() *ml.Model
	ScoreBatch(ctx context.Context, vs []ml.Vector) ([]ml.Result, error)
}

var _ Engine = (*ml.Engine)(nil)

// Identities finds the identity behind a sender's address. The host implements it over its
// address links (address → DID) and its identity records (DID → features).
type Identities interface {
	// Owner returns the DID the address is linked to, "" when it is linked to none.
	Owner(ctx context.Context, address string) (string, error)
	// Features returns the identity features of did as the fraud model names them
	// (did_age_days, credentials, kyc_verified, address_linked, ...); address is the sender
	// address that is linked to it. Names the model does not have are ignored.
	Features(ctx context.Context, did, address string) (map[string]float64, error)
}

// Checkpoints keeps the last block the monitor processed: a *bridge.Checkpoint.
type Checkpoints interface {
	Load(ctx context.Context) (bitcoin.BlockStamp, error)
	Save(ctx context.Context, b bitcoin.BlockStamp) error
}

// Option configures New.
type Option func(*config)

type config struct {
	threshold   float64
	identities  Identities
	lookup      bitcoin.FeatureLookup
	lookupSet   bool
	checkpoints Checkpoints
	watch       [][]byte
	mempool     string
	maxBatch    int
	maxWait     time.Duration
	queue       int
	workers     int
	maxTracked  int
	safety      int32
	retryMin    time.Duration
	retryMax    time.Duration
	log         *slog.Logger
	now         func() time.Time
}

// WithThreshold sets the fraud risk at or above which a transaction raises an alert, in
// [0, 1]. Defaults to DefaultThreshold.
func WithThreshold(t float64) Option { return func(c *config) { c.threshold = t } }

// WithIdentities sets how a sender address's identity is found: the first input address (in
// input order) linked to a DID gives the transaction its identity features, which cross
// web5→ml. Defaults to none: no transaction has an identity (identity_known 0).
func WithIdentities(ids Identities) Option { return func(c *config) { c.identities = ids } }

// WithLookup sets where the outputs a transaction spends come from (input values, fee rate,
// ages, and the sender addresses identities are looked up by) and script reuse; nil means
// none. A block's own transactions are always found in the block. Defaults to the chain:
// Chain.Tx for spent outputs, its bitcoin.ScriptHistory for reuse.
func WithLookup(l bitcoin.FeatureLookup) Option {
	return func(c *config) { c.lookup, c.lookupSet = l, true }
}

// WithCheckpoints sets where the last processed block is kept, so that a restarted monitor
// resumes after it: the Notifier replays the blocks since (disconnects first if it was
// reorged out). Defaults to memory only: a new monitor starts at the Notifier's tip.
func WithCheckpoints(cp Checkpoints) Option { return func(c *config) { c.checkpoints = cp } }

// WithWatch makes Run watch the mempool for transactions paying any of pkScripts through the
// Notifier (Notifier.WatchMempool) and score them. Defaults to none: the mempool transactions
// scored are those published on the bus (WithMempoolTopic).
func WithWatch(pkScripts ...[]byte) Option {
	return func(c *config) { c.watch = append(c.watch, pkScripts...) }
}

// WithMempoolTopic sets the bus pattern mempool transactions (bitcoin.MempoolTx) are taken
// from — a Notifier built with bitcoin.WithBus publishes those of every watched script there —
// or "" for none. Defaults to bitcoin.TopicMempoolTx.
func WithMempoolTopic(pattern string) Option { return func(c *config) { c.mempool = pattern } }

// WithMaxBatch sets how many transactions a micro-batch holds at most (1..MaxBatchLimit).
// Defaults to DefaultMaxBatch.
func WithMaxBatch(n int) Option { return func(c *config) { c.maxBatch = n } }

// WithMaxWait sets how long a mempool micro-batch waits to fill once it has a transaction (0:
// it takes what is queued). Defaults to DefaultMaxWait.
func WithMaxWait(d time.Duration) Option { return func(c *config) { c.maxWait = d } }

// WithQueueSize sets how many mempool transactions wait for a batch. Defaults to
// DefaultQueueSize.
func WithQueueSize(n int) Option { return func(c *config) { c.queue = n } }

// WithWorkers sets how many batches are scored at once. Defaults to GOMAXPROCS.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithMaxTracked bounds the unconfirmed transactions remembered. Defaults to
// DefaultMaxTracked.
func WithMaxTracked(n int) Option { return func(c *config) { c.maxTracked = n } }

// WithSafetyLimit sets how many blocks deep a reorg can still retract an alert; alerts in
// blocks buried deeper are final. Defaults to DefaultSafetyLimit.
func WithSafetyLimit(blocks int32) Option { return func(c *config) { c.safety = blocks } }

// WithRetryBackoff sets the backoff between attempts to read a block from a failing chain; it
// doubles from min to max. Defaults to DefaultRetryMin and DefaultRetryMax.
func WithRetryBackoff(min, max time.Duration) Option {
	return func(c *config) { c.retryMin, c.retryMax = min, max }
}

// WithLogger sets the logger. Defaults to a silent one.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithClock sets the clock that dates events. Defaults to time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Monitor scores the transaction stream for fraud: mempool transactions and the transactions
// of connected blocks, in micro-batches, through the bitcoin→ml, web5→ml and ml→host
// boundaries, publishing every score and raising and retracting alerts on the bus. Create it
// with New and run it with Run. It is safe for concurrent use.
type Monitor struct {
	chain    Chain
	notifier Notifier
	bus      *bus.Bus
	engine   Engine
	boundary Boundary
	cfg      config
	net      bitcoin.Network

	running atomic.Bool
	queue   atomic.Pointer[chan *wire.MsgTx] // the mempool queue of the Run in progress
	plan    atomic.Pointer[plan]
	tip     atomic.Pointer[bitcoin.BlockStamp]
	workers chan *worker

	mu sync.Mutex // guards st
	st state

	stats stats
}

// New returns a monitor of chain's transactions, whose blocks come from notifier, publishing on
// b, scoring with engine through boundary. It starts nothing: Run does.
func New(chain Chain, notifier Notifier, b *bus.Bus, engine Engine, boundary Boundary, opts ...Option) (*Monitor, error) {
	cfg := config{threshold: DefaultThreshold, mempool: bitcoin.TopicMempoolTx, maxBatch: DefaultMaxBatch, maxWait: DefaultMaxWait,
		queue: DefaultQueueSize, workers: runtime.GOMAXPROCS(0), maxTracked: DefaultMaxTracked, safety: DefaultSafetyLimit,
		retryMin: DefaultRetryMin, retryMax: DefaultRetryMax, log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	switch {
	case chain == nil:
		return nil, &OptionError{Option: "chain", Reason: "nil"}
	case notifier == nil:
		return nil, &OptionError{Option: "notifier", Reason: "nil"}
	case b == nil:
		return nil, &OptionError{Option: "bus", Reason: "nil"}
	case engine == nil:
		return nil, &OptionError{Option: "engine", Reason: "nil"}
	case boundary == nil:
		return nil, &OptionError{Option: "boundary", Reason: "every batch crosses boundaries: nil"}
	case math.IsNaN(cfg.threshold) || cfg.threshold < 0 || cfg.threshold > 1:
		return nil, &OptionError{Option: "WithThreshold", Value: cfg.threshold, Reason: "must be in [0, 1]"}
	case cfg.maxBatch < 1 || cfg.maxBatch > MaxBatchLimit:
		return nil, &OptionError{Option: "WithMaxBatch", Value: cfg.maxBatch, Reason: "must be in 1..MaxBatchLimit"}
	case cfg.maxWait < 0:
		return nil, &OptionError{Option: "WithMaxWait", Value: cfg.maxWait, Reason: "negative"}
	case cfg.queue < 1:
		return nil, &OptionError{Option: "WithQueueSize", Value: cfg.queue, Reason: "must be at least 1"}
	case cfg.workers < 1:
		return nil, &OptionError{Option: "WithWorkers", Value: cfg.workers, Reason: "must be at least 1"}
	case cfg.maxTracked < 1:
		return nil, &OptionError{Option: "WithMaxTracked", Value: cfg.maxTracked, Reason: "must be at least 1"}
	case cfg.safety < 1 || cfg.safety > bitcoin.MaxSafetyLimit:
		return nil, &OptionError{Option: "WithSafetyLimit", Value: cfg.safety, Reason: "must be in 1..bitcoin.MaxSafetyLimit"}
	case cfg.retryMin <= 0 || cfg.retryMax < cfg.retryMin:
		return nil, &OptionError{Option: "WithRetryBackoff", Value: [2]time.Duration{cfg.retryMin, cfg.retryMax}, Reason: "need 0 < min <= max"}
	case cfg.log == nil:
		return nil, &OptionError{Option: "WithLogger", Reason: "nil logger"}
	case cfg.now == nil:
		return nil, &OptionError{Option: "WithClock", Reason: "nil clock"}
	case cfg.mempool != "" && bus.ValidatePattern(cfg.mempool) != nil:
		return nil, &OptionError{Option: "WithMempoolTopic", Value: cfg.mempool, Reason: bus.ValidatePattern(cfg.mempool).Error()}
	}
	for i, s := range cfg.watch {
		if len(s) == 0 {
			return nil, &OptionError{Option: "WithWatch", Value: i, Reason: "empty script"}
		}
	}
	net, ok := networkOf(chain.Params())
	if !ok {
		return nil, &OptionError{Option: "chain", Value: chain.Params().Name, Reason: "not a network the bitcoin package knows"}
	}
	if !cfg.lookupSet {
		cfg.lookup = chainLookup{chain}
	}
	m := &Monitor{chain: chain, notifier: notifier, bus: b, engine: engine, boundary: boundary, cfg: cfg, net: net,
		workers: make(chan *worker, cfg.workers+1)}
	m.st.init()
	if _, err := m.currentPlan(); err != nil {
		return nil, &OptionError{Option: "engine", Reason: err.Error()}
	}
	return m, nil
}

func networkOf(p *chaincfg.Params) (bitcoin.Network, bool) {
	if p == nil {
		return 0, false
	}
	for _, n := range bitcoin.Networks() {
		if n.Params().Net == p.Net && n.Params().Name == p.Name {
			return n, true
		}
	}
	return 0, false
}

// Threshold returns the alert threshold.
func (m *Monitor) Threshold() float64 { return m.cfg.threshold }

// Checkpoint returns the last block the monitor processed (the zero BlockStamp before Run has
// started).
func (m *Monitor) Checkpoint() bitcoin.BlockStamp {
	if t := m.tip.Load(); t != nil {
		return *t
	}
	return bitcoin.BlockStamp{}
}

// QueueDepth returns how many mempool transactions wait for a micro-batch now (0 when Run is
// not running).
func (m *Monitor) QueueDepth() int {
	if q := m.queue.Load(); q != nil {
		return len(*q)
	}
	return 0
}

// Stats counts the monitor's work since it was created.
type Stats struct {
	// Scored counts transactions scored (each once, however often it was seen).
	Scored uint64
	// Alerts counts alerts raised; Retracted, alerts withdrawn by reorgs.
	Alerts, Retracted uint64
	// Batches counts micro-batches scored.
	Batches uint64
	// Duplicates counts transactions not scored again: seen in the mempool and then in a block,
	// or delivered twice.
	Duplicates uint64
	// Linked counts transactions scored with their sender's identity features.
	Linked uint64
	// Clamped counts transactions with a feature outside the model's range, scored with it
	// clamped to the range.
	Clamped uint64
	// Denied counts transactions left unscored because a boundary refused their batch; Failed,
	// those left unscored for another reason (the engine, an invalid transaction).
	Denied, Failed uint64
	// IdentityErrors counts identity lookups that failed (the transaction was scored without
	// an identity).
	IdentityErrors uint64
	// Blocks counts blocks connected and Disconnected blocks disconnected, as processed.
	Blocks, Disconnected uint64
}

type stats struct {
	scored, alerts, retracted, batches, duplicates, linked, clamped, denied, failed, identityErrors, blocks, disconnected atomic.Uint64
}

// Stats returns the monitor's counters.
func (m *Monitor) Stats() Stats {
	s := &m.stats
	return Stats{Scored: s.scored.Load(), Alerts: s.alerts.Load(), Retracted: s.retracted.Load(), Batches: s.batches.Load(),
		Duplicates: s.duplicates.Load(), Linked: s.linked.Load(), Clamped: s.clamped.Load(), Denied: s.denied.Load(),
		Failed: s.failed.Load(), IdentityErrors: s.identityErrors.Load(), Blocks: s.blocks.Load(), Disconnected: s.disconnected.Load()}
}

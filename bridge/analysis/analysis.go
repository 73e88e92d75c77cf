package analysis

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"golang.org/x/sync/errgroup"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/security"
)

// Errors of the package.
var (
	// ErrInvalidOption: a constructor option refused (see *OptionError).
	ErrInvalidOption = errors.New("analysis: invalid option")
)

// OptionError names the option New refused. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("analysis: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// Chain reads blocks: a bitcoin.Chain.
type Chain interface {
	Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error)
}

// Boundary checks each leg's data: a *security.Boundaries.
type Boundary interface {
	Cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error)
}

var _ Boundary = (*security.Boundaries)(nil)

// Owners returns the DIDs linked to the address paying pkScript (a *link.Index's Owners).
type Owners func(pkScript []byte) []string

// Leg analyses what crossed into its protocol and returns its findings.
type Leg func(ctx context.Context, data map[string]any) (map[string]any, error)

// Boundary actions of the legs.
const (
	// Web5Action: a linked transaction crossing into Web5 ({txid, did, address, amount_sat}).
	Web5Action = security.ActionVerifyIdentity
	// MLAction: a transaction's features crossing into ML ({txid, amount_sat, features}).
	MLAction = security.ActionAssessRisk
)

// DefaultConcurrency is how many legs run at once, per core.
const DefaultConcurrency = 2

// Option configures New.
type Option func(*config)

type config struct {
	web5, ml    Leg
	owners      Owners
	features    *bitcoin.FeatureExtractor
	net         bitcoin.Network
	concurrency int
	coinbase    bool
}

// WithWeb5 sets the Web5 leg: it runs for every (transaction, linked DID) with the link's data
// as it crossed bitcoin→web5. Defaults to none (no Web5 leg).
func WithWeb5(l Leg) Option { return func(c *config) { c.web5 = l } }

// WithML sets the ML leg: it runs for every transaction with its features as they crossed
// bitcoin→ml. Defaults to none (no ML leg).
func WithML(l Leg) Option { return func(c *config) { c.ml = l } }

// WithOwners sets how linked DIDs are found. Defaults to none: no transaction is linked.
func WithOwners(o Owners) Option { return func(c *config) { c.owners = o } }

// WithFeatures sets the feature extractor of the ML leg. Defaults to one without a lookup
// (no input values, ages or reuse) on the analyzer's network.
func WithFeatures(f *bitcoin.FeatureExtractor) Option { return func(c *config) { c.features = f } }

// WithConcurrency sets how many legs run at once. Defaults to DefaultConcurrency × GOMAXPROCS.
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithCoinbase includes coinbase transactions. Defaults to leaving them out.
func WithCoinbase() Option { return func(c *config) { c.coinbase = true } }

// Analyzer forks chain data to a Web5 leg and an ML leg in parallel, each through its trust
// boundary, and correlates their findings into one result per transaction and per block. It is
// safe for concurrent use and owns no goroutines between calls.
type Analyzer struct {
	chain Chain
	b     Boundary
	cfg   config
}

// New returns an analyzer for chain on net.
func New(chain Chain, b Boundary, net bitcoin.Network, opts ...Option) (*Analyzer, error) {
	cfg := config{net: net, concurrency: DefaultConcurrency * runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case chain == nil:
		return nil, &OptionError{Option: "chain", Value: nil, Reason: "nil"}
	case b == nil:
		return nil, &OptionError{Option: "boundary", Value: nil, Reason: "every leg crosses a boundary: nil"}
	case !net.Valid():
		return nil, &OptionError{Option: "network", Value: net, Reason: "not a network"}
	case cfg.concurrency < 1:
		return nil, &OptionError{Option: "WithConcurrency", Value: cfg.concurrency, Reason: "must be at least 1"}
	case cfg.web5 == nil && cfg.ml == nil:
		return nil, &OptionError{Option: "WithWeb5/WithML", Value: nil, Reason: "no leg to fork to"}
	}
	if cfg.features == nil {
		f, err := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureNetwork(net))
		if err != nil {
			return nil, err
		}
		cfg.features = f
	}
	return &Analyzer{chain: chain, b: b, cfg: cfg}, nil
}

// LegResult is one leg's outcome.
type LegResult struct {
	// Data is what crossed the boundary (redacted where it says so).
	Data map[string]any
	// Findings are the leg's.
	Findings map[string]any
	// Denied: the boundary refused the data; Err is its *security.DeniedError and the leg did
	// not run.
	Denied bool
	Err    error
}

// LinkResult is the Web5 leg for one DID a transaction's outputs are linked to.
type LinkResult struct {
	DID, Address string
	Web5         LegResult
}

// TxResult correlates both legs for one transaction.
type TxResult struct {
	Txid      chainhash.Hash
	AmountSat int64
	Links     []LinkResult // the Web5 leg, per linked DID and address
	ML        *LegResult   // nil without an ML leg
}

// BlockResult is the analysis of one block: its transactions' results in block order.
type BlockResult struct {
	Block bitcoin.BlockStamp
	Txs   []TxResult
}

// Failures counts the legs that were denied or failed.
func (r *BlockResult) Failures() int {
	n := 0
	for _, t := range r.Txs {
		for _, l := range t.Links {
			if l.Web5.Err != nil {
				n++
			}
		}
		if t.ML != nil && t.ML.Err != nil {
			n++
		}
	}
	return n
}

// AnalyzeBlock reads the block and analyses its transactions (coinbase left out unless
// WithCoinbase), every leg of every transaction at once within the concurrency bound. A leg's
// failure or denial is part of its result; the error is ctx's or the chain's.
func (a *Analyzer) AnalyzeBlock(ctx context.Context, at bitcoin.BlockStamp) (*BlockResult, error) {
	blk, err := a.chain.Block(ctx, at.Hash)
	if err != nil {
		return nil, fmt.Errorf("analysis: block %s: %w", at.Hash, err)
	}
	txs := blk.Transactions
	if !a.cfg.coinbase && len(txs) > 0 {
		txs = txs[1:]
	}
	res := &BlockResult{Block: at, Txs: make([]TxResult, len(txs))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.cfg.concurrency)
	for i, tx := range txs {
		a.fork(gctx, g, &res.Txs[i], tx, at.Height)
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// AnalyzeTx analyses one transaction (height -1 for a mempool one).
func (a *Analyzer) AnalyzeTx(ctx context.Context, tx *wire.MsgTx, height int32) (*TxResult, error) {
	var r TxResult
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.cfg.concurrency)
	a.fork(gctx, g, &r, tx, height)
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &r, nil
}

// fork fills r's identity and schedules its legs on g. Legs record their own failures; g only
// fails on cancellation.
func (a *Analyzer) fork(ctx context.Context, g *errgroup.Group, r *TxResult, tx *wire.MsgTx, height int32) {
	r.Txid = tx.TxHash()
	for _, o := range tx.TxOut {
		r.AmountSat += o.Value
	}
	txid := r.Txid.String()
	if a.cfg.web5 != nil && a.cfg.owners != nil {
		seen := map[string]bool{}
		for _, o := range tx.TxOut {
			addr, err := bitcoin.AddressFromScript(o.PkScript, a.cfg.net)
			if err != nil {
				continue
			}
			for _, d := range a.cfg.owners(o.PkScript) {
				if k := d + "\n" + addr.String(); !seen[k] {
					seen[k] = true
					r.Links = append(r.Links, LinkResult{DID: d, Address: addr.String()})
				}
			}
		}
		for i := range r.Links {
			l := &r.Links[i]
			data := map[string]any{"txid": txid, "did": l.DID, "address": l.Address, "amount_sat": r.AmountSat}
			g.Go(func() error {
				return a.leg(ctx, &l.Web5, security.Bitcoin, security.Web5, Web5Action, data, a.cfg.web5)
			})
		}
	}
	if a.cfg.ml != nil {
		r.ML = &LegResult{}
		g.Go(func() error {
			vec, err := a.cfg.features.Tx(ctx, tx, height, nil)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.ML.Err = err
				return nil
			}
			names := bitcoin.TxFeatureSchema().Names
			features := make(map[string]any, len(names))
			for i, n := range names {
				features[n] = float64(vec[i])
			}
			data := map[string]any{"txid": txid, "amount_sat": r.AmountSat, "features": features}
			return a.leg(ctx, r.ML, security.Bitcoin, security.ML, MLAction, data, a.cfg.ml)
		})
	}
}

// leg crosses data and runs the leg on what crossed.
func (a *Analyzer) leg(ctx context.Context, out *LegResult, from, to security.Protocol, action string, data map[string]any, run Leg) error {
	crossed, err := a.b.Cross(ctx, string(from), string(to), action, data)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		out.Denied, out.Err = errors.Is(err, security.ErrDenied), err
		return nil
	}
	out.Data = crossed
	out.Findings, out.Err = run(ctx, crossed)
	if out.Err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

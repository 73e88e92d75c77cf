package anya

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
)

// The circuit breakers of the Manager's dependencies, one per protocol's dependency, named
// in the breaker registry (WithBreakers) and in their events on the bus (resilience.>). The
// workflow steps of each protocol have their own breakers besides, named after the protocol
// ("bitcoin", "web5", "ml").
const (
	// BreakerChain guards every call the Manager makes to the chain (WithChain or the
	// embedded simchain): the wallet's, the sender's, the notifier's and its own. Payments
	// fail fast with an *UnavailableError while it is open.
	BreakerChain = "bitcoin.chain"
	// BreakerDID guards the resolution of the DID methods that go over a network: did:dht
	// (through its gateway) and the methods WithDIDMethods adds. Its fallback serves the last
	// document resolved for the DID within DefaultStaleDIDTTL.
	BreakerDID = "web5.did"
	// BreakerRecords guards the bridges' writes and reads of the records store.
	BreakerRecords = "web5.records"
	// BreakerModel guards scoring with the fraud and reputation models. Payments fail fast
	// with an *UnavailableError while it is open.
	BreakerModel = "ml.model"
)

// DefaultStaleDIDTTL is how long a resolved DID document stays usable as the fallback of
// BreakerDID: while the gateway fails, a DID resolved successfully within this time resolves
// to that document.
const DefaultStaleDIDTTL = 24 * time.Hour

// UnavailableError reports a dependency that failed or whose circuit breaker is open (Err
// then matches resilience.ErrCircuitOpen): a call that could not be made, not a verdict on
// its input. It matches ErrUnavailable and wraps the cause.
type UnavailableError struct {
	Dependency string // BreakerChain, BreakerDID, BreakerRecords or BreakerModel
	Err        error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("anya: %s unavailable: %v", e.Dependency, e.Err)
}

// Unwrap returns ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// openBreakers creates the breaker registry (WithBreakers, or one per name with the
// resilience package's defaults whose events are published on the bus) before anything
// that calls a dependency is made.
func (m *Manager) openBreakers(context.Context) error {
	m.breakers = m.cfg.breakers
	if m.breakers != nil {
		return nil
	}
	publish := resilience.Publisher(func(ctx context.Context, topic string, e resilience.Event) error {
		return bus.Publish(ctx, m.bus, topic, e, bus.WithKey(e.Name), bus.WithSource(EventSource))
	}, 100*time.Millisecond, nil)
	var err error
	m.breakers, err = resilience.NewBreakerRegistry(resilience.WithLogger(m.log), resilience.WithListener(publish),
		resilience.WithClock(m.now), resilience.WithTracerProvider(m.cfg.tracerProv), resilience.WithMeterProvider(m.cfg.meterProv))
	return err
}

// guard calls fn through the breaker name. What fn returns that answer reports (an answer
// of the dependency: not found, rejected, ...) counts as a success and is returned as it is;
// another error counts as a failure and comes back as an *UnavailableError, as does a call
// the open breaker refuses. The caller's context ending counts as neither and is returned as
// ctx.Err().
func guard[R any](ctx context.Context, m *Manager, name string, fn func(context.Context) (R, error)) (R, error) {
	b, err := m.breakers.Get(name)
	if err != nil {
		return fn(ctx)
	}
	var answer error
	r, err := resilience.Get(ctx, func(ctx context.Context) (R, error) {
		r, err := fn(ctx)
		if err != nil && isAnswer(name, err) {
			answer = err
			return r, nil
		}
		return r, err
	}, b)
	switch {
	case err == nil:
		return r, answer
	case ctx.Err() != nil:
		return r, ctx.Err()
	}
	return r, &UnavailableError{Dependency: name, Err: err}
}

// isAnswer reports whether err is an answer of the dependency, not a failure to reach it.
func isAnswer(name string, err error) bool {
	var answers []error
	switch name {
	case BreakerChain:
		var rej *bitcoin.RejectError
		if errors.As(err, &rej) {
			return true
		}
		answers = []error{bitcoin.ErrNotFound, bitcoin.ErrRejected, bitcoin.ErrNoFeeEstimate, bitcoin.ErrUnsupported,
			bitcoin.ErrInvalidArgument, bitcoin.ErrInvalidTransaction, bitcoin.ErrKeyConflict, bitcoin.ErrClosed}
	case BreakerDID:
		var re *did.ResolutionError
		return errors.As(err, &re) && re.Code != did.CodeInternalError
	case BreakerRecords:
		var re *did.ResolutionError
		if errors.As(err, &re) && re.Code != did.CodeInternalError {
			return true
		}
		answers = []error{dwn.ErrInvalidMessage, dwn.ErrUnauthenticated, dwn.ErrForbidden, dwn.ErrGrantExpired, dwn.ErrGrantRevoked,
			dwn.ErrNotFound, dwn.ErrConflict, dwn.ErrStale, dwn.ErrInvalidProtocol, dwn.ErrClosed}
	}
	for _, a := range answers {
		if errors.Is(err, a) {
			return true
		}
	}
	return false
}

// available returns an *UnavailableError for the first of names whose breaker is open: what
// a payment checks before it starts, so that it fails fast while a dependency it cannot do
// without is down. A breaker whose open wait is over (by the Manager's clock, which the
// default registry shares) lets the payment through: its calls are the probes.
func (m *Manager) available(names ...string) error {
	for _, name := range names {
		b, err := m.breakers.Get(name)
		if err != nil {
			continue
		}
		snap := b.Snapshot()
		switch {
		case snap.State == resilience.StateForcedOpen:
		case snap.State == resilience.StateOpen && m.now().Before(snap.OpenUntil):
		default:
			continue
		}
		return &UnavailableError{Dependency: name, Err: resilience.ErrCircuitOpen}
	}
	return nil
}

// guardedChain is the chain as the Manager reaches it: every call through BreakerChain.
type guardedChain struct {
	m     *Manager
	chain bitcoin.Chain
}

var _ bitcoin.Chain = guardedChain{}

func (g guardedChain) Params() *chaincfg.Params { return g.chain.Params() }

func (g guardedChain) BestBlock(ctx context.Context) (bitcoin.BlockStamp, error) {
	return guard(ctx, g.m, BreakerChain, g.chain.BestBlock)
}

func (g guardedChain) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	return guard(ctx, g.m, BreakerChain, func(ctx context.Context) (chainhash.Hash, error) { return g.chain.BlockHash(ctx, height) })
}

func (g guardedChain) BlockHeader(ctx context.Context, hash chainhash.Hash) (wire.BlockHeader, error) {
	return guard(ctx, g.m, BreakerChain, func(ctx context.Context) (wire.BlockHeader, error) { return g.chain.BlockHeader(ctx, hash) })
}

func (g guardedChain) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	return guard(ctx, g.m, BreakerChain, func(ctx context.Context) (*wire.MsgBlock, error) { return g.chain.Block(ctx, hash) })
}

func (g guardedChain) Tx(ctx context.Context, txid chainhash.Hash) (bitcoin.TxInfo, error) {
	return guard(ctx, g.m, BreakerChain, func(ctx context.Context) (bitcoin.TxInfo, error) { return g.chain.Tx(ctx, txid) })
}

func (g guardedChain) TxOut(ctx context.Context, op wire.OutPoint, includeMempool bool) (bitcoin.UTXO, error) {
	return guard(ctx, g.m, BreakerChain, func(ctx context.Context) (bitcoin.UTXO, error) { return g.chain.TxOut(ctx, op, includeMempool) })
}

func (g guardedChain) UTXOs(ctx context.Context, pkScript []byte) ([]bitcoin.UTXO, error) {
	return guard(ctx, g.m, BreakerChain, func(ctx context.Context) ([]bitcoin.UTXO, error) { return g.chain.UTXOs(ctx, pkScript) })
}

func (g guardedChain) Mempool(ctx context.Context) ([]bitcoin.MempoolEntry, error) {
	return guard(ctx, g.m, BreakerChain, g.chain.Mempool)
}

func (g guardedChain) EstimateFee(ctx context.Context, target int) (bitcoin.FeeRate, error) {
	return guard(ctx, g.m, BreakerChain, func(ctx context.Context) (bitcoin.FeeRate, error) { return g.chain.EstimateFee(ctx, target) })
}

func (g guardedChain) TestAccept(ctx context.Context, tx *wire.MsgTx) error {
	_, err := guard(ctx, g.m, BreakerChain, func(ctx context.Context) (struct{}, error) { return struct{}{}, g.chain.TestAccept(ctx, tx) })
	return err
}

func (g guardedChain) Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	return guard(ctx, g.m, BreakerChain, func(ctx context.Context) (chainhash.Hash, error) { return g.chain.Broadcast(ctx, tx) })
}

func (g guardedChain) Watch(ctx context.Context, pkScripts [][]byte) error {
	_, err := guard(ctx, g.m, BreakerChain, func(ctx context.Context) (struct{}, error) { return struct{}{}, g.chain.Watch(ctx, pkScripts) })
	return err
}

func (g guardedChain) Subscribe(h func(bitcoin.ChainUpdate)) func() { return g.chain.Subscribe(h) }

// Close does nothing: the Manager closes the chain it created, never the host's.
func (g guardedChain) Close() error { return nil }

// guardedResolver resolves a DID method that goes over a network through BreakerDID, with
// the last document resolved within DefaultStaleDIDTTL as its fallback.
type guardedResolver struct {
	m *Manager
	r did.MethodResolver
}

func (g guardedResolver) Method() string { return g.r.Method() }

func (g guardedResolver) Resolve(ctx context.Context, d did.DID) (*did.Result, error) {
	res, err := guard(ctx, g.m, BreakerDID, func(ctx context.Context) (*did.Result, error) { return g.r.Resolve(ctx, d) })
	var unavailable *UnavailableError
	switch {
	case err == nil:
		if res != nil && res.Document != nil {
			_ = g.m.staleDIDs.SetWithTTL(d.String(), res, DefaultStaleDIDTTL)
		}
		return res, nil
	case errors.As(err, &unavailable):
		if last, ok := g.m.staleDIDs.Get(d.String()); ok {
			g.m.log.Warn("anya: DID resolution unavailable; serving the last document resolved", "did", d.String(), "err", err)
			return last, nil
		}
	}
	return res, err
}

// guardMethods returns the DID methods that go over a network — did:dht through its gateway
// and the host's (WithDIDMethods) — each resolving through BreakerDID with its fallback.
func (m *Manager) guardMethods(dht did.MethodResolver, methods ...did.MethodResolver) []did.MethodResolver {
	if m.staleDIDs == nil {
		// A bounded cache with per-entry TTLs; New cannot fail with these options.
		m.staleDIDs, _ = cache.New[string, *did.Result](m.cacheOptions("stale_dids", DefaultCacheEntries, DefaultStaleDIDTTL)...)
		m.onClose(m.staleDIDs.Close)
	}
	out := make([]did.MethodResolver, 0, 1+len(methods))
	for _, r := range append([]did.MethodResolver{dht}, methods...) {
		out = append(out, guardedResolver{m: m, r: r})
	}
	return out
}

package bitcointest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
)

// DefaultWait bounds how long the helpers wait for an event before failing the test.
const DefaultWait = 30 * time.Second

// Backend is a [bitcoin.Chain] under a test's control: it can mine and reorganize, and it
// comes with a funded [Wallet]. [RunChainSuite] runs against it.
type Backend interface {
	// Chain returns the chain under test.
	Chain() bitcoin.Chain
	// Mine mines n blocks on the tip, including the mempool, and returns their hashes.
	Mine(ctx context.Context, n int) ([]chainhash.Hash, error)
	// Reorg disconnects the top depth blocks, returning their transactions to the mempool,
	// then mines n blocks on the new tip and returns their hashes.
	Reorg(ctx context.Context, depth, n int) ([]chainhash.Hash, error)
	// Wallet returns a wallet holding mature coins on the chain.
	Wallet() *Wallet
}

// SimFundingBlocks is how many blocks NewSim mines to its wallet: past coinbase maturity,
// which leaves SimFundingBlocks-100 spendable 50 BTC coinbases.
const SimFundingBlocks = 110

// Sim is a simchain with a funded wallet: the quickest way to a working bitcoin.Chain in a
// unit test. It implements [Backend]. Create it with [NewSim]: the methods of a zero Sim
// return (or fail the test with) a [*bitcoin.NotConstructedError], and its Chain and Wallet
// are zero values that do the same.
type Sim struct {
	chain  *simchain.Chain
	wallet *Wallet
}

var _ Backend = (*Sim)(nil)

// NewSim returns a simchain that has mined [SimFundingBlocks] blocks to a wallet derived
// from the test's name. The chain is closed when the test ends.
func NewSim(t testing.TB, opts ...simchain.Option) *Sim {
	t.Helper()
	s, err := newSim(t.Name(), opts...)
	if err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	t.Cleanup(func() { _ = s.chain.Close() })
	return s
}

// NewSimBackend is [NewSim] as a [Backend] factory for [RunChainSuite].
func NewSimBackend(t *testing.T) Backend { return NewSim(t) }

func newSim(seed string, opts ...simchain.Option) (*Sim, error) {
	c, err := simchain.New(opts...)
	if err != nil {
		return nil, err
	}
	w, err := NewWalletFromSeed(c, "bitcointest/sim/"+seed)
	if err != nil {
		return nil, err
	}
	if _, err := c.Mine(SimFundingBlocks, simchain.PayTo(w.PkScript())); err != nil {
		return nil, err
	}
	return &Sim{chain: c, wallet: w}, nil
}

// simNotConstructed is the error of the methods of a zero Sim.
func simNotConstructed() error {
	return &bitcoin.NotConstructedError{Type: "bitcointest.Sim", Constructor: "bitcointest.NewSim"}
}

// SimChain returns the simchain itself, for what bitcoin.Chain does not offer: [simchain.Chain.Tip],
// mining and reorganizing with options (other payees, transactions left out), eviction.
func (s *Sim) SimChain() *simchain.Chain {
	if s == nil || s.chain == nil {
		return &simchain.Chain{}
	}
	return s.chain
}

// Chain returns the simchain as a bitcoin.Chain.
func (s *Sim) Chain() bitcoin.Chain { return s.SimChain() }

// Wallet returns the funded wallet.
func (s *Sim) Wallet() *Wallet {
	if s == nil || s.wallet == nil {
		return &Wallet{}
	}
	return s.wallet
}

// Mine mines n blocks (0..simchain.MaxBlocksPerCall) paying the wallet, one at a time: once
// ctx is done it mines no more and returns the blocks mined before, with ctx.Err().
func (s *Sim) Mine(ctx context.Context, n int) ([]chainhash.Hash, error) {
	if s == nil || s.chain == nil {
		return nil, simNotConstructed()
	}
	if n < 0 || n > simchain.MaxBlocksPerCall {
		return nil, &bitcoin.FieldError{Field: "n", Reason: fmt.Sprintf("%d is outside 0..%d", n, simchain.MaxBlocksPerCall)}
	}
	payTo := simchain.PayTo(s.wallet.PkScript())
	hashes := make([]chainhash.Hash, 0, n)
	for range n {
		if err := ctx.Err(); err != nil {
			return hashes, err
		}
		h, err := s.chain.Mine(1, payTo)
		hashes = append(hashes, h...)
		if err != nil {
			return hashes, err
		}
	}
	return hashes, nil
}

// Reorg reorganizes the simchain (see simchain.Chain.Reorg), paying the wallet. A done ctx
// returns ctx.Err() and changes nothing.
func (s *Sim) Reorg(ctx context.Context, depth, n int) ([]chainhash.Hash, error) {
	if s == nil || s.chain == nil {
		return nil, simNotConstructed()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.chain.Reorg(depth, n, simchain.PayTo(s.wallet.PkScript()))
}

// NewFundedWallet returns a new wallet (key from seed) holding one confirmed output of
// amount, funded by the Sim's wallet.
func (s *Sim) NewFundedWallet(t testing.TB, seed string, amount btcutil.Amount) *Wallet {
	t.Helper()
	if s == nil || s.chain == nil {
		t.Fatalf("bitcointest: %v", simNotConstructed())
		return nil
	}
	w, err := NewWalletFromSeed(s.chain, seed)
	if err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	ctx := context.Background()
	if _, _, err := s.wallet.Fund(ctx, w.PkScript(), amount); err != nil {
		t.Fatalf("bitcointest: fund %s: %v", seed, err)
	}
	if _, err := s.Mine(ctx, 1); err != nil {
		t.Fatalf("bitcointest: mine: %v", err)
	}
	return w
}

// Next returns the next value from ch, failing the test if none arrives within DefaultWait
// or ch is closed.
func Next[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(DefaultWait)
	defer timer.Stop()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("bitcointest: channel closed while waiting for a %T", v)
		}
		return v
	case <-timer.C:
		var zero T
		t.Fatalf("bitcointest: no %T within %v", zero, DefaultWait)
		return zero
	}
}

// WaitFor returns the first value from ch that match accepts, failing the test if none
// arrives within DefaultWait or ch is closed.
func WaitFor[T any](t testing.TB, ch <-chan T, match func(T) bool) T {
	t.Helper()
	timer := time.NewTimer(DefaultWait)
	defer timer.Stop()
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				t.Fatalf("bitcointest: channel closed while waiting for a matching %T", v)
			}
			if match(v) {
				return v
			}
		case <-timer.C:
			var zero T
			t.Fatalf("bitcointest: no matching %T within %v", zero, DefaultWait)
			return zero
		}
	}
}

// WaitTip waits until c's best block is at least height.
func WaitTip(t testing.TB, c bitcoin.Chain, height int32) bitcoin.BlockStamp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		best, err := c.BestBlock(ctx)
		if err == nil && best.Height >= height {
			return best
		}
		select {
		case <-ctx.Done():
			t.Fatalf("bitcointest: chain did not reach height %d (%v, last error %v)", height, best, err)
		case <-tick.C:
		}
	}
}

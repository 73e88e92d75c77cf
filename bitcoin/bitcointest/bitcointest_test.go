package bitcointest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/internal/zerotest"
)

// Sim.Mine honours its context: a done context mines nothing, and a context cancelled
// between blocks stops the mining there.
func TestSimMineContext(t *testing.T) {
	s := bitcointest.NewSim(t)
	start := s.SimChain().Tip()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if hashes, err := s.Mine(ctx, 5); !errors.Is(err, context.Canceled) || len(hashes) != 0 {
		t.Fatalf("Mine with a cancelled context: %d blocks, %v", len(hashes), err)
	}
	if _, err := s.Reorg(ctx, 1, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reorg with a cancelled context: %v", err)
	}
	if tip := s.SimChain().Tip(); tip != start {
		t.Fatalf("tip moved from %v to %v", start, tip)
	}

	// Cancel once the third block is connected: the chain's handlers run before Mine goes on.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	blocks := 0
	defer s.Chain().Subscribe(func(u bitcoin.ChainUpdate) {
		if u.Kind == bitcoin.UpdateTip {
			if blocks++; blocks == 3 {
				cancel()
			}
		}
	})()
	hashes, err := s.Mine(ctx, 10)
	if !errors.Is(err, context.Canceled) || len(hashes) != 3 {
		t.Fatalf("Mine cancelled after 3 blocks: %d blocks, %v", len(hashes), err)
	}
	if tip := s.SimChain().Tip(); tip.Height != start.Height+3 || tip.Hash != hashes[2] {
		t.Fatalf("tip %v after 3 of 10 blocks from %v", tip, start)
	}
	if _, err := s.Mine(context.Background(), -1); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("Mine(-1): %v", err)
	}
}

func TestStartBtcdOptions(t *testing.T) {
	for _, c := range []struct {
		opt  bitcointest.Option
		name string
	}{
		{bitcointest.WithNetwork(&chaincfg.MainNetParams), "bitcointest.WithNetwork"},
		{bitcointest.WithNetwork(nil), "bitcointest.WithNetwork"},
		{bitcointest.WithMiningKey(nil), "bitcointest.WithMiningKey"},
	} {
		var tb fakeTB
		if b := bitcointest.StartBtcd(&tb, c.opt); b != nil || len(tb.fatal) != 1 || !strings.Contains(tb.fatal[0], "option "+c.name) {
			t.Errorf("%s: node %v, failures %q", c.name, b, tb.fatal)
		}
	}
}

// fakeTB stands in for a test that the helpers fail: it records the failures and lets the
// helper go on (a real test would stop there). Only the methods below are called.
type fakeTB struct {
	testing.TB
	fatal []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = append(f.fatal, fmt.Sprintf(format, args...))
}

// Every method of a zero Sim, Wallet and Btcd returns (or fails the test with) a
// NotConstructedError naming the constructor, or a zero value; none panics.
func TestZeroValues(t *testing.T) {
	for _, c := range []struct {
		v           any
		constructor string
	}{
		{&bitcointest.Sim{}, "bitcointest.NewSim"},
		{&bitcointest.Wallet{}, "bitcointest.NewWallet"},
		{&bitcointest.Btcd{}, "bitcointest.StartBtcd"},
	} {
		var tb fakeTB
		// Btcd.Backend takes a *testing.T, which it would fail: it checks the node as
		// NewChain does, and NewChain is called.
		for _, r := range zerotest.Call(t, c.v, &tb, zerotest.Skip{"Backend"}) {
			err := r.Err()
			if err == nil {
				continue
			}
			if !errors.Is(err, bitcoin.ErrNotConstructed) || !strings.Contains(err.Error(), c.constructor) {
				t.Errorf("%T.%s: %v", c.v, r.Method, err)
			}
		}
		for _, f := range tb.fatal {
			if !strings.Contains(f, "a zero") || !strings.Contains(f, c.constructor) {
				t.Errorf("%T: test failed with %q", c.v, f)
			}
		}
	}

	var s bitcointest.Sim
	if _, err := s.Chain().BestBlock(context.Background()); !errors.Is(err, bitcoin.ErrNotConstructed) {
		t.Fatalf("zero Sim's chain: %v", err)
	}
	if _, err := s.Wallet().Balance(context.Background()); !errors.Is(err, bitcoin.ErrNotConstructed) {
		t.Fatalf("zero Sim's wallet: %v", err)
	}
	var tb fakeTB
	if w := s.NewFundedWallet(&tb, "x", 1000); w != nil || len(tb.fatal) != 1 || !strings.Contains(tb.fatal[0], "bitcointest.NewSim") {
		t.Fatalf("NewFundedWallet on a zero Sim: %v %q", w, tb.fatal)
	}
	var b bitcointest.Btcd
	tb = fakeTB{}
	if c := b.NewChain(&tb); c != nil || len(tb.fatal) != 1 || !strings.Contains(tb.fatal[0], "bitcointest.StartBtcd") {
		t.Fatalf("NewChain on a zero Btcd: %v %q", c, tb.fatal)
	}
}

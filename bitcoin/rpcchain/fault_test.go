package rpcchain_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/btcsuite/btcd/chaincfg"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

// TestRestartNoGapNoDuplicate stops btcd (SIGINT, as `kill -INT` or a service manager
// would) and restarts it on the same data directory, repeatedly, while blocks are being
// mined. The notifier's block stream, replayed from genesis, must contain every height from
// 1 to the final tip exactly once, in order, and no disconnect.
//
// The node runs simnet: btcd deletes a regtest database whenever it starts, so a restarted
// regtest node has lost its chain and the stream rightly reports disconnects down to genesis
// (TestCrashRestartConsistent covers such rollbacks).
func TestRestartNoGapNoDuplicate(t *testing.T) {
	testRestarts(t, false)
}

// TestCrashRestartConsistent does the same with SIGKILL. btcd v0.25 flushes its chain state
// lazily, so after a crash it comes back with a lower tip and mines a different branch: the
// stream must report exactly that. Applying every event to a model chain (a connect extends
// its tip, a disconnect removes its tip) must always be possible and must end equal to the
// node's main chain.
func TestCrashRestartConsistent(t *testing.T) {
	testRestarts(t, true)
}

func testRestarts(t *testing.T, crash bool) {
	ctx := t.Context()
	node := bitcointest.StartBtcd(t, bitcointest.WithNetwork(&chaincfg.SimNetParams))
	c := node.NewChain(t)
	genesis := bitcoin.BlockStamp{Height: 0, Hash: *c.Params().GenesisHash}
	n, err := bitcoin.NewNotifier(ctx, c, bitcoin.WithCheckpoint(genesis), bitcoin.WithRetryBackoff(10*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	sub, err := n.SubscribeBlocks(ctx, genesis)
	if err != nil {
		t.Fatal(err)
	}

	const rounds = 6
	for range rounds {
		before := bitcointest.WaitTip(t, c, 0).Height
		// Mine in the background, block after block, and take the node down while it is
		// mining: the miner stops at its first failed call.
		minerDone := make(chan struct{})
		go func() {
			defer close(minerDone)
			for {
				if _, err := node.Generate(ctx, 1); err != nil {
					return
				}
			}
		}()
		bitcointest.WaitTip(t, c, before+3)
		halt := node.Stop
		if crash {
			halt = node.Kill
		}
		if err := halt(); err != nil {
			t.Fatal(err)
		}
		<-minerDone
		if err := node.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := node.Generate(ctx, 3); err != nil {
		t.Fatal(err)
	}
	final, err := node.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	finalHash, err := node.BlockHash(ctx, final)
	if err != nil {
		t.Fatal(err)
	}

	// Apply the stream to a model chain until it reaches the node's tip.
	model := []chainhash.Hash{genesis.Hash}
	var connects []int32
	disconnects := 0
	for model[len(model)-1] != finalHash {
		switch e := bitcointest.Next(t, sub.Events()).(type) {
		case bitcoin.BlockConnected:
			if e.Height != int32(len(model)) || e.Header.PrevBlock != model[len(model)-1] {
				t.Fatalf("connect of %d:%s does not extend the model tip %d:%s", e.Height, e.Hash, len(model)-1, model[len(model)-1])
			}
			model = append(model, e.Hash)
			connects = append(connects, e.Height)
		case bitcoin.BlockDisconnected:
			if e.Height != int32(len(model)-1) || e.Hash != model[len(model)-1] {
				t.Fatalf("disconnect of %d:%s is not the model tip %d:%s", e.Height, e.Hash, len(model)-1, model[len(model)-1])
			}
			model = model[:len(model)-1]
			disconnects++
		default:
			t.Fatalf("unexpected event %#v", e)
		}
	}
	for h := int32(1); h <= final; h++ {
		want, err := node.BlockHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if model[h] != want {
			t.Fatalf("height %d: stream says %s, node says %s", h, model[h], want)
		}
	}
	if !crash {
		if disconnects != 0 {
			t.Fatalf("%d disconnects without a reorg", disconnects)
		}
		for i, h := range connects {
			if h != int32(i+1) {
				t.Fatalf("event %d is height %d, want %d (heights %v)", i, h, i+1, connects)
			}
		}
	}
	t.Logf("%d restarts (crash=%v): %d connects, %d disconnects, tip %d", rounds, crash, len(connects), disconnects, final)
}

// TestInvalidateBlockReorgs reorganizes the chain with invalidateblock at depths 1 to 6 and
// checks the block stream (disconnects tip first, then connects) and a confirmation
// registration whose counts go down, negative on the confirming block, and up again.
func TestInvalidateBlockReorgs(t *testing.T) {
	ctx := t.Context()
	node := bitcointest.StartBtcd(t)
	if err := node.MineTo(ctx, bitcointest.SegwitHeight); err != nil {
		t.Fatal(err)
	}
	b := node.Backend(t)
	c := b.Chain()
	n, err := bitcoin.NewNotifier(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	blocks, err := n.SubscribeBlocks(ctx, bitcoin.BlockStamp{})
	if err != nil {
		t.Fatal(err)
	}
	const numConfs = 8
	for depth := 1; depth <= 6; depth++ {
		tip := n.Tip()
		dest := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed(t.Name()))
		tx, err := b.Wallet().Send(ctx, wire.NewTxOut(25_000, dest))
		if err != nil {
			t.Fatal(err)
		}
		reg, err := n.RegisterConf(ctx, bitcoin.ConfRequest{Txid: tx.TxHash(), NumConfs: numConfs, HeightHint: tip.Height})
		if err != nil {
			t.Fatal(err)
		}
		mined, err := node.Generate(ctx, depth)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range mined {
			wantConnect(t, blocks, tip.Height+1+int32(i), h)
			wantConf(t, reg, bitcoin.TxConfUpdate{Txid: tx.TxHash(), Block: bitcoin.BlockStamp{Height: tip.Height + 1, Hash: mined[0]}, Confirmations: int32(i + 1)})
		}

		fresh, err := node.Reorg(ctx, depth, depth+1)
		if err != nil {
			t.Fatal(err)
		}
		for i := depth - 1; i >= 0; i-- {
			ev := bitcointest.Next(t, blocks.Events())
			d, ok := ev.(bitcoin.BlockDisconnected)
			if !ok || d.Hash != mined[i] || d.Height != tip.Height+1+int32(i) {
				t.Fatalf("depth %d: event %#v, want disconnect of %d:%s", depth, ev, tip.Height+1+int32(i), mined[i])
			}
			if i > 0 {
				wantConf(t, reg, bitcoin.TxConfUpdate{Txid: tx.TxHash(), Block: bitcoin.BlockStamp{Height: tip.Height + 1, Hash: mined[0]}, Confirmations: int32(i)})
			}
		}
		ev := bitcointest.Next(t, reg.Events())
		if r, ok := ev.(bitcoin.TxReorged); !ok || r.Block.Hash != mined[0] {
			t.Fatalf("depth %d: conf event %#v, want TxReorged of %s", depth, ev, mined[0])
		}
		for i, h := range fresh {
			wantConnect(t, blocks, tip.Height+1+int32(i), h)
			wantConf(t, reg, bitcoin.TxConfUpdate{Txid: tx.TxHash(), Block: bitcoin.BlockStamp{Height: tip.Height + 1, Hash: fresh[0]}, Confirmations: int32(i + 1)})
		}
		// The registration agrees with the node.
		info, err := c.Tx(ctx, tx.TxHash())
		if err != nil {
			t.Fatal(err)
		}
		best, err := c.BestBlock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Block == nil || info.Block.Hash != fresh[0] || best.Height-info.Block.Height+1 != int32(depth+1) {
			t.Fatalf("depth %d: node has the tx in %v at tip %v", depth, info.Block, best)
		}
		reg.Cancel()
	}
}

func wantConnect(t *testing.T, reg *bitcoin.Registration[bitcoin.BlockEvent], height int32, hash chainhash.Hash) {
	t.Helper()
	ev := bitcointest.Next(t, reg.Events())
	if c, ok := ev.(bitcoin.BlockConnected); !ok || c.Hash != hash || c.Height != height {
		t.Fatalf("event %#v, want connect of %d:%s", ev, height, hash)
	}
}

func wantConf(t *testing.T, reg *bitcoin.Registration[bitcoin.ConfEvent], want bitcoin.TxConfUpdate) {
	t.Helper()
	ev := bitcointest.Next(t, reg.Events())
	got, ok := ev.(bitcoin.TxConfUpdate)
	want.RegistrationID, want.Required = reg.ID, got.Required
	if !ok || got != want {
		t.Fatalf("conf event %#v, want %#v", ev, want)
	}
}

// TestNodeDownErrors checks that calls fail with ErrDisconnected while the node is down and
// work again after it is back, and that Close during an outage returns.
func TestNodeDownErrors(t *testing.T) {
	ctx := t.Context()
	node := bitcointest.StartBtcd(t)
	c := node.NewChain(t)
	if err := node.Kill(); err != nil {
		t.Fatal(err)
	}
	poll(t, func() error {
		if _, err := c.BestBlock(ctx); !errors.Is(err, bitcoin.ErrDisconnected) {
			return fmt.Errorf("BestBlock with the node down: %v, want ErrDisconnected", err)
		}
		return nil
	})
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	poll(t, func() error {
		_, err := c.BestBlock(ctx)
		return err
	})
	if err := node.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BestBlock(ctx); !errors.Is(err, bitcoin.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// poll retries f on a ticker until it succeeds, failing the test after DefaultWait.
func poll(t *testing.T, f func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), bitcointest.DefaultWait)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal(err)
		case <-tick.C:
		}
	}
}

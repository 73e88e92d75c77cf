package rpcchain_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/rpcchain"
)

func TestNewErrors(t *testing.T) {
	ctx := t.Context()
	node := bitcointest.StartBtcd(t)
	ep := node.Endpoint()
	if _, err := rpcchain.New(ctx, ep, &chaincfg.MainNetParams); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("regtest node with mainnet params: %v", err)
	}
	bad := ep
	bad.Pass = "wrong"
	if c, err := rpcchain.New(ctx, bad, node.Params()); err == nil {
		c.Close()
		t.Fatal("wrong password accepted")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if _, err := rpcchain.New(ctx, rpcchain.Endpoint{Host: closed}, node.Params()); !errors.Is(err, bitcoin.ErrDisconnected) {
		t.Fatalf("nothing listening: %v", err)
	}
	_, err = rpcchain.New(ctx, ep, node.Params(), rpcchain.WithReconnectBackoff(0, 1))
	var oe *bitcoin.OptionError
	if !errors.As(err, &oe) || oe.Option != "rpcchain.WithReconnectBackoff" || !errors.Is(err, rpcchain.ErrInvalidOption) || !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("bad backoff: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := rpcchain.New(cctx, ep, node.Params()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// Scripts without an address form: UTXOs cannot use the address index, and mempool watching
// goes through notifynewtransactions and local filtering.
func TestScriptsWithoutAddress(t *testing.T) {
	ctx := t.Context()
	node := bitcointest.StartBtcd(t)
	if err := node.MineTo(ctx, bitcointest.SegwitHeight); err != nil {
		t.Fatal(err)
	}
	b := node.Backend(t)
	c := b.Chain()
	bare := []byte{0x51} // OP_TRUE, relayed on regtest (non-standard outputs allowed)
	if _, err := c.UTXOs(ctx, bare); !errors.Is(err, bitcoin.ErrUnsupported) {
		t.Fatalf("UTXOs of a bare script: %v", err)
	}
	updates := make(chan bitcoin.ChainUpdate, 100)
	defer c.Subscribe(func(u bitcoin.ChainUpdate) {
		select {
		case updates <- u:
		default:
		}
	})()
	if err := c.Watch(ctx, [][]byte{bare}); err != nil {
		t.Fatal(err)
	}
	tx, err := b.Wallet().Send(ctx, wire.NewTxOut(10_000, bare))
	if err != nil {
		t.Fatal(err)
	}
	bitcointest.WaitFor(t, updates, func(u bitcoin.ChainUpdate) bool {
		return u.Kind == bitcoin.UpdateMempool && u.Tx.TxHash() == tx.TxHash()
	})
}

// The watch set survives a reconnect: it is loaded again into the new connection's filter.
func TestWatchSurvivesRestart(t *testing.T) {
	ctx := t.Context()
	node := bitcointest.StartBtcd(t, bitcointest.WithNetwork(&chaincfg.SimNetParams))
	if err := node.MineTo(ctx, bitcointest.SegwitHeight); err != nil {
		t.Fatal(err)
	}
	b := node.Backend(t)
	c := b.Chain()
	script := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed(t.Name()))
	updates := make(chan bitcoin.ChainUpdate, 100)
	defer c.Subscribe(func(u bitcoin.ChainUpdate) {
		select {
		case updates <- u:
		default:
		}
	})()
	if err := c.Watch(ctx, [][]byte{script}); err != nil {
		t.Fatal(err)
	}
	best, err := c.BestBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	// The reconnect announces itself with a tip update.
	bitcointest.WaitFor(t, updates, func(u bitcoin.ChainUpdate) bool { return u.Kind == bitcoin.UpdateTip && u.Tip == best })
	tx, err := b.Wallet().Send(ctx, wire.NewTxOut(10_000, script))
	if err != nil {
		t.Fatal(err)
	}
	bitcointest.WaitFor(t, updates, func(u bitcoin.ChainUpdate) bool {
		return u.Kind == bitcoin.UpdateMempool && u.Tx.TxHash() == tx.TxHash()
	})
}

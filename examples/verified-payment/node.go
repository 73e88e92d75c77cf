package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/rpcchain"
)

const (
	// segwitHeight is the height by which btcd's regtest has segwit and taproot active: the demo
	// mines this far before its identities pay from witness addresses.
	segwitHeight = 432
	// fundSat is what Fund gives each address: enough for the payment the fraud model blocks
	// (1 BTC) to be blocked for its risk, not refused for a lack of coins.
	fundSat = 10 * 100_000_000
	// nodeStartTimeout bounds how long the demo waits for a btcd it started to answer.
	nodeStartTimeout = 30 * time.Second
)

// btcdNode is a btcd regtest node: the chain the Manager uses (rpcchain), an RPC client for
// `generate`, and the key its blocks pay, which funds the demo's identities.
type btcdNode struct {
	chain *rpcchain.Chain
	rpc   *rpcclient.Client
	key   *btcec.PrivateKey
	funds *bitcointest.Wallet

	cmd    *exec.Cmd // the node the demo started, nil for one it was given
	exited chan struct{}
	dir    string
}

var _ network = (*btcdNode)(nil)

// openNode starts a btcd regtest node, or connects to the one cfg names, and mines until
// segwit is active.
func openNode(ctx context.Context, cfg config, w io.Writer) (_ *btcdNode, err error) {
	n := &btcdNode{}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	ep := rpcchain.Endpoint{Host: cfg.host, User: cfg.user, Pass: cfg.pass}
	if cfg.host != "" {
		raw, err := hex.DecodeString(cfg.miningKey)
		if err != nil || len(raw) != btcec.PrivKeyBytesLen {
			return nil, errors.New("-rpc-host needs -mining-key: the hex of the 32-byte key the node's blocks pay (its --miningaddr)")
		}
		n.key, _ = btcec.PrivKeyFromBytes(raw)
	} else {
		if cfg.btcd == "" {
			return nil, errors.New("-rpc needs a btcd binary: set ANYA_BTCD (make does) or -btcd, or give a node with -rpc-host")
		}
		if ep, err = n.start(cfg.btcd); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "started btcd (regtest) at %s, data in %s\n", ep.Host, n.dir)
	}
	if n.chain, err = n.dial(ctx, ep); err != nil {
		return nil, err
	}
	if n.rpc, err = rpcclient.New(&rpcclient.ConnConfig{Host: ep.Host, User: ep.User, Pass: ep.Pass, HTTPPostMode: true, DisableTLS: true}, nil); err != nil {
		return nil, err
	}
	if n.funds, err = bitcointest.NewWallet(n.chain, n.key); err != nil {
		return nil, err
	}
	tip, err := n.chain.BestBlock(ctx)
	if err != nil {
		return nil, err
	}
	if tip.Height < segwitHeight {
		if _, err := n.Mine(ctx, int(segwitHeight-tip.Height)); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// start runs btcd in regtest on a free loopback port, in a new temporary directory, mining to
// a new key.
func (n *btcdNode) start(bin string) (rpcchain.Endpoint, error) {
	var err error
	if n.key, err = btcec.NewPrivateKey(); err != nil {
		return rpcchain.Endpoint{}, err
	}
	addr, err := bitcoin.NewP2WPKH(n.key.PubKey(), bitcoin.Regtest)
	if err != nil {
		return rpcchain.Endpoint{}, err
	}
	if n.dir, err = os.MkdirTemp("", "anya-btcd-*"); err != nil {
		return rpcchain.Endpoint{}, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return rpcchain.Endpoint{}, err
	}
	host := l.Addr().String()
	_ = l.Close()
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	ep := rpcchain.Endpoint{Host: host, User: "anya", Pass: hex.EncodeToString(secret)}
	log, err := os.Create(filepath.Join(n.dir, "btcd.out"))
	if err != nil {
		return rpcchain.Endpoint{}, err
	}
	cmd := exec.Command(bin, "--regtest", "--notls", "--txindex", "--addrindex", "--nolisten", "--nodnsseed",
		"--datadir="+filepath.Join(n.dir, "data"), "--logdir="+filepath.Join(n.dir, "logs"),
		"--rpcuser="+ep.User, "--rpcpass="+ep.Pass, "--rpclisten="+host, "--miningaddr="+addr.String())
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return rpcchain.Endpoint{}, fmt.Errorf("start btcd %s: %w", bin, err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(n.exited)
	}()
	return ep, nil
}

// dial connects to the node, waiting for one the demo started to answer.
func (n *btcdNode) dial(ctx context.Context, ep rpcchain.Endpoint) (*rpcchain.Chain, error) {
	deadline := time.Now().Add(nodeStartTimeout)
	for {
		c, err := rpcchain.New(ctx, ep, &chaincfg.RegressionNetParams)
		if err == nil || n.cmd == nil {
			return c, err
		}
		select {
		case <-n.exited:
			raw, _ := os.ReadFile(filepath.Join(n.dir, "btcd.out"))
			return nil, fmt.Errorf("btcd exited: %s", raw)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("btcd at %s does not answer: %w", ep.Host, err)
		}
	}
}

// Fund pays fundSat to each address from the mining key's coins, confirmed by a block.
func (n *btcdNode) Fund(ctx context.Context, addrs ...bitcoin.Address) error {
	outs := make([]*wire.TxOut, len(addrs))
	for i, a := range addrs {
		outs[i] = wire.NewTxOut(fundSat, a.PkScript())
	}
	if _, err := n.funds.Send(ctx, outs...); err != nil {
		return err
	}
	_, err := n.Mine(ctx, 1)
	return err
}

// Mine mines n blocks with generate.
func (n *btcdNode) Mine(_ context.Context, count int) ([]chainhash.Hash, error) {
	hashes, err := n.rpc.Generate(uint32(count))
	if err != nil {
		return nil, fmt.Errorf("generate %d: %w", count, err)
	}
	out := make([]chainhash.Hash, len(hashes))
	for i, h := range hashes {
		out[i] = *h
	}
	return out, nil
}

func (n *btcdNode) Describe() string { return "btcd" }

// Close disconnects, and stops and removes the node the demo started.
func (n *btcdNode) Close() {
	if n.rpc != nil {
		n.rpc.Shutdown()
		n.rpc.WaitForShutdown()
	}
	if n.chain != nil {
		_ = n.chain.Close()
	}
	if n.cmd != nil {
		_ = n.cmd.Process.Signal(os.Interrupt)
		select {
		case <-n.exited:
		case <-time.After(nodeStartTimeout):
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
	}
	if n.dir != "" {
		_ = os.RemoveAll(n.dir)
	}
}

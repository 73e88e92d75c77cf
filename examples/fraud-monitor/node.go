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

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/rpcchain"
	"github.com/anya-org/anya-go/bitcoin/simchain"
)

// funderSeed names the key the demo's blocks pay.
const funderSeed = "fraud-monitor/funder"

// simNet is the embedded simchain: blocks pay the funder.
type simNet struct {
	sim    *simchain.Chain
	funder *bitcointest.Wallet
}

func newSim() (*simNet, error) {
	key := bitcointest.KeyFromSeed(funderSeed)
	sim, err := simchain.New(simchain.WithCoinbaseScript(bitcointest.P2WPKHScript(key)))
	if err != nil {
		return nil, err
	}
	if _, err := sim.Mine(101); err != nil { // the first coinbase matures
		_ = sim.Close()
		return nil, err
	}
	funder, err := bitcointest.NewWallet(sim, key)
	if err != nil {
		_ = sim.Close()
		return nil, err
	}
	return &simNet{sim: sim, funder: funder}, nil
}

func (s *simNet) Chain() bitcoin.Chain                                    { return s.sim }
func (s *simNet) Funder() *bitcointest.Wallet                             { return s.funder }
func (s *simNet) Mine(_ context.Context, n int) ([]chainhash.Hash, error) { return s.sim.Mine(n) }
func (s *simNet) Unmine(context.Context) error                            { _, err := s.sim.Reorg(1, 0); return err }
func (s *simNet) Describe() string                                        { return "simchain" }
func (s *simNet) Close()                                                  { _ = s.sim.Close() }

// Replace evicts tx (the simchain keeps no replacement policy) and broadcasts replacement.
func (s *simNet) Replace(ctx context.Context, tx, replacement *wire.MsgTx) error {
	if err := s.sim.Evict(tx.TxHash()); err != nil {
		return err
	}
	_, err := s.sim.Broadcast(ctx, replacement)
	return err
}

// segwitHeight is the height by which btcd's regtest has segwit active.
const segwitHeight = 432

// btcdNode is a btcd regtest node the demo starts in a temporary directory and removes.
type btcdNode struct {
	chain  *rpcchain.Chain
	rpc    *rpcclient.Client
	funder *bitcointest.Wallet
	cmd    *exec.Cmd
	exited chan struct{}
	dir    string
}

func startNode(ctx context.Context, bin string, w io.Writer) (_ *btcdNode, err error) {
	if bin == "" {
		return nil, errors.New("-rpc needs a btcd binary: set ANYA_BTCD (make does) or -btcd")
	}
	n := &btcdNode{}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	key := bitcointest.KeyFromSeed(funderSeed)
	addr, err := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	if err != nil {
		return nil, err
	}
	if n.dir, err = os.MkdirTemp("", "fraud-monitor-btcd-*"); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	host := l.Addr().String()
	_ = l.Close()
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	ep := rpcchain.Endpoint{Host: host, User: "anya", Pass: hex.EncodeToString(secret)}
	out, err := os.Create(filepath.Join(n.dir, "btcd.out"))
	if err != nil {
		return nil, err
	}
	n.cmd = exec.Command(bin, "--regtest", "--notls", "--txindex", "--addrindex", "--nolisten", "--nodnsseed",
		"--datadir="+filepath.Join(n.dir, "data"), "--logdir="+filepath.Join(n.dir, "logs"),
		"--rpcuser="+ep.User, "--rpcpass="+ep.Pass, "--rpclisten="+host, "--miningaddr="+addr.String())
	n.cmd.Stdout, n.cmd.Stderr = out, out
	if err := n.cmd.Start(); err != nil {
		_ = out.Close()
		n.cmd = nil
		return nil, fmt.Errorf("start btcd %s: %w", bin, err)
	}
	n.exited = make(chan struct{})
	go func() {
		_ = n.cmd.Wait()
		_ = out.Close()
		close(n.exited)
	}()
	fmt.Fprintf(w, "started btcd (regtest) at %s\n", host)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n.chain, err = rpcchain.New(ctx, ep, &chaincfg.RegressionNetParams); err == nil {
			break
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
			return nil, fmt.Errorf("btcd at %s does not answer: %w", host, err)
		}
	}
	if n.rpc, err = rpcclient.New(&rpcclient.ConnConfig{Host: ep.Host, User: ep.User, Pass: ep.Pass, HTTPPostMode: true, DisableTLS: true}, nil); err != nil {
		return nil, err
	}
	if n.funder, err = bitcointest.NewWallet(n.chain, key); err != nil {
		return nil, err
	}
	if _, err := n.Mine(ctx, segwitHeight); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *btcdNode) Chain() bitcoin.Chain        { return n.chain }
func (n *btcdNode) Funder() *bitcointest.Wallet { return n.funder }
func (n *btcdNode) Describe() string            { return "btcd" }

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

// Unmine invalidates the tip block (invalidateblock); btcd puts its transactions back in the
// mempool.
func (n *btcdNode) Unmine(context.Context) error {
	tip, err := n.rpc.GetBestBlockHash()
	if err != nil {
		return err
	}
	return n.rpc.InvalidateBlock(tip)
}

// Replace broadcasts replacement, which pays a higher fee: btcd's mempool replaces tx with it
// (BIP-125; the SDK's wallets signal replaceability).
func (n *btcdNode) Replace(ctx context.Context, _, replacement *wire.MsgTx) error {
	_, err := n.chain.Broadcast(ctx, replacement)
	return err
}

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
		case <-time.After(30 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
	}
	if n.dir != "" {
		_ = os.RemoveAll(n.dir)
	}
}

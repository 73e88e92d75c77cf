package bitcoin

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"
)

// regtestNode is a btcd started by a test on loopback in regtest, in a temp dir.
type regtestNode struct {
	rpc *rpcclient.Client
}

// btcdBinary finds the btcd built by `make setup`: $ANYA_BTCD, or .tools/bin/btcd in the
// module root.
func btcdBinary(t *testing.T) string {
	if p := os.Getenv("ANYA_BTCD"); p != "" {
		return p
	}
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		p := filepath.Join(dir, ".tools", "bin", "btcd")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no btcd: run `make setup` or set ANYA_BTCD")
	return ""
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startRegtest(t *testing.T, miningAddr Address) *regtestNode {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	bin := btcdBinary(t)
	dir := t.TempDir()
	rpcAddr := freePort(t)
	cmd := exec.Command(bin, "--regtest", "--datadir="+filepath.Join(dir, "data"), "--logdir="+filepath.Join(dir, "logs"),
		"--rpcuser=anya", "--rpcpass=anya", "--rpclisten="+rpcAddr, "--listen="+freePort(t), "--notls",
		"--txindex", "--nodnsseed", "--miningaddr="+miningAddr.String())
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	rpc, err := rpcclient.New(&rpcclient.ConnConfig{Host: rpcAddr, User: "anya", Pass: "anya", HTTPPostMode: true, DisableTLS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rpc.Shutdown()
		rpc.WaitForShutdown()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := rpc.GetBlockCount(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("btcd did not answer: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &regtestNode{rpc: rpc}
}

func (n *regtestNode) mine(t *testing.T, blocks uint32) []*chainhash.Hash {
	t.Helper()
	h, err := n.rpc.Generate(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// accept checks tx with testmempoolaccept, then broadcasts and mines it.
func (n *regtestNode) accept(t *testing.T, tx *wire.MsgTx) {
	t.Helper()
	res, err := n.rpc.TestMempoolAccept([]*wire.MsgTx{tx}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !res[0].Allowed {
		t.Fatalf("testmempoolaccept rejected %v: %+v", tx.TxHash(), res[0])
	}
	if _, err := n.rpc.SendRawTransaction(tx, false); err != nil {
		t.Fatal(err)
	}
	blocks := n.mine(t, 1)
	blk, err := n.rpc.GetBlock(blocks[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, btx := range blk.Transactions {
		if btx.TxHash() == tx.TxHash() {
			return
		}
	}
	t.Fatalf("%v not mined", tx.TxHash())
}

// TestRegtestSpends has a real btcd accept (testmempoolaccept, then a block) transactions
// built with CreatePSBT that pay to, and then spend from, every supported output kind,
// and checks a proof of funds against the node's UTXO set.
func TestRegtestSpends(t *testing.T) {
	net := Regtest
	k := testKey(t, 111)
	minerAddr := must(NewP2PKH(k.PubKey(), net))
	node := startRegtest(t, minerAddr)
	node.mine(t, 432+100) // segwit and taproot active, first coinbase mature

	// The coinbase of block 1 pays minerAddr.
	h1, err := node.rpc.GetBlockHash(1)
	if err != nil {
		t.Fatal(err)
	}
	b1, err := node.rpc.GetBlock(h1)
	if err != nil {
		t.Fatal(err)
	}
	cb := b1.Transactions[0]
	coin := Coin{OutPoint: wire.OutPoint{Hash: cb.TxHash(), Index: 0}, PrevTx: cb}

	privs, pubs := keys(t, 3, 140)
	sorted := must(NewSortedMultisig(2, pubs, net))
	musig := must(NewMuSig2Multisig(pubs, net))
	tapms := must(NewTaprootMultisig(2, pubs, net))
	tapBoth := must(NewTaprootMultisig(2, pubs, net, WithMuSig2KeyPath()))
	targets := []struct {
		name string
		addr Address
		coin func(Coin) Coin
	}{
		{"p2pkh", minerAddr, nil},
		{"p2sh-p2wpkh", must(NewP2SHP2WPKH(k.PubKey(), net)), func(c Coin) Coin {
			c.RedeemScript = p2wpkhScript(hash160(k.PubKey().SerializeCompressed()))
			return c
		}},
		{"p2wpkh", must(NewP2WPKH(k.PubKey(), net)), nil},
		{"p2tr", must(NewP2TR(k.PubKey(), nil, net)), nil},
		{"sorted-p2wsh", sorted.Address(), func(c Coin) Coin { c.Multisig = sorted; return c }},
		{"musig2", musig.Address(), func(c Coin) Coin { c.Multisig = musig; return c }},
		{"tapscript", tapms.Address(), func(c Coin) Coin { c.Multisig = tapms; return c }},
		{"tapscript+musig2 (script path)", tapBoth.Address(), func(c Coin) Coin { c.Multisig = tapBoth; return c }},
	}
	var outs []*wire.TxOut
	for _, tg := range targets {
		outs = append(outs, wire.NewTxOut(2_000_000, tg.addr.PkScript()))
	}
	ck := testKey(t, 112)
	change := must(NewP2WPKH(ck.PubKey(), net))
	fund, err := CreatePSBT(outs, []Coin{coin}, FeeRate(2_000), change)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := fund.Sign(k); err != nil || n != 1 {
		t.Fatalf("sign funding: %d %v", n, err)
	}
	if err := fund.Finalize(); err != nil {
		t.Fatal(err)
	}
	fundTx, err := fund.Extract()
	if err != nil {
		t.Fatal(err)
	}
	node.accept(t, fundTx)

	// Spend every output in one transaction.
	var coins []Coin
	for i, o := range fundTx.TxOut {
		c := Coin{OutPoint: wire.OutPoint{Hash: fundTx.TxHash(), Index: uint32(i)}, Value: btcutil.Amount(o.Value), PkScript: o.PkScript, PrevTx: fundTx}
		for _, tg := range targets {
			if string(tg.addr.PkScript()) == string(o.PkScript) && tg.coin != nil {
				c = tg.coin(c)
			}
		}
		if string(o.PkScript) != string(change.PkScript()) {
			coins = append(coins, c)
		}
	}
	dest := must(NewP2TR(testKey(t, 150).PubKey(), nil, net))
	spend, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(15_000_000, dest.PkScript())}, coins, FeeRate(3_000), change)
	if err != nil {
		t.Fatal(err)
	}
	if len(spend.UnsignedTx().TxIn) != len(targets) {
		t.Fatalf("%d inputs selected, want %d", len(spend.UnsignedTx().TxIn), len(targets))
	}
	if _, err := spend.Sign(k, privs[0], privs[1]); err != nil {
		t.Fatal(err)
	}
	for i, in := range spend.UnsignedTx().TxIn {
		if string(fundTx.TxOut[in.PreviousOutPoint.Index].PkScript) == string(musig.PkScript()) { // interactive key path
			msg, err := spend.TaprootKeySpendSigHash(i)
			if err != nil {
				t.Fatal(err)
			}
			if err := spend.SetTaprootKeySpendSig(i, runMuSig2(t, musig, privs, msg)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := spend.Finalize(); err != nil {
		t.Fatal(err)
	}
	spendTx, err := spend.Extract()
	if err != nil {
		t.Fatal(err)
	}
	node.accept(t, spendTx)

	// A proof of funds for the change output, checked against the node's UTXO set.
	var changeCoin Coin
	for i, o := range spendTx.TxOut {
		if string(o.PkScript) == string(change.PkScript()) {
			changeCoin = Coin{OutPoint: wire.OutPoint{Hash: spendTx.TxHash(), Index: uint32(i)}, Value: btcutil.Amount(o.Value), PkScript: o.PkScript}
		}
	}
	sig, err := SignMessage(ck, change, "regtest funds", WithProofOfFunds(changeCoin))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(_ context.Context, op wire.OutPoint) (*wire.TxOut, error) {
		r, err := node.rpc.GetTxOut(&op.Hash, op.Index, true)
		if err != nil || r == nil {
			return nil, err
		}
		amt, err := btcutil.NewAmount(r.Value)
		if err != nil {
			return nil, err
		}
		script, err := hexDecode(r.ScriptPubKey.Hex)
		if err != nil {
			return nil, err
		}
		return wire.NewTxOut(int64(amt), script), nil
	}
	v, err := VerifyMessage(context.Background(), change, "regtest funds", sig, WithUTXOLookup(lookup))
	if err != nil || v.Result != Valid || !v.FundsChecked {
		t.Fatalf("proof of funds: %+v, %v", v, err)
	}
	// Spend the change; the proof no longer holds.
	again, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(500_000, dest.PkScript())}, []Coin{changeCoin}, FeeRate(2_000), change)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = again.Sign(ck)
	_ = again.Finalize()
	againTx, err := again.Extract()
	if err != nil {
		t.Fatal(err)
	}
	node.accept(t, againTx)
	v, err = VerifyMessage(context.Background(), change, "regtest funds", sig, WithUTXOLookup(lookup))
	if err != nil || v.Result != Invalid {
		t.Fatalf("spent proof of funds: %+v, %v", v, err)
	}
}

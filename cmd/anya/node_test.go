package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcjson"
)

// needBtcd skips a test when no btcd binary can be found.
func needBtcd(t *testing.T) {
	t.Helper()
	if _, err := findBtcd(""); err != nil {
		t.Skipf("no btcd: %v", err)
	}
}

// startNode runs anya node in process with args and returns what it printed and a function
// that interrupts it and returns its exit code.
func startNode(t *testing.T, args ...string) (nodeInfo, func() int) {
	t.Helper()
	needBtcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := runIO(ctx, append([]string{"node"}, args...), nil, pw, io.Discard)
		_ = pw.Close()
		done <- code
	}()
	var info nodeInfo
	dec := json.NewDecoder(pr)
	if err := dec.Decode(&info); err != nil {
		cancel()
		t.Fatalf("node printed no endpoint: %v (exit %d)", err, <-done)
	}
	stopped := false
	stop := func() int {
		if stopped {
			return exitOK
		}
		stopped = true
		cancel()
		go func() { _, _ = io.Copy(io.Discard, pr) }()
		select {
		case code := <-done:
			return code
		case <-time.After(2 * nodeWait):
			t.Fatal("node did not stop")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return info, stop
}

func nodeRPC(info nodeInfo) *rpc {
	return &rpc{host: info.RPC, user: info.User, pass: info.Pass, client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
}

// gone reports whether no process has the id any more.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// TestNodeStartsAndStops: anya node prints its endpoint once btcd answers, with the blocks
// mined, and stops btcd when its context ends; the data directory it made is removed.
func TestNodeStartsAndStops(t *testing.T) {
	info, stop := startNode(t, "--blocks", "5")
	if info.Network != "regtest" || info.User == "" || len(info.Pass) < 16 || info.Height != 5 || info.PID == 0 {
		t.Fatalf("%+v", info)
	}
	var height int64
	if err := nodeRPC(info).call(context.Background(), btcjson.NewGetBlockCountCmd(), &height); err != nil || height != 5 {
		t.Fatalf("the node does not answer: %d %v", height, err)
	}
	// The password is not on btcd's command line.
	if cmdline, err := os.ReadFile("/proc/" + itoa(info.PID) + "/cmdline"); err == nil && strings.Contains(string(cmdline), info.Pass) {
		t.Fatal("the RPC password is on btcd's command line")
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !gone(info.PID) {
		t.Fatalf("btcd (pid %d) still runs", info.PID)
	}
	if _, err := os.Stat(info.DataDir); !os.IsNotExist(err) {
		t.Fatalf("the node's data directory is left behind: %v", err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestNodeStopsOnSIGINT runs anya node as a process of its own and interrupts it as a terminal
// would: it exits 0 and btcd stops with it.
func TestNodeStopsOnSIGINT(t *testing.T) {
	needBtcd(t)
	args, _ := json.Marshal([]string{"node"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mainEnv+"="+string(args))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var info nodeInfo
	if err := json.NewDecoder(out).Decode(&info); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no endpoint: %v", err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("anya node exited with %v", err)
		}
	case <-time.After(2 * nodeWait):
		_ = cmd.Process.Kill()
		t.Fatal("anya node did not stop on SIGINT")
	}
	if !gone(info.PID) {
		t.Fatalf("btcd (pid %d) outlived anya node", info.PID)
	}
}

// TestPayOnBtcd: the verified payment on a btcd node started by anya node — linked, paid,
// mined, and the payment's confirmation brought up to date by the next command.
func TestPayOnBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("mines 432 blocks on btcd")
	}
	dir := t.TempDir()
	alice, aliceKey := newParty(t, "key"), newTestKey(t, "btcd alice")
	shop := newTestKey(t, "btcd shop")
	// Segwit and taproot activate at 432 on regtest; the coinbases paying alice mature.
	info, _ := startNode(t, "--mining-address", aliceKey.p2wpkh.String(), "--blocks", "432")
	t.Setenv("NODE_PASS", info.Pass)
	chain := []string{"--data-dir", dir, "--rpc", info.RPC, "--rpc-user", info.User, "--rpc-pass-env", "NODE_PASS"}
	if doc, code := anya(t, append([]string{"link", "challenge", "--portable-did", alice.file, "--wif-file", aliceKey.wifFile}, chain...)...); code != exitOK {
		t.Fatalf("link: %v", doc)
	}
	p, code := pay(t, dir, alice, aliceKey, shop.p2wpkh.String(), "25000", "btcd-1", chain[2:]...)
	if code != exitOK || p["outcome"] != "sent" {
		t.Fatalf("pay: %d %v", code, p)
	}
	var mempool []string
	node := nodeRPC(info)
	if err := node.call(context.Background(), btcjson.NewGetRawMempoolCmd(btcjson.Bool(false)), &mempool); err != nil ||
		!strings.Contains(strings.Join(mempool, " "), p["txid"].(string)) {
		t.Fatalf("the payment is not in btcd's mempool: %v %v", mempool, err)
	}
	if err := node.call(context.Background(), btcjson.NewGenerateCmd(1), nil); err != nil {
		t.Fatal(err)
	}
	// payment show runs a Manager on the node: it catches up with the block.
	if doc, code := anya(t, append([]string{"payment", "show", "btcd-1"}, chain...)...); code != exitOK || doc["txid"] != p["txid"] {
		t.Fatalf("payment show: %d %v", code, doc)
	}
	list, _ := anya(t, "payment", "list", "--data-dir", dir, "--did", alice.uri)
	pays, _ := list["payments"].([]any)
	if len(pays) != 1 || pays[0].(map[string]any)["status"] != "confirmed" || pays[0].(map[string]any)["block_height"] != jsonNum(433) {
		t.Fatalf("payment list: %v", list)
	}
	// A wrong password: the node refuses, an error that says which node.
	t.Setenv("NODE_PASS", "wrong")
	if doc, code := anya(t, append([]string{"payment", "show", "btcd-1"}, chain...)...); code != exitError || errorCode(t, doc) != "unreachable" ||
		!strings.Contains(errorMessage(doc), info.RPC) {
		t.Fatalf("wrong password: %d %v", code, doc)
	}
	// The data directory follows the node: it is not opened on the embedded chain, and a
	// directory of the embedded chain is not opened on the node.
	t.Setenv("NODE_PASS", info.Pass)
	if doc, code := anya(t, "payment", "show", "btcd-1", "--data-dir", dir); code != exitUsage || !strings.Contains(errorMessage(doc), info.RPC) {
		t.Fatalf("a node's data directory on the embedded chain: %d %v", code, doc)
	}
	embedded := t.TempDir()
	if doc, code := anya(t, "link", "verify", "--data-dir", embedded, "--did", alice.uri, "--address", aliceKey.p2wpkh.String()); code != exitOK {
		t.Fatal(doc)
	}
	if doc, code := anya(t, "link", "verify", "--data-dir", embedded, "--did", alice.uri, "--address", aliceKey.p2wpkh.String(), "--rpc", info.RPC,
		"--rpc-user", info.User, "--rpc-pass-env", "NODE_PASS"); code != exitUsage || !strings.Contains(errorMessage(doc), "embedded chain") {
		t.Fatalf("an embedded data directory on a node: %d %v", code, doc)
	}
	// --fund and --mine are for the embedded chain.
	if doc, code := pay(t, dir, alice, aliceKey, shop.p2wpkh.String(), "25000", "btcd-2", append(chain[2:], "--fund", "1")...); code != exitUsage {
		t.Fatalf("--fund on a node: %d %v", code, doc)
	}
}

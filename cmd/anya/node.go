package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcjson"

	"github.com/anya-org/anya-go/bitcoin"
)

// btcdEnv names the environment variable holding the path of a btcd binary.
const btcdEnv = "ANYA_BTCD"

// nodeWait bounds how long the node may take to start answering, and to stop.
const nodeWait = 60 * time.Second

// findBtcd returns the btcd to run: the one given, $ANYA_BTCD, .tools/bin/btcd in the working
// directory or one of its parents (a checkout of anya-go), or btcd on PATH.
func findBtcd(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if p := os.Getenv(btcdEnv); p != "" {
		return p, nil
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, ".tools", "bin", "btcd")
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if p, err := exec.LookPath("btcd"); err == nil {
		return p, nil
	}
	return "", &cliError{Code: "not_found", Err: fmt.Errorf("node: no btcd: give --btcd PATH, set %s, run make setup in an anya-go checkout (.tools/bin/btcd), or put btcd on PATH (go install github.com/btcsuite/btcd@v0.25.0)", btcdEnv)}
}

// rpc calls a node's JSON-RPC interface once.
type rpc struct {
	host, user, pass string
	client           *http.Client
}

func (r *rpc) call(ctx context.Context, cmd, out any) error {
	body, err := btcjson.MarshalCmd(btcjson.RpcVersion1, 1, cmd)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+r.host, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(r.user, r.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	var res btcjson.Response
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("node RPC: %s", resp.Status)
	}
	if res.Error != nil {
		return res.Error
	}
	if out != nil {
		return json.Unmarshal(res.Result, out)
	}
	return nil
}

// nodeInfo is what node prints once the node answers.
type nodeInfo struct {
	RPC           string `json:"rpc"` // host:port, no TLS
	User          string `json:"user"`
	Pass          string `json:"pass"`
	Network       string `json:"network"`
	DataDir       string `json:"datadir"`
	MiningAddress string `json:"mining_address"`
	Height        int64  `json:"height"`
	PID           int    `json:"pid"`
	Btcd          string `json:"btcd"`
}

// runNode runs a regtest btcd (--txindex --addrindex, RPC on loopback without TLS) until ctx
// ends (SIGINT): it prints the node's RPC endpoint and credentials once the node answers, mines
// --blocks to the mining address, and stops the node (SIGINT, then SIGKILL after a minute) when
// interrupted. A data directory it made up is removed.
func runNode(ctx context.Context, e *env, args []string) error {
	fs := newFlags("node")
	datadir := fs.String("datadir", "", "the node's data directory (`DIR`; default: a temporary one, removed when the node stops); btcd starts a regtest chain afresh")
	miningAddr := fs.String("mining-address", "", "the regtest address (`ADDR`) mined blocks pay (default: a new key's P2WPKH address, key not kept)")
	blocks := fs.Int("blocks", 0, "mine `N` blocks once the node is up (432 activates segwit and taproot on regtest)")
	listen := fs.String("rpc-listen", "", "the RPC `HOST:PORT` (default: a free port on 127.0.0.1)")
	user := fs.String("rpc-user", "anya", "the RPC `USER`")
	pass := addSecret(fs, "rpc-pass", inPassword, false, "the RPC password (default: a random one, printed)")
	bin := fs.String("btcd", "", "the btcd binary (`PATH`; default $"+btcdEnv+", .tools/bin/btcd, or btcd on PATH)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *blocks < 0 || *blocks > 100_000 {
		return usageError("node: --blocks must be 0 to 100000")
	}
	password := ""
	if pass.given() {
		raw, err := pass.read(e)
		if err != nil {
			return err
		}
		password = string(trimLine(raw))
	} else {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		password = hex.EncodeToString(b)
	}
	mining := *miningAddr
	if mining == "" {
		key, err := btcec.NewPrivateKey()
		if err != nil {
			return err
		}
		a, err := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
		if err != nil {
			return err
		}
		mining = a.String()
	} else if _, err := bitcoin.ParseAddress(mining, bitcoin.Regtest); err != nil {
		return bitcoinError(err)
	}
	btcd, err := findBtcd(*bin)
	if err != nil {
		return err
	}
	host := *listen
	if host == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return &cliError{Code: "io", Err: err}
		}
		host = l.Addr().String()
		_ = l.Close()
	}
	dir := *datadir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "anya-node-*"); err != nil {
			return &cliError{Code: "io", Err: err}
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return &cliError{Code: "io", Err: err}
	}
	// The credentials go in a configuration file only its owner can read, not on btcd's
	// command line, where ps would show them.
	conf := filepath.Join(dir, "btcd.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "[Application Options]\nrpcuser=%s\nrpcpass=%s\n", *user, password), 0o600); err != nil {
		return &cliError{Code: "io", Err: err}
	}
	logPath := filepath.Join(dir, "btcd.out")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return &cliError{Code: "io", Err: err}
	}
	cmd := exec.Command(btcd, "--configfile="+conf, "--regtest", "--notls", "--txindex", "--addrindex", "--nolisten", "--nodnsseed",
		"--datadir="+filepath.Join(dir, "data"), "--logdir="+filepath.Join(dir, "logs"), "--rpclisten="+host,
		"--miningaddr="+mining, "--debuglevel=info")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return &cliError{Code: "node_failed", Err: fmt.Errorf("node: start %s: %w", btcd, err)}
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(exited)
	}()
	stop := func() {
		select {
		case <-exited:
			return
		default:
		}
		_ = cmd.Process.Signal(os.Interrupt)
		t := time.NewTimer(nodeWait)
		defer t.Stop()
		select {
		case <-exited:
		case <-t.C:
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	defer stop()
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	node := &rpc{host: host, user: *user, pass: password, client: &http.Client{Transport: transport, Timeout: nodeWait}}
	tail := func() string {
		raw, _ := os.ReadFile(logPath)
		if len(raw) > 2000 {
			raw = raw[len(raw)-2000:]
		}
		return string(raw)
	}
	// Wait until the node answers.
	var height int64
	ready := time.NewTimer(nodeWait)
	defer ready.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := node.call(ctx, btcjson.NewGetBlockCountCmd(), &height); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return &cliError{Code: "node_failed", Err: fmt.Errorf("node: btcd exited while starting:\n%s", tail())}
		case <-ready.C:
			return &cliError{Code: "node_failed", Err: fmt.Errorf("node: btcd does not answer after %v:\n%s", nodeWait, tail())}
		case <-tick.C:
		}
	}
	if *blocks > 0 {
		var bar interface{ Add(int) error }
		if w := terminal(e.stderr); w != nil {
			bar = newBar(w, *blocks, "mining")
		}
		for done := 0; done < *blocks; {
			n := min(*blocks-done, 50)
			if err := node.call(ctx, btcjson.NewGenerateCmd(uint32(n)), nil); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return &cliError{Code: "node_failed", Err: fmt.Errorf("node: generate: %w", err)}
			}
			done += n
			if bar != nil {
				_ = bar.Add(n)
			}
		}
		if bar != nil {
			fmt.Fprintln(e.stderr)
		}
		if err := node.call(ctx, btcjson.NewGetBlockCountCmd(), &height); err != nil {
			return &cliError{Code: "node_failed", Err: err}
		}
	}
	if err := writeJSON(e.stdout, nodeInfo{RPC: host, User: *user, Pass: password, Network: bitcoin.Regtest.String(), DataDir: dir,
		MiningAddress: mining, Height: height, PID: cmd.Process.Pid, Btcd: btcd}); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return nil // interrupted: the node stops, the command succeeds
	case <-exited:
		return &cliError{Code: "node_failed", Err: errors.New("node: btcd exited:\n" + tail())}
	}
}

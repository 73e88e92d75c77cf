package bitcointest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/rpcchain"
)

// Btcd launcher constants.
const (
	// BtcdEnv names the environment variable holding the path of a btcd binary. When it is
	// unset, [BtcdBinary] builds btcd from the module version the test binary was built with.
	BtcdEnv = "ANYA_BTCD"
	// SegwitHeight is the height by which segwit and taproot are active on regtest; the issue
	// and DESIGN.md ask tests to mine this far before relying on witness transactions.
	SegwitHeight = 432
	// btcdModule is the module btcd is built from.
	btcdModule = "github.com/btcsuite/btcd"
)

// BtcdBinary returns the path of a btcd binary: $ANYA_BTCD if set, else a binary built with
// `go build github.com/btcsuite/btcd` (at the version this test binary depends on) into the
// user cache directory by the first test that needs it.
func BtcdBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(BtcdEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("bitcointest: %s=%s: %v", BtcdEnv, p, err)
		}
		return p
	}
	version := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == btcdModule {
				version = d.Version
			}
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "anya-go", "btcd-"+version)
	bin := filepath.Join(dir, "btcd")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	// Tests building at once each build into a file of their own; the renames are atomic, so
	// every test ends up with a complete binary.
	f, err := os.CreateTemp(dir, "btcd-*.tmp")
	if err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	tmp := f.Name()
	_ = f.Close()
	defer os.Remove(tmp)
	cmd := exec.Command("go", "build", "-o", tmp, btcdModule)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bitcointest: building btcd (set %s to skip): %v\n%s", BtcdEnv, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	return bin
}

// Btcd is a btcd regtest node run by a test, on loopback, with its own data directory.
// Blocks it mines pay [Btcd.MiningKey]. It is stopped when the test ends. Create it with
// [StartBtcd]: a zero Btcd runs no node; its accessors return zero values, Stop and Kill do
// nothing, its other methods return (or fail the test with) a [*bitcoin.NotConstructedError].
type Btcd struct {
	t       testing.TB
	bin     string
	dir     string
	rpcHost string
	user    string
	pass    string
	key     *btcec.PrivateKey
	addr    btcutil.Address
	extra   []string
	params  *chaincfg.Params

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	http   *http.Client
}

// Option configures [StartBtcd]. (A [Sim] takes simchain's options.)
type Option func(*config)

type config struct {
	extra   []string
	params  *chaincfg.Params
	key     *btcec.PrivateKey
	invalid *bitcoin.OptionError // the first option with a value out of range
}

func (c *config) reject(option string, value any, reason string) {
	if c.invalid == nil {
		c.invalid = &bitcoin.OptionError{Option: "bitcointest." + option, Value: value, Reason: reason}
	}
}

// WithArgs adds command-line arguments of btcd. Defaults to none.
func WithArgs(args ...string) Option {
	return func(c *config) { c.extra = append(c.extra, args...) }
}

// WithNetwork runs the node on params: &chaincfg.RegressionNetParams or
// &chaincfg.SimNetParams. Note that btcd deletes a regtest chain when it starts, so a regtest
// node restarted with Start begins again from genesis; a simnet node keeps its chain across
// restarts. Defaults to &chaincfg.RegressionNetParams.
func WithNetwork(params *chaincfg.Params) Option {
	return func(c *config) {
		if params == nil || (params.Net != chaincfg.RegressionNetParams.Net && params.Net != chaincfg.SimNetParams.Net) {
			name := "<nil>"
			if params != nil {
				name = params.Name
			}
			c.reject("WithNetwork", name, "StartBtcd runs regtest or simnet")
			return
		}
		c.params = params
	}
}

// WithMiningKey sets the key mined blocks pay (P2WPKH). Defaults to a key derived from the
// test's name.
func WithMiningKey(key *btcec.PrivateKey) Option {
	return func(c *config) {
		if key == nil {
			c.reject("WithMiningKey", nil, "nil key")
			return
		}
		c.key = key
	}
}

// StartBtcd starts btcd in regtest (see [WithNetwork]) with --txindex --addrindex --notls in
// a temporary data directory and waits until its RPC server answers. An invalid option fails
// the test with the [*bitcoin.OptionError].
func StartBtcd(t testing.TB, opts ...Option) *Btcd {
	t.Helper()
	cfg := config{params: &chaincfg.RegressionNetParams}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.invalid != nil {
		t.Fatalf("bitcointest: %v", cfg.invalid)
		return nil
	}
	b := &Btcd{t: t, bin: BtcdBinary(t), dir: t.TempDir(), user: "anya", pass: "anya-" + strconv.Itoa(os.Getpid()),
		params: cfg.params, key: cfg.key, extra: cfg.extra}
	if b.key == nil {
		b.key = KeyFromSeed("bitcointest/btcd/" + t.Name())
	}
	addr, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(b.key.PubKey().SerializeCompressed()), b.params)
	if err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	b.addr = addr
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	b.rpcHost = l.Addr().String()
	_ = l.Close()
	transport := &http.Transport{}
	b.http = &http.Client{Transport: transport}
	t.Cleanup(func() {
		_ = b.Stop()
		transport.CloseIdleConnections()
	})
	if err := b.Start(); err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	return b
}

// Params returns the node's network.
func (b *Btcd) Params() *chaincfg.Params {
	if b == nil {
		return nil
	}
	return b.params
}

// Endpoint returns the node's RPC endpoint (no TLS).
func (b *Btcd) Endpoint() rpcchain.Endpoint {
	if b == nil {
		return rpcchain.Endpoint{}
	}
	return rpcchain.Endpoint{Host: b.rpcHost, User: b.user, Pass: b.pass}
}

// MiningKey returns the key that mined blocks pay.
func (b *Btcd) MiningKey() *btcec.PrivateKey {
	if b == nil {
		return nil
	}
	return b.key
}

// DataDir returns the node's data directory.
func (b *Btcd) DataDir() string {
	if b == nil {
		return ""
	}
	return b.dir
}

// notConstructed is the error of the methods of a zero Btcd.
func btcdNotConstructed() error {
	return &bitcoin.NotConstructedError{Type: "bitcointest.Btcd", Constructor: "bitcointest.StartBtcd"}
}

// constructed reports whether b was made by StartBtcd.
func (b *Btcd) constructed() bool { return b != nil && b.http != nil }

// Start starts the node (again, on the same data directory and port after Stop or Kill) and
// waits for its RPC server. A regtest node starts from genesis again (btcd removes the regtest
// database at start-up); use simnet to keep the chain.
func (b *Btcd) Start() error {
	if !b.constructed() {
		return btcdNotConstructed()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return errors.New("bitcointest: btcd is running")
	}
	args := []string{
		"--" + map[bool]string{true: "simnet", false: "regtest"}[b.params.Net == chaincfg.SimNetParams.Net], "--notls", "--txindex", "--addrindex", "--nolisten", "--nodnsseed",
		"--datadir=" + filepath.Join(b.dir, "data"),
		"--logdir=" + filepath.Join(b.dir, "logs"),
		"--rpcuser=" + b.user, "--rpcpass=" + b.pass,
		"--rpclisten=" + b.rpcHost,
		"--miningaddr=" + b.addr.EncodeAddress(),
		"--debuglevel=info",
	}
	args = append(args, b.extra...)
	out, err := os.OpenFile(filepath.Join(b.dir, "btcd.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(b.bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return fmt.Errorf("bitcointest: start btcd: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = out.Close()
		close(exited)
	}()
	b.cmd, b.exited = cmd, exited
	ctx, cancel := context.WithTimeout(context.Background(), DefaultWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var n int64
		if err := b.call(ctx, btcjson.NewGetBlockCountCmd(), &n); err == nil {
			return nil
		}
		select {
		case <-exited:
			b.cmd = nil
			return fmt.Errorf("bitcointest: btcd exited during start-up:\n%s", b.tail())
		case <-ctx.Done():
			return fmt.Errorf("bitcointest: btcd RPC not ready after %v:\n%s", DefaultWait, b.tail())
		case <-tick.C:
		}
	}
}

func (b *Btcd) tail() string {
	raw, _ := os.ReadFile(filepath.Join(b.dir, "btcd.out"))
	if len(raw) > 4000 {
		raw = raw[len(raw)-4000:]
	}
	return string(raw)
}

// Kill stops the node abruptly (SIGKILL), as a crash would.
func (b *Btcd) Kill() error { return b.halt(true) }

// Stop stops the node gracefully (SIGINT), killing it if it has not exited within
// DefaultWait. Stopping a stopped node does nothing.
func (b *Btcd) Stop() error { return b.halt(false) }

func (b *Btcd) halt(kill bool) error {
	if !b.constructed() {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return nil
	}
	var err error
	if kill {
		err = b.cmd.Process.Kill()
	} else {
		err = b.cmd.Process.Signal(os.Interrupt)
	}
	timer := time.NewTimer(DefaultWait)
	defer timer.Stop()
	select {
	case <-b.exited:
	case <-timer.C:
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	b.cmd = nil
	return err
}

// call sends a command over the node's HTTP RPC interface, once (no retries: a stopped node
// fails the call at once).
func (b *Btcd) call(ctx context.Context, cmd any, out any) error {
	if !b.constructed() {
		return btcdNotConstructed()
	}
	body, err := btcjson.MarshalCmd(btcjson.RpcVersion1, 1, cmd)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+b.rpcHost, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(b.user, b.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r btcjson.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("bitcointest: %s: HTTP %d: %s", resp.Status, resp.StatusCode, raw)
	}
	if r.Error != nil {
		return r.Error
	}
	if out != nil {
		return json.Unmarshal(r.Result, out)
	}
	return nil
}

// Generate mines n blocks (including the mempool) and returns their hashes.
func (b *Btcd) Generate(ctx context.Context, n int) ([]chainhash.Hash, error) {
	if n < 0 {
		return nil, &bitcoin.FieldError{Field: "n", Reason: "negative"}
	}
	var res []string
	if err := b.call(ctx, btcjson.NewGenerateCmd(uint32(n)), &res); err != nil {
		return nil, fmt.Errorf("bitcointest: generate %d: %w", n, err)
	}
	out := make([]chainhash.Hash, len(res))
	for i, s := range res {
		h, err := chainhash.NewHashFromStr(s)
		if err != nil {
			return nil, err
		}
		out[i] = *h
	}
	return out, nil
}

// Height returns the node's block count.
func (b *Btcd) Height(ctx context.Context) (int32, error) {
	var n int64
	err := b.call(ctx, btcjson.NewGetBlockCountCmd(), &n)
	return int32(n), err
}

// MineTo mines until the node's tip is at least height (SegwitHeight for witness tests).
func (b *Btcd) MineTo(ctx context.Context, height int32) error {
	h, err := b.Height(ctx)
	if err != nil {
		return err
	}
	if h >= height {
		return nil
	}
	_, err = b.Generate(ctx, int(height-h))
	return err
}

// Invalidate marks a block invalid (invalidateblock): the node disconnects it and its
// descendants and puts their transactions back in the mempool.
func (b *Btcd) Invalidate(ctx context.Context, hash chainhash.Hash) error {
	return b.call(ctx, btcjson.NewInvalidateBlockCmd(hash.String()), nil)
}

// BlockHash returns the hash of the node's main-chain block at height.
func (b *Btcd) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	var s string
	if err := b.call(ctx, btcjson.NewGetBlockHashCmd(int64(height)), &s); err != nil {
		return chainhash.Hash{}, err
	}
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return chainhash.Hash{}, err
	}
	return *h, nil
}

// Reorg disconnects the top depth blocks with invalidateblock and mines n new ones.
func (b *Btcd) Reorg(ctx context.Context, depth, n int) ([]chainhash.Hash, error) {
	h, err := b.Height(ctx)
	if err != nil {
		return nil, err
	}
	if depth < 1 || int32(depth) > h {
		return nil, &bitcoin.FieldError{Field: "depth", Reason: fmt.Sprintf("%d is outside 1..%d", depth, h)}
	}
	hash, err := b.BlockHash(ctx, h-int32(depth)+1)
	if err != nil {
		return nil, err
	}
	if err := b.Invalidate(ctx, hash); err != nil {
		return nil, fmt.Errorf("bitcointest: invalidateblock: %w", err)
	}
	return b.Generate(ctx, n)
}

// NewChain returns an rpcchain client of the node, with a short reconnect backoff, closed
// when the test ends.
func (b *Btcd) NewChain(t testing.TB, opts ...rpcchain.Option) *rpcchain.Chain {
	t.Helper()
	if !b.constructed() {
		t.Fatalf("bitcointest: %v", btcdNotConstructed())
		return nil
	}
	opts = append([]rpcchain.Option{rpcchain.WithReconnectBackoff(20*time.Millisecond, 500*time.Millisecond)}, opts...)
	c, err := rpcchain.New(context.Background(), b.Endpoint(), b.Params(), opts...)
	if err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Backend returns a [Backend] of the node: a new rpcchain client, the mining wallet, mining
// with generate and reorgs with invalidateblock. Use the method value as RunChainSuite's
// factory: every subtest gets its own client of the one node. Mine to SegwitHeight first.
func (b *Btcd) Backend(t *testing.T) Backend {
	t.Helper()
	if !b.constructed() {
		t.Fatalf("bitcointest: %v", btcdNotConstructed())
		return nil
	}
	c := b.NewChain(t)
	w, err := NewWallet(c, b.key)
	if err != nil {
		t.Fatalf("bitcointest: %v", err)
	}
	return &btcdBackend{node: b, chain: c, wallet: w}
}

type btcdBackend struct {
	node   *Btcd
	chain  *rpcchain.Chain
	wallet *Wallet
}

func (x *btcdBackend) Chain() bitcoin.Chain { return x.chain }
func (x *btcdBackend) Wallet() *Wallet      { return x.wallet }
func (x *btcdBackend) Mine(ctx context.Context, n int) ([]chainhash.Hash, error) {
	return x.node.Generate(ctx, n)
}
func (x *btcdBackend) Reorg(ctx context.Context, depth, n int) ([]chainhash.Hash, error) {
	return x.node.Reorg(ctx, depth, n)
}

package chainproxy_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/internal/chainproxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend is a simchain served over HTTP: the suite talks to the client, mines on the simchain.
type backend struct {
	sim    *simchain.Chain
	client *chainproxy.Client
	wallet *bitcointest.Wallet
}

func (b *backend) Chain() bitcoin.Chain { return b.client }
func (b *backend) Mine(_ context.Context, n int) ([]chainhash.Hash, error) {
	return b.sim.Mine(n, simchain.PayTo(b.wallet.PkScript()))
}
func (b *backend) Reorg(_ context.Context, depth, n int) ([]chainhash.Hash, error) {
	return b.sim.Reorg(depth, n, simchain.PayTo(b.wallet.PkScript()))
}
func (b *backend) Wallet() *bitcointest.Wallet { return b.wallet }

func serve(t *testing.T, opts ...chainproxy.Option) (*simchain.Chain, *chainproxy.Server, *chainproxy.Client) {
	t.Helper()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := chainproxy.NewServer(sim, opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	client, err := chainproxy.Dial(t.Context(), hs.URL, chainproxy.WithHTTPClient(hs.Client()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.Close()
		_ = srv.Close()
		hs.Close()
		_ = sim.Close()
	})
	return sim, srv, client
}

func newBackend(t *testing.T) bitcointest.Backend {
	sim, _, client := serve(t)
	w, err := bitcointest.NewWalletFromSeed(client, "chainproxy/"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(bitcointest.SimFundingBlocks, simchain.PayTo(w.PkScript())); err != nil {
		t.Fatal(err)
	}
	return &backend{sim: sim, client: client, wallet: w}
}

func TestChainSuite(t *testing.T) { bitcointest.RunChainSuite(t, newBackend) }

func TestBroadcastHooks(t *testing.T) {
	var (
		mu            sync.Mutex
		before, after []chainhash.Hash
		refuse        bool
	)
	sim, _, client := serve(t,
		chainproxy.WithBeforeBroadcast(func(tx *wire.MsgTx) error {
			mu.Lock()
			defer mu.Unlock()
			if refuse {
				return errors.New("node unreachable")
			}
			before = append(before, tx.TxHash())
			return nil
		}),
		chainproxy.WithAfterBroadcast(func(tx *wire.MsgTx, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				after = append(after, tx.TxHash())
			}
		}))
	w, err := bitcointest.NewWalletFromSeed(client, "hooks")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(bitcointest.SimFundingBlocks, simchain.PayTo(w.PkScript())); err != nil {
		t.Fatal(err)
	}
	tx, err := w.Send(t.Context(), wire.NewTxOut(10_000, bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("dest"))))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(before) != 1 || len(after) != 1 || before[0] != tx.TxHash() || after[0] != tx.TxHash() {
		t.Fatalf("hooks saw %v before and %v after, want %s", before, after, tx.TxHash())
	}
	refuse = true
	mu.Unlock()
	if _, err := sim.Tx(t.Context(), tx.TxHash()); err != nil {
		t.Fatalf("the served chain lacks the broadcast: %v", err)
	}

	// A refused broadcast never reaches the chain, and the client sees a disconnection.
	tx2, err := w.Build(t.Context(), wire.NewTxOut(20_000, bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("dest2"))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Broadcast(t.Context(), tx2); !errors.Is(err, bitcoin.ErrDisconnected) {
		t.Fatalf("refused broadcast: %v, want ErrDisconnected", err)
	}
	if _, err := sim.Tx(t.Context(), tx2.TxHash()); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("a refused broadcast reached the chain: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	sim, _, _ := serve(t)
	srv, err := chainproxy.NewServer(sim)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	c, err := chainproxy.Dial(t.Context(), hs.URL, chainproxy.WithHTTPClient(hs.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hs.Close()
	if _, err := c.BestBlock(t.Context()); !errors.Is(err, bitcoin.ErrDisconnected) {
		t.Fatalf("BestBlock of a server that is gone: %v, want ErrDisconnected", err)
	}
}

// onlyChain hides the served chain's script index.
type onlyChain struct{ bitcoin.Chain }

// ScriptUses through the proxy answers what the served chain's script index answers, and
// "unknown" for a chain without one.
func TestScriptUses(t *testing.T) {
	ctx := t.Context()
	sim, _, client := serve(t)
	w, err := bitcointest.NewWalletFromSeed(client, "chainproxy/script uses")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(3, simchain.PayTo(w.PkScript())); err != nil {
		t.Fatal(err)
	}
	for _, script := range [][]byte{w.PkScript(), {0x00, 0x14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}} {
		want, wantKnown, err := sim.ScriptUses(ctx, script)
		if err != nil {
			t.Fatal(err)
		}
		got, known, err := client.ScriptUses(ctx, script)
		if err != nil || got != want || known != wantKnown {
			t.Fatalf("ScriptUses(%x) through the proxy: %d %v %v, the chain says %d %v", script, got, known, err, want, wantKnown)
		}
	}
	if n, _, _ := client.ScriptUses(ctx, w.PkScript()); n != 3 {
		t.Fatalf("a script paid by 3 coinbases: %d uses", n)
	}

	plain, err := chainproxy.NewServer(onlyChain{sim})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(plain)
	defer hs.Close()
	defer plain.Close()
	c2, err := chainproxy.Dial(ctx, hs.URL, chainproxy.WithHTTPClient(hs.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if n, known, err := c2.ScriptUses(ctx, w.PkScript()); err != nil || known || n != 0 {
		t.Fatalf("a chain without a script index, through the proxy: %d %v %v", n, known, err)
	}
}

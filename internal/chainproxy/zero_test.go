package chainproxy_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/internal/chainproxy"
)

// Every method of a zero Client returns a NotConstructedError naming Dial (or a zero value),
// and a zero Server answers with one naming NewServer; nothing panics.
func TestZeroValues(t *testing.T) {
	var c chainproxy.Client
	ctx := t.Context()
	calls := map[string]error{
		"BestBlock":   func() error { _, err := c.BestBlock(ctx); return err }(),
		"BlockHash":   func() error { _, err := c.BlockHash(ctx, 0); return err }(),
		"BlockHeader": func() error { _, err := c.BlockHeader(ctx, [32]byte{}); return err }(),
		"Block":       func() error { _, err := c.Block(ctx, [32]byte{}); return err }(),
		"Tx":          func() error { _, err := c.Tx(ctx, [32]byte{}); return err }(),
		"TxOut":       func() error { _, err := c.TxOut(ctx, bitcoin.UTXO{}.OutPoint, true); return err }(),
		"UTXOs":       func() error { _, err := c.UTXOs(ctx, nil); return err }(),
		"Mempool":     func() error { _, err := c.Mempool(ctx); return err }(),
		"EstimateFee": func() error { _, err := c.EstimateFee(ctx, 1); return err }(),
		"TestAccept":  c.TestAccept(ctx, nil),
		"Broadcast":   func() error { _, err := c.Broadcast(ctx, nil); return err }(),
		"Watch":       c.Watch(ctx, nil),
	}
	for name, err := range calls {
		var nc *bitcoin.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, chainproxy.ErrNotConstructed) || !strings.Contains(err.Error(), "chainproxy.Dial") {
			t.Errorf("%s: %v", name, err)
		}
	}
	c.Subscribe(func(bitcoin.ChainUpdate) { t.Error("a zero Client delivered an update") })()
	if c.Params() != nil || c.Close() != nil {
		t.Fatal("a zero Client has a network")
	}

	var s chainproxy.Server
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/best", nil))
	var body struct{ Msg string }
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(body.Msg, "chainproxy.NewServer") {
		t.Fatalf("zero Server: %d %s", rec.Code, rec.Body)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOptionErrors(t *testing.T) {
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dial := func(opt chainproxy.Option) error {
		_, err := chainproxy.Dial(t.Context(), "http://127.0.0.1:1", opt)
		return err
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"chainproxy.WithHTTPClient", dial(chainproxy.WithHTTPClient(nil))},
		{"chainproxy.WithBeforeBroadcast", dial(chainproxy.WithBeforeBroadcast(nil))}, // a NewServer option
		{"chainproxy.WithHTTPClient", func() error { // a Dial option
			_, err := chainproxy.NewServer(sim, chainproxy.WithHTTPClient(http.DefaultClient))
			return err
		}()},
	} {
		var oe *bitcoin.OptionError
		if !errors.As(c.err, &oe) || oe.Option != c.name || !errors.Is(c.err, chainproxy.ErrInvalidOption) {
			t.Errorf("%s: %v", c.name, c.err)
		}
	}
	if _, err := chainproxy.NewServer(nil); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Errorf("nil chain: %v", err)
	}
}

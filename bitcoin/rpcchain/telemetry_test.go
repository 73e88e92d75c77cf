package rpcchain_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/rpcchain"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
)

// Each request to the node is a client span under the caller's; a lookup of something the
// node does not have is an answer, not a failure; a request while the node is down fails with
// its error type; the duration histogram, the connection gauge and the connection counter
// follow. The password, txids and addresses stay out.
func TestTelemetryRequests(t *testing.T) {
	k := telemetrytest.New(t)
	node := bitcointest.StartBtcd(t)
	ep := node.Endpoint()
	c := node.NewChain(t, rpcchain.WithTracerProvider(k.TP), rpcchain.WithMeterProvider(k.MP))
	updates := make(chan bitcoin.ChainUpdate, 100)
	defer c.Subscribe(func(u bitcoin.ChainUpdate) {
		select {
		case updates <- u:
		default:
		}
	})()

	ctx, step := k.TP.Tracer("host").Start(t.Context(), "step")
	best, err := c.BestBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Block(ctx, best.Hash); err != nil {
		t.Fatal(err)
	}
	missing := chainhash.Hash{0xde, 0xad, 0xbe, 0xef}
	if _, err := c.Tx(ctx, missing); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("Tx of an unknown txid: %v", err)
	}
	script := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed(t.Name()))
	addr, err := bitcoin.AddressFromScript(script, bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	if utxos, err := c.UTXOs(ctx, script); err != nil || len(utxos) != 0 {
		t.Fatalf("UTXOs of a fresh script: %v, %v", utxos, err)
	}
	step.End()

	_, port, _ := net.SplitHostPort(ep.Host)
	wantPort, _ := strconv.Atoi(port)
	for name, found := range map[string]bool{
		"rpcchain.getbestblock": true, "rpcchain.getblock": true,
		"rpcchain.getrawtransaction": false, "rpcchain.searchrawtransactions": false,
	} {
		sp := k.One(t, name)
		telemetrytest.ChildOf(t, sp, k.One(t, "step"))
		if sp.SpanKind() != trace.SpanKindClient || sp.Status().Code == codes.Error {
			t.Errorf("%s: kind %v, status %v", name, sp.SpanKind(), sp.Status())
		}
		if v, _ := telemetrytest.Attr(sp, "rpc.method"); spanName(v.AsString()) != name {
			t.Errorf("%s: rpc.method %q", name, v.AsString())
		}
		if v, _ := telemetrytest.Attr(sp, "rpc.system"); v.AsString() != "jsonrpc" {
			t.Errorf("%s: rpc.system %q", name, v.AsString())
		}
		if v, _ := telemetrytest.Attr(sp, "server.port"); v.AsInt64() != int64(wantPort) {
			t.Errorf("%s: server.port %d, want %d", name, v.AsInt64(), wantPort)
		}
		if f, ok := telemetrytest.Attr(sp, "anya.found"); ok == found || (ok && f.AsBool()) {
			t.Errorf("%s: anya.found %v (set %v)", name, f.AsBool(), ok)
		}
	}
	if v, _ := telemetrytest.Attr(k.One(t, "rpcchain.getrawtransaction"), "rpc.jsonrpc.error_code"); v.AsInt64() != -5 {
		t.Errorf("getrawtransaction of an unknown txid: error code %d, want -5", v.AsInt64())
	}

	// Nil providers are the no-op ones: a chain with them works and records nothing.
	before := len(k.Ended())
	off := node.NewChain(t, rpcchain.WithTracerProvider(nil), rpcchain.WithMeterProvider(nil))
	if _, err := off.BestBlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := off.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(k.Ended()); n != before {
		t.Errorf("an untraced chain recorded %d spans", n-before)
	}

	// The node goes away: a request fails as disconnected; it comes back: the chain
	// reconnects and announces it with a tip update.
	if err := node.Stop(); err != nil {
		t.Fatal(err)
	}
	down, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.BestBlock(down); !errors.Is(err, bitcoin.ErrDisconnected) {
		t.Fatalf("BestBlock while the node is down: %v", err)
	}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	bitcointest.WaitFor(t, updates, func(u bitcoin.ChainUpdate) bool { return u.Kind == bitcoin.UpdateTip })

	var failed int
	for _, sp := range k.Named("rpcchain.getbestblock") {
		if sp.Status().Code != codes.Error {
			continue
		}
		failed++
		if v, _ := telemetrytest.Attr(sp, "error.type"); v.AsString() != bitcoin.ErrDisconnected.Error() {
			t.Errorf("failed request: error.type %q", v.AsString())
		}
	}
	if failed != 1 {
		t.Errorf("%d failed getbestblock spans, want 1", failed)
	}

	rm := k.Collect(t)
	method := func(m, outcome string) []attribute.KeyValue {
		return []attribute.KeyValue{attribute.String("rpc.method", m), attribute.String("anya.outcome", outcome)}
	}
	for _, c := range []struct {
		method, outcome string
		want            uint64
	}{
		{"getbestblock", "success", 1}, {"getbestblock", "failure", 1}, {"getblock", "success", 1},
		{"getrawtransaction", "not_found", 1}, {"searchrawtransactions", "not_found", 1},
	} {
		if n, sum, _ := telemetrytest.Histogram(rm, rpcchain.MetricNameCallDuration, method(c.method, c.outcome)...); n != c.want || sum <= 0 {
			t.Errorf("call.duration{%s, %s}: %d requests, %gs; want %d", c.method, c.outcome, n, sum, c.want)
		}
	}
	if got, _ := telemetrytest.Int(rm, rpcchain.MetricNameConnects); got != 2 {
		t.Errorf("connects = %d, want 2", got)
	}
	if got, _ := telemetrytest.Int(rm, rpcchain.MetricNameConnected); got != 1 {
		t.Errorf("connected = %d, want 1", got)
	}
	k.NoLeak(t, ep.Pass, missing.String(), addr.String())

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, found := telemetrytest.Metric(k.Collect(t), rpcchain.MetricNameConnected); found {
		t.Error("a closed chain is still reported")
	}
}

// spanName is the span of a JSON-RPC method.
func spanName(method string) string { return rpcchain.SpanPrefix + method }

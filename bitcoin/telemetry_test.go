package bitcoin_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/btcsuite/btcd/wire"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
)

func blocks(change string) attribute.KeyValue {
	return attribute.String("anya.bitcoin.block.change", change)
}

// Every block the Notifier processes is a span in which its events are published, so a bus
// handler of a block event joins the block's trace; a reorg is one catch-up span holding the
// disconnects, the deep-reorg event and the connects; the counters match what happened.
func TestTelemetryNotifierBlocksAndReorg(t *testing.T) {
	k := telemetrytest.New(t)
	s := bitcointest.NewSim(t)
	b, err := bus.New(bus.WithTracerProvider(k.TP))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	connected := bustest.Record[bitcoin.BlockConnected](t, b, bitcoin.TopicBlockConnected)
	if _, err := bus.Subscribe(b, bitcoin.TopicBlockConnected, func(ctx context.Context, e bus.Envelope[bitcoin.BlockConnected]) error {
		_, span := k.TP.Tracer("host").Start(ctx, "index block")
		span.End()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(3), bitcoin.WithBus(b),
		bitcoin.WithTracerProvider(k.TP), bitcoin.WithMeterProvider(k.MP))
	start := n.Tip().Height
	mine(t, s, 3)
	connected.WaitFor(t, 3)
	if _, err := s.Reorg(t.Context(), 5, 6); err != nil {
		t.Fatal(err)
	}
	connected.WaitFor(t, 3+6) // the loop counted every block before it published the last
	// Mempool runs on the loop after the catch-up in progress: its span has ended.
	if _, err := n.Mempool(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := b.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}

	rm := k.Collect(t)
	for change, want := range map[string]int64{"connected": 9, "disconnected": 5} {
		if got, _ := telemetrytest.Int(rm, bitcoin.MetricNameBlocks, blocks(change)); got != want {
			t.Errorf("blocks{%s} = %d, want %d", change, got, want)
		}
	}
	if got, _ := telemetrytest.Int(rm, bitcoin.MetricNameDeepReorgs); got != 1 {
		t.Errorf("deep reorgs = %d, want 1", got)
	}
	tip := n.Tip().Height
	if tip != start+3-5+6 {
		t.Fatalf("tip %d, started at %d", tip, start)
	}
	if got, _ := telemetrytest.Int(rm, bitcoin.MetricNameHeight); got != int64(tip) {
		t.Errorf("height = %d, want %d", got, tip)
	}
	if got, ok := telemetrytest.Int(rm, bitcoin.MetricNameLag); !ok || got != 0 {
		t.Errorf("lag = %d (reported %v), want 0", got, ok)
	}

	// The reorg is caught up with in one catch-up span or more (the chain may be seen in the
	// middle of it); the deep-reorg event is on one of them, and every disconnect under one.
	catchUps := map[trace.SpanID]bool{}
	deep := 0
	for _, c := range k.Named(bitcoin.SpanCatchUp) {
		catchUps[c.SpanContext().SpanID()] = true
		for _, ev := range c.Events() {
			if ev.Name == bitcoin.EventDeepReorg {
				deep++
				if !slices.Contains(ev.Attributes, attribute.Int64("anya.bitcoin.reorg.depth", 5)) {
					t.Errorf("deep reorg event %v, want depth 5", ev.Attributes)
				}
			}
		}
	}
	if deep != 1 {
		t.Errorf("%d %s events, want 1", deep, bitcoin.EventDeepReorg)
	}
	changes := map[string]int{}
	for _, sp := range k.Named(bitcoin.SpanBlock) {
		v, _ := telemetrytest.Attr(sp, "anya.bitcoin.block.change")
		changes[v.AsString()]++
		if v.AsString() == "disconnected" && !catchUps[sp.Parent().SpanID()] {
			t.Errorf("a disconnect span outside a catch-up")
		}
	}
	if changes["connected"] != 9 || changes["disconnected"] != 5 {
		t.Errorf("block spans %v, want 9 connected and 5 disconnected", changes)
	}
	// Each connected block's handler joined the trace of the block: block → publish → process
	// → the handler's own span.
	for _, h := range k.Named("index block") {
		proc := parentOf(t, k, h)
		pub := parentOf(t, k, proc)
		blk := parentOf(t, k, pub)
		if proc.Name() != bus.SpanProcess || pub.Name() != bus.SpanPublish || blk.Name() != bitcoin.SpanBlock {
			t.Fatalf("handler span under %s ← %s ← %s", proc.Name(), pub.Name(), blk.Name())
		}
		if v, _ := telemetrytest.Attr(blk, "anya.bitcoin.block.change"); v.AsString() != "connected" {
			t.Fatalf("handler of a block event under a %q block span", v.AsString())
		}
	}
	if got := len(k.Named("index block")); got != 9 {
		t.Errorf("%d handler spans, want 9", got)
	}

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, found := telemetrytest.Metric(k.Collect(t), bitcoin.MetricNameLag); found {
		t.Error("a closed notifier still reports its lag")
	}
}

// parentOf returns the recorded span that is s's parent.
func parentOf(t *testing.T, k *telemetrytest.Kit, s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, p := range k.Ended() {
		if p.SpanContext().SpanID() == s.Parent().SpanID() {
			return p
		}
	}
	t.Fatalf("span %s has no recorded parent", s.Name())
	return nil
}

// While the chain cannot be queried the Notifier's lag grows with the tip updates it gets, and
// every failed catch-up is counted by error type; once the chain answers the lag is 0 again.
func TestTelemetryNotifierLag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := telemetrytest.New(t)
		s := bitcointest.NewSim(t)
		f := &flaky{Chain: s.SimChain()}
		n := newNotifier(t, f, bitcoin.WithRetryBackoff(time.Second, 8*time.Second), bitcoin.WithMeterProvider(k.MP),
			bitcoin.WithTracerProvider(k.TP))
		synctest.Wait()
		start := n.Tip().Height
		if n.Lag() != 0 {
			t.Fatalf("lag %d at start", n.Lag())
		}
		f.down.Store(true)
		mine(t, s, 2)
		synctest.Wait()
		rm := k.Collect(t)
		if got, _ := telemetrytest.Int(rm, bitcoin.MetricNameLag); got != 2 || n.Lag() != 2 {
			t.Errorf("lag = %d (Lag %d) while the chain is down, 2 blocks behind", got, n.Lag())
		}
		if got, _ := telemetrytest.Int(rm, bitcoin.MetricNameHeight); got != int64(start) {
			t.Errorf("height = %d, want %d", got, start)
		}
		if got, _ := telemetrytest.Int(rm, bitcoin.MetricNameFailures, attribute.String("error.type", "bitcoin: backend disconnected")); got < 1 {
			t.Errorf("failures{bitcoin: backend disconnected} = %d", got)
		}
		f.down.Store(false)
		time.Sleep(8 * time.Second)
		synctest.Wait()
		rm = k.Collect(t)
		if got, _ := telemetrytest.Int(rm, bitcoin.MetricNameLag); got != 0 || n.Lag() != 0 {
			t.Errorf("lag = %d (Lag %d) after catching up", got, n.Lag())
		}
		if got, _ := telemetrytest.Int(rm, bitcoin.MetricNameBlocks, blocks("connected")); got != 2 {
			t.Errorf("blocks{connected} = %d, want 2", got)
		}
		catchUp := k.One(t, bitcoin.SpanCatchUp)
		if v, _ := telemetrytest.Attr(catchUp, "anya.bitcoin.chain.height"); v.AsInt64() != int64(start+2) {
			t.Errorf("catch-up to %d, want %d", v.AsInt64(), start+2)
		}
		for _, sp := range k.Named(bitcoin.SpanBlock) {
			telemetrytest.ChildOf(t, sp, catchUp)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// A Sender's calls are spans under the caller's with their outcome; the counter tells sends,
// resends and refusals apart; no key, txid, address or amount is recorded.
func TestTelemetrySender(t *testing.T) {
	k := telemetrytest.New(t)
	s := bitcointest.NewSim(t)
	snd, _ := newSender(t, s.SimChain(), bitcoin.WithTracerProvider(k.TP), bitcoin.WithMeterProvider(k.MP))
	const key = "payment-did:key:z6MkSenderKey"
	tx := build(t, s, "telemetry-pay", 43_210)
	other := build(t, s, "telemetry-other", 12_345)
	ctx, pay := k.TP.Tracer("host").Start(t.Context(), "pay")
	if _, err := snd.Send(ctx, key, tx); err != nil {
		t.Fatal(err)
	}
	pay.End()
	if _, err := snd.SendFunc(t.Context(), key, func(context.Context) (*wire.MsgTx, error) { return nil, errors.New("not called") }); err != nil {
		t.Fatal(err)
	}
	if _, err := snd.Send(t.Context(), key, other); !errors.Is(err, bitcoin.ErrKeyConflict) {
		t.Fatalf("another transaction under the key: %v", err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := snd.Send(cancelled, "payment-2", other); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled send: %v", err)
	}

	rm := k.Collect(t)
	for outcome, want := range map[string]int64{"sent": 1, "resent": 1, "refused": 1, "failed": 0} {
		if got, _ := telemetrytest.Int(rm, bitcoin.MetricNameSends, attribute.String("anya.outcome", outcome)); got != want {
			t.Errorf("sends{%s} = %d, want %d", outcome, got, want)
		}
	}
	sends := k.Named(bitcoin.SpanSend)
	if len(sends) != 4 {
		t.Fatalf("%d send spans, want 4", len(sends))
	}
	telemetrytest.ChildOf(t, sends[0], k.One(t, "pay"))
	if v, _ := telemetrytest.Attr(sends[1], "anya.bitcoin.send.resend"); !v.AsBool() {
		t.Error("the second send is not marked as a resend")
	}
	if sends[2].Status().Code != codes.Error {
		t.Errorf("a refused send has status %v", sends[2].Status())
	}
	if v, _ := telemetrytest.Attr(sends[2], "error.type"); v.AsString() != bitcoin.ErrKeyConflict.Error() {
		t.Errorf("refused send: error.type %q", v.AsString())
	}
	if sends[3].Status().Code == codes.Error {
		t.Error("a cancelled send is marked failed")
	}
	k.NoLeak(t, key, "payment-2", tx.TxHash().String(), other.TxHash().String(), "43210", "12345")
}

// Nil and no-op providers are accepted by the Notifier and the Sender, which work as without
// them; the provider options configure nothing else.
func TestTelemetryOptions(t *testing.T) {
	s := bitcointest.NewSim(t)
	for name, opts := range map[string][]bitcoin.Option{
		"nil":   {bitcoin.WithTracerProvider(nil), bitcoin.WithMeterProvider(nil)},
		"no-op": {bitcoin.WithTracerProvider(tracenoop.NewTracerProvider()), bitcoin.WithMeterProvider(metricnoop.NewMeterProvider())},
	} {
		n := newNotifier(t, s.SimChain(), opts...)
		sub := subscribe(t, n, bitcoin.BlockStamp{})
		snd, _ := newSender(t, s.SimChain(), opts...)
		tx := build(t, s, "options-"+name, 20_000)
		if id, err := snd.Send(t.Context(), "k-"+name, tx); err != nil || id != tx.TxHash() {
			t.Fatalf("%s: Send = %s, %v", name, id, err)
		}
		h := mine(t, s, 1)
		if got, exp := take(t, sub, 1), want("+", h...); !slices.Equal(got, exp) {
			t.Fatalf("%s: events %v, want %v", name, got, exp)
		}
	}
	for _, o := range []bitcoin.Option{bitcoin.WithTracerProvider(nil), bitcoin.WithMeterProvider(nil)} {
		var oe *bitcoin.OptionError
		if _, err := bitcoin.NewFeatureExtractor(o); !errors.As(err, &oe) {
			t.Errorf("a provider option on NewFeatureExtractor: %v", err)
		}
	}
}

package bitcoin_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
)

// A Notifier over a chain: block events, and a confirmation registration that goes through a
// reorg. The chain here is an in-process simchain; an rpcchain.Chain on btcd works the same.
func ExampleNotifier() {
	ctx := context.Background()
	chain, _ := simchain.New()
	defer chain.Close()
	wallet, _ := bitcointest.NewWalletFromSeed(chain, "example")
	chain.Mine(101, simchain.PayTo(wallet.PkScript())) // one mature coinbase

	n, _ := bitcoin.NewNotifier(ctx, chain)
	defer n.Close()
	blocks, _ := n.SubscribeBlocks(ctx, bitcoin.BlockStamp{}) // from the current tip

	tx, _ := wallet.Send(ctx, wire.NewTxOut(10_000, simchain.AnyoneCanSpendScript()))
	conf, _ := n.RegisterConf(ctx, bitcoin.ConfRequest{Txid: tx.TxHash(), NumConfs: 2, HeightHint: n.Tip().Height})

	show := func(blockEvents, confEvents int) {
		for range blockEvents {
			switch e := (<-blocks.Events()).(type) {
			case bitcoin.BlockConnected:
				fmt.Println("connected", e.Height)
			case bitcoin.BlockDisconnected:
				fmt.Println("disconnected", e.Height)
			}
		}
		for range confEvents {
			switch e := (<-conf.Events()).(type) {
			case bitcoin.TxConfUpdate:
				fmt.Println("  confirmations", e.Confirmations, "at", e.Block.Height)
			case bitcoin.TxConfirmed:
				fmt.Println("  confirmed with", e.Confirmations, "at", e.Block.Height)
			case bitcoin.TxReorged:
				fmt.Println("  reorged out of", e.Block.Height)
			}
		}
	}
	chain.Mine(2)
	show(2, 2)
	chain.Reorg(2, 3, simchain.Exclude(tx.TxHash())) // the new branch leaves the transaction out
	show(5, 1)
	chain.Mine(2) // and the next blocks take it from the mempool again
	show(2, 2)
	// Output:
	// connected 102
	// connected 103
	//   confirmations 1 at 102
	//   confirmed with 2 at 102
	// disconnected 103
	// disconnected 102
	// connected 102
	// connected 103
	// connected 104
	//   reorged out of 102
	// connected 105
	// connected 106
	//   confirmations 1 at 105
	//   confirmed with 2 at 105
}

// The same events on the bus, with typed payloads.
func ExampleWithBus() {
	ctx := context.Background()
	b, _ := bus.New()
	chain, _ := simchain.New()
	defer chain.Close()
	got := make(chan bus.Envelope[bitcoin.BlockConnected], 10)
	bus.Subscribe(b, bitcoin.TopicBlockConnected, func(_ context.Context, e bus.Envelope[bitcoin.BlockConnected]) error {
		got <- e
		return nil
	})
	genesis := bitcoin.BlockStamp{Height: 0, Hash: *chain.Params().GenesisHash}
	n, _ := bitcoin.NewNotifier(ctx, chain, bitcoin.WithCheckpoint(genesis), bitcoin.WithBus(b))
	chain.Mine(3)
	for range 3 {
		e := <-got
		fmt.Println(e.Topic, e.Source, e.Payload.Height)
	}
	n.Close()
	b.Close()
	// Output:
	// bitcoin.block.connected bitcoin 1
	// bitcoin.block.connected bitcoin 2
	// bitcoin.block.connected bitcoin 3
}

// A Sender never sends two different transactions for one idempotency key.
func ExampleSender() {
	ctx := context.Background()
	chain, _ := simchain.New()
	defer chain.Close()
	wallet, _ := bitcointest.NewWalletFromSeed(chain, "example")
	chain.Mine(101, simchain.PayTo(wallet.PkScript()))

	sender, _ := bitcoin.NewSender(chain, bitcoin.NewMemSendStore())
	first, _ := wallet.Build(ctx, wire.NewTxOut(10_000, simchain.AnyoneCanSpendScript()))
	second, _ := wallet.Build(ctx, wire.NewTxOut(20_000, simchain.AnyoneCanSpendScript()))

	id1, err := sender.Send(ctx, "invoice-42", first)
	fmt.Println(id1 == first.TxHash(), err)
	id2, err := sender.Send(ctx, "invoice-42", first) // retried: a no-op
	fmt.Println(id2 == id1, err)
	_, err = sender.Send(ctx, "invoice-42", second)
	fmt.Println(errors.Is(err, bitcoin.ErrKeyConflict))
	entries, _ := chain.Mempool(ctx)
	fmt.Println(len(entries), "transaction in the mempool")
	// Output:
	// true <nil>
	// true <nil>
	// true
	// 1 transaction in the mempool
}

// EstimateFee falls back from the backend's estimator to the mempool to a fixed rate.
func ExampleEstimateFee() {
	chain, _ := simchain.New()
	defer chain.Close()
	est, _ := bitcoin.EstimateFee(context.Background(), chain, 6)
	fmt.Println(est.Rate, est.Source)
	// Output: 1.000 sat/vB mempool
}

func ExampleSummarizeMempool() {
	s := bitcoin.SummarizeMempool([]bitcoin.MempoolEntry{
		{VSize: 200, Fee: 400},   // 2 sat/vB
		{VSize: 100, Fee: 1_500}, // 15 sat/vB
	})
	fmt.Println(s.Count, s.VSize, s.Fees)
	for _, b := range s.Histogram {
		if b.Count > 0 {
			fmt.Println(">=", b.MinRate, b.Count)
		}
	}
	// Output:
	// 2 300 0.00001900 BTC
	// >= 2.000 sat/vB 1
	// >= 15.000 sat/vB 1
}

// With a tracer provider, a bus handler of a block event runs in a child of the Notifier's
// span of that block; with a meter provider the Notifier reports how far behind the chain's
// tip it is.
func ExampleWithTracerProvider() {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	b, _ := bus.New(bus.WithTracerProvider(tp))
	defer b.Close()
	chain, _ := simchain.New()
	defer chain.Close()

	handled := make(chan string, 1)
	_, _ = bus.Subscribe(b, bitcoin.TopicBlockConnected, func(ctx context.Context, e bus.Envelope[bitcoin.BlockConnected]) error {
		handled <- fmt.Sprint("block ", e.Payload.Height, " handled in a traced context: ", trace.SpanContextFromContext(ctx).IsValid())
		return nil
	})
	n, _ := bitcoin.NewNotifier(ctx, chain, bitcoin.WithBus(b), bitcoin.WithTracerProvider(tp), bitcoin.WithMeterProvider(mp))
	defer n.Close()
	chain.Mine(1)
	fmt.Println(<-handled)

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if g, ok := m.Data.(metricdata.Gauge[int64]); ok && m.Name == bitcoin.MetricNameLag {
			fmt.Println(m.Name, "=", g.DataPoints[0].Value, m.Unit)
		}
	}
	// Output:
	// block 1 handled in a traced context: true
	// anya.bitcoin.notifier.lag = 0 {block}
}

package monitor_test

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/security"
)

// exampleIdentities links one address to a DID with reports against it.
type exampleIdentities struct{ address string }

func (x exampleIdentities) Owner(_ context.Context, address string) (string, error) {
	if address == x.address {
		return "did:example:alice", nil
	}
	return "", nil
}

func (exampleIdentities) Features(context.Context, string, string) (map[string]float64, error) {
	return map[string]float64{"prior_reports": 3, "address_linked": 1}, nil
}

// memCheckpoint keeps the monitor's checkpoint in memory.
type memCheckpoint struct{ at bitcoin.BlockStamp }

func (c *memCheckpoint) Load(context.Context) (bitcoin.BlockStamp, error)   { return c.at, nil }
func (c *memCheckpoint) Save(_ context.Context, b bitcoin.BlockStamp) error { c.at = b; return nil }

// A monitor started from a checkpoint scores the blocks mined since: a payment from an address
// linked to a reported identity raises an alert.
func Example() {
	ctx := context.Background()
	alice := bitcointest.KeyFromSeed("alice")
	chain, _ := simchain.New(simchain.WithCoinbaseScript(bitcointest.P2WPKHScript(alice)))
	defer chain.Close()
	_, _ = chain.Mine(101) // alice's first coinbase matures
	wallet, _ := bitcointest.NewWallet(chain, alice)
	cp := &memCheckpoint{at: chain.Tip()}
	_, _ = wallet.Send(ctx, wire.NewTxOut(10_000_000, bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("shop"))))
	_, _ = chain.Mine(1)

	b, _ := bus.New()
	defer b.Close()
	notifier, _ := bitcoin.NewNotifier(ctx, chain)
	defer notifier.Close()
	model, _ := models.Load(ctx, models.Fraud)
	engine, _ := ml.NewEngine(model, ml.WithBackend(ml.NewGoBackend()))
	defer engine.Close()
	bounds, _ := security.New(monitor.Boundaries())
	m, err := monitor.New(chain, notifier, b, engine, bounds, monitor.WithCheckpoints(cp),
		monitor.WithIdentities(exampleIdentities{wallet.Address().EncodeAddress()}))
	if err != nil {
		panic(err)
	}
	alerts := make(chan monitor.Alert, 1)
	_, _ = bus.Subscribe(b, monitor.TopicAlert, func(_ context.Context, e bus.Envelope[monitor.Alert]) error {
		alerts <- e.Payload
		return nil
	})
	run, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- m.Run(run) }()
	a := <-alerts
	stop()
	<-done
	fmt.Printf("alert %s: risk %.2f ≥ %.2f, sender %s, in block %d\n", a.ID, a.Risk, a.Threshold, a.DID, a.Block.Height)
	// Output:
	// alert 64d3d29c4825d00514d5f71e023c274b: risk 0.95 ≥ 0.70, sender did:example:alice, in block 102
}

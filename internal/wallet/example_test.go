package wallet_test

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/internal/wallet"
)

func Example() {
	ctx := context.Background()
	sim, _ := simchain.New()
	defer sim.Close()
	none := func(context.Context, []wire.OutPoint) (map[wire.OutPoint]string, error) { return nil, nil }
	w, _ := wallet.New(sim, bitcoin.MinRelayFeeRate, none)
	payer, _ := w.Add(bitcointest.KeyFromSeed("example payer"))
	payee, _ := bitcoin.NewP2WPKH(bitcointest.KeyFromSeed("example payee").PubKey(), w.Network())

	_, _ = sim.Mine(1, simchain.PayTo(payer.PkScript()))
	_, _ = sim.Mine(100) // coinbase maturity

	unlock, _ := w.Lock(ctx, payer.String())
	tx, err := w.Build(ctx, wallet.Payment{From: payer.String(), To: payee, Amount: 50_000, Key: "order-1"})
	if err != nil {
		panic(err)
	}
	_, err = sim.Broadcast(ctx, tx)
	unlock()
	fmt.Println("accepted:", err == nil, "outputs:", len(tx.TxOut))
	// Output: accepted: true outputs: 2
}

package bitcointest_test

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
)

// A test wallet on a simchain: mine to it, then pay someone.
func ExampleWallet() {
	ctx := context.Background()
	chain, _ := simchain.New()
	defer chain.Close()
	w, _ := bitcointest.NewWalletFromSeed(chain, "alice")
	chain.Mine(101, simchain.PayTo(w.PkScript())) // rewards of blocks 1 and 2 can go in block 102
	bal, _ := w.Balance(ctx)
	fmt.Println(w.Address(), bal)

	bob := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("bob"))
	tx, _ := w.Send(ctx, wire.NewTxOut(1_000_000, bob))
	fmt.Println(len(tx.TxIn), "input,", len(tx.TxOut), "outputs")
	utxos, _ := chain.UTXOs(ctx, bob)
	fmt.Println(utxos[0].Value, "unconfirmed:", utxos[0].Height == 0)
	// Output:
	// bcrt1qxwu5ku9m6s60ptgpjftxn0klx35cx26cc7gyur 100 BTC
	// 1 input, 2 outputs
	// 0.01000000 BTC unconfirmed: true
}

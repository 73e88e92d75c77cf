package simchain_test

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin/simchain"
)

// Mine blocks, spend a mature coinbase and watch the UTXO set follow a reorg.
func Example() {
	ctx := context.Background()
	c, _ := simchain.New() // regtest; rewards pay AnyoneCanSpendScript by default
	defer c.Close()
	hashes, _ := c.Mine(101)
	fmt.Println("tip", c.Tip().Height)

	first, _ := c.Block(ctx, hashes[0])
	coinbase := first.Transactions[0]
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: coinbase.TxHash()}, Witness: simchain.AnyoneCanSpendWitness()})
	tx.AddTxOut(wire.NewTxOut(coinbase.TxOut[0].Value-1_000, simchain.AnyoneCanSpendScript()))
	if _, err := c.Broadcast(ctx, tx); err != nil {
		fmt.Println(err)
	}
	mined, _ := c.Mine(1)
	info, _ := c.Tx(ctx, tx.TxHash())
	fmt.Println("confirmed in the new block:", info.Block.Hash == mined[0])

	// Double spend: rejected while the first spend stands.
	double := tx.Copy()
	double.TxOut[0].Value -= 1_000
	_, err := c.Broadcast(ctx, double)
	fmt.Println(err != nil)

	// Reorg the block away without the transaction: it waits in the mempool again.
	c.Reorg(1, 2, simchain.Exclude(tx.TxHash()))
	info, _ = c.Tx(ctx, tx.TxHash())
	fmt.Println("tip", c.Tip().Height, "in mempool:", info.Block == nil)
	// Output:
	// tip 101
	// confirmed in the new block: true
	// true
	// tip 103 in mempool: true
}

package anya_test

import (
	"context"
	"fmt"
	"log"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go"
)

// WithFraudMonitor makes the Manager score the transaction stream; Monitor gives the monitor,
// whose ScoreBlock scores a block's transactions through the same path without publishing.
// Here the block Fund mined holds one transaction (besides its coinbase): the faucet's payment
// to alice, from an address linked to no DID.
func ExampleWithFraudMonitor() {
	ctx := context.Background()
	m, err := anya.New(anya.WithFraudMonitor())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	alice, _ := m.NewIdentity(ctx)
	txid, err := m.Fund(ctx, alice.Address.String(), 50_000)
	if err != nil {
		log.Fatal(err)
	}
	h, _ := chainhash.NewHashFromStr(txid)
	info, err := m.Chain().Tx(ctx, *h)
	if err != nil || info.Block == nil {
		log.Fatal("not mined: ", err)
	}
	blk, err := m.Chain().Block(ctx, info.Block.Hash)
	if err != nil {
		log.Fatal(err)
	}
	scored, err := m.Monitor().ScoreBlock(ctx, blk, info.Block.Height)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("threshold:", m.Monitor().Threshold())
	for _, s := range scored {
		fmt.Println(s.Txid.String() == txid, s.Source, s.Model, s.DID == "")
	}
	// Output:
	// threshold: 0.7
	// true block fraud@1 true
}

package rpcchain_test

import (
	"context"
	"fmt"
	"log"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/rpcchain"
)

// Connecting needs a node; bad arguments fail before any I/O with a typed error.
func ExampleNew_invalid() {
	_, err := rpcchain.New(context.Background(), rpcchain.Endpoint{}, &chaincfg.RegressionNetParams)
	fmt.Println(err)
	// Output: bitcoin: invalid Endpoint.Host: empty
}

// A Notifier on a btcd node (started with --txindex --addrindex) replays from the host's
// checkpoint and follows the chain across reconnects.
func ExampleNew() {
	ctx := context.Background()
	chain, err := rpcchain.New(ctx, rpcchain.Endpoint{Host: "127.0.0.1:18334", User: "user", Pass: "pass"}, &chaincfg.RegressionNetParams)
	if err != nil {
		log.Fatal(err)
	}
	defer chain.Close()
	checkpoint := bitcoin.BlockStamp{} // load the last processed block from the host's store
	n, err := bitcoin.NewNotifier(ctx, chain, bitcoin.WithCheckpoint(checkpoint))
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	for ev, err := range n.Blocks(ctx, checkpoint) {
		if err != nil {
			log.Fatal(err)
		}
		if c, ok := ev.(bitcoin.BlockConnected); ok {
			fmt.Println("block", c.Height) // ... then store c.Stamp() as the new checkpoint
		}
	}
}

package utxo_test

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/utxo"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

// An identity keeps its linked address's UTXOs in its own store; a block paying the address
// updates the record.
func Example() {
	ctx := context.Background()
	chain, _ := simchain.New()
	defer chain.Close()
	key := bitcointest.KeyFromSeed("example")
	addr, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	chain.Mine(101, simchain.PayTo(addr.PkScript())) // one mature coinbase

	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	node, _ := dwn.New(resolver)
	defer node.Close()
	alice, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	bridge.Setup(ctx, node, alice, "", 0, nil)
	records, _ := bridge.NewRecords(node, alice) // Alice keeps her own records here

	b, _ := utxo.New(chain, records)
	if err := b.Track(ctx, alice.String(), addr); err != nil {
		fmt.Println(err)
		return
	}
	s, _ := b.Set(alice.String(), addr)
	fmt.Println("tracked:", len(s.UTXOs), int64(s.Balance()))

	// Spend the mature coinbase to the same address in a new block.
	w, _ := bitcointest.NewWallet(chain, key)
	w.Send(ctx, wire.NewTxOut(1_000_000, addr.PkScript()))
	hashes, _ := chain.Mine(1, simchain.PayTo(simchain.AnyoneCanSpendScript()))
	hdr, _ := chain.BlockHeader(ctx, hashes[0])
	if err := b.Apply(ctx, bitcoin.BlockConnected{Height: chain.Tip().Height, Hash: hashes[0], Header: hdr}); err != nil {
		fmt.Println(err)
		return
	}
	s, _ = b.Set(alice.String(), addr)
	fmt.Println("after the block:", len(s.UTXOs), len(s.Spent))
	// Output:
	// tracked: 101 505000000000
	// after the block: 102 1
}

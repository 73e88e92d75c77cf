package didbtc_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/didbtc"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
)

// A did:jwk created from a Bitcoin key carries it: anyone resolving the DID derives its
// addresses. An Ed25519 did:key has no Bitcoin key.
func ExampleKeys() {
	ctx := context.Background()
	key := bitcointest.KeyFromSeed("example")
	id, _ := didbtc.NewDID(ctx, nil, key, "jwk")

	k, _ := didbtc.Primary(id.Document, bitcoin.Regtest)
	addr, _ := k.Address(bitcoin.P2WPKH, bitcoin.Regtest)
	want, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	fmt.Println(addr.Equal(want))

	plain, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	_, err := didbtc.Keys(plain.Document, bitcoin.Regtest)
	fmt.Println(errors.Is(err, didbtc.ErrNoBitcoinKey))
	// Output:
	// true
	// true
}

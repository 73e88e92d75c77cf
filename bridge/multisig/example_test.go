package multisig_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/didbtc"
	"github.com/anya-org/anya-go/bridge/multisig"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didjwk"
)

// Two identities whose DIDs carry their Bitcoin keys make a 2-of-2 P2WSH wallet.
func ExampleNew() {
	ctx := context.Background()
	a, _ := didbtc.NewDID(ctx, nil, bitcointest.KeyFromSeed("a"), "jwk")
	b, _ := didbtc.NewDID(ctx, nil, bitcointest.KeyFromSeed("b"), "jwk")
	resolver, _ := did.NewResolver(did.WithMethods(didjwk.New()))

	w, err := multisig.New(ctx, resolver, 2, []string{a.String(), b.String()}, bitcoin.Regtest)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(w.Kind(), w.Threshold(), len(w.Participants()), w.Address().Type())
	fmt.Println(strings.HasPrefix(w.Descriptor(), "wsh(sortedmulti(2,"))
	// Output:
	// sorted-p2wsh 2 2 p2wsh
	// true
}

package link_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/link"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

// Alice proves she controls both her DID and her address; the host links them, finds her from
// the address, and later revokes the link.
func Example() {
	ctx := context.Background()
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()), did.WithoutCache())
	node, _ := dwn.New(resolver)
	defer node.Close()
	host, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	alice, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	bridge.Setup(ctx, node, host, "", 0, nil)
	grants, _ := bridge.Setup(ctx, node, alice, host.String(), 0, nil)
	var book bridge.GrantBook
	book.Add(alice.String(), grants)
	records, _ := bridge.NewRecords(node, host, bridge.WithGrants(book.Lookup))
	linker, _ := link.New(ctx, host, resolver, records, bitcoin.Regtest)

	key := bitcointest.KeyFromSeed("alice")
	addr, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	ch, _ := linker.Challenge(alice.String(), addr.String())
	bip322, _ := bitcoin.SignMessage(key, addr, ch)
	signer, _ := alice.Signer(ctx, did.ForRelationship(did.Authentication))
	jws, _ := jose.SignJWS(ctx, signer, []byte(ch))

	lk, err := linker.Link(ctx, link.Proof{DID: alice.String(), Address: addr.String(), Challenge: ch, BIP322: bip322, JWS: jws})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(linker.Index().DIDs(addr.String())[0] == alice.String())

	linker.Revoke(ctx, alice.String(), addr.String())
	_, err = linker.Verify(ctx, lk.Credential, alice.String(), addr.String())
	fmt.Println(errors.Is(err, link.ErrRevoked), len(linker.Index().DIDs(addr.String())))
	// Output:
	// true
	// true 0
}

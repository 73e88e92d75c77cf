package anya_test

import (
	"context"
	"fmt"
	"log"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bridge/didbtc"
)

// An identity's Bitcoin key is in its DID document; its address, linked both ways, looks up
// its DID; revoked, the link no longer verifies.
func ExampleManager_Links() {
	ctx := context.Background()
	m, err := anya.New()
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	alice, err := m.NewIdentity(ctx)
	if err != nil {
		log.Fatal(err)
	}
	res, err := m.Resolver().Resolve(ctx, alice.String())
	if err != nil {
		log.Fatal(err)
	}
	key, err := didbtc.Primary(res.Document, m.Network())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the document's key pays alice:", key.Owns(alice.Address))

	if _, err := m.LinkIdentity(ctx, alice); err != nil {
		log.Fatal(err)
	}
	dids := m.Links().Index().DIDs(alice.Address.String())
	fmt.Println("the address looks up alice:", len(dids) == 1 && dids[0] == alice.String())

	if err := m.RevokeLink(ctx, alice.String(), alice.Address.String()); err != nil {
		log.Fatal(err)
	}
	v, err := m.VerifyLink(ctx, anya.VerifyLink{DID: alice.String(), Address: alice.Address.String()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after revocation:", v.Verified, v.Refusal.Reason)
	// Output:
	// the document's key pays alice: true
	// the address looks up alice: true
	// after revocation: false link_revoked
}

package anya_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/security"
)

// The verified payment on embedded defaults: identities, a linked and funded address, one
// payment that goes through and one the fraud model blocks.
func Example() {
	ctx := context.Background()
	m, err := anya.New()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	alice, _ := m.NewIdentity(ctx)
	shop, _ := m.NewIdentity(ctx)

	sim := m.Chain().(*simchain.Chain) // the default chain
	_, _ = sim.Mine(1, simchain.PayTo(alice.Address.PkScript()))
	_, _ = sim.Mine(100) // coinbase maturity

	// Alice proves she controls her address; the host links it to her DID.
	challenge, _ := m.Challenge(alice.String(), alice.Address.String())
	sig, _ := alice.SignChallenge(challenge)
	if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: alice.String(), Address: alice.Address.String(),
		Challenge: challenge, Signature: sig}); err != nil {
		panic(err)
	}

	for _, p := range []struct {
		id     string
		amount int64
	}{{"order-1", 25_000}, {"order-2", 100_000_000}} {
		res, err := m.Execute(ctx, anya.TriProtocol{PaymentID: p.id, SenderDID: alice.String(),
			SenderAddress: alice.Address.String(), RecipientAddress: shop.Address.String(), AmountSat: p.amount})
		if err != nil {
			panic(err)
		}
		pay := res.(*anya.Payment)
		fmt.Println(pay.PaymentID, pay.Outcome, "verified:", pay.SenderVerified, "recorded:", pay.RecordID != "")
	}
	// Output:
	// order-1 sent verified: true recorded: true
	// order-2 blocked verified: true recorded: false
}

// ML can block a payment but never authorise one: without a verified identity in the security
// context, the ML→Bitcoin boundary refuses it whatever the risk.
func ExampleMLToBitcoin() {
	ctx := context.Background()
	m, _ := anya.New()
	defer m.Close()
	alice, _ := m.NewIdentity(ctx)
	shop, _ := m.NewIdentity(ctx)
	sim := m.Chain().(*simchain.Chain)
	_, _ = sim.Mine(1, simchain.PayTo(alice.Address.PkScript()))
	_, _ = sim.Mine(100)

	op := anya.MLToBitcoin{PaymentID: "p-1", SenderDID: alice.String(), SenderAddress: alice.Address.String(),
		RecipientAddress: shop.Address.String(), AmountSat: 10_000}
	_, err := m.Execute(ctx, op)
	fmt.Println("no identity:", errors.Is(err, security.ErrUnverifiedIdentity))

	challenge, _ := m.Challenge(alice.String(), alice.Address.String())
	sig, _ := alice.SignChallenge(challenge)
	_, _ = m.Execute(ctx, anya.BitcoinToWeb5{DID: alice.String(), Address: alice.Address.String(), Challenge: challenge, Signature: sig})
	sc, _ := m.SecurityContext(ctx, alice.String(), alice.Address.String(), "")
	res, err := m.Execute(security.NewContext(ctx, sc), op)
	if err != nil {
		panic(err)
	}
	g := res.(*anya.Gate)
	fmt.Println("verified identity: blocked", g.Blocked, "sent", g.Txid != "")
	// Output:
	// no identity: true
	// verified identity: blocked false sent true
}

// An identity's reputation, from its DID, credentials, address link and history.
func ExampleWeb5ToML() {
	ctx := context.Background()
	m, _ := anya.New()
	defer m.Close()
	alice, _ := m.NewIdentity(ctx)
	res, err := m.Execute(ctx, anya.Web5ToML{DID: alice.String()})
	if err != nil {
		panic(err)
	}
	r := res.(*anya.Reputation)
	fmt.Println(r.Model, "did:dht method code", r.Features[anya.FeatureDIDMethod], "linked", r.Features[anya.FeatureAddressLinked])
	// Output: reputation@1 did:dht method code 3 linked 0
}

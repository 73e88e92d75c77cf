package anya_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/security"
)

// The README's quick start, verbatim (a test keeps them identical): the verified payment on
// embedded defaults, one that goes through and one that says why it did not.
func Example() {
	ctx := context.Background()
	m, err := anya.New() // embedded defaults: a regtest chain, in-process DIDs, SQLite, the shipped models
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	alice, err := m.NewIdentity(ctx) // a did:dht and a Bitcoin key
	if err != nil {
		log.Fatal(err)
	}
	shop, err := m.NewIdentity(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// Coins for alice on the embedded chain, and her address linked to her DID: a BIP-322
	// proof, turned into a credential in her records store.
	if _, err := m.Fund(ctx, alice.Address.String(), 100_000_000); err != nil {
		log.Fatal(err)
	}
	if _, err := m.LinkIdentity(ctx, alice); err != nil {
		log.Fatal(err)
	}

	// The verified payment: verify alice (Web5), score the risk (ML), send (Bitcoin), record it (Web5).
	pay, err := m.Pay(ctx, anya.TriProtocol{PaymentID: "order-42", SenderDID: alice.String(),
		SenderAddress: alice.Address.String(), RecipientAddress: shop.Address.String(), AmountSat: 25_000})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pay.PaymentID, pay.Outcome)

	// The shop never linked its address: its payment is not sent, and says why.
	pay, err = m.Pay(ctx, anya.TriProtocol{PaymentID: "refund-7", SenderDID: shop.String(),
		SenderAddress: shop.Address.String(), RecipientAddress: alice.Address.String(), AmountSat: 10_000})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pay.PaymentID, pay.Outcome, pay.Refusal.Reason)
	// Output:
	// order-42 sent
	// refund-7 unverified no_link
}

// A payment the fraud model blocks says so, with the risk and the threshold it reached; the
// stored payment says the same, and a retry after a refusal takes a new payment ID.
func ExampleManager_Pay() {
	ctx := context.Background()
	m, err := anya.New()
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	alice, _ := m.NewIdentity(ctx)
	shop, _ := m.NewIdentity(ctx)
	_, _ = m.Fund(ctx, alice.Address.String(), 200_000_000)
	_, _ = m.LinkIdentity(ctx, alice)

	// One bitcoin out of a fresh coin: too risky.
	pay, err := m.Pay(ctx, anya.TriProtocol{PaymentID: "order-1", SenderDID: alice.String(),
		SenderAddress: alice.Address.String(), RecipientAddress: shop.Address.String(), AmountSat: 100_000_000})
	if err != nil {
		log.Fatal(err)
	}
	r := pay.Refusal
	fmt.Println(pay.Outcome, r.Reason, "at or above", r.Threshold, r.Risk >= r.Threshold)
	stored, _ := m.Payment(ctx, "order-1")
	fmt.Println("stored:", stored.Outcome, stored.Refusal.Reason)

	// A smaller amount, under a new payment ID.
	pay, _ = m.Pay(ctx, anya.TriProtocol{PaymentID: "order-1.2", SenderDID: alice.String(),
		SenderAddress: alice.Address.String(), RecipientAddress: shop.Address.String(), AmountSat: 25_000})
	fmt.Println(pay.PaymentID, pay.Outcome, pay.Refusal == nil)
	// Output:
	// blocked risk_above_threshold at or above 0.7 true
	// stored: blocked risk_above_threshold
	// order-1.2 sent true
}

// ML can block a payment but never authorise one: without a verified identity in the security
// context, the ML→Bitcoin boundary refuses it whatever the risk.
func ExampleManager_RiskGate() {
	ctx := context.Background()
	m, _ := anya.New()
	defer m.Close()
	alice, _ := m.NewIdentity(ctx)
	shop, _ := m.NewIdentity(ctx)
	_, _ = m.Fund(ctx, alice.Address.String(), 100_000_000)

	op := anya.MLToBitcoin{PaymentID: "p-1", SenderDID: alice.String(), SenderAddress: alice.Address.String(),
		RecipientAddress: shop.Address.String(), AmountSat: 10_000}
	_, err := m.RiskGate(ctx, op)
	fmt.Println("no identity:", errors.Is(err, security.ErrUnverifiedIdentity))

	_, _ = m.LinkIdentity(ctx, alice)
	sc, _ := m.SecurityContext(ctx, alice.String(), alice.Address.String(), "")
	g, err := m.RiskGate(security.NewContext(ctx, sc), op)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified identity: blocked", g.Blocked, "sent", g.Txid != "")
	// Output:
	// no identity: true
	// verified identity: blocked false sent true
}

// An identity's reputation, from its DID, credentials, address link and history.
func ExampleManager_Reputation() {
	ctx := context.Background()
	m, _ := anya.New()
	defer m.Close()
	alice, _ := m.NewIdentity(ctx)
	r, err := m.Reputation(ctx, alice.String())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Model, "did:dht method code", r.Features[anya.FeatureDIDMethod], "linked", r.Features[anya.FeatureAddressLinked])
	// Output: reputation@1 did:dht method code 3 linked 0
}

// Execute carries out any operation as a value, for hosts that dispatch generically; its
// result is the typed entry point's.
func ExampleManager_Execute() {
	ctx := context.Background()
	m, _ := anya.New()
	defer m.Close()
	alice, _ := m.NewIdentity(ctx)
	res, err := m.Execute(ctx, anya.VerifyLink{DID: alice.String(), Address: alice.Address.String()})
	if err != nil {
		log.Fatal(err)
	}
	v := res.(*anya.LinkVerification)
	fmt.Println(anya.DirectionOf(res), v.Verified, v.Refusal.Reason)
	// Output: bitcoin_to_web5 false no_link
}

// Fund works on the embedded chain only: the coins come from blocks it mines.
func ExampleManager_Fund() {
	ctx := context.Background()
	m, _ := anya.New()
	defer m.Close()
	alice, _ := m.NewIdentity(ctx)
	if _, err := m.Fund(ctx, alice.Address.String(), 50_000); err != nil {
		log.Fatal(err)
	}
	confirmed, _, _ := m.Balance(ctx, alice.Address.String())
	fmt.Println(int64(confirmed))
	// Output: 50000
}

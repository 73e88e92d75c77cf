package anyatest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/anya-org/anya-go/anyatest"
)

// A Manager with two funded, linked identities, and a payment between them. In a test,
// anyatest.New(t, ...) does the same and closes the Manager when the test ends.
func Example() {
	ctx := context.Background()
	env, err := anyatest.Start(ctx, anyatest.WithFundedIdentities(2, 1_000_000))
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close()
	alice, shop := env.Identities[0], env.Identities[1]

	confirmed, _, _ := env.Manager.Balance(ctx, alice.Address.String())
	fmt.Println("alice:", int64(confirmed), "sat, linked:", alice.Link.Address == alice.Address.String())

	pay, err := env.Pay(ctx, "order-1", alice, shop, 25_000)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pay.PaymentID, pay.Outcome)
	// Output:
	// alice: 1000000 sat, linked: true
	// order-1 sent
}

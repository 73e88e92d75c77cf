package anya_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go"
)

// Health is what a dashboard or a readiness probe looks at: a new Manager answers for its chain,
// has no unfinished run, and its (empty) audit log verifies.
func ExampleManager_Health() {
	m, err := anya.New()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	h, err := m.Health(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("ok:", h.OK, h.Problems)
	fmt.Println("chain:", h.Chain.Network, "reachable:", h.Chain.Reachable)
	fmt.Println("engines:", len(h.Engines), "unfinished runs:", h.Unfinished)
	fmt.Println("audit:", h.Audit.Status)
	// Output:
	// ok: true []
	// chain: regtest reachable: true
	// engines: 2 unfinished runs: 0
	// audit: intact
}

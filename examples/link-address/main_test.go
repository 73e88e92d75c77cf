package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The program runs to completion: linked, found from the address, UTXOs followed and undone,
// revoked.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"linked: proved by the address (BIP-322) and by #",
		"address → did:key:z6Mk",
		"UTXO record: 1 coin(s), 5000000000 sat",
		"2 coin(s), 10000000000 sat",
		"after the block is disconnected: 1 coin(s)",
		"verify fails as revoked: true; address → 0 DID(s)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

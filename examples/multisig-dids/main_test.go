package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The program runs to completion: both spends are accepted by the chain.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"alice did:dht", "bob   did:jwk", "carol did:key",
		"wallet 2-of-3 tapscript-multisig, stored with 3 participants",
		"alice+carol spent through the script path: 5 witness items",
		"all three spent through the MuSig2 key path: 1 witness item",
		"in 1 coin",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

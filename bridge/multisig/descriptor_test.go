package multisig

import "testing"

func TestDescriptorChecksum(t *testing.T) {
	// BIP-380's example.
	if got := withChecksum("raw(deadbeef)"); got != "raw(deadbeef)#89f8spxm" {
		t.Fatalf("got %s", got)
	}
	if _, ok := descriptorChecksum("raw(\u00e9)"); ok {
		t.Fatal("a character outside the descriptor charset was accepted")
	}
}

package didtest_test

import (
	"fmt"

	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/did/didtest"
)

// A method resolver's conformance test is one call in its package's tests:
//
//	func TestConformance(t *testing.T) { didtest.Run(t, h) }
func ExampleHarness() {
	h := didtest.Harness{
		Method:   didkey.New(),
		Existing: []string{"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"},
		Invalid:  []string{"did:key:abc"},
	}
	fmt.Println(h.Method.Method(), len(h.Existing), len(h.Invalid))
	// Output: key 1 1
}

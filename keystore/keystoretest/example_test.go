package keystoretest_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/anya-org/anya-go/keystore"
	"github.com/anya-org/anya-go/keystore/keystoretest"
)

// The edge-case entries round-trip through the in-memory store.
func ExampleEntries() {
	ctx := context.Background()
	var s keystore.Memory // the zero Memory is an empty store
	same := 0
	for _, e := range keystoretest.Entries() {
		if err := s.Put(ctx, e); err != nil {
			fmt.Println(err)
			return
		}
		if got, err := s.Get(ctx, e.Name); err == nil && bytes.Equal(got.Secret, e.Secret) {
			same++
		}
	}
	fmt.Println(same, "of", len(keystoretest.Entries()), "entries read back unchanged")
	// Output: 6 of 6 entries read back unchanged
}

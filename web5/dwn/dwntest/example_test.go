package dwntest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/web5/dwn"
)

// A store's conformance test is one line in its package's tests:
//
//	func TestConformance(t *testing.T) {
//		dwntest.Run(t, func(t *testing.T) dwn.Store { return dwn.NewMemoryStore() })
//	}
//
// Among other things the suite checks that a missing record is ErrNotFound and that a
// conditional put against the wrong version is ErrConflict, as here.
func ExampleRun() {
	ctx := context.Background()
	var s dwn.Store = dwn.NewMemoryStore()
	defer s.Close()
	_, err := s.Record(ctx, "did:example:alice", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
	fmt.Println(errors.Is(err, dwn.ErrNotFound))
	err = s.PutRecord(ctx, "did:example:alice", &dwn.Record{ID: "x"}, "bafyrei-not-there")
	fmt.Println(errors.Is(err, dwn.ErrConflict))
	// Output:
	// true
	// true
}

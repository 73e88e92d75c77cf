package web5test

import (
	"testing"

	"github.com/anya-org/anya-go/web5/dwn"
)

// DWN returns a records store node that verifies messages through the network, on a
// private in-memory SQLite store; it is closed when the test ends. Options are passed to
// dwn.New.
func (n *Network) DWN(t testing.TB, opts ...dwn.Option) *dwn.Node {
	t.Helper()
	node, err := dwn.New(n.Resolver(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Close() })
	return node
}

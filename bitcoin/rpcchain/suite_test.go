package rpcchain_test

import (
	"testing"

	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

func TestChainSuite(t *testing.T) {
	node := bitcointest.StartBtcd(t)
	if err := node.MineTo(t.Context(), bitcointest.SegwitHeight); err != nil {
		t.Fatal(err)
	}
	bitcointest.RunChainSuite(t, node.Backend)
}

package simchain_test

import (
	"testing"

	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

func TestChainSuite(t *testing.T) { bitcointest.RunChainSuite(t, bitcointest.NewSimBackend) }

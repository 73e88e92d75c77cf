package rpcchain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/internal/zerotest"
	"github.com/anya-org/anya-go/bitcoin/rpcchain"
)

// Every method of a zero Chain returns a NotConstructedError naming rpcchain.New, or a zero
// value; none panics, and none dials anything.
func TestZeroChain(t *testing.T) {
	var c rpcchain.Chain
	for _, r := range zerotest.Call(t, &c) {
		err := r.Err()
		if err == nil {
			continue
		}
		var nc *bitcoin.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, rpcchain.ErrNotConstructed) || !strings.Contains(err.Error(), "rpcchain.New") {
			t.Errorf("%s: %v", r.Method, err)
		}
	}
	if c.Params() != nil || c.Close() != nil {
		t.Fatal("a zero Chain has a network")
	}
}

// New refuses an invalid option before it dials.
func TestNewOptionError(t *testing.T) {
	_, err := rpcchain.New(t.Context(), rpcchain.Endpoint{Host: "127.0.0.1:1"}, nil, rpcchain.WithReconnectBackoff(2, 1))
	var oe *bitcoin.OptionError
	if !errors.As(err, &oe) || oe.Option != "rpcchain.WithReconnectBackoff" || !errors.Is(err, rpcchain.ErrInvalidOption) {
		t.Fatalf("got %v", err)
	}
}

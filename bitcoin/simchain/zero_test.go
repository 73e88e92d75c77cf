package simchain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/internal/zerotest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
)

// Every method of a zero Chain returns a NotConstructedError naming simchain.New, or a zero
// value; none panics.
func TestZeroChain(t *testing.T) {
	var c simchain.Chain
	for _, r := range zerotest.Call(t, &c) {
		err := r.Err()
		if err == nil {
			continue
		}
		var nc *bitcoin.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, simchain.ErrNotConstructed) || !strings.Contains(err.Error(), "simchain.New") {
			t.Errorf("%s: %v", r.Method, err)
		}
	}
	if c.Params() != nil || c.Tip() != (bitcoin.BlockStamp{}) || c.Close() != nil {
		t.Fatal("a zero Chain has a network or a tip")
	}
	called := false
	c.Subscribe(func(bitcoin.ChainUpdate) { called = true })()
	if _, err := c.Mine(1); !errors.Is(err, bitcoin.ErrNotConstructed) || called {
		t.Fatalf("Mine on a zero Chain: %v (handler called: %v)", err, called)
	}
}

package chainproxy_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/internal/chainproxy"
)

func Example() {
	ctx := context.Background()
	sim, _ := simchain.New()
	defer sim.Close()
	srv, err := chainproxy.NewServer(sim)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv) // in a real setup: a listener another process can reach
	defer hs.Close()

	chain, err := chainproxy.Dial(ctx, hs.URL, chainproxy.WithHTTPClient(hs.Client()))
	if err != nil {
		panic(err)
	}
	defer chain.Close()
	_, _ = sim.Mine(3)
	best, _ := chain.BestBlock(ctx)
	fmt.Println(chain.Params().Name, best.Height)
	// Output: regtest 3
}

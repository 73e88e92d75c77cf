package natssend_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/btcsuite/btcd/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/internal/sendstore"
	"github.com/anya-org/anya-go/internal/sendstore/natssend"
	"github.com/anya-org/anya-go/internal/sendstore/sendstoretest"
)

// Two hosts on one JetStream server: the coin the first reserves, the second cannot.
func Example() {
	dir, _ := os.MkdirTemp("", "natssend")
	defer os.RemoveAll(dir)
	srv, err := natsx.StartServer(natsx.ServerConfig{StoreDir: dir})
	if err != nil {
		panic(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	hostA, _ := natssend.New(ctx, js)
	hostB, _ := natssend.New(ctx, js)

	coin := wire.OutPoint{Index: 1}
	_, loaded, err := hostA.PutIfAbsent(ctx, sendstoretest.Spending("payment-1", coin))
	fmt.Println("host A recorded payment-1:", !loaded, err)
	_, _, err = hostB.PutIfAbsent(ctx, sendstoretest.Spending("payment-2", coin))
	fmt.Println("host B refused:", errors.Is(err, sendstore.ErrCoinReserved))
	// Output:
	// host A recorded payment-1: true <nil>
	// host B refused: true
}

package natsbus_test

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/natsbus"
	"github.com/anya-org/anya-go/internal/natsx"
)

type Paid struct {
	Order string  `json:"order"`
	BTC   float64 `json:"btc"`
}

// Two hosts share a group: each payment is handled by one of them.
func Example() {
	dir, _ := os.MkdirTemp("", "natsbus")
	defer os.RemoveAll(dir)
	srv, _ := natsx.StartServer(natsx.ServerConfig{StoreDir: dir})
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	nc, _ := nats.Connect(srv.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()

	tr, err := natsbus.New(ctx, js)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close()
	hostA, _ := bus.New(bus.WithTransport(tr, nil))
	hostB, _ := bus.New(bus.WithTransport(tr, nil))

	handled := make(chan string, 2)
	for _, host := range []*bus.Bus{hostA, hostB} {
		_, _ = bus.Subscribe(host, "payments.>", func(ctx context.Context, e bus.Envelope[Paid]) error {
			handled <- e.Payload.Order
			return nil
		}, bus.Group("ledger"))
	}
	_ = bus.Publish(ctx, hostA, "payments.paid", Paid{Order: "o-1", BTC: 0.01})
	_ = bus.Publish(ctx, hostB, "payments.paid", Paid{Order: "o-2", BTC: 0.02})
	got := []string{<-handled, <-handled}
	_ = hostA.Drain(ctx)
	_ = hostB.Drain(ctx)
	sort.Strings(got)
	fmt.Println(got, "handled once each; left over:", len(handled))
	// Output: [o-1 o-2] handled once each; left over: 0
}

package natsonline_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/ml/featurestore/natsonline"
)

// The online tier keeps the newer record whatever order the writes arrive in.
func Example() {
	dir, _ := os.MkdirTemp("", "natsonline")
	defer os.RemoveAll(dir)
	srv, _ := natsx.StartServer(natsx.ServerConfig{StoreDir: dir})
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	nc, _ := nats.Connect(srv.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()

	online, err := natsonline.New(ctx, js)
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := func(x float32, minute int) featurestore.Record {
		return featurestore.Record{Entity: "did:example:bob", Vector: ml.Vector{Schema: "risk", Version: 1, Values: []float32{x}},
			Time: time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC), Seq: int64(minute)}
	}
	_, _ = online.Put(ctx, "bob", rec(0.9, 2))
	held, _ := online.Put(ctx, "bob", rec(0.1, 1)) // older: refused
	fmt.Println(held.Vector.Values)
	// Output: [0.9]
}

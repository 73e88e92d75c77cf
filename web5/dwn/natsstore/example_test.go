package natsstore_test

import (
	"context"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/dwn/natsstore"
	"github.com/anya-org/anya-go/web5/jose"
)

// Two nodes — two hosts — share records: what one stores, the other serves.
func Example() {
	dir, _ := os.MkdirTemp("", "dwnnats")
	defer os.RemoveAll(dir)
	srv, _ := natsx.StartServer(natsx.ServerConfig{StoreDir: dir})
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	ctx := context.Background()
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	var conns []*nats.Conn
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	node := func() *dwn.Node {
		nc, _ := nats.Connect(srv.ClientURL())
		conns = append(conns, nc)
		js, _ := jetstream.New(nc)
		store, err := natsstore.New(ctx, js)
		if err != nil {
			panic(err)
		}
		n, _ := dwn.New(resolver, dwn.WithStore(store))
		return n
	}
	hostA, hostB := node(), node()
	defer hostA.Close()
	defer hostB.Close()

	alice, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	tenant := alice.String()
	write, _ := dwn.NewWrite(ctx, alice, tenant, dwn.Write{Schema: "https://schema.org/Note", DataFormat: "text/plain", Data: []byte("buy milk")})
	if _, err := hostA.Process(ctx, tenant, write); err != nil {
		fmt.Println(err)
		return
	}
	query, _ := dwn.NewQuery(ctx, alice, tenant, dwn.Query{Filter: dwn.Filter{Schema: "https://schema.org/Note"}})
	reply, err := hostB.Process(ctx, tenant, query)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range reply.Records {
		fmt.Println(r.ID == write.RecordID(), string(r.Data))
	}
	// Output: true buy milk
}

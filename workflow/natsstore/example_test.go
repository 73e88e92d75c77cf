package natsstore_test

import (
	"context"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/natsstore"
)

// Two hosts share runs: the first to acquire a run's lease executes it; the other is told it is
// in progress.
func Example() {
	dir, _ := os.MkdirTemp("", "natsstore")
	defer os.RemoveAll(dir)
	srv, _ := natsx.StartServer(natsx.ServerConfig{StoreDir: dir})
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	nc, _ := nats.Connect(srv.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()

	store, err := natsstore.New(ctx, js)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	_ = store.Create(ctx, &workflow.RunRecord{ID: "pay-1", Workflow: "pay", DefinitionHash: "h", Status: workflow.StatusRunning, Version: 1}, []byte(`{}`))

	a, _ := store.Acquire(ctx, "pay-1", "host-a", workflow.DefaultLeaseTTL)
	_, err = store.Acquire(ctx, "pay-1", "host-b", workflow.DefaultLeaseTTL)
	fmt.Println(a.Owner, a.Token, err)
	// Output: host-a 1 workflow: run leased by another owner: run pay-1 is leased to host-a (token 1)
}

package natsaudit_test

import (
	"context"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/security/natsaudit"
)

// Two hosts append to one audit chain on one JetStream server.
func Example() {
	dir, _ := os.MkdirTemp("", "natsaudit")
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

	var logs []*security.AuditLog
	for range 2 {
		store, _ := natsaudit.New(ctx, js)
		l, _ := security.NewAuditLogOn(store)
		logs = append(logs, l)
	}
	for i, host := range []int{0, 1, 0} {
		e, _ := logs[host].Append(ctx, security.Entry{Kind: security.KindDecision, Action: fmt.Sprint("step ", i),
			Decision: security.DecisionAllow})
		fmt.Println("host", host, "appended entry", e.Seq)
	}
	rep, err := logs[1].Verify(ctx)
	fmt.Println("entries:", rep.Entries, "intact:", err == nil)
	// Output:
	// host 0 appended entry 1
	// host 1 appended entry 2
	// host 0 appended entry 3
	// entries: 3 intact: true
}

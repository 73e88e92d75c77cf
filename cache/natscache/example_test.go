package natscache_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/cache/natscache"
	"github.com/anya-org/anya-go/internal/natsx"
)

// One host's change is told to every host watching the shared store.
func Example() {
	dir, _ := os.MkdirTemp("", "natscache")
	defer os.RemoveAll(dir)
	srv, _ := natsx.StartServer(natsx.ServerConfig{StoreDir: dir})
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	nc, _ := nats.Connect(srv.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()

	shared, err := natscache.New(ctx, js)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer shared.Close()
	changed := make(chan string, 1)
	w, _ := shared.Watch(ctx, func(key string) { changed <- key })
	defer w.Close()

	_ = shared.Set(ctx, "web5/did:web:example.com", []byte(`{"id":"did:web:example.com"}`), 1500*time.Millisecond)
	v, _ := shared.Get(ctx, "web5/did:web:example.com")
	fmt.Println(<-changed, string(v))
	// Output: web5/did:web:example.com {"id":"did:web:example.com"}
}

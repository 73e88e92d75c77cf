package natstest_test

import (
	"context"
	"fmt"
	"os"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natstest"
)

// exampleTB is enough of a testing.TB to run the kit outside a test.
type exampleTB struct {
	dir      string
	cleanups []func()
}

func (*exampleTB) Helper()                           {}
func (*exampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (e *exampleTB) Cleanup(f func())                { e.cleanups = append(e.cleanups, f) }
func (e *exampleTB) TempDir() string                 { return e.dir }
func (*exampleTB) Name() string                      { return "example" }
func (e *exampleTB) done() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	os.RemoveAll(e.dir)
}

// A KV bucket on an embedded server keeps its entries across a restart of the server.
func ExampleServer_Restart() {
	dir, _ := os.MkdirTemp("", "natstest")
	t := &exampleTB{dir: dir}
	defer t.done()

	ctx := context.Background()
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	kv, _ := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "runs"})
	_, _ = kv.Put(ctx, "r1", []byte("running"))

	srv.Restart(t)
	kv, _ = js.KeyValue(ctx, "runs")
	e, err := kv.Get(ctx, "r1")
	fmt.Println(string(e.Value()), err)
	// Output: running <nil>
}

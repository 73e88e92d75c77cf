// Package natsbench compares the bus on its NATS JetStream transport (bus/natsbus) with bare
// nats.go JetStream doing the same work, against one embedded server in the same run: publish a
// message and wait for the stream's acknowledgement, consume it on a consumer of its own,
// decode it and acknowledge it. The clock runs until every message has been handled and
// acknowledged.
package natsbench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/natsbus"
	"github.com/anya-org/anya-go/internal/natsx"
)

type event struct {
	Seq    int   `json:"seq"`
	Amount int64 `json:"amount"`
}

var (
	srv    *server.Server
	stream atomic.Int64
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "natsbench")
	if err != nil {
		panic(err)
	}
	srv, err = natsx.StartServer(natsx.ServerConfig{StoreDir: dir})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	srv.Shutdown()
	srv.WaitForShutdown()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func connect(b *testing.B) jetstream.JetStream {
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	return js
}

// counter lets the benchmark wait until n messages were handled.
type counter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func newCounter(want int) *counter { return &counter{want: int64(want), done: make(chan struct{})} }

func (c *counter) hit() {
	if c.n.Add(1) == c.want {
		close(c.done)
	}
}

func BenchmarkJetStream(b *testing.B) {
	b.Run("impl=raw", benchRaw)
	b.Run("impl=anya", benchAnya)
}

// benchRaw is the anchor: the same stream settings (interest retention, file storage), one
// ephemeral consumer with explicit acks, a JSON payload and a de-duplication ID per message.
func benchRaw(b *testing.B) {
	ctx := context.Background()
	js := connect(b)
	n := stream.Add(1)
	prefix := fmt.Sprint("raw", n)
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: fmt.Sprint("RAW", n), Subjects: []string{prefix + ".>"},
		Retention: jetstream.InterestPolicy, Storage: jetstream.FileStorage, MaxAge: natsbus.DefaultMaxAge, Duplicates: natsbus.DefaultDuplicateWindow})
	if err != nil {
		b.Fatal(err)
	}
	cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{FilterSubject: prefix + ".bitcoin.block.*", AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy, MaxAckPending: natsbus.DefaultMaxAckPending, AckWait: natsbus.DefaultAckWait})
	if err != nil {
		b.Fatal(err)
	}
	cnt := newCounter(b.N)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var e event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			b.Error(err)
		}
		_ = m.Ack()
		cnt.hit()
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		data, err := json.Marshal(event{Seq: i, Amount: 5})
		if err != nil {
			b.Fatal(err)
		}
		msg := &nats.Msg{Subject: prefix + ".bitcoin.block.connected", Data: data,
			Header: nats.Header{jetstream.MsgIDHeader: []string{strconv.Itoa(i)}}}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	<-cnt.done
	b.StopTimer()
	cc.Stop()
	<-cc.Closed()
}

// benchAnya is the bus on the JetStream transport: bus.Publish of a typed event, a typed
// subscription, acknowledged by the bus once the handler has returned.
func benchAnya(b *testing.B) {
	ctx := context.Background()
	js := connect(b)
	n := stream.Add(1)
	tr, err := natsbus.New(ctx, js, natsbus.WithStream(fmt.Sprint("ANYA", n)), natsbus.WithSubjectPrefix(fmt.Sprint("anya", n)))
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	bb, err := bus.New(bus.WithTransport(tr, nil))
	if err != nil {
		b.Fatal(err)
	}
	cnt := newCounter(b.N)
	if _, err := bus.Subscribe(bb, "bitcoin.block.*", func(context.Context, bus.Envelope[event]) error {
		cnt.hit()
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := bus.Publish(ctx, bb, "bitcoin.block.connected", event{Seq: i, Amount: 5}); err != nil {
			b.Fatal(err)
		}
	}
	<-cnt.done
	b.StopTimer()
	bb.Close()
}

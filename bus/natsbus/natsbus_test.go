package natsbus_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
	"github.com/anya-org/anya-go/bus/natsbus"
	"github.com/anya-org/anya-go/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var seq atomic.Int64

// newTransport returns a transport on srv with a stream and subjects of its own, closed when
// the test ends.
func newTransport(t *testing.T, srv *natstest.Server, opts ...natsbus.Option) *natsbus.Transport {
	t.Helper()
	n := seq.Add(1)
	opts = append([]natsbus.Option{
		natsbus.WithStream(fmt.Sprint("T", n)), natsbus.WithSubjectPrefix(fmt.Sprint("t", n)),
		natsbus.WithBackoff(10*time.Millisecond, 50*time.Millisecond), natsbus.WithMaxDeliver(3),
	}, opts...)
	tr, err := natsbus.New(context.Background(), srv.JetStream(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	bustest.RunTransport(t, func(t *testing.T) bus.Transport { return newTransport(t, srv) },
		bustest.Persistent(), bustest.Groups(), bustest.Redelivery())
}

package natsbus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
	"github.com/anya-org/anya-go/bus/natsbus"
	"github.com/anya-org/anya-go/internal/natstest"
)

type payload struct {
	N int `json:"n"`
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), bustest.DefaultWait)
	t.Cleanup(cancel)
	return ctx
}

func newBus(t *testing.T, tr bus.Transport, opts ...bus.Option) *bus.Bus {
	t.Helper()
	b, err := bus.New(append([]bus.Option{bus.WithTransport(tr, nil)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// collector is a raw transport handler that settles what it receives.
type collector struct {
	mu   sync.Mutex
	got  []*bus.Message
	fail func(m *bus.Message) error // nil: accept everything
}

func (c *collector) handle(_ context.Context, m *bus.Message) error {
	if c.fail != nil {
		if err := c.fail(m); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.got = append(c.got, &bus.Message{Meta: m.Meta, Data: append([]byte(nil), m.Data...)})
	c.mu.Unlock()
	if m.Acker != nil {
		m.Acker.Ack()
	}
	return nil
}

func (c *collector) wait(t *testing.T, n int) []*bus.Message {
	t.Helper()
	deadline := time.Now().Add(bustest.DefaultWait)
	for {
		c.mu.Lock()
		got := slices.Clone(c.got)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d messages", len(got), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func msg(id bus.ID, topic string, n int) *bus.Message {
	return &bus.Message{Meta: bus.Meta{ID: id, Topic: topic, Time: time.Unix(1700000000, 5)}, Data: fmt.Appendf(nil, `{"n":%d}`, n)}
}

func mustID(t *testing.T, s string) bus.ID {
	id, err := bus.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A message published twice with the same ID (a publisher retrying after a crash) is stored
// and delivered once.
func TestDeduplicatesRepublishedID(t *testing.T) {
	srv := natstest.Start(t)
	tr := newTransport(t, srv)
	var c collector
	u, err := tr.Subscribe("orders.>", c.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Unsubscribe()
	id := mustID(t, "00000000-0000-0001-0000-000000000001")
	for range 3 {
		if err := tr.Publish(ctxT(t), msg(id, "orders.paid", 1)); err != nil {
			t.Fatal(err)
		}
	}
	other := mustID(t, "00000000-0000-0001-0000-000000000002")
	if err := tr.Publish(ctxT(t), msg(other, "orders.paid", 2)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got := c.wait(t, 2)
	if len(got) != 2 || got[0].Meta.ID != id || got[1].Meta.ID != other {
		t.Fatalf("got %d messages: %+v", len(got), got)
	}
}

// A handler that refuses a message (returns an error) gets it again after the backoff.
func TestRedeliversAfterHandlerError(t *testing.T) {
	srv := natstest.Start(t)
	tr := newTransport(t, srv)
	var mu sync.Mutex
	attempts := 0
	c := collector{fail: func(*bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts < 3 {
			return errors.New("busy")
		}
		return nil
	}}
	u, err := tr.Subscribe("jobs", c.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Unsubscribe()
	if err := tr.Publish(ctxT(t), msg(mustID(t, "00000000-0000-0001-0000-000000000003"), "jobs", 7)); err != nil {
		t.Fatal(err)
	}
	if got := c.wait(t, 1); string(got[0].Data) != `{"n":7}` {
		t.Fatalf("got %s", got[0].Data)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts != 3 {
		t.Fatalf("delivered %d times, want 3", attempts)
	}
}

// A member that dies holding a message (its connection closes, nothing is settled) loses it to
// another member once the ack wait has passed.
func TestDeadMemberMessagesGoToAnother(t *testing.T) {
	srv := natstest.Start(t)
	js1 := srv.JetStream(t)
	tr1, err := natsbus.New(ctxT(t), js1, natsbus.WithStream("DEAD"), natsbus.WithSubjectPrefix("dead"), natsbus.WithAckWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan struct{})
	if _, err := tr1.SubscribeGroup("work", "g", func(context.Context, *bus.Message) error {
		close(held) // takes charge of it, and never settles it
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := tr1.Publish(ctxT(t), msg(mustID(t, "00000000-0000-0001-0000-000000000004"), "work", 1)); err != nil {
		t.Fatal(err)
	}
	<-held
	js1.Conn().Close() // the process dies: no unsubscribe, no nak
	_ = tr1.Close()

	tr2, err := natsbus.New(ctxT(t), srv.JetStream(t), natsbus.WithStream("DEAD"), natsbus.WithSubjectPrefix("dead"), natsbus.WithAckWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	var c collector
	if _, err := tr2.SubscribeGroup("work", "g", c.handle); err != nil {
		t.Fatal(err)
	}
	if got := c.wait(t, 1); string(got[0].Data) != `{"n":1}` {
		t.Fatalf("got %s", got[0].Data)
	}
}

// A server restart (same store directory) loses nothing: what was published before it reaches
// the group after it, and publishing resumes.
func TestServerRestartLosesNothing(t *testing.T) {
	srv := natstest.Start(t)
	tr := newTransport(t, srv)
	b := newBus(t, tr)
	var mu sync.Mutex
	seen := map[int]bool{}
	_, err := bus.Subscribe(b, "ledger.>", func(_ context.Context, e bus.Envelope[payload]) error {
		mu.Lock()
		seen[e.Payload.N] = true
		mu.Unlock()
		return nil
	}, bus.Group("ledger"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := bus.Publish(ctxT(t), b, "ledger.entry", payload{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	srv.Restart(t)
	for i := 50; i < 100; i++ {
		if err := bus.Publish(ctxT(t), b, "ledger.entry", payload{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(bustest.DefaultWait)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart %d of 100 messages arrived", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Topics declared fire-and-forget travel over core NATS: delivered to who listens, never
// stored.
func TestFireAndForget(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	tr := newTransport(t, srv, natsbus.WithFireAndForget("metrics.>"))
	b := newBus(t, tr)
	rec := bustest.Record[payload](t, b, ">")
	for i := range 5 {
		if err := bus.Publish(ctxT(t), b, "metrics.cpu", payload{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := bus.Publish(ctxT(t), b, "orders.new", payload{N: 100}); err != nil {
		t.Fatal(err)
	}
	got := rec.WaitFor(t, 6)
	var ff, stored int
	for _, e := range got {
		if e.Topic == "metrics.cpu" {
			ff++
		} else {
			stored++
		}
	}
	if ff != 5 || stored != 1 {
		t.Fatalf("got %d fire-and-forget and %d stored messages", ff, stored)
	}
	st, err := js.Stream(ctxT(t), fmt.Sprint("T", seq.Load()))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs > 1 || info.State.LastSeq != 1 {
		t.Fatalf("the stream stored %d messages (last sequence %d); want only the persistent one", info.State.Msgs, info.State.LastSeq)
	}
}

// Messages on the bus's subjects that are not bus envelopes are dropped (terminated, never
// redelivered); the subscription goes on.
func TestMalformedMessagesDropped(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	tr := newTransport(t, srv)
	prefix := fmt.Sprint("t", seq.Load())
	var c collector
	u, err := tr.Subscribe(">", c.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Unsubscribe()
	attacks := map[string]*nats.Msg{
		"bad id":          {Subject: prefix + ".s.a", Header: nats.Header{natsbus.HeaderID: {"not-an-id"}}},
		"two ids":         {Subject: prefix + ".s.a", Header: nats.Header{natsbus.HeaderID: {"00000000-0000-0001-0000-000000000009", "00000000-0000-0001-0000-00000000000a"}}},
		"zero id":         {Subject: prefix + ".s.a", Header: nats.Header{natsbus.HeaderCausation: {"00000000-0000-0000-0000-000000000000"}}},
		"bad time":        {Subject: prefix + ".s.a", Header: nats.Header{natsbus.HeaderTime: {"yesterday"}}},
		"bad quoting":     {Subject: prefix + ".s.a", Header: nats.Header{natsbus.HeaderKey: {`"unterminated`}}},
		"bad escape":      {Subject: prefix + ".s.a%zz"},
		"needless escape": {Subject: prefix + ".s.%41"},
		"escaped dot":     {Subject: prefix + ".s.a%2Eb"},
		"header name":     {Subject: prefix + ".s.a", Header: nats.Header{natsbus.HeaderPrefix + "%6B": {"v"}}},
	}
	for name, m := range attacks {
		if _, err := js.PublishMsg(ctxT(t), m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	good := msg(mustID(t, "00000000-0000-0001-0000-0000000000ff"), "a", 1)
	good.Meta.Key, good.Meta.Source = " spaced\nkey", `"quoted"`
	good.Meta.Headers = bus.Headers{"k.v": "x\ty", "K": ""}
	if err := tr.Publish(ctxT(t), good); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got := c.wait(t, 1)
	if len(got) != 1 {
		t.Fatalf("%d messages delivered, want only the envelope", len(got))
	}
	m := got[0].Meta
	if m.ID != good.Meta.ID || m.Key != good.Meta.Key || m.Source != good.Meta.Source || len(m.Headers) != 2 ||
		m.Headers["k.v"] != "x\ty" || m.Headers["K"] != "" || !m.Time.Equal(good.Meta.Time) {
		t.Fatalf("envelope did not round-trip: %+v", m)
	}
}

func TestOptionsRejected(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	for name, o := range map[string]natsbus.Option{
		"stream":     natsbus.WithStream("a.b"),
		"prefix":     natsbus.WithSubjectPrefix("a.*"),
		"ackwait":    natsbus.WithAckWait(time.Millisecond),
		"maxdeliver": natsbus.WithMaxDeliver(0),
		"backoff":    natsbus.WithBackoff(time.Second, time.Millisecond),
		"pending":    natsbus.WithMaxAckPending(0),
		"maxage":     natsbus.WithMaxAge(0),
		"dup":        natsbus.WithDuplicateWindow(48 * time.Hour),
		"inactive":   natsbus.WithInactiveThreshold(0),
		"timeout":    natsbus.WithTimeout(0),
		"replicas":   natsbus.WithReplicas(7),
		"logger":     natsbus.WithLogger(nil),
		"ff":         natsbus.WithFireAndForget("a..b"),
	} {
		_, err := natsbus.New(ctxT(t), js, o)
		var oe *natsbus.OptionError
		if !errors.Is(err, natsbus.ErrInvalidOption) || !errors.As(err, &oe) {
			t.Errorf("%s: err = %v, want *OptionError", name, err)
		}
	}
	if _, err := natsbus.New(ctxT(t), nil); !errors.Is(err, natsbus.ErrInvalidOption) {
		t.Errorf("nil JetStream: %v", err)
	}
}

// Closing the transport ends its subscriptions; publishing and subscribing are refused.
func TestClose(t *testing.T) {
	srv := natstest.Start(t)
	tr := newTransport(t, srv)
	var c collector
	if _, err := tr.Subscribe("x", c.handle); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(ctxT(t), msg(bus.ID{}, "x", 1)); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if _, err := tr.Subscribe("x", c.handle); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
}

// Two buses (two hosts) publishing one event under one derived ID store it once: a
// subscriber on a third sees it once.
func TestDerivedIDPublishedByTwoBusesIsOneMessage(t *testing.T) {
	srv := natstest.Start(t)
	tr := newTransport(t, srv)
	var buses [3]*bus.Bus
	for i := range buses {
		b, err := bus.New(bus.WithTransport(tr, nil))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		buses[i] = b
	}
	got := make(chan int, 8)
	if _, err := bus.Subscribe(buses[2], "blocks.connected", func(_ context.Context, e bus.Envelope[int]) error {
		got <- e.Payload
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for h := range 2 {
		for n := range 3 {
			if err := bus.Publish(ctxT(t), buses[h], "blocks.connected", n, bus.WithID(bus.DerivedID(fmt.Sprint("block ", n)))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := buses[2].Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	close(got)
	var seen []int
	for n := range got {
		seen = append(seen, n)
	}
	if fmt.Sprint(seen) != "[0 1 2]" {
		t.Fatalf("the subscriber saw %v, want each event once in order", seen)
	}
}

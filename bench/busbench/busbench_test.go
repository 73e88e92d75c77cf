// Package busbench compares the anya-go event bus with anchor implementations, side by side in
// one run: a hand-written channel-per-subscriber bus (the ceiling), asaskevich/EventBus in async
// mode and Watermill's gochannel pub/sub. Every benchmark measures asynchronous delivery: the
// clock runs until every subscriber has handled every event.
package busbench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	evbus "github.com/asaskevich/EventBus"

	"github.com/anya-org/anya-go/bus"
)

type event struct {
	Seq    int
	Amount int64
}

const queue = 1024

// chanBus is the hand-written ceiling: a topic map guarded by a RWMutex, one buffered channel and
// one goroutine per subscriber.
type chanBus struct {
	mu   sync.RWMutex
	subs map[string][]chan event
	wg   sync.WaitGroup
}

func (c *chanBus) subscribe(topic string, h func(event)) {
	ch := make(chan event, queue)
	c.mu.Lock()
	if c.subs == nil {
		c.subs = make(map[string][]chan event)
	}
	c.subs[topic] = append(c.subs[topic], ch)
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for e := range ch {
			h(e)
		}
	}()
}

func (c *chanBus) publish(topic string, e event) {
	c.mu.RLock()
	for _, ch := range c.subs[topic] {
		ch <- e
	}
	c.mu.RUnlock()
}

func (c *chanBus) close() {
	for _, chs := range c.subs {
		for _, ch := range chs {
			close(ch)
		}
	}
	c.wg.Wait()
}

// counter lets the benchmark wait until n events were handled.
type counter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func newCounter(want int) *counter {
	return &counter{want: int64(want), done: make(chan struct{})}
}

func (c *counter) hit() {
	if c.n.Add(1) == c.want {
		close(c.done)
	}
}

func BenchmarkDelivery(b *testing.B) {
	for _, subs := range []int{1, 8} {
		b.Run(fmt.Sprintf("subs=%d/impl=channel", subs), func(b *testing.B) { benchChannel(b, subs) })
		b.Run(fmt.Sprintf("subs=%d/impl=anya", subs), func(b *testing.B) { benchAnya(b, subs) })
		b.Run(fmt.Sprintf("subs=%d/impl=eventbus", subs), func(b *testing.B) { benchEventBus(b, subs) })
		b.Run(fmt.Sprintf("subs=%d/impl=watermill", subs), func(b *testing.B) { benchWatermill(b, subs) })
	}
}

func benchChannel(b *testing.B, subs int) {
	c := &chanBus{}
	cnt := newCounter(b.N * subs)
	for range subs {
		c.subscribe("bitcoin.block.connected", func(event) { cnt.hit() })
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c.publish("bitcoin.block.connected", event{Seq: i, Amount: 5})
	}
	<-cnt.done
	b.StopTimer()
	c.close()
}

func benchAnya(b *testing.B, subs int) {
	bb, err := bus.New(bus.WithDefaultQueueSize(queue))
	if err != nil {
		b.Fatal(err)
	}
	cnt := newCounter(b.N * subs)
	for range subs {
		_, err := bus.Subscribe(bb, "bitcoin.block.*", func(context.Context, bus.Envelope[event]) error {
			cnt.hit()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
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

func benchEventBus(b *testing.B, subs int) {
	eb := evbus.New()
	cnt := newCounter(b.N * subs)
	for range subs {
		if err := eb.SubscribeAsync("bitcoin.block.connected", func(event) { cnt.hit() }, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		eb.Publish("bitcoin.block.connected", event{Seq: i, Amount: 5})
	}
	<-cnt.done
	b.StopTimer()
	eb.WaitAsync()
}

func benchWatermill(b *testing.B, subs int) {
	ps := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: queue}, watermill.NopLogger{})
	cnt := newCounter(b.N * subs)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range subs {
		msgs, err := ps.Subscribe(ctx, "bitcoin.block.connected")
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range msgs {
				m.Ack()
				cnt.hit()
			}
		}()
	}
	payload := []byte(`{"Seq":0,"Amount":5}`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := ps.Publish("bitcoin.block.connected", message.NewMessage(watermill.NewUUID(), payload)); err != nil {
			b.Fatal(err)
		}
	}
	<-cnt.done
	b.StopTimer()
	cancel()
	_ = ps.Close()
	wg.Wait()
}

package bitcoin

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/bus"
)

// WithBus publishes on b: a [Notifier]'s own event stream, in order, from its loop (block
// events from the checkpoint on, and the events of every registration, under the topics
// listed with [TopicBlockConnected]), and a [TxBroadcast] for every transaction a [Sender]
// broadcasts. A publish waits as the bus's policy says (PolicyBlock makes the Notifier wait
// for a full subscriber queue); failures are logged. It configures [NewNotifier] and
// [NewSender]. Defaults to no bus (nil keeps it): events go to the channels and iterators
// only.
func WithBus(b *bus.Bus) Option {
	return func(c *config) {
		if c.accepts("WithBus", b, forNotifier, forSender) && b != nil {
			c.publisher = busPublisher{b}
		}
	}
}

type busPublisher struct{ b *bus.Bus }

func (p busPublisher) publish(ctx context.Context, topic, key string, payload any) error {
	key1, src := bus.WithKey(key), bus.WithSource(BusSource)
	switch e := payload.(type) {
	case BlockConnected:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case BlockDisconnected:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case DeepReorg:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case TxConfUpdate:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case TxConfirmed:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case TxReorged:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case TxFinal:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case OutpointSpent:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case SpendReorged:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case SpendFinal:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case MempoolTx:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	case TxBroadcast:
		return bus.Publish(ctx, p.b, topic, e, key1, src)
	}
	return fmt.Errorf("bitcoin: no bus payload type for %T", payload)
}

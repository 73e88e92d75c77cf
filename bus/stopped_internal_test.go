package bus

import (
	"context"
	"errors"
	"testing"
)

// A publisher that chose a subscription just before it was unsubscribed (it holds a route from
// before) finds the subscription's queue closed: the message is refused, counted as dropped and
// reported, never appended to a queue nobody will read.
func TestOfferToStoppedSubscription(t *testing.T) {
	for _, p := range []Policy{PolicyBlock, PolicyDropNewest, PolicyDropOldest, PolicyFail} {
		t.Run(p.String(), func(t *testing.T) {
			b, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			sub, err := Subscribe(b, "t", func(context.Context, Envelope[int]) error { return nil }, OnFull(p), QueueSize(1))
			if err != nil {
				t.Fatal(err)
			}
			r, err := b.routeFor("t") // the route a publisher in flight holds
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.Unsubscribe(); err != nil {
				t.Fatal(err)
			}
			<-sub.Done()
			s := r.subs[0].(*subscriber[int])
			it := item[int]{env: Envelope[int]{Meta: Meta{Topic: "t"}, Payload: 1}, ts: r.stats}
			err = s.offer(context.Background(), &it)
			var de *DeliveryError
			if !errors.Is(err, ErrUnsubscribed) || !errors.As(err, &de) || de.Subscriber != sub.Name() {
				t.Fatalf("offer to an unsubscribed subscription: err = %v, want *DeliveryError matching ErrUnsubscribed", err)
			}
			if st := sub.Stats(); st.Received != 1 || st.Dropped != 1 || st.Queued != 0 {
				t.Fatalf("stats = %+v, want the refused message received and dropped, nothing queued", st)
			}
		})
	}
}

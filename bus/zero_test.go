package bus_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/bus"
)

// A zero or nil *Bus and a zero or nil *Subscription never panic: what can fail returns a
// *NotConstructedError naming the constructor, Close and Drain have nothing to do, and the
// accessors report an empty bus or subscription.
func TestZeroValues(t *testing.T) {
	ctx := context.Background()
	notConstructed := func(t *testing.T, err error, typ, constructor string) {
		t.Helper()
		var nc *bus.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, bus.ErrNotConstructed) || nc.Type != typ || nc.Constructor != constructor {
			t.Fatalf("err = %v, want a *NotConstructedError naming bus.%s", err, constructor)
		}
		if want := "bus: a zero " + typ + " is not usable: create it with bus." + constructor; err.Error() != want {
			t.Fatalf("err = %q, want %q", err, want)
		}
	}
	h := func(context.Context, bus.Envelope[int]) error { return nil }

	for name, b := range map[string]*bus.Bus{"zero": new(bus.Bus), "nil": nil} {
		t.Run("Bus/"+name, func(t *testing.T) {
			notConstructed(t, bus.Publish(ctx, b, "a.b", 1, bus.WithKey("k")), "Bus", "New")
			sub, err := bus.Subscribe(b, "a.>", h, bus.QueueSize(1))
			if sub != nil {
				t.Fatalf("Subscribe on a %s bus returned a subscription", name)
			}
			notConstructed(t, err, "Bus", "New")
			if n := b.Subscriptions(); n != 0 {
				t.Fatalf("Subscriptions() = %d", n)
			}
			if st := b.Stats(); len(st) != 0 {
				t.Fatalf("Stats() = %v", st)
			}
			if err := b.Drain(ctx); err != nil {
				t.Fatalf("Drain: %v", err)
			}
			if err := b.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		})
	}

	for name, s := range map[string]*bus.Subscription{"zero": new(bus.Subscription), "nil": nil} {
		t.Run("Subscription/"+name, func(t *testing.T) {
			if s.Name() != "" || s.Pattern() != "" || s.Stats() != (bus.SubscriptionStats{}) {
				t.Fatalf("a %s subscription has name %q, pattern %q, stats %+v", name, s.Name(), s.Pattern(), s.Stats())
			}
			select {
			case <-s.Done():
			default:
				t.Fatal("Done is not closed")
			}
			notConstructed(t, s.Unsubscribe(), "Subscription", "Subscribe")
		})
	}

	t.Run("MemTransport", func(t *testing.T) {
		var tr bus.MemTransport // documented as ready to use
		got := make(chan string, 1)
		u, err := tr.Subscribe("a.*", func(_ context.Context, m *bus.Message) error { got <- string(m.Data); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Publish(ctx, &bus.Message{Meta: bus.Meta{Topic: "a.b"}, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if d := <-got; d != "x" {
			t.Fatalf("got %q", d)
		}
		if err := u.Unsubscribe(); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Subscribe("a", nil); !errors.Is(err, bus.ErrInvalidOption) {
			t.Fatalf("nil handler: %v", err)
		}
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

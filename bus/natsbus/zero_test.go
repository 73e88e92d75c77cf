package natsbus_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/natsbus"
)

// A zero or nil *Transport never panics: every method that can fail returns a
// *NotConstructedError naming natsbus.New, and Close returns nil. A bus over it refuses
// publishes with that error.
func TestZeroTransport(t *testing.T) {
	ctx := context.Background()
	h := func(context.Context, *bus.Message) error { return nil }
	for name, tr := range map[string]*natsbus.Transport{"zero": new(natsbus.Transport), "nil": nil} {
		t.Run(name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				var nc *natsbus.NotConstructedError
				if !errors.As(err, &nc) || !errors.Is(err, natsbus.ErrNotConstructed) || nc.Constructor != "New" {
					t.Errorf("%s: err = %v, want a *NotConstructedError naming New", what, err)
				}
			}
			check("Publish", tr.Publish(ctx, &bus.Message{Meta: bus.Meta{Topic: "a"}}))
			_, err := tr.Subscribe("a", h)
			check("Subscribe", err)
			_, err = tr.SubscribeGroup("a", "g", h)
			check("SubscribeGroup", err)
			_, err = tr.SubscribeGroup("a", "", h)
			check("SubscribeGroup with no group", err)
			check("DeleteGroup", tr.DeleteGroup(ctx, "g"))
			check("Flush", tr.Flush(ctx))
			if err := tr.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if name == "nil" {
				return
			}
			b, err := bus.New(bus.WithTransport(tr, nil))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			err = bus.Publish(ctx, b, "a", 1)
			if !errors.Is(err, natsbus.ErrNotConstructed) {
				t.Errorf("bus.Publish over a zero transport: %v", err)
			}
			if _, err := bus.Subscribe(b, "a", func(context.Context, bus.Envelope[int]) error { return nil }); !errors.Is(err, natsbus.ErrNotConstructed) {
				t.Errorf("bus.Subscribe over a zero transport: %v", err)
			}
		})
	}
}

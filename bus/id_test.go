package bus_test

import (
	"context"
	"testing"

	"github.com/anya-org/anya-go/bus"
)

func TestDerivedID(t *testing.T) {
	a, b := bus.DerivedID("anya.payment/p-1/1"), bus.DerivedID("anya.payment/p-1/1")
	if a != b || a.IsZero() {
		t.Fatalf("DerivedID is not stable: %v %v", a, b)
	}
	if c := bus.DerivedID("anya.payment/p-1/2"); c == a {
		t.Fatalf("distinct names gave one ID %v", c)
	}
	if back, err := bus.ParseID(a.String()); err != nil || back != a {
		t.Fatalf("round trip of %v: %v %v", a, back, err)
	}
}

// WithID sets the ID a subscriber sees; a zero ID leaves the bus's own.
func TestWithID(t *testing.T) {
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := make(chan bus.ID, 2)
	if _, err := bus.Subscribe(b, "t", func(_ context.Context, e bus.Envelope[int]) error { got <- e.ID; return nil }); err != nil {
		t.Fatal(err)
	}
	want := bus.DerivedID("event 1")
	if err := bus.Publish(t.Context(), b, "t", 1, bus.WithID(want)); err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(t.Context(), b, "t", 2, bus.WithID(bus.ID{})); err != nil {
		t.Fatal(err)
	}
	if id := <-got; id != want {
		t.Fatalf("ID %v, want %v", id, want)
	}
	if id := <-got; id.IsZero() || id == want {
		t.Fatalf("a zero WithID gave %v", id)
	}
}

package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/cache"
)

type blockConnected struct {
	Height    int
	Addresses []string
}

// A new block on the bus invalidates the UTXO entries of the addresses it touched, in every
// tier, and nothing else.
func TestInvalidationByBusEvent(t *testing.T) {
	ctx := context.Background()
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	local := newCache[[]string](t)
	store := must(cache.NewMemoryStore())
	defer store.Close()
	utxos := must(cache.NewTiered("bitcoin", local, cache.WithStore(store, time.Hour)))
	for _, a := range []string{"bc1qa", "bc1qb", "bc1qc"} {
		if err := utxos.Set(ctx, a, []string{a + ":0"}); err != nil {
			t.Fatal(err)
		}
	}

	sub, err := bus.Subscribe(b, "bitcoin.block.connected", cache.InvalidateOn(utxos.InvalidateKeys,
		func(e bus.Envelope[blockConnected]) []string { return e.Payload.Addresses }))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := bus.Publish(ctx, b, "bitcoin.block.connected", blockConnected{Height: 900_001, Addresses: []string{"bc1qa", "bc1qc"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"bc1qa": false, "bc1qb": true, "bc1qc": false} {
		_, inLocal := local.Get(addr)
		_, err := store.Get(ctx, cache.Key("bitcoin", addr))
		if inLocal != want || (err == nil) != want {
			t.Errorf("%s: in local %v, in store %v; want %v", addr, inLocal, err == nil, want)
		}
	}
	if s := sub.Stats(); s.Failed != 0 {
		t.Fatalf("subscription stats %+v", s)
	}
}

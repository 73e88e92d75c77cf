package cache_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/cache"
)

// GetOrLoad loads a key once, and serves it from memory after that.
func ExampleCache_GetOrLoad() {
	balances, _ := cache.New[string, int64](cache.WithMaxEntries(10_000), cache.WithTTL(time.Minute))
	defer balances.Close()

	lookups := 0
	balance := func(ctx context.Context, address string) (int64, error) {
		lookups++ // a call to the node
		return 50_000, nil
	}
	for range 3 {
		sats, err := balances.GetOrLoad(context.Background(), "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", balance)
		fmt.Println(sats, err)
	}
	fmt.Println("lookups:", lookups)
	// Output:
	// 50000 <nil>
	// 50000 <nil>
	// 50000 <nil>
	// lookups: 1
}

// A not-found answer is cached too, with WithNegativeTTL.
func ExampleWithNegativeTTL() {
	docs, _ := cache.New[string, string](cache.WithNegativeTTL(30 * time.Second))
	defer docs.Close()
	resolve := func(ctx context.Context, did string) (string, error) {
		fmt.Println("resolving", did)
		return "", fmt.Errorf("%s: %w", did, cache.ErrNotFound)
	}
	for range 2 {
		_, err := docs.GetOrLoad(context.Background(), "did:web:gone.example", resolve)
		fmt.Println(errors.Is(err, cache.ErrNotFound))
	}
	// Output:
	// resolving did:web:gone.example
	// true
	// true
}

// Lookups fall back from the protocol's cache to the cross-protocol cache, the shared store
// and the loader.
func ExampleTiered() {
	ctx := context.Background()
	cross, _ := cache.New[string, any]()
	defer cross.Close()
	shared, _ := cache.NewMemoryStore()
	defer shared.Close()
	local, _ := cache.New[string, string]()
	defer local.Close()
	web5, _ := cache.NewTiered("web5", local, cache.WithCross(cross), cache.WithStore(shared, time.Hour))

	// A bridge put a value in the cross-protocol cache; another process put one in the store.
	cross.Set(cache.Key("web5", "did:btc:1"), "linked to bc1q…")
	_ = shared.Set(ctx, cache.Key("web5", "did:dht:2"), []byte(`"from another process"`), 0)

	origin := func(ctx context.Context, id string) (string, error) { return "resolved " + id, nil }
	for _, id := range []string{"did:btc:1", "did:dht:2", "did:web:3"} {
		v, _ := web5.GetOrLoad(ctx, id, origin)
		fmt.Println(v)
	}
	stored, _ := shared.Get(ctx, cache.Key("web5", "did:web:3"))
	fmt.Println(string(stored))
	// Output:
	// linked to bc1q…
	// from another process
	// resolved did:web:3
	// "resolved did:web:3"
}

// InvalidateOn wires invalidation to the bus: a block invalidates the addresses it touched.
func ExampleInvalidateOn() {
	type BlockConnected struct {
		Height    int
		Addresses []string
	}
	ctx := context.Background()
	b, _ := bus.New()
	utxos, _ := cache.New[string, []string]()
	defer utxos.Close()
	utxos.Set("bc1qa", []string{"f4184fc5:1"})
	utxos.Set("bc1qb", []string{"0e3e2357:0"})

	_, _ = bus.Subscribe(b, "bitcoin.block.connected", cache.InvalidateOn(utxos.InvalidateKeys,
		func(e bus.Envelope[BlockConnected]) []string { return e.Payload.Addresses }))
	_ = bus.Publish(ctx, b, "bitcoin.block.connected", BlockConnected{Height: 170, Addresses: []string{"bc1qa"}})
	_ = b.Drain(ctx)

	_, a := utxos.Get("bc1qa")
	_, bb := utxos.Get("bc1qb")
	fmt.Println(a, bb)
	// Output: false true
}

// The zero Cache is ready to use, with the defaults; an option for a Tiered cache given to New
// is refused by name.
func ExampleCache_zero() {
	var c cache.Cache[string, int]
	defer c.Close()
	c.Set("height", 432)
	fmt.Println(c.Get("height"))

	_, err := cache.New[string, int](cache.WithStore(nil, time.Hour))
	fmt.Println(errors.Is(err, cache.ErrInvalidOption), err)
	// Output:
	// 432 true
	// true cache: option WithStore = <nil>: does not apply to Cache (it configures a Tiered)
}

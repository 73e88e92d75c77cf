package cachetest_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/cache/cachetest"
)

// A store must keep apart every key of CollisionKeys; the in-memory one does.
func ExampleCollisionKeys() {
	ctx := context.Background()
	store, _ := cache.NewMemoryStore()
	defer store.Close()

	keys := cachetest.CollisionKeys()
	for i, k := range keys {
		_ = store.Set(ctx, k, []byte{byte(i)}, 0)
	}
	distinct := 0
	for i, k := range keys {
		if v, err := store.Get(ctx, k); err == nil && v[0] == byte(i) {
			distinct++
		}
	}
	fmt.Println(distinct == len(keys), keys[0], keys[1])
	// Output: true bitcoin/utxo:bc1q bitcoin_utxo:bc1q
}

package cache_test

import (
	"testing"

	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/cache/cachetest"
)

func TestMemoryStore(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store { return must(cache.NewMemoryStore()) }, cachetest.WithSynctest())
}
